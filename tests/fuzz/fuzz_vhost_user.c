/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the vhost-user backend's message parser and state machine,
 * through its real socket, with a virtio-blk device on a RAM disk behind it.
 *
 * Each input is a script of frontend actions: messages with any request,
 * flags, size, payload and attached descriptors (guest memory memfd,
 * eventfds, sockets), kicks, writes into guest memory (where rings and
 * requests may be laid out) and reconnections. The server must never crash
 * or touch memory it was not given (ASan), must answer or drop every message,
 * and must close every descriptor it received: the process holds the same
 * number of descriptors after each input as before it.
 *
 * Input layout, a sequence of operations until the input ends:
 *   op (u8):
 *     0 mod 4, 1 mod 4  message: u8 request, u8 flags selector (bit 7 set:
 *                       the next byte is used as raw flags; else bit 0 is
 *                       need_reply and the version is 1), le16 payload size
 *                       (mod 320), u8 descriptors (bits 0-2 count, 7 meaning
 *                       9; bits 3-7 kinds, two bits per descriptor cycling:
 *                       0 guest memfd, 1 eventfd, 2 socket, 3 guest memfd),
 *                       then the payload bytes
 *     2 mod 4           kick: signal every eventfd handed over so far
 *     3 mod 4           u8 selector: bit 2 set reconnects; else write guest
 *                       memory: le16 offset (times 4), u8 length, the bytes
 * The guest memory is a 256 KiB memfd; a region describing it uses mmap
 * offset 0 and any guest and user address the input chooses.
 */
#include "fuzz_util.h"

#include <dirent.h>
#include <errno.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vioport/blk.h"
#include "vioport/sim_ramdisk.h"
#include "vioport/vhost_user.h"

#define MEM_SIZE  (256u * 1024u)
#define DISK_SIZE (64u * 1024u)
#define MAX_HELD  64
#define MAX_OPS	  256

static struct {
	bool ready;
	struct vio_loop loop;
	struct vio_vu_server srv;
	struct vio_blk blk;
	struct vio_queue queues[2];
	struct vio_blk_req slots[4];
	struct vio_sim_ramdisk rd;
	uint8_t disk[DISK_SIZE];
	int memfd;
	uint8_t *mem;
	int fe;
	int held[MAX_HELD]; /* eventfds and socket ends the frontend keeps */
	bool held_event[MAX_HELD];
	unsigned nheld;
} F;

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	FZ_CHECK(d != NULL);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* With FUZZ_VU_TRACE set, the server's log goes to stderr (to check what a seed reaches). */
static void trace(void *ctx, int level, const char *msg)
{
	(void) ctx;
	fprintf(stderr, "vu %d: %s\n", level, msg);
}

static void setup_once(void)
{
	struct vio_blk_params p;
	struct vio_vu_server_config cfg = {.dev = &F.blk.dev, .loop = &F.loop};

	if (getenv("FUZZ_VU_TRACE") != NULL)
		cfg.log = trace;

	memset(&p, 0, sizeof(p));
	p.capacity = DISK_SIZE / 512;
	p.features = VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) |
		     VIO_BIT(VIO_F_RING_PACKED) | VIO_BIT(VIO_BLK_F_FLUSH) |
		     VIO_BIT(VIO_BLK_F_CONFIG_WCE) | VIO_BIT(VIO_BLK_F_MQ) |
		     VIO_BIT(VIO_BLK_F_DISCARD) | VIO_BIT(VIO_BLK_F_WRITE_ZEROES);
	p.num_queues = 2;
	p.queue_size = 64;
	p.max_discard_sectors = 16;
	p.max_discard_seg = 2;
	p.max_write_zeroes_sectors = 16;
	p.max_write_zeroes_seg = 2;
	vio_sim_ramdisk_init(&F.rd, F.disk, sizeof(F.disk));
	FZ_CHECK(vio_blk_init(&F.blk, &p, &vio_sim_ramdisk_ops, &F.rd, F.queues, F.slots, 4) == 0);
	FZ_CHECK(vio_loop_init(&F.loop) == 0);
	FZ_CHECK(vio_vu_server_init(&F.srv, &cfg) == 0);
	F.memfd = memfd_create("fuzz-guest", MFD_CLOEXEC);
	FZ_CHECK(F.memfd >= 0 && ftruncate(F.memfd, MEM_SIZE) == 0);
	F.mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, F.memfd, 0);
	FZ_CHECK(F.mem != MAP_FAILED);
	F.fe = -1;
	F.ready = true;
}

static void connect_fe(void)
{
	int sv[2];

	FZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	FZ_CHECK(vio_vu_server_adopt_fd(&F.srv, sv[0]) == 0);
	F.fe = sv[1];
}

