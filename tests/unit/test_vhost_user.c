/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user backend: driven over a socketpair by hand-made messages, with a
 * virtio-blk device on a RAM disk, guest memory in a memfd and the driver's
 * rings built in it by the driver-side queue. Every message's happy path,
 * every validation error, the disconnect path, listening and reconnecting,
 * and per-queue worker threads. Each test checks that no descriptor leaked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h> /* after the headers it needs */

#include "vioport/blk.h"
#include "vioport/drvq.h"
#include "vioport/rng.h"
#include "vioport/sim_entropy.h"
#include "vioport/sim_ramdisk.h"
#include "vioport/vhost_user.h"

#define GPA_BASE  0x40000000ull
#define MEM_SIZE  (1u << 20)
#define DISK_SIZE (64u * 1024u)
#define QSIZE	  16u
#define MAXQ	  64u
#define NQ	  2u
#define PBIT	  (1ull << VIO_VU_F_PROTOCOL_FEATURES)
#define V1	  VIO_BIT(VIO_F_VERSION_1)
#define PF(x)	  (1ull << VIO_VU_PF_##x)
#define ALL_PF                                                                                     \
	(PF(MQ) | PF(REPLY_ACK) | PF(BACKEND_REQ) | PF(CONFIG) | PF(INFLIGHT_SHMFD) |              \
	 PF(RESET_DEVICE) | PF(CONFIGURE_MEM_SLOTS) | PF(STATUS))
#define NO_STATUS (ALL_PF & ~PF(STATUS))
#define VER	  VIO_VU_VERSION
#define NEED	  (VIO_VU_VERSION | VIO_VU_FLAG_NEED_REPLY)

static struct {
	struct vio_loop loop;
	struct vio_vu_server srv;
	struct vio_blk blk;
	struct vio_queue queues[NQ];
	struct vio_blk_req slots[8];
	struct vio_sim_ramdisk rd;
	uint8_t disk[DISK_SIZE];
	int fe; /* the frontend's end of the connection */
	int memfd;
	uint8_t *mem; /* guest memory as the frontend maps it */
	uint64_t brk;
	bool event_idx;
	struct vio_drvq dq[NQ];
	struct vio_drvq_slot dslots[NQ][QSIZE];
	int kick[NQ], call[NQ], err[NQ];
	int fds_at_start;
	int warnings;
	char last_log[256];
	int disconnects;
	bool disc_listening;
	int quiesces;
	bool quiesce_leaves; /* the quiesce hook leaves deferred operations pending */
	char path[108];
} F;

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* the directory's own descriptor */
}

static void test_log(void *ctx, int level, const char *msg)
{
	(void) ctx;
	if (level <= VIO_LOG_WARN)
		F.warnings++;
	snprintf(F.last_log, sizeof(F.last_log), "%s", msg);
	if (getenv("VU_TEST_LOG") != NULL)
		fprintf(stderr, "  log %d: %s\n", level, msg);
}

static void test_disconnected(void *ctx, bool listening)
{
	(void) ctx;
	F.disconnects++;
	F.disc_listening = listening;
}

static void test_quiesce(void *ctx, struct vio_device *dev)
{
	(void) ctx;
	assert_ptr_equal(dev, &F.blk.dev);
	F.quiesces++;
	/* the RAM disk completes at once: nothing may be in flight here */
	if (!F.quiesce_leaves)
		assert_int_equal(vio_blk_inflight(&F.blk), 0);
}

/* Device and server, not connected yet. */
static void server_start(bool workers)
{
	struct vio_blk_params p;
	struct vio_vu_server_config cfg = {
	    .dev = &F.blk.dev,
	    .loop = &F.loop,
	    .queue_workers = workers,
	    .ctx = &F,
	    .quiesce = test_quiesce,
	    .log = test_log,
	    .disconnected = test_disconnected,
	};

	memset(&p, 0, sizeof(p));
	p.capacity = DISK_SIZE / 512;
	p.features = VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) |
		     VIO_BIT(VIO_F_RING_PACKED) | VIO_BIT(VIO_BLK_F_FLUSH) |
		     VIO_BIT(VIO_BLK_F_CONFIG_WCE) | VIO_BIT(VIO_BLK_F_MQ);
	p.num_queues = NQ;
	p.queue_size = MAXQ;
	p.writeback = true;
	memcpy(p.serial, "vu-test", 7);
	vio_sim_ramdisk_init(&F.rd, F.disk, sizeof(F.disk));
	assert_int_equal(
	    vio_blk_init(&F.blk, &p, &vio_sim_ramdisk_ops, &F.rd, F.queues, F.slots, 8), 0);
	assert_int_equal(vio_loop_init(&F.loop), 0);
	assert_int_equal(vio_vu_server_init(&F.srv, &cfg), 0);
}

static void guest_start(void)
{
	F.memfd = memfd_create("vu-test-mem", MFD_CLOEXEC);
	assert_true(F.memfd >= 0);
	assert_int_equal(ftruncate(F.memfd, MEM_SIZE), 0);
	F.mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, F.memfd, 0);
	assert_true(F.mem != MAP_FAILED);
	for (unsigned q = 0; q < NQ; q++) {
		F.kick[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		F.call[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		F.err[q] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		assert_true(F.kick[q] >= 0 && F.call[q] >= 0 && F.err[q] >= 0);
	}
}

static void connect_pair(void)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vio_vu_server_adopt_fd(&F.srv, sv[0]), 0);
	F.fe = sv[1];
}

static int fixture_common(bool workers)
{
	memset(&F, 0, sizeof(F));
	F.fe = -1;
	F.fds_at_start = count_fds();
	server_start(workers);
	guest_start();
	return 0;
}

static int setup(void **state)
{
	(void) state;
	fixture_common(false);
	connect_pair();
	return 0;
}

static int setup_workers(void **state)
{
	(void) state;
	fixture_common(true);
	connect_pair();
	return 0;
}

static int setup_unconnected(void **state)
{
	(void) state;
	fixture_common(false);
	snprintf(F.path, sizeof(F.path), "/tmp/vioport-test-%d.sock", (int) getpid());
	unlink(F.path);
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	vio_vu_server_fini(&F.srv);
	vio_loop_fini(&F.loop);
	if (F.fe >= 0)
		close(F.fe);
	munmap(F.mem, MEM_SIZE);
	close(F.memfd);
	for (unsigned q = 0; q < NQ; q++) {
		close(F.kick[q]);
		close(F.call[q]);
		close(F.err[q]);
	}
	if (F.path[0] != '\0') {
		struct stat st;

		/* the server removes the socket file it created */
		assert_int_equal(lstat(F.path, &st), -1);
		unlink(F.path);
	}
	assert_int_equal(count_fds(), F.fds_at_start);
	return 0;
}

/* ---------------------------------------------------------------- frontend side */

static void fe_send_on(int sock, uint32_t req, uint32_t flags, const void *pl, uint32_t size,
		       const int *fds, unsigned nfds)
{
	uint8_t buf[sizeof(struct vio_vu_hdr) + 512];
	struct vio_vu_hdr h = {req, flags, size};
	union {
		char b[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {buf, sizeof(h) + size};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	assert_true(size <= 512);
	memcpy(buf, &h, sizeof(h));
	if (size > 0)
		memcpy(buf + sizeof(h), pl, size);
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
	assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t) (sizeof(h) + size));
}

static void fe_send(uint32_t req, uint32_t flags, const void *pl, uint32_t size, const int *fds,
		    unsigned nfds)
{
	fe_send_on(F.fe, req, flags, pl, size, fds, nfds);
}

/* Runs the loop until it has nothing more to do. */
static void pump(void)
{
	for (int i = 0; i < 100; i++)
		if (vio_loop_run_once(&F.loop, 0) <= 0)
			break;
}

/* One message from sock: payload bytes, -EAGAIN when none, -ECONNRESET when closed. */
static int fe_recv_on(int sock, struct vio_vu_hdr *h, void *pl, size_t max, int *fd)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = {h, sizeof(*h)};
	struct msghdr mh = {.msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = ctl.b,
			    .msg_controllen = sizeof(ctl.b)};
	ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	struct cmsghdr *c;

	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	assert_int_equal(n, sizeof(*h));
	c = CMSG_FIRSTHDR(&mh);
	if (fd != NULL)
		*fd = -1;
	if (c != NULL) {
		assert_non_null(fd);
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	}
	assert_true(h->size <= max);
	if (h->size > 0)
		assert_int_equal(recv(sock, pl, h->size, MSG_DONTWAIT), h->size);
	return (int) h->size;
}

static int fe_recv(struct vio_vu_hdr *h, void *pl, size_t max, int *fd)
{
	return fe_recv_on(F.fe, h, pl, max, fd);
}

