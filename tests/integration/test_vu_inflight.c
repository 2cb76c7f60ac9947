/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Requests in flight survive a backend killed with SIGKILL (INFLIGHT_SHMFD).
 *
 * The backend is a child process of this test serving virtio-blk over the
 * project's vhost-user server, on a RAM disk in memory shared with its
 * successors (the disk a real backend would find again). The first child
 * completes the requests of odd-numbered 4 KiB blocks at once and holds the
 * others forever: completions out of order, requests in flight. Once the odd
 * ones are seen, the test kills it with SIGKILL, starts a second child on the
 * same socket and reconnects the way QEMU does (SET_INFLIGHT_FD with the area
 * of the first connection, each ring resuming at its used index). Every
 * request must then complete exactly once with the right data: the driver
 * side's queue refuses a used entry for a request that is not in flight, and
 * the data is checked in guest memory and on the disk.
 *
 * A third case does the same against the vioport daemon on an image opened
 * with O_DIRECT, killed while a batch of writes is being served, several
 * times in a row.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "vioport/blk.h"
#include "vioport/posix_loop.h"
#include "vioport/sim_ramdisk.h"
#include "vioport/vhost_user.h"
#include "vioport/vhost_user_blk_client.h"

#define DISK_BYTES (1u << 20)
#define BLOCK	   4096u
#define SPB	   (BLOCK / 512u) /* sectors per block */
#define NREQ	   12u		  /* 8 writes, then 4 reads */
#define NQ_MAX	   2u
#define WAIT_MS	   10000

/* ------------------------------------------------------------ the child backend */

struct child {
	struct vio_sim_ramdisk rd;
	bool hold; /* hold the requests of even blocks forever */
	struct vio_blk blk;
	struct vio_queue queues[NQ_MAX];
	struct vio_blk_req slots[32];
	struct vio_loop loop;
	struct vio_vu_server srv;
};

static bool held(uint64_t sector)
{
	return (sector / SPB) % 2 == 0;
}

static int c_read(void *ctx, uint64_t sector, const struct vio_iov *iov, uint16_t niov,
		  struct vio_blk_req *req)
{
	struct child *c = ctx;

	if (c->hold && held(sector))
		return VIO_BLK_PENDING; /* never completed: killed with it in flight */
	return vio_sim_ramdisk_ops.read(&c->rd, sector, iov, niov, req);
}

static int c_write(void *ctx, uint64_t sector, const struct vio_iov *iov, uint16_t niov,
		   struct vio_blk_req *req)
{
	struct child *c = ctx;

	if (c->hold && held(sector))
		return VIO_BLK_PENDING;
	return vio_sim_ramdisk_ops.write(&c->rd, sector, iov, niov, req);
}

static int c_flush(void *ctx, struct vio_blk_req *req)
{
	struct child *c = ctx;

	return vio_sim_ramdisk_ops.flush(&c->rd, req);
}

static const struct vio_blk_ops child_ops = {.read = c_read, .write = c_write, .flush = c_flush};

/* Serves the disk on sock until killed; never returns. */
static void child_main(uint8_t *disk, const char *sock, bool hold, uint16_t nq)
{
	static struct child c;
	struct vio_blk_params p;
	struct vio_vu_server_config cfg = {.dev = &c.blk.dev, .loop = &c.loop};

	memset(&p, 0, sizeof(p));
	p.capacity = DISK_BYTES / 512;
	p.features = VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) |
		     VIO_BIT(VIO_BLK_F_FLUSH) | VIO_BIT(VIO_BLK_F_MQ);
	p.num_queues = nq;
	p.queue_size = 64;
	c.hold = hold;
	vio_sim_ramdisk_init(&c.rd, disk, DISK_BYTES);
	if (vio_blk_init(&c.blk, &p, &child_ops, &c, c.queues, c.slots, 32) < 0 ||
	    vio_loop_init(&c.loop) < 0 || vio_vu_server_init(&c.srv, &cfg) < 0 ||
	    vio_vu_server_listen(&c.srv, sock) < 0)
		_exit(3);
	vio_loop_run(&c.loop);
	_exit(0);
}

/* ------------------------------------------------------------ the test side */

static struct {
	char dir[IT_PATH];
	char sock[IT_PATH];
	uint8_t *disk; /* shared with every child */
	pid_t child;
	struct vio_vu_blk b;
	struct vio_vu_blk_io io[NREQ];
	unsigned done[NREQ];
	struct it_proc daemon;
	char image[IT_PATH];
} T;

static pid_t spawn_child(bool hold, uint16_t nq)
{
	pid_t parent = getpid();
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(4);
		child_main(T.disk, T.sock, hold, nq);
	}
	return pid;
}

static void kill_child(void)
{
	int st;

	if (T.child <= 0)
		return;
	kill(T.child, SIGKILL);
	/* SIGKILL cannot be caught or ignored: this wait ends */
	assert_int_equal(waitpid(T.child, &st, 0), T.child);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	T.child = 0;
}

