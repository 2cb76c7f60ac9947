/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Linux file provider for virtio-blk: the real device model on a temporary
 * file, driven through the loopback transport, in each way the provider runs
 * (synchronous, io_uring, and both with O_DIRECT). Data is checked against the
 * file with pread, hole punching against st_blocks. Cases the environment
 * cannot provide (no io_uring, no O_DIRECT on the test filesystem) are skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h> /* after the headers it needs */

#include "vioport/blk.h"
#include "vioport/byteorder.h"
#include "vioport/linux_blk.h"
#include "vioport/loopback.h"
#include "vioport/posix_loop.h"

#define ARENA_SIZE   (16u << 20)
#define BUS_BASE     0x80000000ull
#define DISK_SECTORS 12288u /* 6 MiB: more than one zero-write submission */
#define DISK_BYTES   ((size_t) DISK_SECTORS * 512u)
#define QSIZE	     256u
#define NSLOTS	     64u
#define MAXRQ	     256u
#define UNTOUCHED    0xeeu

enum mode { M_SYNC, M_URING, M_SYNC_DIRECT, M_URING_DIRECT };
enum dir { NONE, OUT, IN };

struct rq {
	uint8_t *hdr;
	uint8_t *data;
	uint8_t *status;
	uint32_t data_len;
	bool done;
	uint32_t len;
};

struct fixture {
	_Alignas(4096) uint8_t arena[ARENA_SIZE];
	char path[64];
	int fd; /* the test's own view of the image */
	enum mode mode;
	struct vio_host_blk_options opt;
	struct vio_host_blk hb;
	bool opened;
	struct vio_blk_params p;
	struct vio_blk blk;
	struct vio_queue queues[1];
	struct vio_blk_req slots[NSLOTS];
	uint16_t nslots;
	struct vio_loopback lb;
	struct vio_drvq dq;
	struct vio_drvq_slot dslots[QSIZE];
	struct rq rqs[MAXRQ];
	unsigned nrq;
	uint64_t want;
	bool fsize_limited; /* RLIMIT_FSIZE lowered: teardown restores old_fsize */
	struct rlimit old_fsize;
	uint8_t buf[DISK_BYTES]; /* last: not cleared per test */
};

static struct fixture F;

static uint8_t disk_byte(size_t i)
{
	return (uint8_t) (i * 7u + 3u + (i >> 9));
}

static void fill_pattern(uint8_t *p, uint32_t len, uint8_t seed)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t) (seed + i * 13u + (i >> 8));
}

static int fixture(void **state)
{
	(void) state;
	memset(&F, 0, offsetof(struct fixture, buf));
	snprintf(F.path, sizeof(F.path), "test_host_blk.XXXXXX");
	F.fd = mkstemp(F.path);
	assert_true(F.fd >= 0);
	for (size_t i = 0; i < DISK_BYTES; i++)
		F.buf[i] = disk_byte(i);
	assert_int_equal(pwrite(F.fd, F.buf, DISK_BYTES, 0), (ssize_t) DISK_BYTES);
	F.want = ~0ull;
	F.nslots = NSLOTS;
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	if (F.fsize_limited)
		setrlimit(RLIMIT_FSIZE, &F.old_fsize);
	if (F.opened)
		vio_host_blk_close(&F.hb);
	F.opened = false;
	close(F.fd);
	unlink(F.path);
	return 0;
}

static bool uring_mode(void)
{
	return F.mode == M_URING || F.mode == M_URING_DIRECT;
}

/* Opens the image in the test's mode; skips what this machine cannot do. */
static void open_image(void)
{
	int rc;

	F.opt.direct = F.mode == M_SYNC_DIRECT || F.mode == M_URING_DIRECT;
	F.opt.sync = !uring_mode();
	rc = vio_host_blk_open(&F.hb, F.path, &F.opt);
	if (rc == -EINVAL && F.opt.direct) {
		print_message("O_DIRECT not supported here: skipped\n");
		skip();
	}
	assert_int_equal(rc, 0);
	F.opened = true;
	if (uring_mode() && !vio_host_blk_async(&F.hb)) {
		print_message("io_uring not available (%s): skipped\n", strerror(-F.hb.async_err));
		skip();
	}
	assert_int_equal(vio_host_blk_async(&F.hb), uring_mode());
}

/* Builds the device over the opened image and brings it to DRIVER_OK. */
static void start_device(void)
{
	memset(&F.p, 0, sizeof(F.p));
	vio_host_blk_params(&F.hb, &F.p);
	F.p.num_queues = 1;
	F.p.queue_size = QSIZE;
	F.p.features |= VIO_BIT(VIO_F_EVENT_IDX) | VIO_BIT(VIO_F_INDIRECT_DESC);
	vio_host_blk_default_serial(&F.hb, F.p.serial);
	assert_int_equal(
	    vio_blk_init(&F.blk, &F.p, &vio_host_blk_ops, &F.hb, F.queues, F.slots, F.nslots), 0);
	assert_int_equal(vio_loopback_init(&F.lb, &F.blk.dev, F.arena, sizeof(F.arena), BUS_BASE),
			 0);
	assert_int_equal(vio_loopback_negotiate(&F.lb, F.want), 0);
	assert_int_equal(vio_loopback_queue(&F.lb, 0, QSIZE, &F.dq, F.dslots), 0);
	assert_int_equal(vio_loopback_driver_ok(&F.lb), 0);
}

static void start(void)
{
	open_image();
	start_device();
}

/* Arena memory at a 4 KiB boundary plus misalign bytes. */
static uint8_t *alloc_data(uint32_t len, uint32_t misalign)
{
	uint8_t *p = vio_loopback_alloc(&F.lb, (uint64_t) len + 4096 + misalign, NULL);
	uintptr_t a;

	assert_non_null(p);
	a = ((uintptr_t) p + 4095) & ~(uintptr_t) 4095;
	return (uint8_t *) a + misalign;
}

static struct vio_buf buf(const void *p, uint32_t len)
{
	struct vio_buf b = {vio_loopback_bus(&F.lb, p), len};

	return b;
}

static struct rq *rq_new_at(uint32_t type, uint64_t sector, uint32_t data_len, uint32_t misalign)
{
	struct rq *r;