/* Sends a request with need_reply and returns the REPLY_ACK value. */
static uint64_t fe_ack(uint32_t req, const void *pl, uint32_t size, const int *fds, unsigned nfds)
{
	struct vio_vu_hdr h;
	uint64_t v = ~0ull;

	fe_send(req, NEED, pl, size, fds, nfds);
	pump();
	assert_int_equal(fe_recv(&h, &v, sizeof(v), NULL), sizeof(v));
	assert_int_equal(h.request, req);
	assert_int_equal(h.flags, VER | VIO_VU_FLAG_REPLY);
	return v;
}

static void fe_ok(uint32_t req, const void *pl, uint32_t size, const int *fds, unsigned nfds)
{
	assert_int_equal(fe_ack(req, pl, size, fds, nfds), 0);
}

static void fe_u64(uint32_t req, uint64_t v)
{
	fe_ok(req, &v, sizeof(v), NULL, 0);
}

/* A request with its own reply, without payload, answered by a u64. */
static uint64_t fe_get_u64(uint32_t req)
{
	struct vio_vu_hdr h;
	uint64_t v = 0;

	fe_send(req, VER, NULL, 0, NULL, 0);
	pump();
	assert_int_equal(fe_recv(&h, &v, sizeof(v), NULL), sizeof(v));
	assert_int_equal(h.request, req);
	assert_int_equal(h.flags, VER | VIO_VU_FLAG_REPLY);
	return v;
}

static void expect_closed(void)
{
	struct vio_vu_hdr h;
	uint8_t pl[512];

	pump();
	assert_false(vio_vu_server_connected(&F.srv));
	assert_int_equal(fe_recv(&h, pl, sizeof(pl), NULL), -ECONNRESET);
}

static void expect_alive(void)
{
	assert_true(vio_vu_server_connected(&F.srv));
	assert_int_equal(fe_get_u64(VIO_VU_GET_FEATURES) & V1, V1);
}

/* GET_FEATURES, SET_OWNER, protocol features pf (if protocol), SET_FEATURES extra. */
static void fe_negotiate(bool protocol, uint64_t pf, uint64_t extra)
{
	uint64_t offered = fe_get_u64(VIO_VU_GET_FEATURES);

	assert_true(offered & PBIT);
	fe_ok(VIO_VU_SET_OWNER, NULL, 0, NULL, 0);
	if (protocol) {
		assert_int_equal(fe_get_u64(VIO_VU_GET_PROTOCOL_FEATURES), ALL_PF);
		fe_u64(VIO_VU_SET_PROTOCOL_FEATURES, pf);
	}
	F.event_idx = (extra & VIO_BIT(VIO_F_EVENT_IDX)) != 0;
	fe_u64(VIO_VU_SET_FEATURES, V1 | extra | (protocol ? PBIT : 0));
}

static uint64_t ua(uint64_t gpa)
{
	return (uint64_t) (uintptr_t) F.mem + (gpa - GPA_BASE);
}

static void *galloc(uint64_t len, uint64_t *gpa)
{
	uint64_t at = (F.brk + 63) & ~63ull;

	assert_true(at + len <= MEM_SIZE);
	F.brk = at + len;
	memset(F.mem + at, 0, len);
	*gpa = GPA_BASE + at;
	return F.mem + at;
}

static void fe_mem_table(void)
{
	struct vio_vu_mem_table t = {.nregions = 1};

	t.regions[0].guest_phys_addr = GPA_BASE;
	t.regions[0].memory_size = MEM_SIZE;
	t.regions[0].userspace_addr = ua(GPA_BASE);
	t.regions[0].mmap_offset = 0;
	fe_ok(VIO_VU_SET_MEM_TABLE, &t, 8 + sizeof(t.regions[0]), &F.memfd, 1);
}

static void fe_state(uint32_t req, uint32_t index, uint32_t num)
{
	struct vio_vu_vring_state st = {index, num};

	fe_ok(req, &st, sizeof(st), NULL, 0);
}

/* Lays out queue q's rings in guest memory and gives them to the server, kick last. */
static void fe_queue_nokick(uint16_t q)
{
	uint64_t ring_gpa, d, a, u, idx = q;
	void *ring = galloc(vio_drvq_ring_bytes(QSIZE), &ring_gpa);
	struct vio_vu_vring_addr ad = {.index = q};

	assert_int_equal(
	    vio_drvq_init(&F.dq[q], QSIZE, ring, ring_gpa, F.dslots[q], F.event_idx, &d, &a, &u),
	    0);
	fe_state(VIO_VU_SET_VRING_NUM, q, QSIZE);
	fe_state(VIO_VU_SET_VRING_BASE, q, 0);
	ad.desc_user_addr = ua(d);
	ad.avail_user_addr = ua(a);
	ad.used_user_addr = ua(u);
	fe_ok(VIO_VU_SET_VRING_ADDR, &ad, sizeof(ad), NULL, 0);
	fe_ok(VIO_VU_SET_VRING_CALL, &idx, sizeof(idx), &F.call[q], 1);
	fe_ok(VIO_VU_SET_VRING_ERR, &idx, sizeof(idx), &F.err[q], 1);
}

static void fe_kick_fd(uint16_t q)
{
	uint64_t idx = q;

	fe_ok(VIO_VU_SET_VRING_KICK, &idx, sizeof(idx), &F.kick[q], 1);
}

static void fe_queue(uint16_t q)
{
	fe_queue_nokick(q);
	fe_kick_fd(q);
}

static void kick(uint16_t q)
{
	uint64_t one = 1;

	assert_int_equal(write(F.kick[q], &one, sizeof(one)), sizeof(one));
}

/* Says whether fd was signalled (and clears it), waiting up to ms while pumping the loop. */
static bool signalled(int fd, int ms)
{
	for (int t = 0; t <= ms; t += 5) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t v;

		pump();
		if (poll(&p, 1, t == ms ? 0 : 5) == 1) {
			assert_int_equal(read(fd, &v, sizeof(v)), sizeof(v));
			return true;
		}
	}
	return false;
}

struct blk_io {
	uint8_t *hdr;
	uint8_t *status;
	uint64_t hdr_gpa, status_gpa;
};

/* Queues one blk request on q (write when out, else read) over data at data_gpa. */
static void blk_add(uint16_t q, struct blk_io *io, uint32_t type, uint64_t sector,
		    uint64_t data_gpa, uint32_t len)
{
	struct vio_buf out[2], in[2];
	unsigned nout = 1, nin = 0;

	io->hdr = galloc(16, &io->hdr_gpa);
	io->status = galloc(1, &io->status_gpa);
	*io->status = 0xee;
	memcpy(io->hdr, &type, 4);
	memcpy(io->hdr + 8, &sector, 8);
	out[0] = (struct vio_buf){io->hdr_gpa, 16};
	if (type == VIO_BLK_T_OUT)
		out[nout++] = (struct vio_buf){data_gpa, len};
	else if (len > 0)
		in[nin++] = (struct vio_buf){data_gpa, len};
	in[nin++] = (struct vio_buf){io->status_gpa, 1};
	assert_true(vio_drvq_add(&F.dq[q], out, nout, in, nin, io) >= 0);
	vio_drvq_kick_prepare(&F.dq[q]);
}

/* Waits for the used entry of io on q. */
static void blk_wait(uint16_t q, struct blk_io *io)
{
	void *token = NULL;
	uint32_t len;

	assert_true(signalled(F.call[q], 2000));
	assert_int_equal(vio_drvq_get_used(&F.dq[q], &token, &len), 1);
	assert_ptr_equal(token, io);
}

/* Writes a pattern through q, reads it back, and checks the RAM disk. */
static void blk_roundtrip(uint16_t q, uint8_t seed)
{
	struct blk_io w, r;
	uint64_t wgpa, rgpa;
	uint8_t *wd = galloc(4096, &wgpa), *rd = galloc(4096, &rgpa);

	for (unsigned i = 0; i < 4096; i++)
		wd[i] = (uint8_t) (seed + i * 7);
	blk_add(q, &w, VIO_BLK_T_OUT, 8, wgpa, 4096);
	kick(q);
	blk_wait(q, &w);
	assert_int_equal(*w.status, VIO_BLK_S_OK);
	assert_memory_equal(F.disk + 8 * 512, wd, 4096);
	blk_add(q, &r, VIO_BLK_T_IN, 8, rgpa, 4096);
	kick(q);
	blk_wait(q, &r);
	assert_int_equal(*r.status, VIO_BLK_S_OK);
	assert_memory_equal(rd, wd, 4096);
}

#define STATUS_RUNNING                                                                             \
	(VIO_STATUS_ACKNOWLEDGE | VIO_STATUS_DRIVER | VIO_STATUS_FEATURES_OK | VIO_STATUS_DRIVER_OK)

/* A running queue 0: protocol features (STATUS left out), memory, ring, enabled. */
static void bring_up(void)
{
	fe_negotiate(true, NO_STATUS, 0);
	fe_mem_table();
	fe_queue(0);
	fe_state(VIO_VU_SET_VRING_ENABLE, 0, 1);
	assert_int_equal(F.blk.dev.status, STATUS_RUNNING);
}

/* ---------------------------------------------------------------- happy paths */

