/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A frontend that shrinks guest memory under a live ring must cost its own
 * connection, never the daemon. One vioport process serves a blk device and
 * an rng device ('+' groups); a frontend drives the blk device, puts reads in
 * flight, truncates its guest-memory memfd and submits more. Then: the
 * daemon is alive, the blk connection was ended with a log line saying why,
 * the rng device (connected all along) still answers, and a new blk
 * connection works end to end. The fault is forced, not hoped for: a GET_ID
 * whose data buffer lies past the new end makes the device write there, or
 * the ring itself lies past it. Cases with one queue (the fault on the event
 * loop's thread) and two queues (on a queue thread). The daemon is
 * $VIOPORT_BIN; without it every case skips, saying so.
 *
 * After the truncation this process touches nothing of guest memory past
 * the new end itself: its own access would fault just the same.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "vioport/blk.h"
#include "vioport/vhost_user_blk_client.h"
#include "vioport/vhost_user_frontend.h"
#include "vioport/virtio.h"

#define WAIT_MS	   10000
#define DISK_BYTES (1u << 20)
#define MEM_BYTES  (1u << 20) /* guest memory of the blk frontend */
#define KEEP_BYTES (1u << 19) /* what the truncation leaves of it */
#define IN_FLIGHT  24	      /* reads submitted before the truncation */
#define AFTER	   8	      /* reads submitted after it */
#define DATA_BYTES 4096u
#define SERIAL	   "shrunk-disk"

static struct {
	char bin[IT_PATH];
	char dir[IT_PATH];
	char image[IT_PATH];
	char sblk[IT_PATH];
	char srng[IT_PATH];
	const char *skip;
	struct it_proc proc;
	struct vio_vu_blk blk;
	struct vio_vu_fe rng;
} T;

#define BEGIN() IT_SKIP_IF(T.skip)

static int group_setup(void **state)
{
	const char *b = it_vioport_bin();

	(void) state;
	if (b == NULL) {
		T.skip = "no vioport daemon at $VIOPORT_BIN (build apps/vioport first): "
			 "memory-fault cases skipped";
		return 0;
	}
	snprintf(T.bin, sizeof(T.bin), "%s", b);
	if (it_tmpdir(T.dir, "mfault") < 0 || it_path(T.image, T.dir, "disk.img") < 0 ||
	    it_path(T.sblk, T.dir, "blk.sock") < 0 || it_path(T.srng, T.dir, "rng.sock") < 0 ||
	    it_path(T.proc.log, T.dir, "vioport.log") < 0)
		return -1;
	return it_make_image(T.image, DISK_BYTES) < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void) state;
	if (T.dir[0] != '\0')
		it_rmtree(T.dir);
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	vio_vu_blk_close(&T.blk);
	vio_vu_fe_close(&T.rng);
	it_stop(&T.proc, WAIT_MS, NULL);
	return 0;
}

/* Starts the daemon: the blk device with queues queues, then rng, in one process. */
static void start_daemon(unsigned queues)
{
	char nq[8];
	char *argv[] = {T.bin,	 "blk",	     "--socket-path", T.sblk,	      "--image",
			T.image, "--serial", SERIAL,	      "--num-queues", nq,
			"+",	 "rng",	     "--socket-path", T.srng,	      NULL};

	snprintf(nq, sizeof(nq), "%u", queues);
	snprintf(T.proc.sock, sizeof(T.proc.sock), "%s", T.srng);
	if (it_start(&T.proc, argv, WAIT_MS) < 0)
		fail_msg("the daemon did not start");
}

/* One entropy request on the rng connection, waited for: the device still serves. */
static void rng_answers(void)
{
	uint64_t gpa;
	uint8_t *p = vio_vu_fe_alloc(&T.rng, 64, 64, &gpa);
	struct vio_buf in = {gpa, 64};
	void *tok;
	uint32_t len;

	assert_non_null(p);
	assert_int_equal(vio_vu_fe_add(&T.rng, 0, NULL, 0, &in, 1, (void *) 7), 0);
	assert_true(vio_vu_fe_kick(&T.rng, 0) >= 0);
	assert_int_equal(vio_vu_fe_wait_used(&T.rng, 0, &tok, &len, WAIT_MS), 1);
	assert_ptr_equal(tok, (void *) 7);
	assert_true(len >= 1 && len <= 64);
	vio_vu_fe_free(&T.rng, gpa, 64);
}

