/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A hostile frontend against vioport's daemon (`vioport blk`): malformed and
 * out-of-range vhost-user messages, descriptors where none belong, and ring
 * violations in guest memory. For a bad message the daemon must refuse it (a
 * non-zero REPLY_ACK, an empty reply where the message has a body) or drop
 * the connection; accepting it, or staying silent, fails. For a ring
 * violation it must flag the device (DEVICE_NEEDS_RESET, a config change
 * message). After every case the daemon still runs and serves a new
 * connection. The daemon is $VIOPORT_BIN; without it every case skips.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "vioport/byteorder.h"
#include "vioport/vhost_user_blk_client.h"

#define IMAGE_BYTES (4u << 20)
#define ANSWER_MS   3000

static struct {
	char dir[IT_PATH];
	char image[IT_PATH];
	struct it_proc proc;
	const char *skip;
} T;

static struct vio_vu_fe fe;
static struct vio_vu_blk blk;

#define BEGIN() IT_SKIP_IF(T.skip)

#define OK(expr)                                                                                   \
	do {                                                                                       \
		int r_ = (expr);                                                                   \
		if (r_ != 0)                                                                       \
			fail_msg("%s: %d (%s)", #expr, r_, vio_vu_fe_error(&fe));                  \
	} while (0)

static int group_setup(void **state)
{
	const char *b = it_vioport_bin();
	static char bin[IT_PATH];
	char *argv[] = {bin, "blk", "--socket-path", T.proc.sock, "--image", T.image, NULL};

	(void) state;
	if (b == NULL) {
		T.skip = "no vioport daemon at $VIOPORT_BIN (build apps/vioport first): malformed "
			 "message cases skipped";
		return 0;
	}
	snprintf(bin, sizeof(bin), "%s", b);
	if (it_tmpdir(T.dir, "bad") < 0 || it_path(T.image, T.dir, "disk.img") < 0 ||
	    it_path(T.proc.sock, T.dir, "blk.sock") < 0 ||
	    it_path(T.proc.log, T.dir, "vioport.log") < 0 ||
	    it_make_image(T.image, IMAGE_BYTES) < 0)
		return -1;
	if (it_start(&T.proc, argv, 10000) < 0)
		T.skip = "the vioport daemon did not start: malformed message cases skipped";
	return 0;
}

static int group_teardown(void **state)
{
	bool san = false;

	(void) state;
	if (T.dir[0] == '\0')
		return 0;
	it_stop(&T.proc, 5000, &san);
	if (san) {
		print_message("# the daemon's sanitizer reported an error\n");
		it_print_log(T.proc.log, 60);
	}
	it_rmtree(T.dir);
	return san ? -1 : 0;
}

/* After every case: the daemon lives and serves a new connection. */
static int teardown(void **state)
{
	uint8_t buf[512];
	int r;

	(void) state;
	vio_vu_fe_close(&fe);
	vio_vu_blk_close(&blk);
	if (T.skip != NULL)
		return 0;
	if (!it_alive(&T.proc)) {
		it_print_log(T.proc.log, 40);
		T.skip = "the daemon died in an earlier case";
		return -1;
	}
	r = vio_vu_blk_open(&blk, T.proc.sock, NULL);
	if (r == 0)
		r = vio_vu_blk_read(&blk, 0, buf, sizeof(buf));
	if (r != 0)
		print_message("# the daemon no longer serves: %d (%s)\n", r,
			      vio_vu_fe_error(&blk.fe));
	vio_vu_blk_close(&blk);
	return r == 0 ? 0 : -1;
}

/* Connected and negotiated; nothing configured. */
static void negotiated(void)
{
	struct vio_vu_fe_params p = {.features = VIO_VU_BLK_FEATURES};

	OK(vio_vu_fe_connect(&fe, T.proc.sock, 5000));
	OK(vio_vu_fe_negotiate(&fe, &p));
}

/* Connected and started: memory and rings handed over, DRIVER_OK. */
static void started(void)
{
	struct vio_vu_fe_params p = {.features = VIO_VU_BLK_FEATURES};

	OK(vio_vu_fe_start(&fe, T.proc.sock, &p));
}

/* Sends a message as given, asking for an ack. */
static void send_bad(uint32_t request, uint32_t size, const void *payload, size_t len,
		     const int *fds, unsigned nfds)
{
	struct vio_vu_hdr h = {request, VIO_VU_VERSION | VIO_VU_FLAG_NEED_REPLY, size};

	OK(vio_vu_fe_send_raw(&fe, &h, payload, len, fds, nfds));
}

/*
 * The message was refused: a non-zero ack (or an empty reply, the GET_CONFIG
 * way), or the connection was dropped. Returns true when the connection is
 * still usable.
 */
static bool expect_refused(uint32_t request, const char *what)
{
	struct vio_vu_hdr h = {0};
	uint8_t buf[VIO_VU_MAX_PAYLOAD];
	int fds[VIO_VU_MAX_FDS];
	unsigned nfds = VIO_VU_MAX_FDS;
	size_t len = 0;
	uint64_t v;
	int r = vio_vu_fe_recv_raw(&fe, &h, buf, sizeof(buf), &len, fds, &nfds, ANSWER_MS);

	for (unsigned i = 0; i < nfds; i++)
		close(fds[i]);
	if (r == -ECONNRESET) {
		print_message("# %s: connection dropped\n", what);
		return false;
	}
	if (r == 0)
		fail_msg("%s: no answer in %d ms and the connection is still open", what,
			 ANSWER_MS);
	if (r < 0)
		fail_msg("%s: receiving the answer: %d", what, r);
	if (h.request != request || h.flags != (VIO_VU_VERSION | VIO_VU_FLAG_REPLY))
		fail_msg("%s: answer with request %u, flags %#x", what, h.request, h.flags);
	if (len == 0) {
		print_message("# %s: refused (empty reply)\n", what);
		return true;
	}
	if (request == VIO_VU_GET_INFLIGHT_FD && len == sizeof(struct vio_vu_inflight)) {
		struct vio_vu_inflight in;

		/* An area of size 0 is the way to say "nothing to track". */
		memcpy(&in, buf, sizeof(in));
		if (in.mmap_size != 0)
			fail_msg("%s: answered with an area of %llu bytes", what,
				 (unsigned long long) in.mmap_size);
		print_message("# %s: refused (no area)\n", what);
		return true;
	}
	if (len != sizeof(v))
		fail_msg("%s: answered with %zu bytes", what, len);
	memcpy(&v, buf, sizeof(v));
	if (v == 0)
		fail_msg("%s: accepted", what);
	print_message("# %s: refused (%llu)\n", what, (unsigned long long) v);
	return true;
}

/* One bad message on a fresh negotiated connection, which must refuse it. */
static void refuse_fresh(uint32_t request, uint32_t size, const void *payload, size_t len,
			 const int *fds, unsigned nfds, const char *what)
{
	vio_vu_fe_close(&fe);
	negotiated();
	send_bad(request, size, payload, len, fds, nfds);
	expect_refused(request, what);
	vio_vu_fe_close(&fe);
}

static void m_unknown_request(void **state)
{
	(void) state;
	BEGIN();
	refuse_fresh(9999, 0, NULL, 0, NULL, 0, "request 9999");
	refuse_fresh(0, 0, NULL, 0, NULL, 0, "request 0");
	/* Backend-channel requests are not front-end requests. */
	refuse_fresh(VIO_VU_GET_STATUS + 1, 0, NULL, 0, NULL, 0, "request 41");
}

static void m_huge_size(void **state)
{
	(void) state;
	BEGIN();
	/* A daemon that waits for 2 GiB of payload is silent: that fails too. */
	refuse_fresh(VIO_VU_SET_FEATURES, 0x7fffffff, NULL, 0, NULL, 0, "size 0x7fffffff");
	refuse_fresh(VIO_VU_SET_MEM_TABLE, 4096, NULL, 0, NULL, 0, "SET_MEM_TABLE size 4096");
}

static void m_truncated(void **state)
{
	struct vio_vu_hdr h = {VIO_VU_SET_MEM_TABLE, VIO_VU_VERSION, 200};
	uint8_t junk[10] = {0};

	(void) state;
	BEGIN();
	/* Half a header, then gone. */
	OK(vio_vu_fe_connect(&fe, T.proc.sock, 5000));
	OK(vio_vu_fe_send_raw(&fe, NULL, &h, 6, NULL, 0));
	vio_vu_fe_close(&fe);
	/* A header and part of its payload, then gone. */
	negotiated();
	OK(vio_vu_fe_send_raw(&fe, &h, junk, sizeof(junk), NULL, 0));
	vio_vu_fe_close(&fe);
}

static void m_payload_sizes(void **state)
{
	struct vio_vu_vring_state st = {0, 128};
	uint8_t big[16] = {0};
	uint64_t f;

	(void) state;
	BEGIN();
	refuse_fresh(VIO_VU_SET_VRING_NUM, 4, &st, 4, NULL, 0, "SET_VRING_NUM of 4 bytes");
	refuse_fresh(VIO_VU_SET_VRING_ADDR, 8, big, 8, NULL, 0, "SET_VRING_ADDR of 8 bytes");
	refuse_fresh(VIO_VU_SET_STATUS, 2, big, 2, NULL, 0, "SET_STATUS of 2 bytes");
	negotiated();
	f = fe.features;
	memcpy(big, &f, sizeof(f));
	vio_vu_fe_close(&fe);
	refuse_fresh(VIO_VU_SET_FEATURES, 16, big, 16, NULL, 0, "SET_FEATURES of 16 bytes");
}

static void m_bad_flags(void **state)
{
	struct vio_vu_hdr h = {VIO_VU_GET_FEATURES, 2 | VIO_VU_FLAG_NEED_REPLY, 0};
	struct vio_vu_hdr rh;
	uint8_t buf[VIO_VU_MAX_PAYLOAD];
	size_t len;
	int r;

	(void) state;
	BEGIN();
	/* Another protocol version: any answer but a crash; the next connection must work. */
	negotiated();
	OK(vio_vu_fe_send_raw(&fe, &h, NULL, 0, NULL, 0));
	r = vio_vu_fe_recv_raw(&fe, &rh, buf, sizeof(buf), &len, NULL, NULL, ANSWER_MS);
	print_message("# version 2 GET_FEATURES: %s\n", r == 1	 ? "answered"
							: r == 0 ? "ignored"
								 : "connection dropped");
	vio_vu_fe_close(&fe);
	/* A "reply" sent to the backend. */
	negotiated();
	h = (struct vio_vu_hdr){VIO_VU_GET_FEATURES, VIO_VU_VERSION | VIO_VU_FLAG_REPLY, 0};
	OK(vio_vu_fe_send_raw(&fe, &h, NULL, 0, NULL, 0));
	r = vio_vu_fe_recv_raw(&fe, &rh, buf, sizeof(buf), &len, NULL, NULL, ANSWER_MS);
	print_message("# GET_FEATURES flagged as a reply: %s\n", r == 1	  ? "answered"
								 : r == 0 ? "ignored"
									  : "connection dropped");
}

/* A private memfd for memory-table cases, mapped here so its address is a real one. */
static struct {
	int fd;
	uint8_t *p;
	uint64_t size;
} M = {-1, NULL, 0};

static void mem_open(uint64_t size)
{
	M.fd = memfd_create("vio-bad", MFD_CLOEXEC);
	assert_true(M.fd >= 0);
	assert_int_equal(ftruncate(M.fd, (off_t) size), 0);
	M.p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, M.fd, 0);
	assert_true(M.p != MAP_FAILED);
	M.size = size;
}