	assert_true(F.nrq < MAXRQ);
	r = &F.rqs[F.nrq++];
	r->hdr = vio_loopback_alloc(&F.lb, VIO_BLK_REQ_HDR, NULL);
	assert_non_null(r->hdr);
	vio_put_le32(r->hdr, type);
	vio_put_le64(r->hdr + 8, sector);
	r->data_len = data_len;
	if (data_len != 0)
		r->data = alloc_data(data_len, misalign);
	r->status = vio_loopback_alloc(&F.lb, 1, NULL);
	assert_non_null(r->status);
	*r->status = UNTOUCHED;
	return r;
}

static struct rq *rq_new(uint32_t type, uint64_t sector, uint32_t data_len)
{
	return rq_new_at(type, sector, data_len, 0);
}

/*
 * Queues r: header, the data in direction d cut into pieces (cuts: lengths of
 * all but the last piece, ncut of them), status.
 */
static void rq_queue_cut(struct rq *r, enum dir d, const uint32_t *cuts, unsigned ncut)
{
	struct vio_buf out[8], in[8];
	unsigned nout = 0, nin = 0;
	struct vio_buf *v = d == OUT ? out : in;
	unsigned *nv = d == OUT ? &nout : &nin;
	uint32_t off = 0;

	assert_true(ncut < 6);
	out[nout++] = buf(r->hdr, VIO_BLK_REQ_HDR);
	if (d != NONE && r->data_len != 0) {
		for (unsigned i = 0; i < ncut; i++) {
			v[(*nv)++] = buf(r->data + off, cuts[i]);
			off += cuts[i];
		}
		v[(*nv)++] = buf(r->data + off, r->data_len - off);
	}
	in[nin++] = buf(r->status, 1);
	assert_true(vio_drvq_add(&F.dq, out, nout, in, nin, r) >= 0);
}

static void rq_queue(struct rq *r, enum dir d)
{
	rq_queue_cut(r, d, NULL, 0);
}

/* Collects used entries; returns how many came back. */
static unsigned collect(void)
{
	void *token;
	uint32_t len;
	unsigned n = 0;
	int rc;

	while ((rc = vio_drvq_get_used(&F.dq, &token, &len)) == 1) {
		struct rq *r = token;

		assert_false(r->done);
		r->done = true;
		r->len = len;
		n++;
	}
	assert_int_equal(rc, 0);
	return n;
}

/* Waits, through the event fd, until n more requests came back. */
static void wait_used(unsigned n)
{
	unsigned got = collect();

	for (unsigned rounds = 0; got < n; rounds++) {
		struct pollfd pfd = {.fd = vio_host_blk_event_fd(&F.hb), .events = POLLIN};

		assert_true(rounds < 10000);
		/* what finished inside a submission signals nothing */
		vio_host_blk_poll(&F.hb);
		got += collect();
		if (got >= n)
			break;
		if (poll(&pfd, 1, 10000) != 1)
			fail_msg("no completion signalled (%u of %u back)", got, n);
		vio_host_blk_reap(&F.hb);
		got += collect();
	}
	assert_int_equal(got, n);
}

/* Kicks, submits the batch, and waits for n requests. */
static void kick_wait(unsigned n)
{
	vio_loopback_kick(&F.lb, 0);
	vio_host_blk_submit(&F.hb);
	wait_used(n);
}

static struct rq *run_rq_cut(uint32_t type, uint64_t sector, uint32_t data_len, enum dir d,
			     const void *out_data, const uint32_t *cuts, unsigned ncut)
{
	struct rq *r = rq_new(type, sector, data_len);

	if (out_data != NULL)
		memcpy(r->data, out_data, data_len);
	else if (r->data != NULL)
		memset(r->data, UNTOUCHED, data_len);
	rq_queue_cut(r, d, cuts, ncut);
	kick_wait(1);
	assert_true(r->done);
	return r;
}

static struct rq *run_rq(uint32_t type, uint64_t sector, uint32_t data_len, enum dir d,
			 const void *out_data)
{
	return run_rq_cut(type, sector, data_len, d, out_data, NULL, 0);
}

/* A discard / write-zeroes request with one segment per entry. */
static struct rq *run_dwz(uint32_t type, unsigned nseg, const uint64_t *sector, const uint32_t *n,
			  uint32_t flags)
{
	uint8_t segs[16 * 4];

	assert_true(nseg <= 4);
	for (unsigned i = 0; i < nseg; i++) {
		vio_put_le64(segs + 16 * i, sector[i]);
		vio_put_le32(segs + 16 * i + 8, n[i]);
		vio_put_le32(segs + 16 * i + 12, flags);
	}
	return run_rq(type, 0, 16 * nseg, OUT, segs);
}

/* The image's bytes as the test's own descriptor sees them. */
static void file_read(uint64_t off, void *dst, size_t len)
{
	assert_int_equal(pread(F.fd, dst, len, (off_t) off), (ssize_t) len);
}

static void assert_file_zero(uint64_t off, size_t len)
{
	uint8_t *b = malloc(len);

	assert_non_null(b);
	file_read(off, b, len);
	for (size_t i = 0; i < len; i++)
		if (b[i] != 0)
			fail_msg("byte %llu is %u, not 0", (unsigned long long) (off + i), b[i]);
	free(b);
}

static void assert_file_original(uint64_t off, size_t len)
{
	uint8_t *b = malloc(len);

	assert_non_null(b);
	file_read(off, b, len);
	for (size_t i = 0; i < len; i++)
		if (b[i] != disk_byte(off + i))
			fail_msg("byte %llu changed", (unsigned long long) (off + i));
	free(b);
}

static blkcnt_t file_blocks(void)
{
	struct stat st;

	assert_int_equal(fstat(F.fd, &st), 0);
	return st.st_blocks;
}

/*
 * st_blocks fell by about the sectors punched. Not exactly: splitting an
 * extent may cost the filesystem a metadata block of its own.
 */
static void assert_hole(blkcnt_t before, blkcnt_t after, blkcnt_t sectors)
{
	if (after > before - sectors / 2)
		fail_msg("st_blocks %lld -> %lld, no hole of %lld sectors", (long long) before,
			 (long long) after, (long long) sectors);
}