/* Reads and drops whatever the server sent on sock, closing descriptors that came along. */
static void drain(int sock)
{
	for (;;) {
		uint8_t buf[512];
		union {
			char b[CMSG_SPACE(sizeof(int) * 8)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov = {buf, sizeof(buf)};
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = ctl.b,
				    .msg_controllen = sizeof(ctl.b)};
		ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);

		if (n <= 0)
			return;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				close(fd);
			}
		}
	}
}

static void pump(void)
{
	for (int i = 0; i < 64; i++)
		if (vio_loop_run_once(&F.loop, 0) <= 0)
			break;
	if (F.fe >= 0)
		drain(F.fe);
	for (unsigned i = 0; i < F.nheld; i++)
		if (!F.held_event[i])
			drain(F.held[i]);
}

/* A descriptor of the given kind to send; the frontend keeps its own ends in held[]. */
static int make_fd(unsigned kind)
{
	int fd = -1, sv[2];

	switch (kind & 3u) {
	case 1:
		fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (fd >= 0 && F.nheld < MAX_HELD) {
			F.held[F.nheld] = dup(fd);
			F.held_event[F.nheld++] = true;
		}
		return fd;
	case 2:
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv) < 0)
			return -1;
		if (F.nheld < MAX_HELD) {
			F.held[F.nheld] = sv[1];
			F.held_event[F.nheld++] = false;
		} else {
			close(sv[1]);
		}
		return sv[0];
	default:
		return dup(F.memfd);
	}
}

static void send_message(struct fz_in *in)
{
	uint8_t buf[sizeof(struct vio_vu_hdr) + 320];
	struct vio_vu_hdr h;
	uint8_t sel, fdspec;
	int fds[9];
	unsigned nfds;
	union {
		char b[CMSG_SPACE(sizeof(int) * 9)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {buf, 0};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	h.request = fz_u8(in);
	sel = fz_u8(in);
	h.flags =
	    (sel & 0x80) ? fz_u8(in) : VIO_VU_VERSION | ((sel & 1) ? VIO_VU_FLAG_NEED_REPLY : 0);
	h.size = fz_u16(in) % 320u;
	fdspec = fz_u8(in);
	memcpy(buf, &h, sizeof(h));
	for (uint32_t i = 0; i < h.size; i++)
		buf[sizeof(h) + i] = fz_u8(in);
	iov.iov_len = sizeof(h) + h.size;
	nfds = fdspec & 7u;
	if (nfds == 7)
		nfds = 9;
	for (unsigned i = 0; i < nfds; i++) {
		fds[i] = make_fd(fdspec >> (3 + 2 * (i % 2)));
		if (fds[i] < 0)
			nfds = i;
	}
	if (nfds > 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	(void) sendmsg(F.fe, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	pump();
}

static void kick_all(void)
{
	uint64_t one = 1;

	for (unsigned i = 0; i < F.nheld; i++)
		if (F.held_event[i])
			(void) !write(F.held[i], &one, sizeof(one));
	pump();
}

static void reconnect(void)
{
	if (F.fe >= 0)
		close(F.fe);
	F.fe = -1;
	pump();
	FZ_CHECK(!vio_vu_server_connected(&F.srv));
	connect_fe();
}

static void write_mem(struct fz_in *in)
{
	uint32_t off = (uint32_t) fz_u16(in) * 4u;
	uint8_t len = fz_u8(in);

	for (uint32_t i = 0; i < len && off + i < MEM_SIZE; i++)
		F.mem[off + i] = fz_u8(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};
	int fds_before;

	if (!F.ready)
		setup_once();
	fds_before = count_fds();
	memset(F.mem, 0, MEM_SIZE);
	connect_fe();
	for (int ops = 0; in.n > 0 && ops < MAX_OPS; ops++) {
		uint8_t op = fz_u8(&in);

		if (!vio_vu_server_connected(&F.srv))
			reconnect();
		switch (op & 3u) {
		case 2:
			kick_all();
			break;
		case 3:
			if (fz_u8(&in) & 4u)
				reconnect();
			else
				write_mem(&in);
			break;
		default:
			send_message(&in);
			break;
		}
	}
	close(F.fe);
	F.fe = -1;
	pump();
	FZ_CHECK(!vio_vu_server_connected(&F.srv));
	for (unsigned i = 0; i < F.nheld; i++)
		close(F.held[i]);
	F.nheld = 0;
	/* every descriptor the server received was closed or is gone with the connection */
	FZ_CHECK(count_fds() == fds_before);
	if (getenv("FUZZ_VU_TRACE") != NULL)
		fprintf(stderr, "flushes %u writes %u reads %u\n", F.rd.flushes, F.rd.writes,
			F.rd.reads);
	FZ_CHECK(F.blk.dev.status == 0 && F.srv.eng.nregions == 0 && F.srv.eng.inflight == NULL);
	return 0;
}