static int mem_teardown(void **state)
{
	if (M.p != NULL)
		munmap(M.p, M.size);
	if (M.fd >= 0)
		close(M.fd);
	M.fd = -1;
	M.p = NULL;
	return teardown(state);
}

static void table(struct vio_vu_mem_table *t, unsigned n)
{
	memset(t, 0, sizeof(*t));
	t->nregions = n;
	for (unsigned i = 0; i < n && i < VIO_VU_MAX_REGIONS; i++) {
		t->regions[i].guest_phys_addr = 0x100000 + i * (M.size / 2);
		t->regions[i].memory_size = M.size / 2;
		t->regions[i].userspace_addr = (uint64_t) (uintptr_t) M.p + i * (M.size / 2);
		t->regions[i].mmap_offset = i * (M.size / 2);
	}
}

static uint32_t table_size(unsigned n)
{
	return (uint32_t) (8 + n * sizeof(struct vio_vu_region));
}

static void m_mem_table_counts(void **state)
{
	struct vio_vu_mem_table t;
	int fds[VIO_VU_MAX_FDS + 1];

	(void) state;
	BEGIN();
	mem_open(1u << 20);
	for (unsigned i = 0; i <= VIO_VU_MAX_FDS; i++)
		fds[i] = M.fd;
	table(&t, 0);
	refuse_fresh(VIO_VU_SET_MEM_TABLE, table_size(0), &t, table_size(0), NULL, 0,
		     "SET_MEM_TABLE with no region");
	table(&t, 2);
	refuse_fresh(VIO_VU_SET_MEM_TABLE, table_size(2), &t, table_size(2), fds, 1,
		     "SET_MEM_TABLE, 2 regions and 1 descriptor");
	refuse_fresh(VIO_VU_SET_MEM_TABLE, table_size(2), &t, table_size(2), NULL, 0,
		     "SET_MEM_TABLE, 2 regions and no descriptor");
	table(&t, 8);
	t.nregions = 9;
	refuse_fresh(VIO_VU_SET_MEM_TABLE, table_size(8), &t, table_size(8), fds, 8,
		     "SET_MEM_TABLE claiming 9 regions");
	table(&t, 1);
	refuse_fresh(VIO_VU_SET_MEM_TABLE, table_size(2), &t, table_size(2), fds, 1,
		     "SET_MEM_TABLE, size for 2 regions, 1 claimed");
}

