/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-console ports on a pseudo-terminal and on a UNIX socket
 * (src/linux/console_stream.c): the device over the loopback transport, the
 * provider's watches on a real loop run by the test's thread, and the other
 * end a real /dev/pts/N or socket client. Output with nobody there is
 * dropped and counted; bytes pass both ways once somebody is; a client that
 * does not read holds the driver's writes back without losing any; a second
 * client is turned away; a client that leaves is replaced by the next.
 */
#include <errno.h>
#include <fcntl.h>
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

#include "vioport/console.h"
#include "vioport/linux_console.h"
#include "vioport/loopback.h"

#define ARENA_SIZE (2u * 1024u * 1024u)
#define BUS_BASE   0x10000ull
#define QSIZE	   16u
#define WAIT_MS	   5000

static struct {
	_Alignas(16) uint8_t arena[ARENA_SIZE];
	struct vio_host_console hc;
	struct vio_host_console_port hports[1];
	struct vio_console con;
	struct vio_console_port ports[1];
	struct vio_queue queues[2];
	struct vio_loopback lb;
	struct vio_drvq dq[2];
	struct vio_drvq_slot slots[2][QSIZE];
	struct vio_loop loop;
	char dir[IT_PATH];
	char sock[IT_PATH + 16];
} F;

static int setup(void **state)
{
	(void) state;
	memset(&F, 0, sizeof(F));
	if (it_tmpdir(F.dir, "hcon") < 0)
		return -1;
	snprintf(F.sock, sizeof(F.sock), "%s/console.sock", F.dir);
	return vio_loop_init(&F.loop);
}

static int teardown(void **state)
{
	(void) state;
	vio_host_console_close(&F.hc);
	vio_loop_fini(&F.loop);
	it_rmtree(F.dir);
	return 0;
}

/* Opens port 0 of the given kind, attaches, and brings the driver up. */
static void start(int kind)
{
	vio_host_console_init(&F.hc, F.hports, 1);
	assert_int_equal(vio_host_console_open(&F.hc, 0, kind, F.sock), 0);
	assert_int_equal(
	    vio_console_init(&F.con, &vio_host_console_ops, &F.hc, 1, F.ports, F.queues, QSIZE, 0),
	    0);
	assert_int_equal(vio_host_console_attach(&F.hc, &F.con, &F.loop, NULL, NULL, NULL), 0);
	assert_int_equal(vio_loopback_init(&F.lb, &F.con.dev, F.arena, sizeof(F.arena), BUS_BASE),
			 0);
	assert_int_equal(vio_loopback_negotiate(&F.lb, VIO_BIT(VIO_F_VERSION_1)), 0);
	for (uint16_t q = 0; q < 2; q++)
		assert_int_equal(vio_loopback_queue(&F.lb, q, QSIZE, &F.dq[q], F.slots[q]), 0);
	assert_int_equal(vio_loopback_driver_ok(&F.lb), 0);
}

/* Runs the loop until cond(arg) holds; fails after WAIT_MS. */
static void run_until(bool (*cond)(void *arg), void *arg, const char *what)
{
	int64_t end = it_now_ms() + WAIT_MS;

	while (!cond(arg)) {
		if (it_now_ms() > end)
			fail_msg("waited %d ms for %s", WAIT_MS, what);
		assert_true(vio_loop_run_once(&F.loop, 20) >= 0);
	}
}

static bool peer_is(void *arg)
{
	return F.hports[0].peer == *(bool *) arg;
}

static void wait_peer(bool peer)
{
	run_until(peer_is, &peer, peer ? "the other end to arrive" : "the other end to leave");
}

/* Queues a transmit buffer of len bytes (filled from data) and kicks; returns it. */
static uint8_t *tx(const void *data, uint32_t len)
{
	uint8_t *p = vio_loopback_alloc(&F.lb, len, NULL);
	struct vio_buf b;

	assert_non_null(p);
	memcpy(p, data, len);
	b = (struct vio_buf){vio_loopback_bus(&F.lb, p), len};
	assert_true(vio_drvq_add(&F.dq[VIO_CONSOLE_TXQ0], &b, 1, NULL, 0, p) >= 0);
	vio_loopback_kick(&F.lb, VIO_CONSOLE_TXQ0);
	return p;
}