/* Connects to the blk device with small guest memory and queues queues. */
static void blk_open(uint16_t queues)
{
	struct vio_vu_fe_params p = {.mem_size = MEM_BYTES, .num_queues = queues};
	int r = vio_vu_blk_open(&T.blk, T.sblk, &p);

	if (r != 0)
		fail_msg("blk open: %d (%s)", r, vio_vu_fe_error(&T.blk.fe));
	assert_int_equal(T.blk.num_queues, queues);
}

/* A full round trip on a fresh connection: write, read back, GET_ID. */
static void blk_works(uint16_t queue)
{
	uint8_t out[DATA_BYTES], in[DATA_BYTES];
	char id[VIO_BLK_ID_BYTES];

	it_fill(out, sizeof(out), 99 + queue);
	assert_int_equal(
	    vio_vu_blk_request(&T.blk, queue, VIO_BLK_T_OUT, 16, out, sizeof(out), NULL, 0, NULL),
	    VIO_BLK_S_OK);
	assert_int_equal(
	    vio_vu_blk_request(&T.blk, queue, VIO_BLK_T_IN, 16, NULL, 0, in, sizeof(in), NULL),
	    VIO_BLK_S_OK);
	assert_memory_equal(in, out, sizeof(in));
	assert_int_equal(vio_vu_blk_get_id(&T.blk, id), VIO_BLK_S_OK);
	assert_memory_equal(id, SERIAL, strlen(SERIAL));
}

/* Guest memory below the truncation point, for headers and status bytes. */
static uint64_t low(uint32_t len)
{
	uint64_t gpa;

	assert_non_null(vio_vu_fe_alloc(&T.blk.fe, len, 64, &gpa));
	assert_true(gpa + len <= T.blk.fe.gpa_base + KEEP_BYTES);
	return gpa;
}

/* Guest memory the truncation takes away. */
static uint64_t high(uint32_t len)
{
	uint64_t gpa;

	assert_non_null(vio_vu_fe_alloc(&T.blk.fe, len, 4096, &gpa));
	assert_true(gpa >= T.blk.fe.gpa_base + KEEP_BYTES);
	return gpa;
}

/* One request's guest memory: header and status byte low, data high. */
struct req {
	uint64_t hdr, status, data;
};

#define NREQ (IN_FLIGHT + AFTER + 1)

/* Places every request: low parts first, then a filler up to KEEP_BYTES, then the data. */
static void place(struct req *r, uint64_t *low_data)
{
	uint64_t filler;

	for (unsigned i = 0; i < NREQ; i++) {
		r[i].hdr = low(VIO_BLK_REQ_HDR);
		r[i].status = low(1);
	}
	*low_data = low(DATA_BYTES);
	/* the allocator is first-fit: what comes after the filler lies past KEEP_BYTES */
	assert_non_null(vio_vu_fe_alloc(&T.blk.fe, KEEP_BYTES, 4096, &filler));
	for (unsigned i = 0; i < NREQ; i++)
		r[i].data = high(DATA_BYTES);
	vio_vu_fe_free(&T.blk.fe, filler, KEEP_BYTES);
	/* the rings, placed when the device was set up, stay too */
	for (uint16_t q = 0; q < T.blk.fe.num_queues; q++)
		assert_true(T.blk.fe.queues[q].used_gpa < T.blk.fe.gpa_base + KEEP_BYTES / 2);
}