#define MODES(fn)                                                                                  \
	static void fn##_sync(void **s)                                                            \
	{                                                                                          \
		F.mode = M_SYNC;                                                                   \
		fn(s);                                                                             \
	}                                                                                          \
	static void fn##_uring(void **s)                                                           \
	{                                                                                          \
		F.mode = M_URING;                                                                  \
		fn(s);                                                                             \
	}                                                                                          \
	static void fn##_sync_direct(void **s)                                                     \
	{                                                                                          \
		F.mode = M_SYNC_DIRECT;                                                            \
		fn(s);                                                                             \
	}                                                                                          \
	static void fn##_uring_direct(void **s)                                                    \
	{                                                                                          \
		F.mode = M_URING_DIRECT;                                                           \
		fn(s);                                                                             \
	}

/* ---- opening ---- */

static void open_errors(void **state)
{
	struct vio_host_blk hb;
	struct vio_host_blk_options ro = {.read_only = true};
	struct vio_host_blk_options bad = {.blk_size = 1000};
	char fifo[sizeof(F.path) + 8];

	(void) state;
	assert_int_equal(vio_host_blk_open(&hb, "no-such-dir/no-such-image", NULL), -ENOENT);
	vio_host_blk_close(&hb); /* nothing held: harmless */
	assert_int_equal(vio_host_blk_open(&hb, ".", NULL), -EISDIR);
	assert_int_equal(vio_host_blk_open(&hb, ".", &ro), -EISDIR);
	assert_int_equal(vio_host_blk_open(&hb, "/dev/null", NULL), -ENOTBLK);
	/* a FIFO is refused at once, without waiting for a writer */
	snprintf(fifo, sizeof(fifo), "%s.fifo", F.path);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(vio_host_blk_open(&hb, fifo, &ro), -ENOTBLK);
	assert_int_equal(vio_host_blk_open(&hb, fifo, NULL), -ENOTBLK);
	unlink(fifo);
	assert_int_equal(vio_host_blk_open(&hb, F.path, &bad), -EINVAL);
	assert_int_equal(vio_host_blk_open(NULL, F.path, NULL), -EINVAL);
	assert_int_equal(vio_host_blk_open(&hb, NULL, NULL), -EINVAL);
	/* permission: only meaningful when the file mode binds us */
	assert_int_equal(fchmod(F.fd, 0400), 0);
	if (geteuid() != 0)
		assert_int_equal(vio_host_blk_open(&hb, F.path, NULL), -EACCES);
	assert_int_equal(vio_host_blk_open(&hb, F.path, &ro), 0);
	vio_host_blk_close(&hb);
}

static void params_from_file(void **state)
{
	char s1[VIO_BLK_ID_BYTES], s2[VIO_BLK_ID_BYTES];
	uint64_t f;

	(void) state;
	/* a tail shorter than a sector is not part of the disk */
	assert_int_equal(ftruncate(F.fd, (off_t) DISK_BYTES + 100), 0);
	F.mode = M_SYNC;
	open_image();
	vio_host_blk_params(&F.hb, &F.p);
	f = F.p.features;
	assert_int_equal(F.p.capacity, DISK_SECTORS);
	assert_true(f & VIO_BIT(VIO_BLK_F_FLUSH));
	assert_true(f & VIO_BIT(VIO_BLK_F_CONFIG_WCE));
	assert_true(f & VIO_BIT(VIO_BLK_F_DISCARD));
	assert_true(f & VIO_BIT(VIO_BLK_F_WRITE_ZEROES));
	assert_true(f & VIO_BIT(VIO_BLK_F_BLK_SIZE));
	assert_false(f & VIO_BIT(VIO_BLK_F_RO));
	assert_int_equal(F.p.blk_size, 512);
	assert_int_equal(F.p.seg_max, VIO_BLK_SLOT_SEGS - 2);
	assert_true(F.p.max_discard_sectors > 0 && F.p.max_discard_seg > 0);
	assert_true(F.p.discard_sector_alignment >= 1);
	assert_true(F.p.write_zeroes_may_unmap);
	assert_true(F.p.writeback);
	/* the serial: 20 printable bytes, stable, different for another file */
	vio_host_blk_default_serial(&F.hb, s1);
	vio_host_blk_default_serial(&F.hb, s2);
	assert_memory_equal(s1, s2, sizeof(s1));
	assert_memory_equal(s1, "VP", 2);
	for (unsigned i = 0; i < sizeof(s1); i++)
		assert_true(s1[i] >= '0' && s1[i] <= 'Z');
	F.hb.ino ^= 1;
	vio_host_blk_default_serial(&F.hb, s2);
	assert_memory_not_equal(s1, s2, sizeof(s1));
	F.hb.ino ^= 1;
	/* the image grew */
	assert_int_equal(ftruncate(F.fd, (off_t) DISK_BYTES * 2), 0);
	assert_int_equal(vio_host_blk_update_size(&F.hb), 2 * DISK_SECTORS);
	memset(&F.p, 0, sizeof(F.p));
	vio_host_blk_params(&F.hb, &F.p);
	assert_int_equal(F.p.capacity, 2 * DISK_SECTORS);
}

static void params_read_only(void **state)
{
	uint64_t f;

	(void) state;
	F.opt.read_only = true;
	F.mode = M_SYNC;
	open_image();
	F.p.features = VIO_BIT(VIO_BLK_F_DISCARD); /* the caller's wish is overruled */
	vio_host_blk_params(&F.hb, &F.p);
	f = F.p.features;
	assert_true(f & VIO_BIT(VIO_BLK_F_RO));
	assert_false(f & VIO_BIT(VIO_BLK_F_DISCARD));
	assert_false(f & VIO_BIT(VIO_BLK_F_WRITE_ZEROES));
	assert_false(f & VIO_BIT(VIO_BLK_F_CONFIG_WCE));
}

