/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-vsock streams on UNIX sockets (src/linux/vsock_unix.c): the device
 * over the loopback transport with the test as the guest driver, the
 * provider's watches on a real loop run by the test's thread, and real
 * sockets on the host side. The guest connects to a host listener at
 * PATH_<port> and to a port nobody listens on; a host program connects to
 * PATH with "CONNECT <port>" and is answered "OK <port>"; bytes pass both
 * ways; a socket's end of stream reaches the guest as a SHUTDOWN; a bad
 * CONNECT line and a guest refusal close the host program's connection.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h> /* after the headers it needs */

#include "itest.h"

#include "vioport/linux_vsock.h"
#include "vsock_guest.h"

#define ARENA_SIZE (1024u * 1024u)
#define BUS_BASE   0x10000ull
#define NCONN	   4u
#define BUFSZ	   4096u
#define CID	   3u
#define WAIT_MS	   5000
#define ANY	   UINT32_MAX /* a host port the device picks */

static struct {
	_Alignas(16) uint8_t arena[ARENA_SIZE];
	struct vio_vsock vs;
	struct vio_vsock_conn conns[NCONN];
	uint8_t bufs[NCONN * BUFSZ];
	struct vio_queue queues[3];
	struct vio_host_vsock hv;
	struct vio_host_vsock_conn hconns[NCONN];
	struct vio_loopback lb;
	struct vsock_guest g;
	struct vio_loop loop;
	char dir[IT_PATH];
	char path[IT_PATH + 16];
} F;

static int setup(void **state)
{
	(void) state;
	memset(&F, 0, sizeof(F));
	if (it_tmpdir(F.dir, "hvs") < 0)
		return -1;
	snprintf(F.path, sizeof(F.path), "%s/v.sock", F.dir);
	if (vio_loop_init(&F.loop) < 0)
		return -1;
	F.g.cid = CID;
	if (vio_host_vsock_open(&F.hv, F.path, F.hconns, NCONN) < 0 ||
	    vio_vsock_init(&F.vs, &vio_host_vsock_ops, &F.hv, CID, F.conns, NCONN, F.bufs, BUFSZ,
			   F.queues, VG_QSIZE, VIO_BIT(VIO_VSOCK_F_STREAM)) < 0 ||
	    vio_host_vsock_attach(&F.hv, &F.vs, &F.loop, NULL, NULL, NULL) < 0 ||
	    vio_loopback_init(&F.lb, &F.vs.dev, F.arena, sizeof(F.arena), BUS_BASE) < 0)
		return -1;
	vg_bring_up(&F.g, &F.lb, &F.vs, CID, ~0ull);
	vg_post_rx(&F.g, 4);
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	vio_host_vsock_close(&F.hv);
	vio_loop_fini(&F.loop);
	it_rmtree(F.dir); /* the listeners' sockets too */
	return 0;
}

/* Runs the loop until the guest has a packet; fails after WAIT_MS. */
static void wait_pkt(struct vg_pkt *p, uint8_t *data)
{
	int64_t end = it_now_ms() + WAIT_MS;

	while (vg_recv_opt(&F.g, p, data, true) == 0) {
		if (it_now_ms() > end)
			fail_msg("waited %d ms for a packet from the device", WAIT_MS);
		assert_true(vio_loop_run_once(&F.loop, 20) >= 0);
	}
}

static void expect_pkt(uint16_t op, uint32_t gport, uint32_t hport, struct vg_pkt *out,
		       uint8_t *data)
{
	struct vg_pkt p;

	wait_pkt(&p, data);
	if (p.op != op)
		fail_msg("op %u from the device, %u expected", p.op, op);
	assert_int_equal(p.dst_port, gport);
	if (hport != ANY)
		assert_int_equal(p.src_port, hport);
	if (out != NULL)
		*out = p;
}

static void send_op(uint16_t op, uint32_t gport, uint32_t hport)
{
	vg_send_pkt_n(&F.g, vg_mk(&F.g, op, gport, hport), NULL, 0, 1);
}

static void send_data(uint32_t gport, uint32_t hport, const char *s)
{
	struct vg_pkt p = vg_mk(&F.g, VIO_VSOCK_OP_RW, gport, hport);

	p.len = (uint32_t) strlen(s);
	vg_send_pkt_n(&F.g, p, s, p.len, 1);
}