static void test_get_features(void **state)
{
	uint64_t f;

	(void) state;
	f = fe_get_u64(VIO_VU_GET_FEATURES);
	assert_int_equal(f, F.blk.dev.host_features | PBIT);
	assert_true(f & VIO_BIT(VIO_BLK_F_FLUSH));
	assert_true(f & V1);
}

static void test_protocol_features(void **state)
{
	(void) state;
	assert_int_equal(fe_get_u64(VIO_VU_GET_PROTOCOL_FEATURES), ALL_PF);
	fe_u64(VIO_VU_SET_PROTOCOL_FEATURES, ALL_PF);
	assert_int_equal(fe_get_u64(VIO_VU_GET_QUEUE_NUM), NQ);
	assert_int_equal(fe_get_u64(VIO_VU_GET_MAX_MEM_SLOTS), VIO_VU_MAX_MEM_SLOTS);
	fe_ok(VIO_VU_SET_OWNER, NULL, 0, NULL, 0);
	/* a bit that was not offered */
	assert_int_equal(
	    fe_ack(VIO_VU_SET_PROTOCOL_FEATURES, &(uint64_t){ALL_PF | PF(LOG_SHMFD)}, 8, NULL, 0),
	    EINVAL);
	expect_alive();
}

static void test_blk_io(void **state)
{
	(void) state;
	bring_up();
	blk_roundtrip(0, 1);
	/* a flush */
	{
		struct blk_io f;

		blk_add(0, &f, VIO_BLK_T_FLUSH, 0, 0, 0);
		kick(0);
		blk_wait(0, &f);
		assert_int_equal(*f.status, VIO_BLK_S_OK);
		assert_int_equal(F.rd.flushes, 1);
	}
	assert_int_equal(F.warnings, 0);
}

static void test_blk_io_event_idx_two_queues(void **state)
{
	(void) state;
	fe_negotiate(true, NO_STATUS, VIO_BIT(VIO_F_EVENT_IDX) | VIO_BIT(VIO_BLK_F_MQ));
	fe_mem_table();
	fe_queue(0);
	fe_queue(1);
	fe_state(VIO_VU_SET_VRING_ENABLE, 0, 1);
	fe_state(VIO_VU_SET_VRING_ENABLE, 1, 1);
	blk_roundtrip(1, 3);
	blk_roundtrip(0, 4);
}

/* Without VHOST_USER_F_PROTOCOL_FEATURES rings run as soon as they start. */
static void test_no_protocol_features(void **state)
{
	(void) state;
	fe_negotiate(false, 0, 0);
	fe_mem_table();
	fe_queue(0);
	assert_int_equal(F.blk.dev.status, STATUS_RUNNING);
	blk_roundtrip(0, 5);
	/* SET_VRING_ENABLE needs the protocol features */
	assert_int_equal(
	    fe_ack(VIO_VU_SET_VRING_ENABLE, &(struct vio_vu_vring_state){0, 1}, 8, NULL, 0),
	    EINVAL);
}

static void test_kick_before_enable(void **state)
{
	struct blk_io f;

	(void) state;
	fe_negotiate(true, NO_STATUS, 0);
	fe_mem_table();
	fe_queue(0);
	blk_add(0, &f, VIO_BLK_T_FLUSH, 0, 0, 0);
	kick(0);
	assert_false(signalled(F.call[0], 20));
	assert_int_equal(*f.status, 0xee);
	/* enabling processes what was kicked meanwhile */
	fe_state(VIO_VU_SET_VRING_ENABLE, 0, 1);
	blk_wait(0, &f);
	assert_int_equal(*f.status, VIO_BLK_S_OK);
	/* disabling stops processing again, without losing the ring */
	fe_state(VIO_VU_SET_VRING_ENABLE, 0, 0);
	blk_add(0, &f, VIO_BLK_T_FLUSH, 0, 0, 0);
	kick(0);
	assert_false(signalled(F.call[0], 20));
	fe_state(VIO_VU_SET_VRING_ENABLE, 0, 1);
	blk_wait(0, &f);
	/* out of range values */
	assert_int_equal(
	    fe_ack(VIO_VU_SET_VRING_ENABLE, &(struct vio_vu_vring_state){0, 2}, 8, NULL, 0),
	    EINVAL);
}

/* The frontend drives the status before any ring runs, as the spec's order has it. */
static void test_status_by_frontend(void **state)
{
	(void) state;
	fe_get_u64(VIO_VU_GET_FEATURES);
	fe_u64(VIO_VU_SET_PROTOCOL_FEATURES, ALL_PF);
	fe_u64(VIO_VU_SET_STATUS, VIO_STATUS_ACKNOWLEDGE);
	fe_u64(VIO_VU_SET_STATUS, VIO_STATUS_ACKNOWLEDGE | VIO_STATUS_DRIVER);
	fe_u64(VIO_VU_SET_FEATURES, V1 | PBIT);
	fe_u64(VIO_VU_SET_STATUS,
	       VIO_STATUS_ACKNOWLEDGE | VIO_STATUS_DRIVER | VIO_STATUS_FEATURES_OK);
	fe_u64(VIO_VU_SET_STATUS, STATUS_RUNNING);
	assert_int_equal(fe_get_u64(VIO_VU_GET_STATUS), STATUS_RUNNING);
	/* FAILED sticks */
	fe_u64(VIO_VU_SET_STATUS, STATUS_RUNNING | VIO_STATUS_FAILED);
	assert_int_equal(fe_ack(VIO_VU_SET_STATUS, &(uint64_t){STATUS_RUNNING}, 8, NULL, 0),
			 EINVAL);
	fe_mem_table();
	fe_queue(0);
	fe_state(VIO_VU_SET_VRING_ENABLE, 0, 1);
	assert_int_equal(fe_get_u64(VIO_VU_GET_STATUS), STATUS_RUNNING | VIO_STATUS_FAILED);
}

