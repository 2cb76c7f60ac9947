/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's daemon serving virtio-blk (`vioport blk`), driven through the
 * frontend: every request type, limits, reconnection, then what only vioport
 * has: read-only disks, the synchronous provider, --fd, --socket-count,
 * descriptor hygiene and a clean exit on SIGTERM. The daemon is $VIOPORT_BIN;
 * without it every case skips, saying so.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "blk_cases.h"

#define IMAGE_BYTES (16u << 20)
#define SERIAL	    "vioport-it-0123"

static char bin[IT_PATH];

static int group_setup(void **state)
{
	const char *b = it_vioport_bin();
	char *argv[] = {bin,	    "blk",	"--socket-path", bc_t.proc.sock, "--image",
			bc_t.image, "--serial", SERIAL,		 "--num-queues", "2",
			NULL};

	(void) state;
	bc_t.name = "vioport";
	bc_t.image_bytes = IMAGE_BYTES;
	bc_t.queues = 2;
	bc_t.serial = SERIAL;
	if (b == NULL) {
		bc_t.skip = "no vioport daemon at $VIOPORT_BIN (build apps/vioport first): vioport "
			    "blk cases skipped";
		return 0;
	}
	snprintf(bin, sizeof(bin), "%s", b);
	if (it_tmpdir(bc_t.dir, "blk") < 0 || it_path(bc_t.image, bc_t.dir, "disk.img") < 0 ||
	    it_path(bc_t.proc.sock, bc_t.dir, "blk.sock") < 0 ||
	    it_path(bc_t.proc.log, bc_t.dir, "vioport.log") < 0 ||
	    it_make_image(bc_t.image, IMAGE_BYTES) < 0)
		return -1;
	if (it_start(&bc_t.proc, argv, 10000) < 0)
		bc_t.skip = "the vioport daemon did not start: vioport blk cases skipped";
	return 0;
}

static int group_teardown(void **state)
{
	(void) state;
	if (bc_t.dir[0] == '\0')
		return 0;
	it_stop(&bc_t.proc, 5000, NULL);
	it_rmtree(bc_t.dir);
	return 0;
}

/* A second daemon of the case, on its own socket and log in the group's directory. */
static struct it_proc extra;

static int extra_teardown(void **state)
{
	bool san = false;
	int st;

	vio_vu_blk_close(&bc_b);
	vio_vu_blk_close(&bc_b2);
	st = it_stop(&extra, 5000, &san);
	if (st != -1 && san) {
		it_print_log(extra.log, 40);
		return -1;
	}
	return bc_teardown(state);
}

static void start_extra(const char *tag, char *const args[])
{
	char *argv[24], log[64];
	unsigned n = 0;

	argv[n++] = bin;
	for (unsigned i = 0; args[i] != NULL && n < 23; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	memset(&extra, 0, sizeof(extra));
	snprintf(log, sizeof(log), "%s.log", tag);
	assert_int_equal(it_path(extra.sock, bc_t.dir, tag), 0);
	assert_int_equal(it_path(extra.log, bc_t.dir, log), 0);
	if (it_start(&extra, argv, 10000) < 0)
		fail_msg("vioport %s did not start", args[0]);
}

static void open_extra(struct vio_vu_blk *b, const char *sock)
{
	int r = vio_vu_blk_open(b, sock, NULL);

	if (r != 0)
		fail_msg("open %s: %d (%s)", sock, r, vio_vu_fe_error(&b->fe));
}

static void vb_read_only(void **state)
{
	char sock[IT_PATH];
	uint8_t buf[4096];

	(void) state;
	BC_BEGIN();
	assert_int_equal(it_path(sock, bc_t.dir, "ro.sock"), 0);
	start_extra("ro.sock", (char *[]){"blk", "--socket-path", sock, "--image", bc_t.image,
					  "--read-only", NULL});
	open_extra(&bc_b, extra.sock);
	assert_true(bc_b.read_only);
	assert_int_equal(vio_vu_blk_read(&bc_b, 0, buf, sizeof(buf)), VIO_BLK_S_OK);
	assert_int_equal(vio_vu_blk_write(&bc_b, 0, buf, sizeof(buf)), VIO_BLK_S_IOERR);
	if (vio_vu_fe_has(&bc_b.fe, VIO_BLK_F_WRITE_ZEROES))
		assert_int_equal(vio_vu_blk_write_zeroes(&bc_b, 0, 1, false), VIO_BLK_S_IOERR);
	if (vio_vu_fe_has(&bc_b.fe, VIO_BLK_F_DISCARD))
		assert_int_equal(vio_vu_blk_discard(&bc_b, 0, 1), VIO_BLK_S_IOERR);
	/* The image is unchanged. */
	assert_int_equal(vio_vu_blk_read(&bc_b, 0, buf, sizeof(buf)), VIO_BLK_S_OK);
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i] != it_pattern(i))
			fail_msg("byte %zu changed on a read-only disk", i);
}