static int setup(void **state)
{
	(void) state;
	memset(&T, 0, sizeof(T));
	if (it_tmpdir(T.dir, "inflight") < 0 || it_path(T.sock, T.dir, "blk.sock") < 0)
		return -1;
	T.disk = mmap(NULL, DISK_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (T.disk == MAP_FAILED)
		return -1;
	for (uint32_t k = 0; k < DISK_BYTES; k++)
		T.disk[k] = it_pattern(k);
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	vio_vu_blk_close(&T.b);
	if (T.child > 0) {
		kill(T.child, SIGKILL);
		waitpid(T.child, NULL, 0);
	}
	it_stop(&T.daemon, 5000, NULL);
	munmap(T.disk, DISK_BYTES);
	it_rmtree(T.dir);
	return 0;
}

/* Request i: a write of block i (i < 8, data seeded i) or a read of block 8 + i. */
static uint64_t req_sector(unsigned i)
{
	return (uint64_t) i * SPB;
}

static void submit_all(uint16_t nq)
{
	for (unsigned i = 0; i < NREQ; i++) {
		uint16_t q = (uint16_t) ((i / 2) % nq); /* each queue: held and not */
		bool wr = i < 8;

		assert_int_equal(vio_vu_blk_io_alloc(&T.b, &T.io[i], BLOCK), 0);
		if (wr)
			it_fill(T.io[i].data, BLOCK, 1000 + i);
		else
			memset(T.io[i].data, 0xee, BLOCK);
		assert_int_equal(vio_vu_blk_io_submit(&T.b, q, &T.io[i],
						      wr ? VIO_BLK_T_OUT : VIO_BLK_T_IN,
						      req_sector(i), BLOCK, &T.io[i]),
				 0);
	}
	for (uint16_t q = 0; q < nq; q++)
		assert_true(vio_vu_fe_notify(&T.b.fe, q) >= 0);
}

/* Waits for n more completions over the queues; each names a request in flight. */
static void reap(uint16_t nq, unsigned n)
{
	while (n > 0) {
		bool got = false;

		for (uint16_t q = 0; q < nq; q++) {
			void *tok;
			uint32_t len;
			int r = vio_vu_fe_get_used(&T.b.fe, q, &tok, &len);

			assert_true(r >= 0); /* -EPROTO: a request completed twice */
			if (r == 0)
				continue;
			T.done[(struct vio_vu_blk_io *) tok - T.io]++;
			got = true;
			n--;
		}
		if (!got) {
			int r = 0;

			for (uint16_t q = 0; q < nq && r == 0; q++)
				r = vio_vu_fe_wait(&T.b.fe, q, WAIT_MS / (nq * 10));
			if (r == 0)
				for (uint16_t q = 0; q < nq && r == 0; q++)
					r = vio_vu_fe_wait(&T.b.fe, q, WAIT_MS / nq);
			if (r == 0)
				fail_msg("no completion within %d ms, %u still expected", WAIT_MS,
					 n);
		}
	}
}

static void check_results(void)
{
	uint8_t want[BLOCK];

	for (unsigned i = 0; i < NREQ; i++) {
		assert_int_equal(T.done[i], 1);
		assert_int_equal(vio_vu_blk_io_status(&T.io[i]), VIO_BLK_S_OK);
		if (i < 8) {
			it_fill(want, BLOCK, 1000 + i);
			assert_memory_equal(T.disk + req_sector(i) * 512, want, BLOCK);
		} else {
			for (unsigned k = 0; k < BLOCK; k++)
				want[k] = it_pattern(req_sector(i) * 512 + k);
			assert_memory_equal(T.io[i].data, want, BLOCK);
		}
	}
}

/*
 * After all is complete: one more request on each queue, served after
 * anything the new backend took from the rings, so a request completed twice
 * would show up before it does.
 */
static void nothing_more(uint16_t nq)
{
	struct vio_vu_blk_io io;

	assert_int_equal(vio_vu_blk_io_alloc(&T.b, &io, BLOCK), 0);
	for (uint16_t q = 0; q < nq; q++) {
		void *tok;
		uint32_t len;

		assert_int_equal(vio_vu_blk_io_submit(&T.b, q, &io, VIO_BLK_T_IN, 0, BLOCK, &io),
				 0);
		assert_true(vio_vu_fe_notify(&T.b.fe, q) >= 0);
		assert_int_equal(vio_vu_fe_wait_used(&T.b.fe, q, &tok, &len, WAIT_MS), 1);
		assert_ptr_equal(tok, &io);
		assert_int_equal(vio_vu_blk_io_status(&io), VIO_BLK_S_OK);
	}
	vio_vu_blk_io_free(&T.b, &io);
}

static void kill_with_requests_in_flight(uint16_t nq)
{
	struct vio_vu_fe_params p = {.num_queues = nq, .queue_size = 64};
	struct stat st0, st1;

	T.child = spawn_child(true, nq);
	assert_true(T.child > 0);
	assert_int_equal(vio_vu_blk_open(&T.b, T.sock, &p), 0);
	assert_true(vio_vu_fe_has_protocol(&T.b.fe, VIO_VU_PF_INFLIGHT_SHMFD));
	assert_non_null(T.b.fe.inflight);
	submit_all(nq);
	/* the odd blocks complete, out of order with the even ones held */
	reap(nq, NREQ / 2);
	for (unsigned i = 0; i < NREQ; i++)
		assert_int_equal(T.done[i], i % 2);

	assert_int_equal(fstat(T.b.fe.inflight_fd, &st0), 0);
	kill_child();
	T.child = spawn_child(false, nq);
	assert_true(T.child > 0);
	assert_int_equal(vio_vu_fe_reconnect(&T.b.fe, T.sock, WAIT_MS), 0);
	/* the same area went back (SET_INFLIGHT_FD), not a fresh one */
	assert_int_equal(fstat(T.b.fe.inflight_fd, &st1), 0);
	assert_true(st0.st_ino == st1.st_ino && st0.st_dev == st1.st_dev);
	reap(nq, NREQ / 2);
	check_results();
	nothing_more(nq);
}

static void one_queue(void **state)
{
	(void) state;
	kill_with_requests_in_flight(1);
}

static void two_queues(void **state)
{
	(void) state;
	kill_with_requests_in_flight(2);
}

/* ------------------------------------------------------------ the daemon */

#define D_BLOCKS 32u
#define D_ROUNDS 5u

static void start_daemon(const char *bin)
{
	char *argv[] = {(char *) bin, "blk",   "--socket-path", T.daemon.sock,
			"--image",    T.image, "--direct",	NULL};

	assert_int_equal(it_start(&T.daemon, argv, WAIT_MS), 0);
}

/* The daemon killed while it serves a batch of writes, again and again. */
static void daemon_killed(void **state)
{
	const char *bin = it_vioport_bin();
	struct vio_vu_blk_io io[D_BLOCKS];
	unsigned done[D_BLOCKS];
	uint8_t *want = NULL, *got = NULL;
	int fd;

	(void) state;
	if (bin == NULL) {
		skip();
		return;
	}
	assert_int_equal(it_path(T.image, T.dir, "disk.img"), 0);
	assert_int_equal(it_path(T.daemon.sock, T.dir, "d.sock"), 0);
	assert_int_equal(it_path(T.daemon.log, T.dir, "d.log"), 0);
	assert_int_equal(it_make_image(T.image, D_BLOCKS * 65536ull), 0);
	start_daemon(bin);
	assert_int_equal(vio_vu_blk_open(&T.b, T.daemon.sock, NULL), 0);
	for (unsigned i = 0; i < D_BLOCKS; i++)
		assert_int_equal(vio_vu_blk_io_alloc(&T.b, &io[i], 65536), 0);
	want = malloc(65536);
	got = malloc(65536);
	assert_non_null(want);
	assert_non_null(got);
	for (unsigned round = 0; round < D_ROUNDS; round++) {
		memset(done, 0, sizeof(done));
		for (unsigned i = 0; i < D_BLOCKS; i++) {
			it_fill(io[i].data, 65536, round * 100 + i);
			assert_int_equal(vio_vu_blk_io_submit(&T.b, 0, &io[i], VIO_BLK_T_OUT,
							      i * 128ull, 65536, &io[i]),
					 0);
		}
		assert_true(vio_vu_fe_notify(&T.b.fe, 0) >= 0);
		/* killed at once: whatever it had taken is in flight or half published */
		kill(T.daemon.pid, SIGKILL);
		assert_true(it_wait_exit(&T.daemon, WAIT_MS) != -1);
		start_daemon(bin);
		assert_int_equal(vio_vu_fe_reconnect(&T.b.fe, T.daemon.sock, WAIT_MS), 0);
		for (unsigned n = 0; n < D_BLOCKS; n++) {
			void *tok;
			uint32_t len;
			int r = vio_vu_fe_wait_used(&T.b.fe, 0, &tok, &len, WAIT_MS);

			if (r != 1)
				fail_msg("round %u: %u of %u writes completed (%d)", round, n,
					 D_BLOCKS, r);
			done[(struct vio_vu_blk_io *) tok - io]++;
		}
		for (unsigned i = 0; i < D_BLOCKS; i++) {
			assert_int_equal(done[i], 1);
			assert_int_equal(vio_vu_blk_io_status(&io[i]), VIO_BLK_S_OK);
		}
	}
	/* the image holds the last round's data */
	fd = open(T.image, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	for (unsigned i = 0; i < D_BLOCKS; i++) {
		it_fill(want, 65536, (D_ROUNDS - 1) * 100 + i);
		assert_int_equal(pread(fd, got, 65536, i * 65536ll), 65536);
		assert_memory_equal(got, want, 65536);
	}
	close(fd);
	free(want);
	free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(one_queue, setup, teardown),
	    cmocka_unit_test_setup_teardown(two_queues, setup, teardown),
	    cmocka_unit_test_setup_teardown(daemon_killed, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