/* A device without config space is not offered the CONFIG protocol feature. */
static void test_rng_no_config(void **state)
{
	struct vio_vu_server srv2;
	struct vio_rng rng;
	struct vio_queue rq;
	struct vio_sim_entropy ent;
	struct vio_vu_server_config cfg = {.dev = &rng.dev, .loop = &F.loop, .log = test_log};
	int sv[2], fe = F.fe;

	(void) state;
	vio_sim_entropy_init(&ent, 1);
	assert_int_equal(vio_rng_init(&rng, &vio_sim_entropy_ops, &ent, &rq, 16, 0), 0);
	assert_int_equal(vio_vu_server_init(&srv2, &cfg), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(vio_vu_server_adopt_fd(&srv2, sv[0]), 0);
	F.fe = sv[1];
	assert_int_equal(fe_get_u64(VIO_VU_GET_PROTOCOL_FEATURES), ALL_PF & ~PF(CONFIG));
	assert_int_equal(fe_ack(VIO_VU_SET_PROTOCOL_FEATURES, &(uint64_t){ALL_PF}, 8, NULL, 0),
			 EINVAL);
	fe_u64(VIO_VU_SET_PROTOCOL_FEATURES, ALL_PF & ~PF(CONFIG));
	assert_int_equal(fe_get_u64(VIO_VU_GET_QUEUE_NUM), 1);
	close(F.fe);
	F.fe = fe;
	pump();
	vio_vu_server_fini(&srv2);
	/* the first server and its device were not disturbed */
	expect_alive();
}

static void test_status_protocol(void **state)
{
	struct vio_vu_vring_state st = {0, 0};
	struct vio_vu_hdr h;
	struct blk_io f;

	(void) state;
	fe_negotiate(true, ALL_PF, 0);
	/* SET_FEATURES implies FEATURES_OK; QEMU never sends it as a bit */
	assert_int_equal(fe_get_u64(VIO_VU_GET_STATUS),
			 VIO_STATUS_ACKNOWLEDGE | VIO_STATUS_DRIVER | VIO_STATUS_FEATURES_OK);
	fe_mem_table();
	fe_queue(0);
	fe_state(VIO_VU_SET_VRING_ENABLE, 0, 1);
	/* a running ring means DRIVER_OK: QEMU 7.2 sends it only for some devices */
	assert_int_equal(fe_get_u64(VIO_VU_GET_STATUS), STATUS_RUNNING);
	blk_add(0, &f, VIO_BLK_T_FLUSH, 0, 0, 0);
	kick(0);
	blk_wait(0, &f);
	/* what QEMU sends after that (it reads the status first and adds its bits) */
	fe_u64(VIO_VU_SET_STATUS,
	       VIO_STATUS_ACKNOWLEDGE | VIO_STATUS_DRIVER | VIO_STATUS_DRIVER_OK);
	assert_int_equal(fe_get_u64(VIO_VU_GET_STATUS), STATUS_RUNNING);
	/* clearing bits is refused */
	assert_int_equal(fe_ack(VIO_VU_SET_STATUS, &(uint64_t){VIO_STATUS_ACKNOWLEDGE}, 8, NULL, 0),
			 EINVAL);
	assert_int_equal(fe_ack(VIO_VU_SET_STATUS, &(uint64_t){0x100}, 8, NULL, 0), EINVAL);
	/* 0 resets the device, but the ring position survives for GET_VRING_BASE */
	fe_u64(VIO_VU_SET_STATUS, 0);
	assert_int_equal(F.blk.dev.status, 0);
	assert_int_equal(fe_get_u64(VIO_VU_GET_STATUS), 0);
	fe_send(VIO_VU_GET_VRING_BASE, VER, &st, sizeof(st), NULL, 0);
	pump();
	assert_int_equal(fe_recv(&h, &st, sizeof(st), NULL), sizeof(st));
	assert_int_equal(st.index, 0);
	assert_int_equal(st.num, 1);
}

static struct vio_vu_vring_state get_vring_base(uint32_t q)
{
	struct vio_vu_vring_state st = {q, 0};
	struct vio_vu_hdr h;

	fe_send(VIO_VU_GET_VRING_BASE, VER, &st, sizeof(st), NULL, 0);
	pump();
	assert_int_equal(fe_recv(&h, &st, sizeof(st), NULL), sizeof(st));
	assert_int_equal(h.request, VIO_VU_GET_VRING_BASE);
	return st;
}

static void test_vring_base_stop_resume(void **state)
{
	struct vio_vu_vring_state st;
	struct blk_io f;
	int quiesces;

	(void) state;
	bring_up();
	blk_roundtrip(0, 9);
	quiesces = F.quiesces;
	st = get_vring_base(0);
	assert_int_equal(st.index, 0);
	assert_int_equal(st.num, 2);
	assert_true(F.quiesces > quiesces);
	/* stopped: its kick descriptor is gone, nothing is processed */
	blk_add(0, &f, VIO_BLK_T_FLUSH, 0, 0, 0);
	kick(0);
	assert_false(signalled(F.call[0], 20));
	/* restarted where it stopped */
	fe_state(VIO_VU_SET_VRING_BASE, 0, 2);
	fe_kick_fd(0);
	blk_wait(0, &f);
	assert_int_equal(*f.status, VIO_BLK_S_OK);
	/* changes to a started ring are refused, repeating the same values is fine */
	fe_state(VIO_VU_SET_VRING_NUM, 0, QSIZE);
	assert_int_equal(
	    fe_ack(VIO_VU_SET_VRING_NUM, &(struct vio_vu_vring_state){0, QSIZE / 2}, 8, NULL, 0),
	    EBUSY);
	assert_int_equal(
	    fe_ack(VIO_VU_SET_VRING_BASE, &(struct vio_vu_vring_state){0, 7}, 8, NULL, 0), EBUSY);
}

static void test_config(void **state)
{
	struct vio_vu_config c = {0};
	struct vio_vu_hdr h;
	uint64_t cap;

	(void) state;
	fe_negotiate(true, ALL_PF, VIO_BIT(VIO_BLK_F_CONFIG_WCE) | VIO_BIT(VIO_BLK_F_FLUSH));
	c.offset = 0;
	c.size = VIO_BLK_CONFIG_SIZE;
	fe_send(VIO_VU_GET_CONFIG, VER, &c, VIO_VU_CONFIG_HDR + c.size, NULL, 0);
	pump();
	assert_int_equal(fe_recv(&h, &c, sizeof(c), NULL), VIO_VU_CONFIG_HDR + VIO_BLK_CONFIG_SIZE);
	assert_int_equal(h.request, VIO_VU_GET_CONFIG);
	memcpy(&cap, c.payload, 8);
	assert_int_equal(cap, DISK_SIZE / 512);
	assert_int_equal(c.payload[VIO_BLK_CFG_WRITEBACK], 1);
	/* the driver switches to writethrough */
	c.offset = VIO_BLK_CFG_WRITEBACK;
	c.size = 1;
	c.payload[0] = 0;
	fe_ok(VIO_VU_SET_CONFIG, &c, VIO_VU_CONFIG_HDR + 1, NULL, 0);
	assert_int_equal(F.blk.config[VIO_BLK_CFG_WRITEBACK], 0);
	/* the capacity is not writable */
	c.offset = 0;
	c.size = 8;
	assert_int_not_equal(fe_ack(VIO_VU_SET_CONFIG, &c, VIO_VU_CONFIG_HDR + 8, NULL, 0), 0);
	assert_int_equal(F.blk.config[0], DISK_SIZE / 512);
}

static void test_inflight(void **state)
{
	struct vio_vu_inflight in = {0, 0, 1, 128};
	struct vio_vu_hdr h;
	uint16_t version, num;
	uint8_t *p;
	int fd = -1;

	(void) state;
	fe_negotiate(true, ALL_PF, 0);
	fe_send(VIO_VU_GET_INFLIGHT_FD, VER, &in, sizeof(in), NULL, 0);
	pump();
	assert_int_equal(fe_recv(&h, &in, sizeof(in), &fd), sizeof(in));
	assert_true(fd >= 0);
	assert_int_equal(in.mmap_offset, 0);
	/* room for the packed layout: 32 + 34 * 128, rounded up to 64 */
	assert_int_equal(in.mmap_size, 4416);
	assert_int_equal(in.num_queues, 1);
	assert_int_equal(in.queue_size, 128);
	p = mmap(NULL, in.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	memcpy(&version, p + 8, 2);
	memcpy(&num, p + 10, 2);
	/* blank: the device model formats a queue's share when its ring starts */
	assert_int_equal(version, 0);
	assert_int_equal(num, 0);
	munmap(p, in.mmap_size);
	/* the frontend hands it back (after a reconnect, say) */
	fe_ok(VIO_VU_SET_INFLIGHT_FD, &in, sizeof(in), &fd, 1);
	/* sized for split rings alone (libvhost-user's size, an earlier vioport's): taken */
	in.mmap_size = 2112;
	fe_ok(VIO_VU_SET_INFLIGHT_FD, &in, sizeof(in), &fd, 1);
	assert_int_equal(F.srv.eng.inflight_stride, 2112);
	/* too small for what it claims to hold */
	in.mmap_size = 2111;
	assert_int_equal(fe_ack(VIO_VU_SET_INFLIGHT_FD, &in, sizeof(in), &fd, 1), EINVAL);
	in.mmap_size = 64;
	assert_int_equal(fe_ack(VIO_VU_SET_INFLIGHT_FD, &in, sizeof(in), &fd, 1), EINVAL);
	/* without a descriptor */
	in.mmap_size = 4416;
	assert_int_equal(fe_ack(VIO_VU_SET_INFLIGHT_FD, &in, sizeof(in), NULL, 0), EINVAL);
	close(fd);
	/* more queues than the device has: GET has no error reply, the connection ends */
	in.num_queues = NQ + 1;
	fe_send(VIO_VU_GET_INFLIGHT_FD, VER, &in, sizeof(in), NULL, 0);
	expect_closed();
}

/* Pumps the loop until the RAM disk holds n deferred operations (at most 2 s). */
static void wait_pending(uint16_t n)
{
	for (int t = 0; t < 400 && vio_sim_ramdisk_pending(&F.rd) != n; t++) {
		pump();
		usleep(5000);
	}
	assert_int_equal(vio_sim_ramdisk_pending(&F.rd), n);
}

/*
 * The device records in the region GET_INFLIGHT_FD handed out: a request is
 * marked while the provider holds it and cleared once published; a driver
 * reset clears what it had in flight.
 */
static void test_inflight_recorded(void **state)
{
	struct vio_vu_inflight in = {0, 0, 1, QSIZE};
	struct vio_sim_ramdisk_op ops[4];
	const struct vio_ifl_queue *r;
	struct vio_vu_hdr h;
	struct blk_io w, w2;
	uint64_t gpa;
	unsigned head;
	int fd = -1;

	(void) state;
	fe_negotiate(true, ALL_PF, 0);
	fe_mem_table();
	fe_send(VIO_VU_GET_INFLIGHT_FD, VER, &in, sizeof(in), NULL, 0);
	pump();
	assert_int_equal(fe_recv(&h, &in, sizeof(in), &fd), sizeof(in));
	assert_true(fd >= 0);
	r = mmap(NULL, in.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(r != MAP_FAILED);
	fe_ok(VIO_VU_SET_INFLIGHT_FD, &in, sizeof(in), &fd, 1);
	fe_queue(0);
	fe_state(VIO_VU_SET_VRING_ENABLE, 0, 1);
	assert_int_equal(r->version, VIO_IFL_VERSION);
	assert_int_equal(r->desc_num, QSIZE);

	assert_int_equal(vio_sim_ramdisk_defer(&F.rd, ops, 4), 0);
	galloc(4096, &gpa);
	blk_add(0, &w, VIO_BLK_T_OUT, 0, gpa, 4096); /* head 0 */
	kick(0);
	wait_pending(1);
	assert_int_equal(r->desc[0].inflight, 1);
	assert_int_equal(vio_sim_ramdisk_run(&F.rd), 1);
	blk_wait(0, &w);
	assert_int_equal(r->desc[0].inflight, 0);
	assert_int_equal(r->used_idx, 1);

	blk_add(0, &w2, VIO_BLK_T_OUT, 8, gpa, 4096);
	kick(0);
	wait_pending(1);
	head = QSIZE;
	for (unsigned i = 0; i < QSIZE; i++)
		if (r->desc[i].inflight) {
			assert_int_equal(head, QSIZE); /* one marked */
			head = i;
		}
	assert_true(head < QSIZE);
	assert_true(r->desc[head].counter > r->desc[0].counter || head == 0);
	F.quiesce_leaves = true;
	fe_u64(VIO_VU_SET_STATUS, 0);
	assert_int_equal(r->desc[head].inflight, 0);
	assert_int_equal(r->version, 0); /* blank, formatted again when a ring starts */
	/* the orphan completes without touching the ring or the region */
	assert_int_equal(vio_sim_ramdisk_run(&F.rd), 1);
	assert_int_equal(r->used_idx, 0);
	assert_int_equal(r->desc[head].inflight, 0);
	munmap((void *) r, in.mmap_size);
	close(fd);
}

static struct vio_vu_mem_reg mem_reg(uint64_t gpa, uint64_t size, uint64_t offset)
{
	struct vio_vu_mem_reg r = {0};

	r.region.guest_phys_addr = gpa;
	r.region.memory_size = size;
	r.region.userspace_addr = ua(GPA_BASE) + offset;
	r.region.mmap_offset = offset;
	return r;
}

static void test_mem_slots(void **state)
{
	struct vio_vu_mem_reg lo = mem_reg(GPA_BASE, MEM_SIZE / 2, 0);
	struct vio_vu_mem_reg hi = mem_reg(GPA_BASE + MEM_SIZE / 2, MEM_SIZE / 2, MEM_SIZE / 2);
	struct vio_vu_mem_reg over = mem_reg(GPA_BASE + 4096, 4096, 4096);
	struct vio_vu_mem_reg bad_off = mem_reg(GPA_BASE + MEM_SIZE, 8192, MEM_SIZE - 4096);

	(void) state;
	bad_off.region.userspace_addr = ua(GPA_BASE) + 2 * MEM_SIZE;
	fe_negotiate(true, NO_STATUS, 0);
	fe_ok(VIO_VU_ADD_MEM_REG, &lo, sizeof(lo), &F.memfd, 1);
	fe_ok(VIO_VU_ADD_MEM_REG, &hi, sizeof(hi), &F.memfd, 1);
	assert_int_equal(F.srv.eng.nregions, 2);
	assert_int_equal(F.srv.eng.map.count, 2);
	/* overlapping, and past the end of the file */
	assert_int_equal(fe_ack(VIO_VU_ADD_MEM_REG, &over, sizeof(over), &F.memfd, 1), EBUSY);
	assert_int_equal(fe_ack(VIO_VU_ADD_MEM_REG, &bad_off, sizeof(bad_off), &F.memfd, 1),
			 EINVAL);
	/* I/O through both regions (rings low, data high up) */
	fe_queue(0);
	fe_state(VIO_VU_SET_VRING_ENABLE, 0, 1);
	F.brk = MEM_SIZE / 2 + 4096;
	blk_roundtrip(0, 11);
	/* removing the high region: QEMU sends a descriptor along, which must be closed */
	fe_ok(VIO_VU_REM_MEM_REG, &hi, sizeof(hi), &F.memfd, 1);
	assert_int_equal(F.srv.eng.nregions, 1);
	assert_int_equal(fe_ack(VIO_VU_REM_MEM_REG, &hi, sizeof(hi), NULL, 0), ENOENT);
	/* the ring lives in the low region and keeps running */
	F.brk = 8192 * 4;
	blk_roundtrip(0, 12);
	/* ADD_MEM_REG needs exactly one descriptor */
	assert_int_equal(fe_ack(VIO_VU_ADD_MEM_REG, &hi, sizeof(hi), NULL, 0), EINVAL);
}

static void test_mem_slots_need_feature(void **state)
{
	struct vio_vu_mem_reg lo = mem_reg(GPA_BASE, MEM_SIZE, 0);

	(void) state;
	fe_negotiate(true, ALL_PF & ~PF(CONFIGURE_MEM_SLOTS), 0);
	assert_int_equal(fe_ack(VIO_VU_ADD_MEM_REG, &lo, sizeof(lo), &F.memfd, 1), EPERM);
	assert_int_equal(F.srv.eng.nregions, 0);
}

static void test_set_mem_table_replaces(void **state)
{
	(void) state;
	bring_up();
	blk_roundtrip(0, 13);
	/* the same memory again (QEMU resends the table): rings are set up anew and keep going */
	fe_mem_table();
	assert_int_equal(F.srv.eng.nregions, 1);
	blk_roundtrip(0, 14);
}

/* Opens the backend channel: returns the frontend's end. */
static int backend_channel(void)
{
	int b[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b), 0);
	fe_ok(VIO_VU_SET_BACKEND_REQ_FD, NULL, 0, &b[0], 1);
	close(b[0]);
	return b[1];
}

static void test_backend_config_change(void **state)
{
	struct vio_vu_hdr h;
	uint8_t pl[16];
	int b;

	(void) state;
	fe_negotiate(true, ALL_PF, 0);
	b = backend_channel();
	vio_vu_server_lock(&F.srv);
	vio_blk_set_capacity(&F.blk, 64);
	vio_vu_server_unlock(&F.srv);
	assert_int_equal(fe_recv_on(b, &h, pl, sizeof(pl), NULL), 0);
	assert_int_equal(h.request, VIO_VU_BACKEND_CONFIG_CHANGE_MSG);
	assert_int_equal(h.flags, VER); /* no need_reply: waiting for it could deadlock */
	close(b);
}

static void test_ring_violation(void **state)
{
	uint16_t idx;
	struct vio_vu_hdr h;
	uint8_t pl[16];
	int b;

	(void) state;
	fe_negotiate(true, NO_STATUS, 0);
	b = backend_channel();
	fe_mem_table();
	fe_queue(0);
	fe_state(VIO_VU_SET_VRING_ENABLE, 0, 1);
	/* the driver moves avail.idx further than the ring holds */
	idx = QSIZE + 3;
	memcpy(&F.dq[0].avail[1], &idx, sizeof(idx));
	kick(0);
	pump();
	assert_true(F.blk.dev.status & VIO_STATUS_NEEDS_RESET);
	assert_true(signalled(F.err[0], 0));
	assert_int_equal(fe_recv_on(b, &h, pl, sizeof(pl), NULL), 0);
	assert_int_equal(h.request, VIO_VU_BACKEND_CONFIG_CHANGE_MSG);
	expect_alive();
	/* a new session after the rings stopped clears it */
	assert_int_equal(fe_ack(VIO_VU_SET_FEATURES, &(uint64_t){V1 | PBIT}, 8, NULL, 0), EBUSY);
	get_vring_base(0);
	fe_u64(VIO_VU_SET_FEATURES, V1 | PBIT);
	assert_false(F.blk.dev.status & VIO_STATUS_NEEDS_RESET);
	F.brk = 0;
	fe_queue(0);
	blk_roundtrip(0, 15);
	close(b);
}

static void test_ring_outside_memory(void **state)
{
	struct vio_vu_vring_addr ad = {.index = 0};

	(void) state;
	fe_negotiate(true, NO_STATUS, 0);
	/* no memory table yet */
	ad.desc_user_addr = ua(GPA_BASE);
	ad.avail_user_addr = ua(GPA_BASE + 4096);
	ad.used_user_addr = ua(GPA_BASE + 8192);
	assert_int_equal(fe_ack(VIO_VU_SET_VRING_ADDR, &ad, sizeof(ad), NULL, 0), EFAULT);
	fe_mem_table();
	fe_ok(VIO_VU_SET_VRING_ADDR, &ad, sizeof(ad), NULL, 0);
	ad.used_user_addr = ua(GPA_BASE + MEM_SIZE);
	assert_int_equal(fe_ack(VIO_VU_SET_VRING_ADDR, &ad, sizeof(ad), NULL, 0), EFAULT);
	ad.used_user_addr = ua(GPA_BASE + 8192);
	ad.flags = VIO_VU_VRING_F_LOG;
	assert_int_equal(fe_ack(VIO_VU_SET_VRING_ADDR, &ad, sizeof(ad), NULL, 0), ENOTSUP);
	ad.flags = 2;
	assert_int_equal(fe_ack(VIO_VU_SET_VRING_ADDR, &ad, sizeof(ad), NULL, 0), EINVAL);
	/* a ring that starts inside but runs past the end of memory breaks the device */
	ad.flags = 0;
	ad.desc_user_addr = ua(GPA_BASE + MEM_SIZE - 16);
	fe_ok(VIO_VU_SET_VRING_ADDR, &ad, sizeof(ad), NULL, 0);
	fe_kick_fd(0);
	fe_state(VIO_VU_SET_VRING_ENABLE, 0, 1);
	assert_true(F.blk.dev.status & VIO_STATUS_NEEDS_RESET);
	expect_alive();
}

static void test_reset_device(void **state)
{
	(void) state;
	fe_negotiate(true, ALL_PF & ~PF(STATUS), 0);
	fe_mem_table();
	fe_queue(0);
	fe_state(VIO_VU_SET_VRING_ENABLE, 0, 1);
	blk_roundtrip(0, 16);
	fe_ok(VIO_VU_RESET_DEVICE, NULL, 0, NULL, 0);
	assert_int_equal(F.blk.dev.status, 0);
	assert_int_equal(get_vring_base(0).num, 0);
	/* memory stays; a new session works */
	assert_int_equal(F.srv.eng.nregions, 1);
	F.brk = 0;
	fe_u64(VIO_VU_SET_FEATURES, V1 | PBIT);
	fe_queue(0);
	fe_state(VIO_VU_SET_VRING_ENABLE, 0, 1);
	blk_roundtrip(0, 17);
	/* RESET_OWNER does the same */
	fe_ok(VIO_VU_RESET_OWNER, NULL, 0, NULL, 0);
	assert_int_equal(F.blk.dev.status, 0);
}

static void test_vring_kick_message_ignored(void **state)
{
	struct vio_vu_vring_state st = {0, 0};

	(void) state;
	bring_up();
	fe_send(VIO_VU_VRING_KICK, VER, &st, sizeof(st), NULL, 0);
	pump();
	expect_alive();
	assert_int_equal(fe_ack(VIO_VU_VRING_KICK, &st, sizeof(st), NULL, 0), ENOTSUP);
}

static void test_kick_nofd_polls(void **state)
{
	uint64_t arg = 0 | VIO_VU_VRING_NOFD;
	struct blk_io f;

	(void) state;
	fe_negotiate(true, NO_STATUS, 0);
	fe_mem_table();
	fe_queue_nokick(0);
	fe_ok(VIO_VU_SET_VRING_KICK, &arg, sizeof(arg), NULL, 0);
	fe_state(VIO_VU_SET_VRING_ENABLE, 0, 1);
	blk_add(0, &f, VIO_BLK_T_FLUSH, 0, 0, 0);
	for (int i = 0; i < 200 && *f.status == 0xee; i++)
		vio_loop_run_once(&F.loop, 10);
	blk_wait(0, &f);
	assert_int_equal(*f.status, VIO_BLK_S_OK);
	/* stopping ends the polling */
	get_vring_base(0);
	assert_false(vio_loop_timer_running(&F.srv.vrings[0].poll_t));
}

static void test_call_nofd(void **state)
{
	uint64_t arg = 0 | VIO_VU_VRING_NOFD;
	struct blk_io f;
	void *token;
	uint32_t len;

	(void) state;
	bring_up();
	fe_ok(VIO_VU_SET_VRING_CALL, &arg, sizeof(arg), NULL, 0);
	blk_add(0, &f, VIO_BLK_T_FLUSH, 0, 0, 0);
	kick(0);
	pump();
	assert_false(signalled(F.call[0], 0));
	assert_int_equal(vio_drvq_get_used(&F.dq[0], &token, &len), 1);
	assert_int_equal(*f.status, VIO_BLK_S_OK);
}

static void test_call_fd_replaced_signals(void **state)
{
	uint64_t idx = 0;

	(void) state;
	bring_up();
	/* a started ring gets a signal on its new call descriptor, in case one was lost */
	fe_ok(VIO_VU_SET_VRING_CALL, &idx, sizeof(idx), &F.call[0], 1);
	assert_true(signalled(F.call[0], 0));
}

static void test_disconnect_resets(void **state)
{
	int quiesces;

	(void) state;
	bring_up();
	blk_roundtrip(0, 18);
	quiesces = F.quiesces;
	close(F.fe);
	F.fe = -1;
	pump();
	assert_false(vio_vu_server_connected(&F.srv));
	assert_int_equal(F.blk.dev.status, 0);
	assert_int_equal(F.srv.eng.nregions, 0);
	assert_int_equal(F.srv.eng.map.count, 0);
	assert_int_equal(F.srv.eng.rings[0].call, -1);
	assert_true(F.quiesces > quiesces);
	assert_int_equal(F.disconnects, 1);
	assert_false(F.disc_listening); /* an adopted connection: nothing to accept after it */
	/* the server takes another connection on the same device */
	connect_pair();
	F.brk = 0;
	bring_up();
	blk_roundtrip(0, 19);
}

static int connect_path(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memcpy(sa.sun_path, F.path, strlen(F.path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	return fd;
}

static void test_listen_reconnect(void **state)
{
	(void) state;
	assert_int_equal(vio_vu_server_listen(&F.srv, F.path), 0);
	assert_int_equal(vio_vu_server_listen(&F.srv, F.path), -EINVAL);
	F.fe = connect_path();
	pump();
	assert_true(vio_vu_server_connected(&F.srv));
	bring_up();
	blk_roundtrip(0, 20);
	close(F.fe);
	pump();
	assert_false(vio_vu_server_connected(&F.srv));
	assert_int_equal(F.disconnects, 1);
	assert_true(F.disc_listening);
	/* QEMU reconnects */
	F.fe = connect_path();
	pump();
	F.brk = 0;
	bring_up();
	blk_roundtrip(0, 21);
}

static void test_bad_message_keeps_serving(void **state)
{
	(void) state;
	assert_int_equal(vio_vu_server_listen(&F.srv, F.path), 0);
	F.fe = connect_path();
	pump();
	fe_send(VIO_VU_GET_FEATURES, 0x2, NULL, 0, NULL, 0); /* version 2 */
	expect_closed();
	close(F.fe);
	F.fe = connect_path();
	pump();
	bring_up();
	blk_roundtrip(0, 22);
}

/* Replaces the server (and its loop) by a fresh one that is not listening. */
static void server_restart(void)
{
	vio_vu_server_fini(&F.srv);
	vio_loop_fini(&F.loop);
	server_start(false);
}

static void test_listen_path_in_use(void **state)
{
	struct vio_vu_server other;
	struct vio_rng rng;
	struct vio_queue rq;
	struct vio_sim_entropy ent;
	struct vio_vu_server_config cfg = {.dev = &rng.dev, .loop = &F.loop, .log = test_log};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	(void) state;
	assert_int_equal(vio_vu_server_listen(&F.srv, F.path), 0);
	/* a second server on the same path: refused, and the first keeps its socket */
	vio_sim_entropy_init(&ent, 1);
	assert_int_equal(vio_rng_init(&rng, &vio_sim_entropy_ops, &ent, &rq, 16, 0), 0);
	assert_int_equal(vio_vu_server_init(&other, &cfg), 0);
	assert_int_equal(vio_vu_server_listen(&other, F.path), -EADDRINUSE);
	vio_vu_server_fini(&other);
	assert_int_equal(access(F.path, F_OK), 0);
	/* the probe connection is accepted and dropped by the live server */
	pump();
	assert_false(vio_vu_server_connected(&F.srv));
	server_restart();
	assert_int_equal(access(F.path, F_OK), -1);
	/* a stale socket file (its server died) is replaced */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memcpy(sa.sun_path, F.path, strlen(F.path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	close(fd);
	assert_int_equal(vio_vu_server_listen(&F.srv, F.path), 0);
	server_restart();
	/* anything else is left alone */
	fd = open(F.path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	close(fd);
	assert_int_equal(vio_vu_server_listen(&F.srv, F.path), -EEXIST);
	assert_int_equal(access(F.path, F_OK), 0);
	unlink(F.path);
}

static void test_adopt_listening_fd(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	(void) state;
	memcpy(sa.sun_path, F.path, strlen(F.path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(vio_vu_server_adopt_fd(&F.srv, fd), 0);
	F.fe = connect_path();
	pump();
	assert_true(vio_vu_server_connected(&F.srv));
	expect_alive();
	unlink(F.path); /* socket activation: the server did not create it */
	/* not a socket */
	fd = eventfd(0, EFD_CLOEXEC);
	assert_int_equal(vio_vu_server_adopt_fd(&F.srv, fd), -ENOTSOCK);
}

static void test_workers(void **state)
{
	(void) state;
	fe_negotiate(true, NO_STATUS, VIO_BIT(VIO_BLK_F_MQ));
	fe_mem_table();
	fe_queue(0);
	fe_queue(1);
	fe_state(VIO_VU_SET_VRING_ENABLE, 0, 1);
	fe_state(VIO_VU_SET_VRING_ENABLE, 1, 1);
	for (uint8_t i = 0; i < 4; i++) {
		blk_roundtrip(i & 1, (uint8_t) (30 + i));
		F.brk = 2 * 8192;
	}
	/* stop and restart one queue while the other runs */
	assert_int_equal(get_vring_base(1).num, 4);
	fe_kick_fd(1);
	blk_roundtrip(1, 40);
	blk_roundtrip(0, 41);
}

static void test_workers_disconnect(void **state)
{
	(void) state;
	fe_negotiate(true, NO_STATUS, VIO_BIT(VIO_BLK_F_MQ));
	fe_mem_table();
	fe_queue(0);
	fe_queue(1);
	fe_state(VIO_VU_SET_VRING_ENABLE, 0, 1);
	fe_state(VIO_VU_SET_VRING_ENABLE, 1, 1);
	blk_roundtrip(1, 50);
	close(F.fe);
	F.fe = -1;
	pump();
	assert_false(vio_vu_server_connected(&F.srv));
	assert_int_equal(F.blk.dev.status, 0);
	connect_pair();
	F.brk = 0;
	fe_negotiate(true, NO_STATUS, VIO_BIT(VIO_BLK_F_MQ));
	fe_mem_table();
	fe_queue(1);
	fe_state(VIO_VU_SET_VRING_ENABLE, 1, 1);
	blk_roundtrip(1, 51);
}

/* ---------------------------------------------------------------- validation */

static void test_bad_version_closes(void **state)
{
	(void) state;
	fe_send(VIO_VU_GET_FEATURES, 0, NULL, 0, NULL, 0);
	expect_closed();
	assert_int_equal(F.disconnects, 1);
}

static void test_reply_flag_closes(void **state)
{
	(void) state;
	fe_send(VIO_VU_GET_FEATURES, VER | VIO_VU_FLAG_REPLY, NULL, 0, NULL, 0);
	expect_closed();
}

static void test_payload_too_large_closes(void **state)
{
	struct vio_vu_hdr h = {VIO_VU_SET_FEATURES, VER, 4096};

	(void) state;
	assert_int_equal(write(F.fe, &h, sizeof(h)), sizeof(h));
	expect_closed();
}

static void test_partial_message(void **state)
{
	struct vio_vu_hdr h = {VIO_VU_SET_FEATURES, NEED, 8};
	uint64_t f = V1, ack = 1;

	(void) state;
	/* a header now, the payload later: nothing happens in between */
	assert_int_equal(write(F.fe, &h, 6), 6);
	pump();
	assert_int_equal(write(F.fe, (uint8_t *) &h + 6, 6), 6);
	pump();
	assert_int_equal(fe_recv(&h, &ack, sizeof(ack), NULL), -EAGAIN);
	assert_int_equal(write(F.fe, &f, 3), 3);
	pump();
	assert_int_equal(write(F.fe, (uint8_t *) &f + 3, 5), 5);
	pump();
	assert_int_equal(fe_recv(&h, &ack, sizeof(ack), NULL), 8);
	assert_int_equal(ack, 0);
	assert_int_equal(F.blk.dev.driver_features, V1);
}

static void test_wrong_size(void **state)
{
	uint32_t half = 1;

	(void) state;
	assert_int_equal(fe_ack(VIO_VU_SET_FEATURES, &half, sizeof(half), NULL, 0), EINVAL);
	assert_int_equal(fe_ack(VIO_VU_SET_OWNER, &half, sizeof(half), NULL, 0), EINVAL);
	expect_alive();
	/* without need_reply the error cannot be told: the connection ends */
	fe_send(VIO_VU_SET_FEATURES, VER, &half, sizeof(half), NULL, 0);
	expect_closed();
}

static void test_wrong_size_reply_request_closes(void **state)
{
	uint64_t junk = 0;

	(void) state;
	fe_send(VIO_VU_GET_FEATURES, VER, &junk, sizeof(junk), NULL, 0);
	expect_closed();
}

static void test_fd_count(void **state)
{
	uint64_t idx = 0, nofd = VIO_VU_VRING_NOFD;
	int two[2] = {F.kick[0], F.kick[1]};
	int n0;

	(void) state;
	fe_negotiate(true, NO_STATUS, 0);
	n0 = count_fds();
	/* missing descriptor */
	assert_int_equal(fe_ack(VIO_VU_SET_VRING_KICK, &idx, sizeof(idx), NULL, 0), EINVAL);
	assert_int_equal(fe_ack(VIO_VU_SET_VRING_CALL, &idx, sizeof(idx), NULL, 0), EINVAL);
	assert_int_equal(fe_ack(VIO_VU_SET_BACKEND_REQ_FD, NULL, 0, NULL, 0), EINVAL);
	/* a descriptor where there must be none: closed */
	assert_int_equal(fe_ack(VIO_VU_SET_VRING_CALL, &nofd, sizeof(nofd), two, 1), EINVAL);
	assert_int_equal(fe_ack(VIO_VU_SET_OWNER, NULL, 0, two, 2), EINVAL);
	assert_int_equal(fe_ack(VIO_VU_SET_VRING_KICK, &idx, sizeof(idx), two, 2), EINVAL);
	assert_int_equal(count_fds(), n0);
	/* undefined bits in the argument */
	idx = 1ull << 12;
	assert_int_equal(fe_ack(VIO_VU_SET_VRING_CALL, &idx, sizeof(idx), two, 1), EINVAL);
	assert_int_equal(count_fds(), n0);
	expect_alive();
}

static void test_too_many_fds_closes(void **state)
{
	int fds[9];
	int n0 = count_fds();

	(void) state;
	for (int i = 0; i < 9; i++)
		fds[i] = F.kick[0];
	fe_send(VIO_VU_SET_OWNER, VER, NULL, 0, fds, 9);
	expect_closed();
	assert_int_equal(count_fds(), n0 - 1); /* the connection's own descriptor */
}

static void test_queue_index(void **state)
{
	uint64_t idx = NQ;

	(void) state;
	fe_negotiate(true, NO_STATUS, 0);
	fe_mem_table();
	assert_int_equal(
	    fe_ack(VIO_VU_SET_VRING_NUM, &(struct vio_vu_vring_state){NQ, QSIZE}, 8, NULL, 0),
	    EINVAL);
	assert_int_equal(
	    fe_ack(VIO_VU_SET_VRING_BASE, &(struct vio_vu_vring_state){200, 0}, 8, NULL, 0),
	    EINVAL);
	assert_int_equal(
	    fe_ack(VIO_VU_SET_VRING_ENABLE, &(struct vio_vu_vring_state){NQ, 1}, 8, NULL, 0),
	    EINVAL);
	assert_int_equal(fe_ack(VIO_VU_SET_VRING_KICK, &idx, sizeof(idx), &F.kick[0], 1), EINVAL);
	assert_int_equal(fe_ack(VIO_VU_SET_VRING_CALL, &idx, sizeof(idx), &F.call[0], 1), EINVAL);
	assert_int_equal(fe_ack(VIO_VU_SET_VRING_ERR, &idx, sizeof(idx), &F.err[0], 1), EINVAL);
	{
		struct vio_vu_vring_addr ad = {.index = NQ};

		ad.desc_user_addr = ad.avail_user_addr = ad.used_user_addr = ua(GPA_BASE);
		assert_int_equal(fe_ack(VIO_VU_SET_VRING_ADDR, &ad, sizeof(ad), NULL, 0), EINVAL);
	}
	expect_alive();
	/* GET_VRING_BASE has no error reply: the connection ends */
	fe_send(VIO_VU_GET_VRING_BASE, VER, &(struct vio_vu_vring_state){NQ, 0}, 8, NULL, 0);
	expect_closed();
}

static void test_vring_num(void **state)
{
	(void) state;
	fe_negotiate(true, NO_STATUS, 0);
	assert_int_equal(
	    fe_ack(VIO_VU_SET_VRING_NUM, &(struct vio_vu_vring_state){0, 0}, 8, NULL, 0), EINVAL);
	assert_int_equal(
	    fe_ack(VIO_VU_SET_VRING_NUM, &(struct vio_vu_vring_state){0, 24}, 8, NULL, 0), EINVAL);
	assert_int_equal(
	    fe_ack(VIO_VU_SET_VRING_NUM, &(struct vio_vu_vring_state){0, MAXQ * 2}, 8, NULL, 0),
	    EINVAL);
	assert_int_equal(
	    fe_ack(VIO_VU_SET_VRING_BASE, &(struct vio_vu_vring_state){0, 0x10000}, 8, NULL, 0),
	    EINVAL);
	fe_state(VIO_VU_SET_VRING_NUM, 0, MAXQ);
}

static void test_vring_num_packed(void **state)
{
	(void) state;
	/* packed rings may have any size, and carry the wrap counter in the base */
	fe_negotiate(true, NO_STATUS, VIO_BIT(VIO_F_RING_PACKED));
	fe_state(VIO_VU_SET_VRING_NUM, 0, 24);
	fe_state(VIO_VU_SET_VRING_BASE, 0, 0x80008000u);
	assert_int_equal(get_vring_base(0).num, 0x80008000u);
}

static struct vio_vu_mem_table table1(uint64_t gpa, uint64_t size, uint64_t uoff, uint64_t off)
{
	struct vio_vu_mem_table t = {.nregions = 1};

	t.regions[0].guest_phys_addr = gpa;
	t.regions[0].memory_size = size;
	t.regions[0].userspace_addr = ua(GPA_BASE) + uoff;
	t.regions[0].mmap_offset = off;
	return t;
}

static void mem_table_fails(struct vio_vu_mem_table *t, uint32_t size, const int *fds,
			    unsigned nfds, uint64_t err)
{
	assert_int_equal(fe_ack(VIO_VU_SET_MEM_TABLE, t, size, fds, nfds), err);
	assert_int_equal(F.srv.eng.nregions, 0);
}

static void test_mem_table_errors(void **state)
{
	int two[2] = {F.memfd, F.memfd};
	struct vio_vu_mem_table t;
	int n0, ev = F.kick[0];

	(void) state;
	n0 = count_fds();
	/* zero size, a range that wraps, past the end of the file */
	t = table1(GPA_BASE, 0, 0, 0);
	mem_table_fails(&t, 40, &F.memfd, 1, EINVAL);
	t = table1(~0ull - 4095, 8192, 0, 0);
	mem_table_fails(&t, 40, &F.memfd, 1, EINVAL);
	t = table1(GPA_BASE, 8192, 0, 0);
	t.regions[0].userspace_addr = ~0ull - 100;
	mem_table_fails(&t, 40, &F.memfd, 1, EINVAL);
	t = table1(GPA_BASE, 8192, 0, MEM_SIZE - 4096);
	mem_table_fails(&t, 40, &F.memfd, 1, EINVAL);
	t = table1(GPA_BASE, MEM_SIZE + 4096, 0, 0);
	mem_table_fails(&t, 40, &F.memfd, 1, EINVAL);
	t = table1(GPA_BASE, 8192, 0, ~0ull - 4095);
	mem_table_fails(&t, 40, &F.memfd, 1, EINVAL);
	/* not a memory descriptor */
	t = table1(GPA_BASE, 8192, 0, 0);
	mem_table_fails(&t, 40, &ev, 1, EINVAL);
	/* overlapping regions, in guest or in frontend addresses */
	t = table1(GPA_BASE, 8192, 0, 0);
	t.nregions = 2;
	t.regions[1] = t.regions[0];
	t.regions[1].guest_phys_addr += 4096;
	t.regions[1].userspace_addr += 65536;
	mem_table_fails(&t, 72, two, 2, EINVAL);
	t.regions[1].guest_phys_addr += 65536;
	t.regions[1].userspace_addr -= 65536 - 4096;
	mem_table_fails(&t, 72, two, 2, EINVAL);
	/* counts: regions, descriptors and size must agree */
	t = table1(GPA_BASE, 8192, 0, 0);
	mem_table_fails(&t, 40, two, 2, EINVAL);
	mem_table_fails(&t, 40, NULL, 0, EINVAL);
	mem_table_fails(&t, 72, &F.memfd, 1, EINVAL);
	t.nregions = 0;
	mem_table_fails(&t, 8, NULL, 0, EINVAL);
	t.nregions = 9; /* one more than the message can hold */
	mem_table_fails(&t, sizeof(t), NULL, 0, EINVAL);
	assert_int_equal(count_fds(), n0);
	expect_alive();
	/* and a good one still works */
	fe_mem_table();
	assert_int_equal(F.srv.eng.nregions, 1);
}

static void test_config_errors(void **state)
{
	struct vio_vu_config c = {0};
	struct vio_vu_hdr h;

	(void) state;
	/* before CONFIG is negotiated: the error reply is an empty payload */
	c.size = 8;
	fe_send(VIO_VU_GET_CONFIG, VER, &c, VIO_VU_CONFIG_HDR + 8, NULL, 0);
	pump();
	assert_int_equal(fe_recv(&h, &c, sizeof(c), NULL), 0);
	fe_negotiate(true, ALL_PF, 0);
	/* past the device's config, past 256 bytes, size and message disagreeing */
	c.offset = VIO_BLK_CONFIG_SIZE - 4;
	c.size = 8;
	fe_send(VIO_VU_GET_CONFIG, VER, &c, VIO_VU_CONFIG_HDR + 8, NULL, 0);
	pump();
	assert_int_equal(fe_recv(&h, &c, sizeof(c), NULL), 0);
	assert_int_equal(h.request, VIO_VU_GET_CONFIG);
	c.offset = 250;
	c.size = 10;
	fe_send(VIO_VU_GET_CONFIG, VER, &c, VIO_VU_CONFIG_HDR + 10, NULL, 0);
	pump();
	assert_int_equal(fe_recv(&h, &c, sizeof(c), NULL), 0);
	c.offset = 0;
	c.size = 300;
	fe_send(VIO_VU_GET_CONFIG, VER, &c, VIO_VU_CONFIG_HDR + 8, NULL, 0);
	pump();
	assert_int_equal(fe_recv(&h, &c, sizeof(c), NULL), 0);
	c.offset = 0xfffffff0u;
	c.size = 0x20;
	fe_send(VIO_VU_GET_CONFIG, VER, &c, VIO_VU_CONFIG_HDR, NULL, 0);
	pump();
	assert_int_equal(fe_recv(&h, &c, sizeof(c), NULL), 0);
	fe_send(VIO_VU_GET_CONFIG, VER, &c, 4, NULL, 0);
	pump();
	assert_int_equal(fe_recv(&h, &c, sizeof(c), NULL), 0);
	/* writes: out of range, bad flags */
	c.offset = VIO_BLK_CONFIG_SIZE;
	c.size = 1;
	c.flags = 0;
	assert_int_equal(fe_ack(VIO_VU_SET_CONFIG, &c, VIO_VU_CONFIG_HDR + 1, NULL, 0), ERANGE);
	c.offset = VIO_BLK_CFG_WRITEBACK;
	c.flags = 2;
	assert_int_equal(fe_ack(VIO_VU_SET_CONFIG, &c, VIO_VU_CONFIG_HDR + 1, NULL, 0), EINVAL);
	expect_alive();
}

static void test_unknown_request(void **state)
{
	uint64_t v = 0;
	int n0 = count_fds();

	(void) state;
	assert_int_equal(fe_ack(99, &v, sizeof(v), &F.kick[0], 1), ENOSYS);
	assert_int_equal(fe_ack(VIO_VU_SET_LOG_BASE, &v, sizeof(v), &F.kick[0], 1), ENOTSUP);
	assert_int_equal(fe_ack(0, NULL, 0, NULL, 0), ENOSYS);
	assert_int_equal(count_fds(), n0);
	expect_alive();
	fe_send(99, VER, NULL, 0, NULL, 0);
	expect_closed();
}

static void test_features_not_offered(void **state)
{
	(void) state;
	assert_int_equal(fe_ack(VIO_VU_SET_FEATURES, &(uint64_t){V1 | (1ull << 26)}, 8, NULL, 0),
			 EINVAL);
	assert_int_equal(F.blk.dev.status, 0);
	/* without VERSION_1 the device refuses FEATURES_OK */
	assert_int_equal(fe_ack(VIO_VU_SET_FEATURES, &(uint64_t){PBIT}, 8, NULL, 0), EINVAL);
	assert_false(F.blk.dev.status & VIO_STATUS_FEATURES_OK);
	fe_u64(VIO_VU_SET_FEATURES, V1 | PBIT);
	assert_true(F.blk.dev.status & VIO_STATUS_FEATURES_OK);
}

static void test_protocol_feature_gates(void **state)
{
	(void) state;
	/* nothing negotiated yet */
	assert_int_equal(fe_ack(VIO_VU_SET_STATUS, &(uint64_t){1}, 8, NULL, 0), EPERM);
	assert_int_equal(fe_ack(VIO_VU_RESET_DEVICE, NULL, 0, NULL, 0), EPERM);
	fe_send(VIO_VU_GET_MAX_MEM_SLOTS, VER, NULL, 0, NULL, 0);
	expect_closed();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_get_features, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_protocol_features, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_blk_io, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_blk_io_event_idx_two_queues, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_protocol_features, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kick_before_enable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_protocol, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_status_by_frontend, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rng_no_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vring_base_stop_resume, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inflight, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_inflight_recorded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mem_slots, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mem_slots_need_feature, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_set_mem_table_replaces, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backend_config_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ring_violation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ring_outside_memory, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reset_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vring_kick_message_ignored, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_kick_nofd_polls, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_call_nofd, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_call_fd_replaced_signals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_disconnect_resets, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_listen_reconnect, setup_unconnected, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_message_keeps_serving, setup_unconnected,
					    teardown),
	    cmocka_unit_test_setup_teardown(test_listen_path_in_use, setup_unconnected, teardown),
	    cmocka_unit_test_setup_teardown(test_adopt_listening_fd, setup_unconnected, teardown),
	    cmocka_unit_test_setup_teardown(test_workers, setup_workers, teardown),
	    cmocka_unit_test_setup_teardown(test_workers_disconnect, setup_workers, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_version_closes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reply_flag_closes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_payload_too_large_closes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_partial_message, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_size, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_wrong_size_reply_request_closes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fd_count, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_too_many_fds_closes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_queue_index, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vring_num, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_vring_num_packed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_mem_table_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_request, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_features_not_offered, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_protocol_feature_gates, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