static void m_mem_table_ranges(void **state)
{
	struct vio_vu_mem_table t;
	int efd = eventfd(0, EFD_CLOEXEC);
	const uint32_t one = table_size(1), two = table_size(2);

	(void) state;
	BEGIN();
	assert_true(efd >= 0);
	mem_open(1u << 20);
	table(&t, 1);
	t.regions[0].memory_size = 0;
	refuse_fresh(VIO_VU_SET_MEM_TABLE, one, &t, one, &M.fd, 1, "region of size 0");
	table(&t, 1);
	t.regions[0].guest_phys_addr = UINT64_MAX - 4095;
	refuse_fresh(VIO_VU_SET_MEM_TABLE, one, &t, one, &M.fd, 1, "region wrapping guest space");
	table(&t, 1);
	t.regions[0].userspace_addr = UINT64_MAX - 4095;
	refuse_fresh(VIO_VU_SET_MEM_TABLE, one, &t, one, &M.fd, 1, "region wrapping user space");
	table(&t, 1);
	t.regions[0].memory_size = 64u << 20;
	refuse_fresh(VIO_VU_SET_MEM_TABLE, one, &t, one, &M.fd, 1,
		     "region larger than its memfd (mapping past the end faults)");
	table(&t, 1);
	t.regions[0].mmap_offset = 1u << 30;
	refuse_fresh(VIO_VU_SET_MEM_TABLE, one, &t, one, &M.fd, 1, "mmap offset past the memfd");
	table(&t, 1);
	t.regions[0].mmap_offset = M.size / 2 + 4096;
	refuse_fresh(VIO_VU_SET_MEM_TABLE, one, &t, one, &M.fd, 1,
		     "mmap offset plus size past the memfd");
	table(&t, 1);
	refuse_fresh(VIO_VU_SET_MEM_TABLE, one, &t, one, &efd, 1, "an eventfd as memory");
	table(&t, 2);
	t.regions[1].guest_phys_addr = t.regions[0].guest_phys_addr + 4096;
	refuse_fresh(VIO_VU_SET_MEM_TABLE, two, &t, two, (int[]){M.fd, M.fd}, 2,
		     "overlapping regions");
	close(efd);
}

