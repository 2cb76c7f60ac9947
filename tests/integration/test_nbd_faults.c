/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's NBD disks when the server misbehaves, each case with its own
 * nbdkit and daemon (sandbox on) in the group's directory:
 *
 * - the error filter: requests failing on the server reach the driver as
 *   IOERR, and the daemon serves again once the errors stop;
 * - the delay filter: many requests in flight at once all complete, right;
 * - a read-only export: RO offered, writes refused;
 * - the server killed with requests in flight (UNIX socket, then loopback
 *   TCP): those complete with IOERR, new ones fail at once, and once the
 *   server is back the same daemon, sandboxed, serves again;
 * - a server that stops answering: with --nbd-timeout its held request
 *   fails, and the daemon reconnects and serves;
 * - no server at start-up: the daemon says so and exits.
 *
 * Skipped, saying why, without nbdkit or without the daemon.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blk_cases.h"
#include "nbd_itest.h"
#include "vioport/byteorder.h"

#define SECTOR	  VIO_BLK_SECTOR_SIZE
#define WAIT_MS	  10000
#define NIO	  64
#define BACK_MS	  20000 /* a reconnection: backoff, and a TCP handshake timing out once */
#define STEP_MS	  20
#define MAX_STEPS (BACK_MS / STEP_MS)

static const char *skip_all;
static char dir[IT_PATH], bin[IT_PATH];
static struct it_proc server, daemon_p;
static struct vio_vu_blk b;
static char uri[IT_PATH + 64];

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int group_setup(void **state)
{
	const char *v = it_vioport_bin();

	(void) state;
	if (v == NULL) {
		skip_all = "no vioport daemon at $VIOPORT_BIN: NBD fault cases skipped";
		return 0;
	}
	if (nit_nbdkit_bin() == NULL) {
		skip_all = "nbdkit not found (Debian package nbdkit): NBD fault cases skipped";
		return 0;
	}
	snprintf(bin, sizeof(bin), "%s", v);
	if (it_tmpdir(dir, "nbdf") < 0 || it_path(server.sock, dir, "nbd.sock") < 0 ||
	    it_path(server.log, dir, "nbdkit.log") < 0 ||
	    it_path(daemon_p.sock, dir, "blk.sock") < 0 ||
	    it_path(daemon_p.log, dir, "vioport.log") < 0)
		return -1;
	nit_unix_uri(uri, sizeof(uri), server.sock);
	return 0;
}

static int group_teardown(void **state)
{
	(void) state;
	if (dir[0] != '\0')
		it_rmtree(dir);
	return 0;
}

/* Stops the case's daemon (failing on a sanitizer report) and server. */
static int case_teardown(void **state)
{
	bool san = false;
	int rc = 0;

	(void) state;
	vio_vu_blk_close(&b);
	if (it_stop(&daemon_p, 5000, &san) != -1 && san) {
		it_print_log(daemon_p.log, 40);
		rc = -1;
	}
	it_stop(&server, 5000, NULL);
	return rc;
}

/* Starts the daemon on uri with extra options (NULL-terminated), sandboxed; fails the case. */
static void start_daemon(const char *extra)
{
	char *argv[] = {bin,	     "blk", "--socket-path", daemon_p.sock, "--image",	    uri,
			"--sandbox", "on",  "--log-level",   "info",	    (char *) extra, NULL};

	if (it_start(&daemon_p, argv, 10000) < 0)
		fail_msg("the vioport daemon did not start on %s", uri);
	BC_OK(vio_vu_blk_open(&b, daemon_p.sock, NULL), &b);
}

static void start_server(const char *args)
{
	if (nit_nbdkit_start(&server, args) < 0)
		fail_msg("nbdkit %s did not start", args);
}

/* Submits n requests of type on 4 KiB each at sector base + 8 i, kicks, waits for them all. */
static void run_batch(struct vio_vu_blk_io *io, unsigned n, uint32_t type, uint64_t base,
		      int *status)
{
	for (uintptr_t i = 0; i < n; i++)
		BC_OK(
		    vio_vu_blk_io_submit(&b, 0, &io[i], type, base + i * 8, 4096, (void *) (i + 1)),
		    &b);
	assert_true(vio_vu_fe_kick(&b.fe, 0) >= 0);
	for (unsigned done = 0; done < n; done++) {
		void *tok;
		uint32_t len;
		int r = vio_vu_fe_wait_used(&b.fe, 0, &tok, &len, WAIT_MS);

		if (r != 1)
			fail_msg("%u of %u requests completed (%d: %s)", done, n, r,
				 vio_vu_fe_error(&b.fe));
		status[(uintptr_t) tok - 1] = vio_vu_blk_io_status(&io[(uintptr_t) tok - 1]);
	}
}