static void forced_sync(void **state)
{
	struct pollfd pfd;
	struct rq *r;

	(void) state;
	F.mode = M_SYNC;
	start();
	assert_false(vio_host_blk_async(&F.hb));
	assert_int_equal(F.hb.async_err, 0); /* asked for, not a failure */
	assert_true(vio_host_blk_event_fd(&F.hb) >= 0);
	/* everything finishes inside the kick */
	r = rq_new(VIO_BLK_T_IN, 0, 4096);
	rq_queue(r, IN);
	vio_loopback_kick(&F.lb, 0);
	assert_int_equal(collect(), 1);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(vio_host_blk_submit(&F.hb), 0);
	assert_int_equal(vio_host_blk_reap(&F.hb), 0);
	assert_int_equal(vio_host_blk_inflight(&F.hb), 0);
	pfd.fd = vio_host_blk_event_fd(&F.hb);
	pfd.events = POLLIN;
	assert_int_equal(poll(&pfd, 1, 0), 0);
}

/* ---- requests, in every mode ---- */

static void read_write_roundtrip(void **state)
{
	static const uint32_t wcuts[] = {1024, 3072, 512};
	static const uint32_t rcuts[] = {4608};
	uint8_t pat[8192], back[8192];
	struct rq *w, *r;

	(void) state;
	start();
	fill_pattern(pat, sizeof(pat), 0x21);
	w = run_rq_cut(VIO_BLK_T_OUT, 7, sizeof(pat), OUT, pat, wcuts, 3);
	assert_int_equal(*w->status, VIO_BLK_S_OK);
	assert_int_equal(w->len, 1);
	file_read(7 * 512, back, sizeof(back));
	assert_memory_equal(back, pat, sizeof(pat));
	assert_file_original(0, 7 * 512);
	assert_file_original((7 + 16) * 512, 4096);
	r = run_rq_cut(VIO_BLK_T_IN, 7, sizeof(pat), IN, NULL, rcuts, 1);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(r->len, sizeof(pat) + 1);
	assert_memory_equal(r->data, pat, sizeof(pat));
	/* untouched data reads as it is on the file, up to the last sector */
	r = run_rq(VIO_BLK_T_IN, DISK_SECTORS - 4, 2048, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	for (uint32_t i = 0; i < 2048; i++)
		assert_int_equal(r->data[i], disk_byte((DISK_SECTORS - 4) * 512 + i));
	assert_int_equal(F.hb.stats.writes, 1);
	assert_int_equal(F.hb.stats.reads, 2);
	assert_int_equal(F.hb.stats.errors, 0);
	if (F.opt.direct)
		assert_int_equal(F.hb.stats.buffered, 0); /* 512-aligned pieces went direct */
}
MODES(read_write_roundtrip)

static void flush(void **state)
{
	struct rq *r;

	(void) state;
	start();
	r = run_rq(VIO_BLK_T_FLUSH, 0, 0, NONE, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(F.hb.stats.flushes, 1);
	assert_int_equal(F.hb.stats.datasyncs, 1);
}
MODES(flush)

static void discard_punches_hole(void **state)
{
	uint64_t sector[2] = {256, 2048};
	uint32_t n[2] = {512, 256};
	blkcnt_t before, after;
	struct rq *r;

	(void) state;
	assert_int_equal(fsync(F.fd), 0);
	before = file_blocks();
	start();
	r = run_dwz(VIO_BLK_T_DISCARD, 2, sector, n, 0);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	after = file_blocks();
	if (F.hb.no_punch)
		skip(); /* the filesystem cannot punch holes: discard did nothing, correctly */
	assert_hole(before, after, 512 + 256);
	assert_file_zero(256 * 512, 512 * 512);
	assert_file_zero(2048 * 512, 256 * 512);
	assert_file_original(255 * 512, 512);
	assert_file_original(768 * 512, 2048 * 512 - 768 * 512);
	assert_file_original(2304 * 512, 512);
	r = run_rq(VIO_BLK_T_IN, 250, 8192, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	for (uint32_t i = 0; i < 8192; i++)
		assert_int_equal(r->data[i], i < 6 * 512 ? disk_byte(250 * 512 + i) : 0);
	assert_int_equal(F.hb.stats.discards, 2);
}
MODES(discard_punches_hole)

static void write_zeroes(void **state)
{
	uint64_t s1 = 1001, s2 = 4096;
	uint32_t n1 = 99, n2 = 1024;
	blkcnt_t before, after;
	struct rq *r;

	(void) state;
	assert_int_equal(fsync(F.fd), 0);
	start();
	/* without unmap: zeros, allocation kept, odd boundaries */
	r = run_dwz(VIO_BLK_T_WRITE_ZEROES, 1, &s1, &n1, 0);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_file_zero(s1 * 512, n1 * 512);
	assert_file_original((s1 - 1) * 512, 512);
	assert_file_original((s1 + n1) * 512, 512);
	/* with unmap: zeros and a hole */
	before = file_blocks();
	r = run_dwz(VIO_BLK_T_WRITE_ZEROES, 1, &s2, &n2, VIO_BLK_WZ_F_UNMAP);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	after = file_blocks();
	assert_file_zero(s2 * 512, n2 * 512);
	assert_file_original((s2 - 1) * 512, 512);
	assert_file_original((s2 + n2) * 512, 512);
	if (!F.hb.no_punch)
		assert_hole(before, after, n2);
	r = run_rq(VIO_BLK_T_IN, s2 - 1, 2048, IN, NULL);
	for (uint32_t i = 0; i < 2048; i++)
		assert_int_equal(r->data[i], i < 512 ? disk_byte((s2 - 1) * 512 + i) : 0);
	assert_int_equal(F.hb.stats.write_zeroes, 2);
}
MODES(write_zeroes)

/* A filesystem that refuses both fallocate modes: zeros are written, in several submissions. */
static void write_zeroes_by_writing(void **state)
{
	uint64_t s = 512;
	uint32_t n = DISK_SECTORS - 1024; /* 5.5 MiB: more than one call's worth */
	struct rq *r;

	(void) state;
	start();
	F.hb.no_punch = true;
	F.hb.no_zero_range = true;
	r = run_dwz(VIO_BLK_T_WRITE_ZEROES, 1, &s, &n, VIO_BLK_WZ_F_UNMAP);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(F.hb.stats.zero_writes, 1);
	assert_file_zero(s * 512, (size_t) n * 512);
	assert_file_original(0, s * 512);
	assert_file_original(((uint64_t) s + n) * 512, 512 * 512);
	/* a discard that cannot punch does nothing and succeeds */
	r = run_dwz(VIO_BLK_T_DISCARD, 1, &s, &n, 0);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
}
MODES(write_zeroes_by_writing)

static void read_only_refuses_writes(void **state)
{
	uint8_t pat[4096];
	struct vio_iov iov = {pat, sizeof(pat)};
	struct rq *r;

	(void) state;
	F.opt.read_only = true;
	start();
	fill_pattern(pat, sizeof(pat), 3);
	/* the device refuses: RO was offered */
	r = run_rq(VIO_BLK_T_OUT, 0, sizeof(pat), OUT, pat);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	/* so does the provider when asked directly */
	assert_int_equal(vio_host_blk_ops.write(&F.hb, 0, &iov, 1, &F.slots[0]), VIO_BLK_S_IOERR);
	assert_int_equal(vio_host_blk_ops.discard(&F.hb, 0, 8, &F.slots[0]), VIO_BLK_S_IOERR);
	assert_int_equal(vio_host_blk_ops.write_zeroes(&F.hb, 0, 8, false, &F.slots[0]),
			 VIO_BLK_S_IOERR);
	assert_file_original(0, 8192);
	/* reads work */
	r = run_rq(VIO_BLK_T_IN, 0, 4096, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	for (uint32_t i = 0; i < 4096; i++)
		assert_int_equal(r->data[i], disk_byte(i));
}
MODES(read_only_refuses_writes)

/* A failing system call (a write on a read-only descriptor) becomes IOERR, nothing else. */
static void kernel_error_is_ioerr(void **state)
{
	uint8_t pat[4096];
	struct rq *r;

	(void) state;
	F.opt.read_only = true;
	open_image();
	F.hb.read_only = false; /* let the write reach the kernel */
	start_device();
	fill_pattern(pat, sizeof(pat), 9);
	assert_false(F.blk.dev.host_features & VIO_BIT(VIO_BLK_F_RO));
	r = rq_new(VIO_BLK_T_OUT, 0, sizeof(pat));
	memcpy(r->data, pat, sizeof(pat));
	rq_queue(r, OUT);
	kick_wait(1);
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_int_equal(F.hb.stats.errors, 1);
	assert_file_original(0, 4096);
}
MODES(kernel_error_is_ioerr)

/* The provider checks what it is given even though the device already did. */
static void provider_checks_requests(void **state)
{
	static uint8_t b[1024];
	struct vio_iov iov[VIO_BLK_SLOT_SEGS + 1];
	struct vio_iov odd = {b, 100};

	(void) state;
	start();
	for (unsigned i = 0; i < VIO_BLK_SLOT_SEGS + 1; i++) {
		iov[i].base = b;
		iov[i].len = 512;
	}
	assert_int_equal(vio_host_blk_ops.read(&F.hb, DISK_SECTORS, iov, 1, &F.slots[0]),
			 VIO_BLK_S_IOERR);
	assert_int_equal(vio_host_blk_ops.read(&F.hb, DISK_SECTORS - 1, iov, 2, &F.slots[0]),
			 VIO_BLK_S_IOERR);
	assert_int_equal(vio_host_blk_ops.read(&F.hb, 0, &odd, 1, &F.slots[0]), VIO_BLK_S_IOERR);
	assert_int_equal(vio_host_blk_ops.read(&F.hb, 0, iov, VIO_BLK_SLOT_SEGS + 1, &F.slots[0]),
			 VIO_BLK_S_IOERR);
	assert_int_equal(vio_host_blk_ops.write(&F.hb, UINT64_MAX / 256, iov, 1, &F.slots[0]),
			 VIO_BLK_S_IOERR);
	assert_int_equal(vio_host_blk_ops.discard(&F.hb, DISK_SECTORS - 1, 2, &F.slots[0]),
			 VIO_BLK_S_IOERR);
	assert_int_equal(vio_host_blk_ops.write_zeroes(&F.hb, UINT64_MAX, 1, true, &F.slots[0]),
			 VIO_BLK_S_IOERR);
	assert_int_equal(vio_host_blk_inflight(&F.hb), 0);
	assert_file_original(0, DISK_BYTES);
}
MODES(provider_checks_requests)

static void writethrough_and_writeback(void **state)
{
	uint8_t pat[4096], back[4096], v = 0;
	uint64_t s = 64;
	uint32_t n = 8;
	struct rq *r;

	(void) state;
	start();
	fill_pattern(pat, sizeof(pat), 5);
	/* writeback (the reset default): no sync per write */
	assert_true(F.hb.writeback);
	r = run_rq(VIO_BLK_T_OUT, 0, sizeof(pat), OUT, pat);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(F.hb.stats.dsync_writes, 0);
	assert_int_equal(F.hb.stats.datasyncs, 0);
	/* the driver turns the cache off: every write is durable before it completes */
	assert_int_equal(vio_device_write_config(&F.blk.dev, VIO_BLK_CFG_WRITEBACK, &v, 1), 0);
	assert_false(F.hb.writeback);
	r = run_rq(VIO_BLK_T_OUT, 8, sizeof(pat), OUT, pat);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(F.hb.stats.dsync_writes + F.hb.stats.datasyncs, 1);
	/* without RWF_DSYNC the write is followed by a datasync */
	F.hb.no_rwf_dsync = true;
	r = run_rq(VIO_BLK_T_OUT, 16, sizeof(pat), OUT, pat);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(F.hb.stats.datasyncs, 1);
	/* write-zeroes is a write too */
	r = run_dwz(VIO_BLK_T_WRITE_ZEROES, 1, &s, &n, 0);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(F.hb.stats.datasyncs, 2);
	file_read(8 * 512, back, sizeof(back));
	assert_memory_equal(back, pat, sizeof(back));
	file_read(16 * 512, back, sizeof(back));
	assert_memory_equal(back, pat, sizeof(back));
	assert_file_zero(64 * 512, 8 * 512);
	/* back to writeback */
	v = 1;
	assert_int_equal(vio_device_write_config(&F.blk.dev, VIO_BLK_CFG_WRITEBACK, &v, 1), 0);
	assert_true(F.hb.writeback);
	r = run_rq(VIO_BLK_T_OUT, 24, sizeof(pat), OUT, pat);
	assert_int_equal(F.hb.stats.datasyncs, 2);
}
MODES(writethrough_and_writeback)

/* A driver that cannot flush gets a writethrough disk. */
static void no_flush_negotiated_is_writethrough(void **state)
{
	uint8_t pat[512] = {1};
	struct rq *r;

	(void) state;
	F.want = ~(VIO_BIT(VIO_BLK_F_FLUSH) | VIO_BIT(VIO_BLK_F_CONFIG_WCE));
	start();
	assert_false(F.hb.writeback);
	r = run_rq(VIO_BLK_T_OUT, 0, sizeof(pat), OUT, pat);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(F.hb.stats.dsync_writes + F.hb.stats.datasyncs, 1);
}
MODES(no_flush_negotiated_is_writethrough)

static void get_id_default_serial(void **state)
{
	char want[VIO_BLK_ID_BYTES];
	struct rq *r;

	(void) state;
	start();
	vio_host_blk_default_serial(&F.hb, want);
	r = run_rq(VIO_BLK_T_GET_ID, 0, VIO_BLK_ID_BYTES, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_memory_equal(r->data, want, VIO_BLK_ID_BYTES);
}

/*
 * Many requests at once: nothing reaches the kernel before the submit, one
 * submit sends the batch, completions arrive through the event fd. More
 * requests than device slots: completions free slots, the device takes the
 * rest from inside the reap, and the reap submits them.
 */
static void many_in_flight(void **state)
{
	enum { N = 80, LEN = 4096 };
	struct rq *w[N], *r[N];
	struct pollfd pfd;
	uint8_t back[LEN];

	(void) state;
	start();
	for (unsigned i = 0; i < N; i++) {
		w[i] = rq_new(VIO_BLK_T_OUT, (uint64_t) i * 24 + (i % 3), LEN);
		fill_pattern(w[i]->data, LEN, (uint8_t) (i * 11));
		rq_queue(w[i], OUT);
	}
	vio_loopback_kick(&F.lb, 0);
	if (uring_mode()) {
		assert_int_equal(vio_host_blk_inflight(&F.hb), NSLOTS);
		assert_int_equal(F.hb.stats.submitted, 0);
		pfd.fd = vio_host_blk_event_fd(&F.hb);
		pfd.events = POLLIN;
		assert_int_equal(poll(&pfd, 1, 0), 0);
		assert_int_equal(collect(), 0);
		assert_int_equal(vio_host_blk_submit(&F.hb), NSLOTS);
		assert_int_equal(F.hb.stats.submit_calls, 1);
		assert_int_equal(vio_host_blk_submit(&F.hb), 0); /* nothing left */
	}
	wait_used(N);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(*w[i]->status, VIO_BLK_S_OK);
		file_read(((uint64_t) i * 24 + (i % 3)) * 512, back, LEN);
		assert_memory_equal(back, w[i]->data, LEN);
	}
	for (unsigned i = 0; i < N; i++) {
		r[i] = rq_new(VIO_BLK_T_IN, (uint64_t) i * 24 + (i % 3), LEN);
		memset(r[i]->data, UNTOUCHED, LEN);
		rq_queue(r[i], IN);
	}
	kick_wait(N);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(*r[i]->status, VIO_BLK_S_OK);
		assert_memory_equal(r[i]->data, w[i]->data, LEN);
	}
	assert_int_equal(vio_host_blk_inflight(&F.hb), 0);
	assert_int_equal(vio_blk_inflight(&F.blk), 0);
	assert_int_equal(F.hb.stats.errors, 0);
	if (uring_mode())
		assert_int_equal(F.hb.stats.sync_ops, 0);
}
MODES(many_in_flight)

/* A ring smaller than the device's slot pool: the overflow runs in the call, correctly. */
static void ring_smaller_than_slots(void **state)
{
	enum { N = 40, LEN = 1024 };
	struct rq *w[N];
	uint8_t back[LEN];

	(void) state;
	F.opt.queue_depth = 8;
	start();
	for (unsigned i = 0; i < N; i++) {
		w[i] = rq_new(VIO_BLK_T_OUT, (uint64_t) i * 2, LEN);
		fill_pattern(w[i]->data, LEN, (uint8_t) (i + 1));
		rq_queue(w[i], OUT);
	}
	kick_wait(N);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(*w[i]->status, VIO_BLK_S_OK);
		file_read((uint64_t) i * 2 * 512, back, LEN);
		assert_memory_equal(back, w[i]->data, LEN);
	}
	if (uring_mode()) {
		assert_int_equal(F.hb.depth, 8);
		assert_true(F.hb.stats.sync_ops > 0);
	}
}
MODES(ring_smaller_than_slots)

/* The file shrank under the disk: a read across the end gets the data, then zeros. */
static void short_read_at_end_of_file(void **state)
{
	uint64_t end = (uint64_t) (DISK_SECTORS - 8) * 512 + 256;
	struct rq *r;

	(void) state;
	start();
	assert_int_equal(ftruncate(F.fd, (off_t) end), 0);
	r = run_rq(VIO_BLK_T_IN, DISK_SECTORS - 16, 16 * 512, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	for (uint32_t i = 0; i < 16 * 512; i++) {
		uint64_t off = (uint64_t) (DISK_SECTORS - 16) * 512 + i;

		if (r->data[i] != (off < end ? disk_byte(off) : 0))
			fail_msg("byte %u wrong", i);
	}
	/* entirely past the end: all zeros */
	r = run_rq(VIO_BLK_T_IN, DISK_SECTORS - 4, 4 * 512, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	for (uint32_t i = 0; i < 4 * 512; i++)
		assert_int_equal(r->data[i], 0);
}
MODES(short_read_at_end_of_file)

/*
 * RLIMIT_FSIZE cuts a write short at the limit: the provider sends the rest,
 * the kernel refuses it with EFBIG, and the request fails after the first
 * part reached the file.
 */
static void short_write_resubmitted(void **state)
{
	struct rlimit lim;
	uint8_t pat[8192], back[8192];
	struct rq *r;

	(void) state;
	start();
	fill_pattern(pat, sizeof(pat), 0x77);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &F.old_fsize), 0);
	lim = F.old_fsize;
	lim.rlim_cur = 100 * 512 + 4096;
	signal(SIGXFSZ, SIG_IGN); /* EFBIG instead of death at the limit */
	F.fsize_limited = true;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	r = rq_new(VIO_BLK_T_OUT, 100, sizeof(pat));
	memcpy(r->data, pat, sizeof(pat));
	rq_queue(r, OUT);
	kick_wait(1);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &F.old_fsize), 0);
	F.fsize_limited = false;
	assert_int_equal(*r->status, VIO_BLK_S_IOERR);
	assert_int_equal(F.hb.stats.short_io, 1);
	file_read(100 * 512, back, sizeof(back));
	assert_memory_equal(back, pat, 4096);
	assert_file_original(100 * 512 + 4096, 4096);
	/* with the limit gone the same write goes through */
	r = run_rq(VIO_BLK_T_OUT, 100, sizeof(pat), OUT, pat);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	file_read(100 * 512, back, sizeof(back));
	assert_memory_equal(back, pat, sizeof(back));
}
MODES(short_write_resubmitted)