static void m_vring_num(void **state)
{
	struct vio_vu_vring_state st;
	static const uint32_t bad[] = {0, 3, 100, 65536, 0xffffffffu};

	(void) state;
	BEGIN();
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char what[64];

		st = (struct vio_vu_vring_state){0, bad[i]};
		snprintf(what, sizeof(what), "SET_VRING_NUM %u", bad[i]);
		refuse_fresh(VIO_VU_SET_VRING_NUM, sizeof(st), &st, sizeof(st), NULL, 0, what);
	}
	st = (struct vio_vu_vring_state){200, 128};
	refuse_fresh(VIO_VU_SET_VRING_NUM, sizeof(st), &st, sizeof(st), NULL, 0,
		     "SET_VRING_NUM on queue 200");
	st = (struct vio_vu_vring_state){200, 1};
	refuse_fresh(VIO_VU_SET_VRING_ENABLE, sizeof(st), &st, sizeof(st), NULL, 0,
		     "SET_VRING_ENABLE on queue 200");
	st = (struct vio_vu_vring_state){200, 0};
	refuse_fresh(VIO_VU_SET_VRING_BASE, sizeof(st), &st, sizeof(st), NULL, 0,
		     "SET_VRING_BASE on queue 200");
}

/* A SET_VRING_ADDR on a started connection, with the queue's real addresses changed by edit. */
static void refuse_addr(void (*edit)(struct vio_vu_vring_addr *), const char *what)
{
	struct vio_vu_vring_addr a;
	struct vio_vu_fe_queue *q;

	vio_vu_fe_close(&fe);
	OK(vio_vu_fe_connect(&fe, T.proc.sock, 5000));
	OK(vio_vu_fe_setup(&fe, &(struct vio_vu_fe_params){.features = VIO_VU_BLK_FEATURES}));
	q = &fe.queues[0];
	a = (struct vio_vu_vring_addr){
	    .index = 0,
	    .desc_user_addr = (uint64_t) (uintptr_t) vio_vu_fe_ptr(&fe, q->desc_gpa, 1),
	    .used_user_addr = (uint64_t) (uintptr_t) vio_vu_fe_ptr(&fe, q->used_gpa, 1),
	    .avail_user_addr = (uint64_t) (uintptr_t) vio_vu_fe_ptr(&fe, q->avail_gpa, 1),
	    .log_guest_addr = q->used_gpa};
	edit(&a);
	send_bad(VIO_VU_SET_VRING_ADDR, sizeof(a), &a, sizeof(a), NULL, 0);
	expect_refused(VIO_VU_SET_VRING_ADDR, what);
	vio_vu_fe_close(&fe);
}