/* Reads sector 0 until the device answers OK, for at most BACK_MS; fails the case else. */
static void wait_served(void)
{
	uint8_t buf[SECTOR];
	int st = -1;

	for (int i = 0; i < MAX_STEPS; i++) {
		st = vio_vu_blk_read(&b, 0, buf, sizeof(buf));
		if (st == VIO_BLK_S_OK)
			return;
		assert_int_equal(st, VIO_BLK_S_IOERR);
		usleep(STEP_MS * 1000);
	}
	it_print_log(daemon_p.log, 20);
	fail_msg("the daemon did not serve again within %d ms (last status %d)", BACK_MS, st);
}

static void write_read_back(uint64_t sector, uint32_t seed)
{
	uint8_t w[4096], r[4096];

	it_fill(w, sizeof(w), seed);
	assert_int_equal(vio_vu_blk_write(&b, sector, w, sizeof(w)), VIO_BLK_S_OK);
	memset(r, 0, sizeof(r));
	assert_int_equal(vio_vu_blk_read(&b, sector, r, sizeof(r)), VIO_BLK_S_OK);
	assert_memory_equal(w, r, sizeof(r));
}

static void nf_error_filter(void **state)
{
	char trigger[IT_PATH], args[IT_PATH + 96];
	uint8_t buf[4096], want[4096];
	int fd;

	(void) state;
	IT_SKIP_IF(skip_all);
	assert_int_equal(it_path(trigger, dir, "errors-on"), 0);
	unlink(trigger);
	snprintf(args, sizeof(args), "--filter=error memory 16M error-rate=100%% error-file=%s",
		 trigger);
	start_server(args);
	start_daemon(NULL);
	write_read_back(100, 1);
	/* While the trigger exists every request fails on the server. */
	fd = open(trigger, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	if (vio_vu_blk_read(&b, 100, buf, sizeof(buf)) != VIO_BLK_S_IOERR) {
		it_print_log(server.log, 20);
		it_print_log(daemon_p.log, 20);
		fail_msg("a read the server failed did not fail");
	}
	assert_int_equal(vio_vu_blk_write(&b, 200, buf, sizeof(buf)), VIO_BLK_S_IOERR);
	assert_int_equal(vio_vu_blk_write_zeroes(&b, 200, 8, false), VIO_BLK_S_IOERR);
	assert_true(it_alive(&daemon_p));
	/* Errors stop: the same connection serves again, the data written before intact. */
	assert_int_equal(unlink(trigger), 0);
	write_read_back(300, 2);
	assert_int_equal(vio_vu_blk_read(&b, 100, buf, sizeof(buf)), VIO_BLK_S_OK);
	it_fill(want, sizeof(want), 1);
	assert_memory_equal(buf, want, sizeof(want));
	assert_int_equal(nit_count_lines(daemon_p.log, "connection lost", NULL), 0);
}

static void nf_delay_inflight(void **state)
{
	static struct vio_vu_blk_io io[NIO];
	int status[NIO];
	int64_t t0;

	(void) state;
	IT_SKIP_IF(skip_all);
	start_server("--filter=delay memory 16M delay-read=100ms delay-write=100ms");
	vio_vu_blk_close(&b);
	{
		char *argv[] = {bin,	       "blk",	  "--socket-path",
				daemon_p.sock, "--image", uri,
				"--sandbox",   "on",	  NULL};
		struct vio_vu_fe_params p = {.queue_size = 256};

		if (it_start(&daemon_p, argv, 10000) < 0)
			fail_msg("the vioport daemon did not start on %s", uri);
		BC_OK(vio_vu_blk_open(&b, daemon_p.sock, &p), &b);
	}
	for (unsigned i = 0; i < NIO; i++) {
		BC_OK(vio_vu_blk_io_alloc(&b, &io[i], 4096), &b);
		it_fill(io[i].data, 4096, 1000 + i);
	}
	t0 = now_ms();
	run_batch(io, NIO, VIO_BLK_T_OUT, 0, status);
	for (unsigned i = 0; i < NIO; i++)
		assert_int_equal(status[i], VIO_BLK_S_OK);
	for (unsigned i = 0; i < NIO; i++)
		memset(io[i].data, 0, 4096);
	run_batch(io, NIO, VIO_BLK_T_IN, 0, status);
	for (unsigned i = 0; i < NIO; i++) {
		uint8_t want[4096];

		assert_int_equal(status[i], VIO_BLK_S_OK);
		it_fill(want, sizeof(want), 1000 + i);
		assert_memory_equal(io[i].data, want, sizeof(want));
	}
	/* For the record only: serialised, the two batches would take 2 x 64 x 100 ms. */
	print_message("# %d requests of 100 ms each in %lld ms\n", 2 * NIO,
		      (long long) (now_ms() - t0));
}

static void nf_read_only(void **state)
{
	uint8_t buf[4096];

	(void) state;
	IT_SKIP_IF(skip_all);
	start_server("-r memory 16M");
	start_daemon(NULL);
	assert_true(vio_vu_fe_has(&b.fe, VIO_BLK_F_RO));
	assert_false(vio_vu_fe_has(&b.fe, VIO_BLK_F_FLUSH));
	assert_false(vio_vu_fe_has(&b.fe, VIO_BLK_F_DISCARD));
	assert_false(vio_vu_fe_has(&b.fe, VIO_BLK_F_WRITE_ZEROES));
	assert_int_equal(vio_vu_blk_read(&b, 8, buf, sizeof(buf)), VIO_BLK_S_OK);
	assert_int_equal(vio_vu_blk_write(&b, 8, buf, sizeof(buf)), VIO_BLK_S_IOERR);
	/* --read-only over a writable export offers RO as well. */
	vio_vu_blk_close(&b);
	it_stop(&daemon_p, 5000, NULL);
	it_stop(&server, 5000, NULL);
	start_server("memory 16M");
	start_daemon("--read-only");
	assert_true(vio_vu_fe_has(&b.fe, VIO_BLK_F_RO));
	assert_int_equal(vio_vu_blk_write(&b, 8, buf, sizeof(buf)), VIO_BLK_S_IOERR);
}

/* Waits until nbdkit's log filter shows n reads started; fails the case else. */
static void wait_reads_started(const char *log, int n)
{
	for (int i = 0; i < WAIT_MS / STEP_MS; i++) {
		if (nit_count_lines(log, "Read id=", "return=") >= n)
			return;
		usleep(STEP_MS * 1000);
	}
	fail_msg("nbdkit did not see %d reads within %d ms", n, WAIT_MS);
}

/* Kills the server with reads in flight, then checks the outage and the recovery. */
static void kill_and_recover(void (*restart)(void), const char *nbdlog)
{
	static struct vio_vu_blk_io io[8];
	int status[8];
	uint8_t buf[4096];
	int st;

	/* Served (a write: the server delays reads). */
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(vio_vu_blk_write(&b, 500, buf, sizeof(buf)), VIO_BLK_S_OK);
	for (unsigned i = 0; i < 8; i++)
		BC_OK(vio_vu_blk_io_alloc(&b, &io[i], 4096), &b);
	for (uintptr_t i = 0; i < 8; i++)
		BC_OK(vio_vu_blk_io_submit(&b, 0, &io[i], VIO_BLK_T_IN, i * 8, 4096,
					   (void *) (i + 1)),
		      &b);
	assert_true(vio_vu_fe_kick(&b.fe, 0) >= 0);
	/* The reads sit in the server (its delay filter holds them) when it dies. */
	wait_reads_started(nbdlog, 8);
	assert_int_equal(kill(server.pid, SIGKILL), 0);
	st = it_wait_exit(&server, WAIT_MS);
	assert_true(WIFSIGNALED(st));
	for (unsigned done = 0; done < 8; done++) {
		void *tok;
		uint32_t len;

		if (vio_vu_fe_wait_used(&b.fe, 0, &tok, &len, WAIT_MS) != 1)
			fail_msg("%u of 8 reads in flight completed after the server died", done);
		status[(uintptr_t) tok - 1] = vio_vu_blk_io_status(&io[(uintptr_t) tok - 1]);
	}
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(status[i], VIO_BLK_S_IOERR);
	/* While the server is away requests fail at once. */
	assert_int_equal(vio_vu_blk_read(&b, 0, buf, sizeof(buf)), VIO_BLK_S_IOERR);
	assert_int_equal(vio_vu_blk_write(&b, 0, buf, sizeof(buf)), VIO_BLK_S_IOERR);
	assert_true(it_alive(&daemon_p));
	restart();
	wait_served();
	write_read_back(600, 4);
	assert_true(it_alive(&daemon_p));
	assert_int_equal(nit_count_lines(daemon_p.log, "connection lost", NULL), 1);
	assert_true(nit_count_lines(daemon_p.log, "connected again", NULL) >= 1);
}

static char nbdlog[IT_PATH];

static void restart_unix(void)
{
	start_server("memory 16M");
}

static void nf_server_restart_unix(void **state)
{
	char args[IT_PATH + 96];

	(void) state;
	IT_SKIP_IF(skip_all);
	assert_int_equal(it_path(nbdlog, dir, "requests.log"), 0);
	unlink(nbdlog);
	snprintf(args, sizeof(args),
		 "--filter=log --filter=delay memory 16M logfile=%s "
		 "delay-read=30000ms",
		 nbdlog);
	start_server(args);
	start_daemon(NULL);
	kill_and_recover(restart_unix, nbdlog);
}

static int listen_fd = -1;

static void restart_tcp(void)
{
	if (nit_nbdkit_start_fd(&server, listen_fd, "memory 16M") < 0)
		fail_msg("nbdkit did not start on the loopback socket");
}

static void nf_server_restart_tcp(void **state)
{
	char args[IT_PATH + 96];
	uint16_t port = 0;

	(void) state;
	IT_SKIP_IF(skip_all);
	listen_fd = nit_listen_loopback(&port);
	assert_true(listen_fd >= 0);
	assert_int_equal(it_path(nbdlog, dir, "requests-tcp.log"), 0);
	unlink(nbdlog);
	snprintf(uri, sizeof(uri), "nbd://127.0.0.1:%u/", port);
	snprintf(args, sizeof(args),
		 "--filter=log --filter=delay memory 16M logfile=%s "
		 "delay-read=30000ms",
		 nbdlog);
	if (nit_nbdkit_start_fd(&server, listen_fd, args) < 0)
		fail_msg("nbdkit did not start on the loopback socket");
	start_daemon(NULL);
	kill_and_recover(restart_tcp, nbdlog);
}

static int tcp_teardown(void **state)
{
	int rc = case_teardown(state);

	if (listen_fd >= 0)
		close(listen_fd);
	listen_fd = -1;
	nit_unix_uri(uri, sizeof(uri), server.sock);
	return rc;
}

/*
 * A server that stops answering (reads held for 30 s) with --nbd-timeout 1:
 * the read fails instead of hanging, the connection is made again and
 * writes (not held) are served on it.
 */
static void nf_server_hangs(void **state)
{
	uint8_t buf[4096], w[4096];
	int st = -1;

	(void) state;
	IT_SKIP_IF(skip_all);
	start_server("--filter=delay memory 16M delay-read=30000ms");
	start_daemon("--nbd-timeout=1");
	it_fill(w, sizeof(w), 7);
	assert_int_equal(vio_vu_blk_write(&b, 64, w, sizeof(w)), VIO_BLK_S_OK);
	/* The held read fails after about 1 s; the client waits up to 15 s for it. */
	b.timeout_ms = 15000;
	assert_int_equal(vio_vu_blk_read(&b, 64, buf, sizeof(buf)), VIO_BLK_S_IOERR);
	for (int i = 0; i < MAX_STEPS; i++) {
		st = vio_vu_blk_write(&b, 72, w, sizeof(w));
		if (st == VIO_BLK_S_OK)
			break;
		assert_int_equal(st, VIO_BLK_S_IOERR);
		usleep(STEP_MS * 1000);
	}
	assert_int_equal(st, VIO_BLK_S_OK);
	assert_true(it_alive(&daemon_p));
	assert_int_equal(nit_count_lines(daemon_p.log, "no answer for 1000 ms", NULL), 1);
	assert_true(nit_count_lines(daemon_p.log, "connected again", NULL) >= 1);
}

static void nf_no_server(void **state)
{
	char *argv[] = {bin, "blk", "--socket-path", daemon_p.sock, "--image", uri, NULL};
	int st;

	(void) state;
	IT_SKIP_IF(skip_all);
	unlink(server.sock);
	assert_int_equal(it_spawn(&daemon_p, argv, -1, -1), 0);
	st = it_wait_exit(&daemon_p, WAIT_MS);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	assert_int_equal(nit_count_lines(daemon_p.log, "cannot open image", NULL), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(nf_error_filter, case_teardown),
	    cmocka_unit_test_teardown(nf_delay_inflight, case_teardown),
	    cmocka_unit_test_teardown(nf_read_only, case_teardown),
	    cmocka_unit_test_teardown(nf_server_restart_unix, case_teardown),
	    cmocka_unit_test_teardown(nf_server_restart_tcp, tcp_teardown),
	    cmocka_unit_test_teardown(nf_server_hangs, case_teardown),
	    cmocka_unit_test_teardown(nf_no_server, case_teardown),
	};

	return cmocka_run_group_tests_name("vioport on NBD servers that fail", tests, group_setup,
					   group_teardown);
}