/* Queues one request: its low header and status, len bytes of its data. */
static void add_req(uint16_t q, const struct req *r, uint32_t type, uint64_t sector, uint32_t len)
{
	uint8_t *h = vio_vu_fe_ptr(&T.blk.fe, r->hdr, VIO_BLK_REQ_HDR);
	struct vio_buf out = {r->hdr, VIO_BLK_REQ_HDR};
	struct vio_buf in[2] = {{r->data, len}, {r->status, 1}};

	memset(h, 0, VIO_BLK_REQ_HDR);
	h[0] = (uint8_t) type;
	for (int i = 0; i < 8; i++)
		h[8 + i] = (uint8_t) (sector >> (8 * i));
	assert_int_equal(vio_vu_fe_add(&T.blk.fe, q, &out, 1, in, 2, (void *) (uintptr_t) 1), 0);
}

/* The daemon's log, read whole (it is small). */
static void read_log(char *buf, size_t cap)
{
	FILE *f = fopen(T.proc.log, "r");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap - 1, f);
	buf[n] = '\0';
	fclose(f);
}

/* How the guest memory is shrunk under the device. */
enum shrink { SHRINK_DATA, SHRINK_ALL };

/*
 * The scenario. SHRINK_DATA keeps the rings, headers and status bytes and
 * takes the data buffers away (reads into them fail in the kernel; GET_ID
 * writes into one from the device). SHRINK_ALL takes everything, rings
 * included: the next kick makes the device read a ring past the end.
 */