static void addr_outside(struct vio_vu_vring_addr *a)
{
	a->desc_user_addr = 0x1000;
}

static void addr_misaligned(struct vio_vu_vring_addr *a)
{
	a->desc_user_addr += 2;
}

static void addr_used_at_end(struct vio_vu_vring_addr *a)
{
	/* The used ring would run past the end of guest memory. */
	a->used_user_addr = (uint64_t) (uintptr_t) fe.mem + fe.mem_size - 8;
}

static void addr_queue_200(struct vio_vu_vring_addr *a)
{
	a->index = 200;
}

static void m_vring_addr(void **state)
{
	(void) state;
	BEGIN();
	refuse_addr(addr_outside, "descriptor table outside guest memory");
	refuse_addr(addr_misaligned, "descriptor table misaligned");
	refuse_addr(addr_used_at_end, "used ring crossing the end of guest memory");
	refuse_addr(addr_queue_200, "SET_VRING_ADDR on queue 200");
}

static void m_vring_fds(void **state)
{
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint64_t idx;

	(void) state;
	BEGIN();
	assert_true(efd >= 0);
	idx = 200;
	refuse_fresh(VIO_VU_SET_VRING_KICK, 8, &idx, 8, &efd, 1, "SET_VRING_KICK on queue 200");
	refuse_fresh(VIO_VU_SET_VRING_CALL, 8, &idx, 8, &efd, 1, "SET_VRING_CALL on queue 200");
	idx = 0;
	refuse_fresh(VIO_VU_SET_VRING_KICK, 8, &idx, 8, NULL, 0,
		     "SET_VRING_KICK without a descriptor or the no-fd flag");
	refuse_fresh(VIO_VU_SET_VRING_KICK, 8, &idx, 8, (int[]){efd, efd}, 2,
		     "SET_VRING_KICK with two descriptors");
	refuse_fresh(VIO_VU_SET_BACKEND_REQ_FD, 0, NULL, 0, NULL, 0,
		     "SET_BACKEND_REQ_FD without a descriptor");
	close(efd);
}