/* O_DIRECT: a buffer off the alignment goes through the buffered descriptor, data intact. */
static void direct_unaligned_buffer(void **state)
{
	uint8_t pat[4096], back[4096];
	struct rq *w, *r;

	(void) state;
	start();
	fill_pattern(pat, sizeof(pat), 0x42);
	w = rq_new_at(VIO_BLK_T_OUT, 33, sizeof(pat), 16);
	memcpy(w->data, pat, sizeof(pat));
	rq_queue(w, OUT);
	kick_wait(1);
	assert_int_equal(*w->status, VIO_BLK_S_OK);
	file_read(33 * 512, back, sizeof(back));
	assert_memory_equal(back, pat, sizeof(back));
	r = rq_new_at(VIO_BLK_T_IN, 33, sizeof(pat), 48);
	rq_queue(r, IN);
	kick_wait(1);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_memory_equal(r->data, pat, sizeof(pat));
	assert_int_equal(F.hb.stats.buffered, F.hb.dio_mem_align > 16 ? 2 : 0);
	/* an aligned one does not */
	r = run_rq(VIO_BLK_T_IN, 32, 4096, IN, NULL);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_memory_equal(r->data + 512, pat, 3584);
	assert_int_equal(F.hb.stats.buffered, F.hb.dio_mem_align > 16 ? 2 : 0);
}