static uint8_t *rx_post(uint32_t len)
{
	uint8_t *p = vio_loopback_alloc(&F.lb, len, NULL);
	struct vio_buf b;

	assert_non_null(p);
	b = (struct vio_buf){vio_loopback_bus(&F.lb, p), len};
	assert_true(vio_drvq_add(&F.dq[VIO_CONSOLE_RXQ0], NULL, 0, &b, 1, p) >= 0);
	vio_loopback_kick(&F.lb, VIO_CONSOLE_RXQ0);
	return p;
}

struct used_wait {
	uint16_t q;
	void *token;
	uint32_t len;
};

static bool used_ready(void *arg)
{
	struct used_wait *u = arg;

	return vio_drvq_get_used(&F.dq[u->q], &u->token, &u->len) == 1;
}

/* Waits for the next used buffer of q; returns its length and checks its token. */
static uint32_t wait_used(uint16_t q, const void *token)
{
	struct used_wait u = {.q = q};

	run_until(used_ready, &u, "a used buffer");
	assert_ptr_equal(u.token, token);
	return u.len;
}

/* Reads exactly len bytes from fd (non-blocking or not) within WAIT_MS, running the loop. */
static void read_all(int fd, void *buf, size_t len)
{
	int64_t end = it_now_ms() + WAIT_MS;
	size_t got = 0;

	while (got < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (it_now_ms() > end)
			fail_msg("read %zu of %zu bytes in %d ms", got, len, WAIT_MS);
		assert_true(vio_loop_run_once(&F.loop, 0) >= 0);
		if (poll(&p, 1, 10) <= 0)
			continue;
		n = read(fd, (char *) buf + got, len - got);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		assert_true(n > 0);
		got += (size_t) n;
	}
}

/* The driver writes s on port 0; it reaches the other end, fd, whole. */
static void to_host(int fd, const char *s)
{
	char got[64];
	size_t len = strlen(s);
	uint8_t *p = tx(s, (uint32_t) len);

	assert_true(len <= sizeof(got));
	assert_int_equal(wait_used(VIO_CONSOLE_TXQ0, p), 0);
	read_all(fd, got, len);
	assert_memory_equal(got, s, len);
}

/* The other end, fd, writes s; it fills a receive buffer the driver posted. */
static void from_host(int fd, const char *s)
{
	size_t len = strlen(s);
	uint8_t *r = rx_post(64);

	assert_int_equal(write(fd, s, len), (ssize_t) len);
	assert_int_equal(wait_used(VIO_CONSOLE_RXQ0, r), len);
	assert_memory_equal(r, s, len);
}