static void shrink_under_io(unsigned queues, uint16_t q, enum shrink how)
{
	char log[16384];
	struct req r[NREQ];
	uint64_t spare;
	bool sanitizer = false;
	int st;

	start_daemon(queues);
	assert_int_equal(
	    vio_vu_fe_start(&T.rng, T.srng,
			    &(struct vio_vu_fe_params){.features = VIO_BIT(VIO_F_VERSION_1)}),
	    0);
	rng_answers();
	blk_open((uint16_t) queues);
	blk_works(q);

	place(r, &spare);
	for (unsigned i = 0; i < IN_FLIGHT; i++)
		add_req(q, &r[i], VIO_BLK_T_IN, i * (DATA_BYTES / 512), DATA_BYTES);
	assert_true(vio_vu_fe_kick(&T.blk.fe, q) >= 0);

	/* The frontend shrinks the file while those reads are in flight. */
	if (how == SHRINK_ALL) {
		uint64_t one = 1;

		assert_int_equal(ftruncate(T.blk.fe.mem_fd, 0), 0);
		/* a kick is an eventfd write: it touches no guest memory here */
		assert_int_equal(write(T.blk.fe.queues[q].kick_fd, &one, sizeof(one)), sizeof(one));
	} else {
		assert_int_equal(ftruncate(T.blk.fe.mem_fd, KEEP_BYTES), 0);
		for (unsigned i = 0; i < AFTER; i++)
			add_req(q, &r[IN_FLIGHT + i], i % 2 ? VIO_BLK_T_IN : VIO_BLK_T_OUT, i,
				DATA_BYTES);
		/* the device writes the ID itself: its store past the end is what faults */
		add_req(q, &r[NREQ - 1], VIO_BLK_T_GET_ID, 0, VIO_BLK_ID_BYTES);
		assert_true(vio_vu_fe_notify(&T.blk.fe, q) >= 0);
	}

	/* The daemon ends this connection, and only this one. */
	if (vio_vu_fe_closed(&T.blk.fe, WAIT_MS) != 1) {
		it_print_log(T.proc.log, 20);
		fail_msg("the blk connection was not ended within %d ms", WAIT_MS);
	}
	if (!it_alive(&T.proc)) {
		it_print_log(T.proc.log, 30);
		fail_msg("the daemon died");
	}
	read_log(log, sizeof(log));
	if (strstr(log, "bus error on guest memory at gpa 0x") == NULL ||
	    strstr(log, "the frontend shrank the file it shared; ending the connection") == NULL) {
		it_print_log(T.proc.log, 30);
		fail_msg("no log line about the fault");
	}
	vio_vu_blk_close(&T.blk);

	/* The other device, connected all along, still serves. */
	rng_answers();

	/* The next blk connection works end to end. */
	blk_open((uint16_t) queues);
	blk_works(q);
	blk_works(0);
	vio_vu_blk_close(&T.blk);
	vio_vu_fe_close(&T.rng);

	/* And the daemon ends cleanly, with nothing for a sanitizer to say. */
	st = it_stop(&T.proc, WAIT_MS, &sanitizer);
	assert_false(sanitizer);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

/*
 * Reads and writes whose buffers the truncation took away fail in the
 * kernel (EFAULT), not with a signal: each is answered IOERR, nothing
 * faults, and the connection goes on serving requests whose memory is
 * still there.
 */
static void io_into_shrunk_memory_fails(void **state)
{
	char log[16384];
	struct req r[NREQ];
	uint64_t spare;
	unsigned done = 0;
	uint8_t *st;
	void *tok;
	uint32_t len;

	(void) state;
	BEGIN();
	start_daemon(1);
	blk_open(1);
	blk_works(0);
	place(r, &spare);
	assert_int_equal(ftruncate(T.blk.fe.mem_fd, KEEP_BYTES), 0);
	for (unsigned i = 0; i < AFTER; i++) {
		*(uint8_t *) vio_vu_fe_ptr(&T.blk.fe, r[i].status, 1) = 0xff;
		add_req(0, &r[i], i % 2 ? VIO_BLK_T_IN : VIO_BLK_T_OUT, i, DATA_BYTES);
	}
	assert_true(vio_vu_fe_notify(&T.blk.fe, 0) >= 0);
	while (done < AFTER) {
		int got = vio_vu_fe_wait_used(&T.blk.fe, 0, &tok, &len, WAIT_MS);

		if (got != 1)
			fail_msg("%u of %u requests answered, then %d", done, AFTER, got);
		done++;
	}
	for (unsigned i = 0; i < AFTER; i++) {
		st = vio_vu_fe_ptr(&T.blk.fe, r[i].status, 1);
		if (*st != VIO_BLK_S_IOERR)
			fail_msg("request %u: status %u, expected IOERR", i, *st);
	}
	/* the same connection still reads into memory that exists */
	add_req(0, &(struct req){r[AFTER].hdr, r[AFTER].status, spare}, VIO_BLK_T_IN, 3,
		DATA_BYTES);
	assert_true(vio_vu_fe_notify(&T.blk.fe, 0) >= 0);
	assert_int_equal(vio_vu_fe_wait_used(&T.blk.fe, 0, &tok, &len, WAIT_MS), 1);
	assert_int_equal(*(uint8_t *) vio_vu_fe_ptr(&T.blk.fe, r[AFTER].status, 1), VIO_BLK_S_OK);
	{
		const uint8_t *d = vio_vu_fe_ptr(&T.blk.fe, spare, DATA_BYTES);

		for (unsigned i = 0; i < DATA_BYTES; i++)
			if (d[i] != it_pattern(3 * 512 + i))
				fail_msg("byte %u of sector 3 reads 0x%02x", i, d[i]);
	}
	assert_int_equal(vio_vu_fe_closed(&T.blk.fe, 0), 0);
	assert_true(it_alive(&T.proc));
	read_log(log, sizeof(log));
	assert_null(strstr(log, "bus error"));
}

static void data_shrunk_one_queue(void **state)
{
	(void) state;
	BEGIN();
	shrink_under_io(1, 0, SHRINK_DATA);
}

static void data_shrunk_queue_thread(void **state)
{
	(void) state;
	BEGIN();
	shrink_under_io(2, 1, SHRINK_DATA);
}

static void ring_shrunk_one_queue(void **state)
{
	(void) state;
	BEGIN();
	shrink_under_io(1, 0, SHRINK_ALL);
}

static void ring_shrunk_queue_thread(void **state)
{
	(void) state;
	BEGIN();
	shrink_under_io(2, 1, SHRINK_ALL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(io_into_shrunk_memory_fails, teardown),
	    cmocka_unit_test_teardown(data_shrunk_one_queue, teardown),
	    cmocka_unit_test_teardown(data_shrunk_queue_thread, teardown),
	    cmocka_unit_test_teardown(ring_shrunk_one_queue, teardown),
	    cmocka_unit_test_teardown(ring_shrunk_queue_thread, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