static int unix_listen(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memcpy(a.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static int unix_connect(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memcpy(a.sun_path, path, strlen(path) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	return fd;
}

/* Reads exactly len bytes from fd while running the loop; fails after WAIT_MS. */
static void read_all(int fd, void *buf, size_t len)
{
	int64_t end = it_now_ms() + WAIT_MS;
	size_t got = 0;

	while (got < len) {
		ssize_t n;

		if (it_now_ms() > end)
			fail_msg("read %zu of %zu bytes in %d ms", got, len, WAIT_MS);
		assert_true(vio_loop_run_once(&F.loop, 10) >= 0);
		n = recv(fd, (char *) buf + got, len - got, MSG_DONTWAIT);
		if (n > 0)
			got += (size_t) n;
		else if (n == 0)
			fail_msg("end of stream after %zu of %zu bytes", got, len);
	}
}

/* Waits for the end of stream on fd while running the loop. */
static void expect_closed(int fd)
{
	int64_t end = it_now_ms() + WAIT_MS;
	char c;

	for (;;) {
		ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return;
		assert_true(n < 0);
		if (it_now_ms() > end)
			fail_msg("the connection stayed open");
		assert_true(vio_loop_run_once(&F.loop, 10) >= 0);
	}
}

static void guest_to_host(void **state)
{
	char lp[IT_PATH + 32], got[16];
	uint8_t data[64];
	struct vg_pkt p;
	int l, s;

	(void) state;
	snprintf(lp, sizeof(lp), "%s_5000", F.path);
	l = unix_listen(lp);
	send_op(VIO_VSOCK_OP_REQUEST, 1000, 5000);
	expect_pkt(VIO_VSOCK_OP_RESPONSE, 1000, 5000, NULL, NULL);
	assert_int_equal(F.hv.stats.guest_connects, 1);
	s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	assert_true(s >= 0);

	send_data(1000, 5000, "hello");
	read_all(s, got, 5);
	assert_memory_equal(got, "hello", 5);
	assert_int_equal(write(s, "world!", 6), 6);
	expect_pkt(VIO_VSOCK_OP_RW, 1000, 5000, &p, data);
	assert_int_equal(p.len, 6);
	assert_memory_equal(data, "world!", 6);

	/* The host program closes: the guest hears the host will send no more. */
	close(s);
	expect_pkt(VIO_VSOCK_OP_SHUTDOWN, 1000, 5000, &p, NULL);
	assert_true(p.flags & VIO_VSOCK_SHUTDOWN_SEND);
	send_op(VIO_VSOCK_OP_RST, 1000, 5000);
	close(l);
}

static void guest_to_nobody(void **state)
{
	(void) state;
	send_op(VIO_VSOCK_OP_REQUEST, 1001, 5001);
	expect_pkt(VIO_VSOCK_OP_RST, 1001, 5001, NULL, NULL);
	assert_int_equal(F.hv.stats.guest_refused, 1);
	for (uint32_t i = 0; i < NCONN; i++)
		assert_int_equal(F.conns[i].state, VIO_VSOCK_CONN_FREE);
}

static void host_to_guest(void **state)
{
	char line[32], expect[32], got[16];
	uint8_t data[64];
	struct vg_pkt p;
	int c;

	(void) state;
	c = unix_connect(F.path);
	assert_int_equal(write(c, "CONNECT 2000\n", 13), 13);
	expect_pkt(VIO_VSOCK_OP_REQUEST, 2000, ANY, &p, NULL);
	send_op(VIO_VSOCK_OP_RESPONSE, 2000, p.src_port);
	snprintf(expect, sizeof(expect), "OK %u\n", p.src_port);
	read_all(c, line, strlen(expect));
	assert_memory_equal(line, expect, strlen(expect));
	assert_int_equal(F.hv.stats.host_connects, 1);

	assert_int_equal(write(c, "ping", 4), 4);
	expect_pkt(VIO_VSOCK_OP_RW, 2000, p.src_port, &p, data);
	assert_int_equal(p.len, 4);
	assert_memory_equal(data, "ping", 4);
	send_data(2000, p.src_port, "pong");
	read_all(c, got, 4);
	assert_memory_equal(got, "pong", 4);

	/* The guest resets: the host program's connection ends. */
	send_op(VIO_VSOCK_OP_RST, 2000, p.src_port);
	expect_closed(c);
	close(c);
}

static void host_refusals(void **state)
{
	struct vg_pkt p;
	int c;

	(void) state;
	c = unix_connect(F.path);
	assert_int_equal(write(c, "HELLO 2000\n", 11), 11);
	expect_closed(c);
	close(c);
	assert_int_equal(F.hv.stats.host_refused, 1);

	/* A CONNECT the guest refuses closes the program's connection too. */
	c = unix_connect(F.path);
	assert_int_equal(write(c, "CONNECT 2001\n", 13), 13);
	expect_pkt(VIO_VSOCK_OP_REQUEST, 2001, ANY, &p, NULL);
	send_op(VIO_VSOCK_OP_RST, 2001, p.src_port);
	expect_closed(c);
	close(c);
	assert_int_equal(F.hv.stats.host_refused, 2);
	assert_int_equal(F.hv.stats.host_connects, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(guest_to_host, setup, teardown),
	    cmocka_unit_test_setup_teardown(guest_to_nobody, setup, teardown),
	    cmocka_unit_test_setup_teardown(host_to_guest, setup, teardown),
	    cmocka_unit_test_setup_teardown(host_refusals, setup, teardown),
	};

	return cmocka_run_group_tests_name("virtio-vsock on UNIX sockets", tests, NULL, NULL);
}