static void m_config(void **state)
{
	struct vio_vu_config c = {0};

	(void) state;
	BEGIN();
	c = (struct vio_vu_config){.offset = 0, .size = 1000};
	refuse_fresh(VIO_VU_GET_CONFIG, VIO_VU_CONFIG_HDR + 8, &c, VIO_VU_CONFIG_HDR + 8, NULL, 0,
		     "GET_CONFIG of 1000 bytes");
	c = (struct vio_vu_config){.offset = VIO_BLK_CONFIG_SIZE - 2, .size = 8};
	refuse_fresh(VIO_VU_GET_CONFIG, VIO_VU_CONFIG_HDR + 8, &c, VIO_VU_CONFIG_HDR + 8, NULL, 0,
		     "GET_CONFIG past the end of the config space");
	c = (struct vio_vu_config){.offset = 0xfffffff8u, .size = 16};
	refuse_fresh(VIO_VU_GET_CONFIG, VIO_VU_CONFIG_HDR + 16, &c, VIO_VU_CONFIG_HDR + 16, NULL, 0,
		     "GET_CONFIG with a wrapping offset");
	c = (struct vio_vu_config){.offset = 0, .size = 16};
	refuse_fresh(VIO_VU_GET_CONFIG, VIO_VU_CONFIG_HDR + 8, &c, VIO_VU_CONFIG_HDR + 8, NULL, 0,
		     "GET_CONFIG whose size field disagrees with the message");
	/* Capacity is not the driver's to write. */
	c = (struct vio_vu_config){.offset = VIO_BLK_CFG_CAPACITY, .size = 8};
	refuse_fresh(VIO_VU_SET_CONFIG, VIO_VU_CONFIG_HDR + 8, &c, VIO_VU_CONFIG_HDR + 8, NULL, 0,
		     "SET_CONFIG of the capacity");
}

static void m_features(void **state)
{
	uint64_t f;

	(void) state;
	BEGIN();
	negotiated();
	f = fe.features | (1ull << 63);
	vio_vu_fe_close(&fe);
	refuse_fresh(VIO_VU_SET_FEATURES, 8, &f, 8, NULL, 0, "SET_FEATURES with bit 63");
}

static void m_inflight(void **state)
{
	struct vio_vu_inflight in = {.mmap_size = 4096, .num_queues = 1, .queue_size = 128};
	int efd = eventfd(0, EFD_CLOEXEC);

	(void) state;
	BEGIN();
	assert_true(efd >= 0);
	negotiated();
	if (!vio_vu_fe_has_protocol(&fe, VIO_VU_PF_INFLIGHT_SHMFD)) {
		close(efd);
		skip();
	}
	vio_vu_fe_close(&fe);
	refuse_fresh(VIO_VU_SET_INFLIGHT_FD, sizeof(in), &in, sizeof(in), &efd, 1,
		     "SET_INFLIGHT_FD with an eventfd");
	refuse_fresh(VIO_VU_SET_INFLIGHT_FD, sizeof(in), &in, sizeof(in), NULL, 0,
		     "SET_INFLIGHT_FD without a descriptor");
	{
		/* an area that does not fit in its memfd: mapping it would fault later */
		int mfd = memfd_create("vio-inflight", MFD_CLOEXEC);

		assert_true(mfd >= 0);
		assert_int_equal(ftruncate(mfd, 4096), 0);
		in.mmap_size = 8192;
		refuse_fresh(VIO_VU_SET_INFLIGHT_FD, sizeof(in), &in, sizeof(in), &mfd, 1,
			     "SET_INFLIGHT_FD larger than its memfd");
		in.mmap_size = 4096;
		in.mmap_offset = 4096;
		refuse_fresh(VIO_VU_SET_INFLIGHT_FD, sizeof(in), &in, sizeof(in), &mfd, 1,
			     "SET_INFLIGHT_FD at an offset past its memfd");
		close(mfd);
	}
	in = (struct vio_vu_inflight){.num_queues = 0, .queue_size = 128};
	refuse_fresh(VIO_VU_GET_INFLIGHT_FD, sizeof(in), &in, sizeof(in), NULL, 0,
		     "GET_INFLIGHT_FD for 0 queues");
	in = (struct vio_vu_inflight){.num_queues = 1, .queue_size = 0};
	refuse_fresh(VIO_VU_GET_INFLIGHT_FD, sizeof(in), &in, sizeof(in), NULL, 0,
		     "GET_INFLIGHT_FD for queues of 0 entries");
	close(efd);
}