static void vb_sync_provider(void **state)
{
	char sock[IT_PATH];
	uint8_t w[8192], r[8192];
	struct vio_vu_blk_io io[32];

	(void) state;
	BC_BEGIN();
	assert_int_equal(it_path(sock, bc_t.dir, "sync.sock"), 0);
	start_extra("sync.sock", (char *[]){"blk", "--socket-path", sock, "--image", bc_t.image,
					    "--sync", NULL});
	open_extra(&bc_b, extra.sock);
	it_fill(w, sizeof(w), 21);
	assert_int_equal(vio_vu_blk_write(&bc_b, 14000, w, sizeof(w)), VIO_BLK_S_OK);
	assert_int_equal(vio_vu_blk_read(&bc_b, 14000, r, sizeof(r)), VIO_BLK_S_OK);
	assert_memory_equal(w, r, sizeof(r));
	for (uintptr_t i = 0; i < 32; i++) {
		BC_OK(vio_vu_blk_io_alloc(&bc_b, &io[i], 4096), &bc_b);
		BC_OK(vio_vu_blk_io_submit(&bc_b, 0, &io[i], VIO_BLK_T_IN, i * 8, 4096,
					   (void *) (i + 1)),
		      &bc_b);
	}
	assert_true(vio_vu_fe_kick(&bc_b.fe, 0) >= 0);
	for (int n = 0; n < 32; n++) {
		void *tok;
		uint32_t len;

		assert_int_equal(vio_vu_fe_wait_used(&bc_b.fe, 0, &tok, &len, 5000), 1);
		assert_int_equal(vio_vu_blk_io_status(&io[(uintptr_t) tok - 1]), VIO_BLK_S_OK);
		assert_int_equal(len, 4097);
	}
}

static void vb_fd_connected(void **state)
{
	char *argv[] = {bin, "blk", "--fd", "3", "--image", bc_t.image, NULL};
	uint8_t buf[4096];
	int sv[2];

	(void) state;
	BC_BEGIN();
	memset(&extra, 0, sizeof(extra));
	assert_int_equal(it_path(extra.log, bc_t.dir, "fd.log"), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(it_spawn(&extra, argv, sv[1], 3), 0);
	close(sv[1]);
	/* The daemon serves the connection it was handed; no socket path involved. */
	vio_vu_fe_adopt(&bc_b.fe, sv[0]);
	BC_OK(
	    vio_vu_fe_setup(&bc_b.fe, &(struct vio_vu_fe_params){.features = VIO_VU_BLK_FEATURES}),
	    &bc_b);
	BC_OK(vio_vu_fe_driver_ok(&bc_b.fe), &bc_b);
	assert_int_equal(vio_vu_blk_read(&bc_b, 50, buf, sizeof(buf)), VIO_BLK_S_OK);
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i] != it_pattern(50 * 512 + i))
			fail_msg("byte %zu differs from the image", i);
}

static void vb_socket_count(void **state)
{
	char base[IT_PATH], img2[IT_PATH], s0[IT_PATH + 2], s1[IT_PATH + 2];
	uint8_t w[4096], r[4096];

	(void) state;
	BC_BEGIN();
	assert_int_equal(it_path(base, bc_t.dir, "multi"), 0);
	assert_int_equal(it_path(img2, bc_t.dir, "disk2.img"), 0);
	assert_int_equal(it_make_image(img2, 4u << 20), 0);
	snprintf(s0, sizeof(s0), "%s0", base);
	snprintf(s1, sizeof(s1), "%s1", base);
	/* it_start watches extra.sock: the first of the two sockets. */
	start_extra("multi0", (char *[]){"blk", "--socket-path", base, "--socket-count", "2",
					 "--image", bc_t.image, "--image", img2, NULL});
	open_extra(&bc_b, s0);
	open_extra(&bc_b2, s1);
	assert_int_equal(bc_b.capacity, IMAGE_BYTES / 512);
	assert_int_equal(bc_b2.capacity, (4u << 20) / 512);
	/* Each socket is its own disk. */
	it_fill(w, sizeof(w), 31);
	assert_int_equal(vio_vu_blk_write(&bc_b2, 100, w, sizeof(w)), VIO_BLK_S_OK);
	assert_int_equal(vio_vu_blk_read(&bc_b2, 100, r, sizeof(r)), VIO_BLK_S_OK);
	assert_memory_equal(w, r, sizeof(r));
	assert_int_equal(vio_vu_blk_read(&bc_b, 100, r, sizeof(r)), VIO_BLK_S_OK);
	for (size_t i = 0; i < sizeof(r); i++)
		if (r[i] != it_pattern(100 * 512 + i))
			fail_msg("a write to the second disk reached the first");
}