static void direct_unaligned_buffer_sync(void **s)
{
	F.mode = M_SYNC_DIRECT;
	direct_unaligned_buffer(s);
}

static void direct_unaligned_buffer_uring(void **s)
{
	F.mode = M_URING_DIRECT;
	direct_unaligned_buffer(s);
}

/* ---- lanes: a queue's I/O on the ring of the loop that serves it ---- */

static struct vio_loop lane_loop;
static unsigned lane_flushes;

/* What kind_blk does: the loop took completions, finish them. */
static void lane_flush_cb(void *ctx)
{
	(void) ctx;
	lane_flushes++;
	vio_host_blk_poll(&F.hb);
}

static bool event_fd_signalled(void)
{
	struct pollfd pfd = {.fd = vio_host_blk_event_fd(&F.hb), .events = POLLIN};

	return poll(&pfd, 1, 0) == 1;
}

/*
 * Requests the loop's thread starts go through its ring: nothing on the
 * disk's ring, the disk's event fd never signalled, completions taken by the
 * loop's wait and finished in the flush, or at once by vio_host_blk_poll
 * after the submission, or by vio_host_blk_drain. A request started while
 * another loop runs on the thread uses the disk's ring.
 */
static void lane_io(bool direct)
{
	enum { N = 16, LEN = 4096 };
	struct vio_loop other;
	struct rq *w[N], *r[N];
	uint8_t back[LEN];
	unsigned got;

	F.mode = direct ? M_URING_DIRECT : M_URING;
	start();
	assert_int_equal(vio_loop_init(&lane_loop), 0);
	if (vio_loop_enable_ring(&lane_loop) < 0) {
		vio_loop_fini(&lane_loop);
		print_message("no io_uring for a loop here: skipped\n");
		skip();
	}
	lane_flushes = 0;
	assert_int_equal(vio_loop_run_once(&lane_loop, 0), 0); /* this thread runs it now */
	assert_int_equal(vio_host_blk_attach_loop(&F.hb, 0, &lane_loop, lane_flush_cb, NULL), 0);
	assert_int_equal(vio_host_blk_attach_loop(&F.hb, 0, &lane_loop, lane_flush_cb, NULL),
			 -EBUSY);
	assert_int_equal(vio_host_blk_attach_loop(&F.hb, VIO_HOST_BLK_MAX_LANES, &lane_loop,
						  lane_flush_cb, NULL),
			 -EINVAL);

	/* writes: sent by the submission, finished by the loop's wait and flush */
	for (unsigned i = 0; i < N; i++) {
		w[i] = rq_new(VIO_BLK_T_OUT, (uint64_t) i * 16, LEN);
		fill_pattern(w[i]->data, LEN, (uint8_t) (i * 5 + 1));
		rq_queue(w[i], OUT);
	}
	vio_loopback_kick(&F.lb, 0);
	assert_int_equal(vio_host_blk_inflight(&F.hb), N);
	assert_int_equal(F.hb.in_kernel, 0); /* none on the disk's ring */
	assert_int_equal(vio_host_blk_submit(&F.hb), N);
	got = 0;
	for (unsigned rounds = 0; got < N; rounds++) {
		assert_true(rounds < 1000);
		assert_true(vio_loop_run_once(&lane_loop, 1000) >= 0);
		got += collect();
	}
	assert_true(lane_flushes > 0);
	assert_false(event_fd_signalled());
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(*w[i]->status, VIO_BLK_S_OK);
		file_read((uint64_t) i * 16 * 512, back, LEN);
		assert_memory_equal(back, w[i]->data, LEN);
	}

	/* reads: finished by vio_host_blk_poll right after the submission, or by a drain */
	for (unsigned i = 0; i < N; i++) {
		r[i] = rq_new(VIO_BLK_T_IN, (uint64_t) i * 16, LEN);
		memset(r[i]->data, UNTOUCHED, LEN);
		rq_queue(r[i], IN);
	}
	vio_loopback_kick(&F.lb, 0);
	assert_int_equal(vio_host_blk_submit(&F.hb), N);
	vio_host_blk_poll(&F.hb);
	vio_host_blk_drain(&F.hb);
	assert_int_equal(vio_host_blk_inflight(&F.hb), 0);
	assert_int_equal(collect(), N);
	for (unsigned i = 0; i < N; i++) {
		assert_int_equal(*r[i]->status, VIO_BLK_S_OK);
		assert_memory_equal(r[i]->data, w[i]->data, LEN);
	}
	assert_false(event_fd_signalled());

	/* another loop on this thread: the lane's ring is not its to use */
	assert_int_equal(vio_loop_init(&other), 0);
	assert_int_equal(vio_loop_run_once(&other, 0), 0);
	r[0] = rq_new(VIO_BLK_T_IN, 0, LEN);
	rq_queue(r[0], IN);
	vio_loopback_kick(&F.lb, 0);
	assert_int_equal(F.hb.unsubmitted, 1);
	assert_int_equal(vio_host_blk_submit(&F.hb), 1);
	wait_used(1);
	assert_memory_equal(r[0]->data, w[0]->data, LEN);
	assert_int_equal(F.hb.stats.sync_ops, 0);
	vio_loop_fini(&other);

	vio_host_blk_detach_loop(&F.hb, &lane_loop);
	vio_loop_fini(&lane_loop);
}