static void m_mem_slots(void **state)
{
	struct vio_vu_mem_reg m = {0};

	(void) state;
	BEGIN();
	negotiated();
	if (!(fe.protocol_offered & (1ull << VIO_VU_PF_CONFIGURE_MEM_SLOTS)))
		skip();
	vio_vu_fe_close(&fe);
	mem_open(1u << 20);
	m.region = (struct vio_vu_region){0x100000, 1u << 20, (uint64_t) (uintptr_t) M.p, 0};
	{
		struct vio_vu_fe_params p = {.features = VIO_VU_BLK_FEATURES,
					     .protocol_features =
						 VIO_VU_FE_PROTOCOL_DEFAULT |
						 (1ull << VIO_VU_PF_CONFIGURE_MEM_SLOTS)};

		OK(vio_vu_fe_connect(&fe, T.proc.sock, 5000));
		OK(vio_vu_fe_negotiate(&fe, &p));
	}
	send_bad(VIO_VU_ADD_MEM_REG, sizeof(m), &m, sizeof(m), NULL, 0);
	if (!expect_refused(VIO_VU_ADD_MEM_REG, "ADD_MEM_REG without a descriptor"))
		return;
	send_bad(VIO_VU_REM_MEM_REG, sizeof(m), &m, sizeof(m), NULL, 0);
	if (!expect_refused(VIO_VU_REM_MEM_REG, "REM_MEM_REG of a region never added"))
		return;
	OK(vio_vu_fe_request(&fe, VIO_VU_ADD_MEM_REG, &m, sizeof(m), &M.fd, 1, NULL, 0, NULL));
	m.region.guest_phys_addr += 4096;
	m.region.userspace_addr += 4096;
	m.region.memory_size -= 4096;
	m.region.mmap_offset = 4096;
	send_bad(VIO_VU_ADD_MEM_REG, sizeof(m), &m, sizeof(m), &M.fd, 1);
	expect_refused(VIO_VU_ADD_MEM_REG, "ADD_MEM_REG overlapping a region");
}

static void m_fd_flood(void **state)
{
	int before, after = -1, fds[VIO_VU_MAX_FDS];
	struct vio_vu_hdr h = {VIO_VU_GET_FEATURES, VIO_VU_VERSION, 0};
	int efd = eventfd(0, EFD_CLOEXEC);

	(void) state;
	BEGIN();
	assert_true(efd >= 0);
	before = it_count_fds(T.proc.pid);
	if (before < 0)
		skip();
	for (int i = 0; i < VIO_VU_MAX_FDS; i++)
		fds[i] = efd;
	/* Descriptors on messages that take none are closed by the daemon, not kept. */
	for (int i = 0; i < 40; i++) {
		struct vio_vu_hdr rh;
		uint64_t v;
		size_t len;

		if (fe.sock < 0 || fe.magic == 0)
			OK(vio_vu_fe_connect(&fe, T.proc.sock, 5000));
		OK(vio_vu_fe_send_raw(&fe, &h, NULL, 0, fds, VIO_VU_MAX_FDS));
		if (vio_vu_fe_recv_raw(&fe, &rh, &v, sizeof(v), &len, NULL, NULL, ANSWER_MS) != 1)
			vio_vu_fe_close(&fe);
	}
	vio_vu_fe_close(&fe);
	close(efd);
	for (int t = 0; t < 100; t++) {
		after = it_count_fds(T.proc.pid);
		if (after <= before)
			break;
		usleep(20000);
	}
	print_message("# daemon descriptors: %d before, %d after 320 stray ones\n", before, after);
	assert_true(after <= before);
}

static void m_unconfigured(void **state)
{
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	struct vio_vu_vring_state st = {0, 0}, rep;
	uint64_t idx = 0, one = 1, f;
	int r;

	(void) state;
	BEGIN();
	assert_true(efd >= 0);
	negotiated();
	/* A kick fd on a ring with no memory and no addresses, kicked. */
	r = vio_vu_fe_request(&fe, VIO_VU_SET_VRING_KICK, &idx, sizeof(idx), &efd, 1, NULL, 0,
			      NULL);
	print_message("# SET_VRING_KICK before any memory: %d\n", r);
	if (r == 0) {
		assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
		usleep(50000);
		OK(vio_vu_fe_get_u64(&fe, VIO_VU_GET_FEATURES, &f));
	}
	vio_vu_fe_close(&fe);
	/* Stopping a ring never started. */
	negotiated();
	r = vio_vu_fe_request(&fe, VIO_VU_GET_VRING_BASE, &st, sizeof(st), NULL, 0, &rep,
			      sizeof(rep), NULL);
	print_message("# GET_VRING_BASE on a ring never started: %d\n", r);
	close(efd);
}