static void vb_fd_hygiene(void **state)
{
	uint8_t buf[512];
	int before, after = -1;

	(void) state;
	BC_BEGIN();
	before = it_count_fds(bc_t.proc.pid);
	if (before < 0)
		skip();
	/* Every connection's descriptors (memory, eventfds, inflight, backend channel) go away. */
	for (int i = 0; i < 20; i++) {
		bc_open(&bc_b, NULL);
		assert_int_equal(vio_vu_blk_read(&bc_b, (uint64_t) i, buf, sizeof(buf)),
				 VIO_BLK_S_OK);
		if (i % 2)
			BC_OK(vio_vu_fe_stop(&bc_b.fe), &bc_b);
		vio_vu_blk_close(&bc_b);
	}
	for (int t = 0; t < 100; t++) {
		after = it_count_fds(bc_t.proc.pid);
		if (after <= before)
			break;
		usleep(20000);
	}
	print_message("# daemon descriptors: %d before, %d after 20 connections\n", before, after);
	assert_true(after <= before);
}

/* Last: the daemon ends at once and cleanly on SIGTERM, with no sanitizer report. */
static void vb_clean_exit(void **state)
{
	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, NULL);
	it_expect_clean_stop(&bc_t.proc, &bc_t.skip);
}

/*
 * Both queues kept full at once, each completion answered with a new request,
 * the client sleeping on the call eventfds whenever nothing is used: with the
 * queue threads polling (the default), a thread that spins, suppresses kicks
 * and then sleeps must never leave requests behind that no kick will announce.
 * A stall of 10 s fails the case.
 */
#define MQ_DEPTH 16u
#define MQ_TOTAL 20000u

static void vb_mq_sustained(void **state)
{
	struct vio_vu_fe_params p = {.num_queues = 2, .mem_size = 8u << 20};
	struct vio_vu_blk_io io[2][MQ_DEPTH];
	unsigned done = 0, submitted = 0;
	time_t last = time(NULL);

	(void) state;
	BC_BEGIN();
	bc_open(&bc_b, &p);
	for (uint16_t q = 0; q < 2; q++) {
		for (unsigned i = 0; i < MQ_DEPTH; i++) {
			BC_OK(vio_vu_blk_io_alloc(&bc_b, &io[q][i], 4096), &bc_b);
			BC_OK(vio_vu_blk_io_submit(&bc_b, q, &io[q][i], VIO_BLK_T_IN, i * 8, 4096,
						   &io[q][i]),
			      &bc_b);
			submitted++;
		}
		assert_true(vio_vu_fe_kick(&bc_b.fe, q) >= 0);
	}
	while (done < submitted) {
		unsigned got = 0;

		for (uint16_t q = 0; q < 2; q++) {
			void *tok;
			uint32_t len;
			int r;

			while ((r = vio_vu_fe_get_used(&bc_b.fe, q, &tok, &len)) == 1) {
				struct vio_vu_blk_io *x = tok;

				assert_int_equal(vio_vu_blk_io_status(x), VIO_BLK_S_OK);
				done++;
				got++;
				if (submitted < MQ_TOTAL) {
					BC_OK(vio_vu_blk_io_submit(&bc_b, q, x, VIO_BLK_T_IN,
								   (submitted % 4096) * 8, 4096, x),
					      &bc_b);
					submitted++;
				}
			}
			assert_true(r >= 0);
			assert_true(vio_vu_fe_kick(&bc_b.fe, q) >= 0);
		}
		if (got > 0) {
			last = time(NULL);
			continue;
		}
		if (time(NULL) - last > 10)
			fail_msg("no request completed for 10 s: %u of %u done", done, submitted);
		for (uint16_t q = 0; q < 2; q++)
			if (vio_drvq_cb_enable(vio_vu_fe_drvq(&bc_b.fe, q)))
				got++;
		if (got == 0) {
			struct pollfd pf[2] = {
			    {.fd = vio_vu_fe_call_fd(&bc_b.fe, 0), .events = POLLIN},
			    {.fd = vio_vu_fe_call_fd(&bc_b.fe, 1), .events = POLLIN}};
			uint64_t v;

			if (poll(pf, 2, 1000) > 0)
				for (int i = 0; i < 2; i++)
					if (pf[i].revents & POLLIN)
						assert_int_equal(read(pf[i].fd, &v, sizeof(v)),
								 sizeof(v));
		}
	}
	for (uint16_t q = 0; q < 2; q++)
		for (unsigned i = 0; i < MQ_DEPTH; i++)
			vio_vu_blk_io_free(&bc_b, &io[q][i]);
	assert_int_equal(done, MQ_TOTAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    BC_CASES,
	    cmocka_unit_test_teardown(vb_mq_sustained, bc_teardown),
	    cmocka_unit_test_teardown(vb_read_only, extra_teardown),
	    cmocka_unit_test_teardown(vb_sync_provider, extra_teardown),
	    cmocka_unit_test_teardown(vb_fd_connected, extra_teardown),
	    cmocka_unit_test_teardown(vb_socket_count, extra_teardown),
	    cmocka_unit_test_teardown(vb_fd_hygiene, bc_teardown),
	    cmocka_unit_test_teardown(vb_clean_exit, bc_teardown),
	};

	return cmocka_run_group_tests_name("vhost-user-blk: vioport daemon", tests, group_setup,
					   group_teardown);
}