static void lane_io_uring(void **state)
{
	(void) state;
	lane_io(false);
}

static void lane_io_uring_direct(void **state)
{
	(void) state;
	lane_io(true);
}

/* A reset with requests in the kernel: drain lets them finish, the ring stays untouched. */
static void reset_with_requests_in_flight(void **state)
{
	enum { N = 8 };
	struct rq *r[N];
	uint16_t used_idx;

	(void) state;
	F.mode = M_URING;
	start();
	for (unsigned i = 0; i < N; i++) {
		r[i] = rq_new(VIO_BLK_T_IN, i * 8, 4096);
		rq_queue(r[i], IN);
	}
	vio_loopback_kick(&F.lb, 0);
	assert_int_equal(vio_host_blk_submit(&F.hb), N);
	used_idx = vio_get_le16(&F.dq.used[1]);
	vio_device_set_status(&F.blk.dev, 0);
	vio_host_blk_drain(&F.hb);
	assert_int_equal(vio_host_blk_inflight(&F.hb), 0);
	assert_int_equal(vio_blk_inflight(&F.blk), 0);
	assert_int_equal(vio_get_le16(&F.dq.used[1]), used_idx);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(*r[i]->status, UNTOUCHED);
	/* and the device serves the driver again */
	assert_int_equal(vio_loopback_negotiate(&F.lb, F.want), 0);
	assert_int_equal(vio_loopback_queue(&F.lb, 0, QSIZE, &F.dq, F.dslots), 0);
	assert_int_equal(vio_loopback_driver_ok(&F.lb), 0);
	F.nrq = 0;
	r[0] = rq_new(VIO_BLK_T_IN, 0, 512);
	rq_queue(r[0], IN);
	kick_wait(1);
	assert_int_equal(*r[0]->status, VIO_BLK_S_OK);
	assert_int_equal(r[0]->data[1], disk_byte(1));
}