/* Waits for the device to flag a ring violation; fails when it does not. */
static void expect_needs_reset(const char *what)
{
	bool st = vio_vu_fe_has_protocol(&fe, VIO_VU_PF_STATUS);
	bool cc = fe.backend_fd >= 0 && vio_vu_fe_has_protocol(&fe, VIO_VU_PF_CONFIG);
	uint8_t s = 0;

	if (!st && !cc) {
		print_message("# %s: neither STATUS nor a backend channel to observe\n", what);
		return;
	}
	for (int t = 0; t < ANSWER_MS / 20; t++) {
		if (cc)
			vio_vu_fe_backend_poll(&fe, 0);
		if (st)
			OK(vio_vu_fe_get_status(&fe, &s));
		if ((!st || (s & VIO_STATUS_NEEDS_RESET)) && (!cc || fe.config_changes > 0))
			break;
		usleep(20000);
	}
	print_message("# %s: status %#x, %u config change message(s)\n", what, s,
		      fe.config_changes);
	if (st)
		assert_true(s & VIO_STATUS_NEEDS_RESET);
	if (cc)
		assert_true(fe.config_changes > 0);
}

static void v_outside(void **state)
{
	struct vio_buf out = {0xdead0000ull, 16}, in = {0, 1};
	uint64_t gpa;

	(void) state;
	BEGIN();
	started();
	assert_non_null(vio_vu_fe_alloc(&fe, 64, 64, &gpa));
	in.addr = gpa;
	OK(vio_vu_fe_add(&fe, 0, &out, 1, &in, 1, &fe));
	assert_true(vio_vu_fe_kick(&fe, 0) >= 0);
	expect_needs_reset("descriptor outside guest memory");
}

static void v_loop(void **state)
{
	struct vio_buf b[2];
	struct vio_drvq *q;
	uint64_t gpa;
	int head;

	(void) state;
	BEGIN();
	started();
	assert_non_null(vio_vu_fe_alloc(&fe, 64, 64, &gpa));
	b[0] = (struct vio_buf){gpa, 16};
	b[1] = (struct vio_buf){gpa + 32, 1};
	q = vio_vu_fe_drvq(&fe, 0);
	head = vio_drvq_add(q, b, 1, b + 1, 1, &fe);
	assert_true(head >= 0);
	/* The last descriptor links back to the head: a chain without end. */
	{
		uint16_t last = q->slots[head].last;

		vio_put_le16(&q->desc[last].flags, VIO_DESC_F_WRITE | VIO_DESC_F_NEXT);
		vio_put_le16(&q->desc[last].next, (uint16_t) head);
	}
	assert_true(vio_vu_fe_kick(&fe, 0) >= 0);
	expect_needs_reset("descriptor loop");
}

static void v_avail_jump(void **state)
{
	struct vio_drvq *q;

	(void) state;
	BEGIN();
	started();
	q = vio_vu_fe_drvq(&fe, 0);
	/* avail.idx 1000 ahead of what the device has seen, on a ring of 128. */
	vio_store_release_le16(&q->avail[1], (uint16_t) (q->avail_idx + 1000));
	assert_int_equal(vio_vu_fe_notify(&fe, 0), 1);
	expect_needs_reset("avail index 1000 ahead");
}

static void v_bad_head(void **state)
{
	struct vio_drvq *q;

	(void) state;
	BEGIN();
	started();
	q = vio_vu_fe_drvq(&fe, 0);
	/* An avail entry naming descriptor 500 of 128. */
	vio_store_relaxed_le16(&q->avail[2], 500);
	vio_store_release_le16(&q->avail[1], 1);
	assert_int_equal(vio_vu_fe_notify(&fe, 0), 1);
	expect_needs_reset("head index 500 on a ring of 128");
}

#define CASE(f)	   cmocka_unit_test_teardown(f, teardown)
#define MEMCASE(f) cmocka_unit_test_teardown(f, mem_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    CASE(m_unknown_request),
	    CASE(m_huge_size),
	    CASE(m_truncated),
	    CASE(m_payload_sizes),
	    CASE(m_bad_flags),
	    MEMCASE(m_mem_table_counts),
	    MEMCASE(m_mem_table_ranges),
	    CASE(m_vring_num),
	    CASE(m_vring_addr),
	    CASE(m_vring_fds),
	    CASE(m_config),
	    CASE(m_features),
	    CASE(m_inflight),
	    MEMCASE(m_mem_slots),
	    CASE(m_fd_flood),
	    CASE(m_unconfigured),
	    CASE(v_outside),
	    CASE(v_loop),
	    CASE(v_avail_jump),
	    CASE(v_bad_head),
	};

	return cmocka_run_group_tests_name("vhost-user: malformed input to the vioport daemon",
					   tests, group_setup, group_teardown);
}