static int client_connect(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memcpy(a.sun_path, F.sock, strlen(F.sock) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	return fd;
}

static void pty_both_ways(void **state)
{
	uint8_t *p;
	int slave;

	(void) state;
	start(VIO_HOST_CONSOLE_PTY);
	assert_memory_equal(F.hports[0].path, "/dev/pts/", 9);
	assert_false(F.hports[0].peer);

	/* Nobody has the terminal open: the output is dropped, the driver not held up. */
	p = tx("early", 5);
	assert_int_equal(wait_used(VIO_CONSOLE_TXQ0, p), 0);
	assert_int_equal(F.hports[0].dropped, 5);

	slave = open(F.hports[0].path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(slave >= 0);
	wait_peer(true);
	to_host(slave, "hello\n");
	/* The other way: a receive buffer waits until the terminal has something. */
	from_host(slave, "typed");

	/* The terminal closed: output is dropped again. */
	close(slave);
	wait_peer(false);
	p = tx("gone", 4);
	assert_int_equal(wait_used(VIO_CONSOLE_TXQ0, p), 0);
	assert_int_equal(F.hports[0].dropped, 9);
}

static void unix_clients(void **state)
{
	char got[16];
	uint8_t *p;
	int c1, c2;

	(void) state;
	start(VIO_HOST_CONSOLE_UNIX);
	p = tx("nobody", 6);
	assert_int_equal(wait_used(VIO_CONSOLE_TXQ0, p), 0);
	assert_int_equal(F.hports[0].dropped, 6);

	c1 = client_connect();
	wait_peer(true);
	to_host(c1, "to c1");
	from_host(c1, "from c1");

	/* A second client while one is served: closed at once. */
	c2 = client_connect();
	{
		int64_t end = it_now_ms() + WAIT_MS;
		ssize_t n;

		for (;;) {
			assert_true(vio_loop_run_once(&F.loop, 10) >= 0);
			n = recv(c2, got, sizeof(got), MSG_DONTWAIT);
			if (n == 0)
				break;
			if (it_now_ms() > end)
				fail_msg("the second client was not turned away");
		}
	}
	close(c2);
	assert_int_equal(F.hports[0].clients, 1);

	/* The first leaves; the next one is served. */
	close(c1);
	wait_peer(false);
	c2 = client_connect();
	wait_peer(true);
	to_host(c2, "to c2");
	assert_int_equal(F.hports[0].clients, 2);
	close(c2);
}

static bool tx_back(void *arg)
{
	struct used_wait *u = arg;

	return vio_drvq_get_used(&F.dq[VIO_CONSOLE_TXQ0], &u->token, &u->len) == 1;
}

/* A client that does not read holds the driver's writes back; nothing is lost. */
static void unix_backpressure(void **state)
{
	enum { CHUNK = 65536, CHUNKS = QSIZE };
	static uint8_t data[CHUNK * CHUNKS], got[CHUNK * CHUNKS];
	uint8_t *bufs[CHUNKS];
	struct used_wait u;
	int c, small = 4096;
	unsigned back = 0;
	size_t have = 0;
	int64_t end;

	(void) state;
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t) (i * 7u + i / 251u);
	start(VIO_HOST_CONSOLE_UNIX);
	c = client_connect();
	assert_int_equal(setsockopt(c, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
	wait_peer(true);
	for (unsigned i = 0; i < CHUNKS; i++)
		bufs[i] = tx(data + i * CHUNK, CHUNK);
	/* Without a reader the socket fills and the driver's buffers wait. */
	for (int i = 0; i < 20; i++)
		assert_true(vio_loop_run_once(&F.loop, 5) >= 0);
	while (vio_drvq_get_used(&F.dq[VIO_CONSOLE_TXQ0], &u.token, &u.len) == 1) {
		assert_ptr_equal(u.token, bufs[back]);
		back++;
	}
	assert_true(back < CHUNKS);
	assert_true(F.hports[0].tx_wait);
	/* Reading lets everything through, in order. */
	end = it_now_ms() + WAIT_MS * 2;
	while (have < sizeof(got) || back < CHUNKS) {
		ssize_t n;

		if (it_now_ms() > end)
			fail_msg("%zu of %zu bytes read, %u of %u buffers back", have, sizeof(got),
				 back, (unsigned) CHUNKS);
		assert_true(vio_loop_run_once(&F.loop, 0) >= 0);
		n = recv(c, got + have, sizeof(got) - have, MSG_DONTWAIT);
		if (n > 0)
			have += (size_t) n;
		while (back < CHUNKS && tx_back(&u)) {
			assert_ptr_equal(u.token, bufs[back]);
			back++;
		}
		if (n <= 0)
			(void) poll(NULL, 0, 1);
	}
	assert_memory_equal(got, data, sizeof(data));
	assert_int_equal(F.hports[0].dropped, 0);
	close(c);
}

static void refusals(void **state)
{
	int fd;

	(void) state;
	vio_host_console_init(&F.hc, F.hports, 1);
	assert_int_equal(vio_host_console_open(&F.hc, 1, VIO_HOST_CONSOLE_PTY, NULL), -EINVAL);
	assert_int_equal(vio_host_console_open(&F.hc, 0, 99, NULL), -EINVAL);
	assert_int_equal(vio_host_console_open(&F.hc, 0, VIO_HOST_CONSOLE_UNIX, ""), -EINVAL);
	/* A file that is not a socket is never removed to make room. */
	fd = open(F.sock, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vio_host_console_open(&F.hc, 0, VIO_HOST_CONSOLE_UNIX, F.sock), -EEXIST);
	assert_int_equal(access(F.sock, F_OK), 0);
	(void) unlink(F.sock);
	assert_int_equal(vio_host_console_open(&F.hc, 0, VIO_HOST_CONSOLE_UNIX, F.sock), 0);
	assert_int_equal(vio_host_console_open(&F.hc, 0, VIO_HOST_CONSOLE_PTY, NULL), -EBUSY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(pty_both_ways, setup, teardown),
	    cmocka_unit_test_setup_teardown(unix_clients, setup, teardown),
	    cmocka_unit_test_setup_teardown(unix_backpressure, setup, teardown),
	    cmocka_unit_test_setup_teardown(refusals, setup, teardown),
	};

	return cmocka_run_group_tests_name("virtio-console on a pty and a unix socket", tests, NULL,
					   NULL);
}