/* Closing with requests in the kernel waits for them (ASan would see a late write). */
static void close_with_requests_in_flight(void **state)
{
	enum { N = 16 };
	struct rq *r;

	(void) state;
	F.mode = M_URING;
	start();
	for (unsigned i = 0; i < N; i++) {
		r = rq_new(VIO_BLK_T_IN, i * 64, 32768);
		rq_queue(r, IN);
	}
	vio_loopback_kick(&F.lb, 0);
	vio_host_blk_submit(&F.hb);
	vio_host_blk_close(&F.hb);
	F.opened = false;
	assert_int_equal(F.hb.fd, -1);
}

/* Discard and write-zeroes of several segments continue from the completions. */
static void multi_segment_requests(void **state)
{
	uint64_t sector[3] = {8, 1000, 3000};
	uint32_t n[3] = {8, 16, 24};
	struct rq *r;

	(void) state;
	start();
	r = run_dwz(VIO_BLK_T_WRITE_ZEROES, 3, sector, n, 0);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	for (unsigned i = 0; i < 3; i++) {
		assert_file_zero(sector[i] * 512, n[i] * 512);
		assert_file_original((sector[i] + n[i]) * 512, 512);
	}
	assert_int_equal(F.hb.stats.write_zeroes, 3);
	r = run_dwz(VIO_BLK_T_DISCARD, 3, sector, n, 0);
	assert_int_equal(*r->status, VIO_BLK_S_OK);
	assert_int_equal(F.hb.stats.discards, 3);
}
MODES(multi_segment_requests)

#define T(fn)  cmocka_unit_test_setup_teardown(fn, fixture, teardown)
#define TM(fn) T(fn##_sync), T(fn##_uring), T(fn##_sync_direct), T(fn##_uring_direct)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(open_errors),
	    T(params_from_file),
	    T(params_read_only),
	    T(forced_sync),
	    T(get_id_default_serial),
	    TM(read_write_roundtrip),
	    TM(flush),
	    TM(discard_punches_hole),
	    TM(write_zeroes),
	    TM(write_zeroes_by_writing),
	    TM(read_only_refuses_writes),
	    TM(kernel_error_is_ioerr),
	    TM(provider_checks_requests),
	    TM(writethrough_and_writeback),
	    TM(no_flush_negotiated_is_writethrough),
	    TM(many_in_flight),
	    TM(ring_smaller_than_slots),
	    TM(short_read_at_end_of_file),
	    TM(short_write_resubmitted),
	    TM(multi_segment_requests),
	    T(direct_unaligned_buffer_sync),
	    T(direct_unaligned_buffer_uring),
	    T(lane_io_uring),
	    T(lane_io_uring_direct),
	    T(reset_with_requests_in_flight),
	    T(close_with_requests_in_flight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
