/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's daemon serving virtio-console three ways at once, driven through
 * the frontend: `console --unix PATH` (bytes the driver writes reach a client
 * of PATH, bytes the client writes reach a receive buffer), `console --sim
 * line` (the control socket reads what the driver wrote and writes text to
 * it) and `console --pty` (the pty the log and the control socket name
 * carries bytes both ways); the config space of --size; a clean exit.
 * The daemon is $VIOPORT_BIN; without it every case skips, saying so.
 */
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
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "vioport/console.h"
#include "vioport/vhost_user_frontend.h"
#include "vioport/virtio.h"

#define WAIT_MS 5000
#define BUF	256
/* Asked for; the device offers SIZE only with --size, EMERG_WRITE only on the simulation. */
#define FEATURES                                                                                   \
	(VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_F_EVENT_IDX) | VIO_BIT(VIO_CONSOLE_F_SIZE) |       \
	 VIO_BIT(VIO_CONSOLE_F_EMERG_WRITE))

/* console0: --unix; console1: --sim line; console2: --pty --size 100x40; console3: --ports 3. */
static struct {
	char dir[IT_PATH];
	char ctl[IT_PATH];
	char hostdir[IT_PATH]; /* outside dir: console0's host end, removed by the daemon */
	char usock[IT_PATH];   /* console0's host end */
	char vsock1[IT_PATH];  /* console1's vhost-user socket */
	char vsock2[IT_PATH];  /* console2's */
	char vsock3[IT_PATH];  /* console3's */
	struct it_proc proc;   /* its sock is console0's vhost-user socket */
	const char *skip;
} T;

static struct vio_vu_fe fe;

#define BEGIN() IT_SKIP_IF(T.skip)

static int group_setup(void **state)
{
	const char *b = it_vioport_bin();
	static char bin[IT_PATH];
	char *argv[] = {bin,
			"--log-level",
			"info",
			"--control",
			T.ctl,
			"console",
			"--unix",
			T.usock,
			"--socket-path",
			T.proc.sock,
			"+",
			"console",
			"--sim",
			"line",
			"--socket-path",
			T.vsock1,
			"+",
			"console",
			"--pty",
			"--size",
			"100x40",
			"--socket-path",
			T.vsock2,
			"+",
			"console",
			"--ports",
			"3",
			"--socket-path",
			T.vsock3,
			NULL};

	(void) state;
	if (b == NULL) {
		T.skip = "no vioport daemon at $VIOPORT_BIN (build apps/vioport first): vioport "
			 "console cases skipped";
		return 0;
	}
	snprintf(bin, sizeof(bin), "%s", b);
	if (it_tmpdir(T.dir, "console") < 0 || it_path(T.proc.sock, T.dir, "c0.sock") < 0 ||
	    it_path(T.vsock1, T.dir, "c1.sock") < 0 || it_path(T.vsock2, T.dir, "c2.sock") < 0 ||
	    it_path(T.vsock3, T.dir, "c3.sock") < 0 || it_tmpdir(T.hostdir, "console-host") < 0 ||
	    it_path(T.usock, T.hostdir, "console.sock") < 0 ||
	    it_path(T.ctl, T.dir, "ctl.sock") < 0 || it_path(T.proc.log, T.dir, "vioport.log") < 0)
		return -1;
	if (it_start(&T.proc, argv, 10000) < 0)
		T.skip = "the vioport daemon did not start: vioport console cases skipped";
	return 0;
}

static int group_teardown(void **state)
{
	(void) state;
	it_finish(&T.proc, T.dir);
	if (T.hostdir[0] != '\0')
		it_rmtree(T.hostdir);
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	vio_vu_fe_close(&fe);
	return it_daemon_lives(&T.proc, &T.skip);
}

/* Connects as a driver of port 0 (receiveq and transmitq) with the config space read. */
static void start(const char *sock)
{
	struct vio_vu_fe_params p = {
	    .features = FEATURES, .num_queues = 2, .config_size = VIO_CONSOLE_CONFIG_SIZE};
	int r = vio_vu_fe_start(&fe, sock, &p);

	if (r != 0)
		fail_msg("start %s: %d (%s)", sock, r, vio_vu_fe_error(&fe));
}

/* One control command that must succeed; its reply, "ok" stripped, goes to out. */
static void control(const char *cmd, char *out, size_t cap)
{
	it_control_ok(T.ctl, cmd, out, cap);
}

/* Gives the device an empty receive buffer of BUF bytes on port 0; returns it. */
static uint8_t *post_rx(uint64_t *gpa)
{
	uint8_t *b = vio_vu_fe_alloc(&fe, BUF, 64, gpa);
	struct vio_buf ib;

	assert_non_null(b);
	memset(b, 0, BUF);
	ib = (struct vio_buf){*gpa, BUF};
	assert_int_equal(vio_vu_fe_add(&fe, VIO_CONSOLE_RXQ0, NULL, 0, &ib, 1, b), 0);
	assert_true(vio_vu_fe_kick(&fe, VIO_CONSOLE_RXQ0) >= 0);
	return b;
}

/* Waits for the receive buffer b back and checks it holds want. */
static void rx_expect(uint8_t *b, uint64_t gpa, const char *want)
{
	void *tok;
	uint32_t len;

	assert_int_equal(vio_vu_fe_wait_used(&fe, VIO_CONSOLE_RXQ0, &tok, &len, WAIT_MS), 1);
	assert_ptr_equal(tok, b);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(b, want, len);
	vio_vu_fe_free(&fe, gpa, BUF);
}

/* The driver writes text on port 0 and waits for the device to give the buffer back. */
static void tx(const char *text)
{
	uint64_t gpa;
	uint32_t n = (uint32_t) strlen(text), len;
	uint8_t *b = vio_vu_fe_alloc(&fe, n, 64, &gpa);
	struct vio_buf ob = {gpa, n};
	void *tok;

	assert_non_null(b);
	memcpy(b, text, n);
	assert_int_equal(vio_vu_fe_add(&fe, VIO_CONSOLE_TXQ0, &ob, 1, NULL, 0, b), 0);
	assert_true(vio_vu_fe_kick(&fe, VIO_CONSOLE_TXQ0) >= 0);
	assert_int_equal(vio_vu_fe_wait_used(&fe, VIO_CONSOLE_TXQ0, &tok, &len, WAIT_MS), 1);
	assert_ptr_equal(tok, b);
	assert_int_equal(len, 0);
	vio_vu_fe_free(&fe, gpa, n);
}

/* Reads exactly want's bytes from fd within WAIT_MS and compares. */
static void fd_expect(int fd, const char *want)
{
	char got[BUF];
	size_t n = strlen(want), have = 0;

	while (have < n) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, WAIT_MS) <= 0)
			fail_msg("nothing more after %zu of %zu bytes", have, n);
		r = read(fd, got + have, n - have);
		if (r <= 0)
			fail_msg("read: %zd (%s) after %zu bytes", r, strerror(errno), have);
		have += (size_t) r;
	}
	assert_memory_equal(got, want, n);
}

static void write_all(int fd, const char *s)
{
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t) strlen(s));
}

static void console_unix_both_ways(void **state)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	uint64_t gpa;
	uint8_t *rb;
	int fd;

	(void) state;
	BEGIN();
	start(T.proc.sock);
	assert_false(vio_vu_fe_has(&fe, VIO_CONSOLE_F_SIZE));
	assert_false(vio_vu_fe_has(&fe, VIO_CONSOLE_F_EMERG_WRITE));
	assert_true(strlen(T.usock) < sizeof(a.sun_path));
	memcpy(a.sun_path, T.usock, strlen(T.usock) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	/* What the client writes reaches the driver: the daemon has the client from then on. */
	rb = post_rx(&gpa);
	write_all(fd, "from the host");
	rx_expect(rb, gpa, "from the host");
	/* What the driver writes reaches the client, in order. */
	tx("hello ");
	tx("world\n");
	fd_expect(fd, "hello world\n");
	close(fd);
}

static void console_sim_line(void **state)
{
	char reply[512];
	uint64_t gpa;
	uint8_t *rb;
	int tries = 0;

	(void) state;
	BEGIN();
	start(T.vsock1);
	assert_true(vio_vu_fe_has(&fe, VIO_CONSOLE_F_EMERG_WRITE));
	assert_false(vio_vu_fe_has(&fe, VIO_CONSOLE_F_SIZE));
	/* What the driver writes is read on the control socket, escaped, once. */
	tx("login: root\n");
	control("console1 read", reply, sizeof(reply));
	while (strcmp(reply, "0") == 0 && ++tries < 50) {
		usleep(20000);
		control("console1 read", reply, sizeof(reply));
	}
	assert_string_equal(reply, "12 login:\\sroot\\n");
	control("console1 read", reply, sizeof(reply));
	assert_string_equal(reply, "0");
	/* Text written there reaches the driver, escapes decoded. */
	rb = post_rx(&gpa);
	control("console1 write ls -l\\n", reply, sizeof(reply));
	assert_string_equal(reply, "6");
	rx_expect(rb, gpa, "ls -l\n");
	/* Emergency characters go where port 0's writes go. */
	{
		uint8_t c[4] = {'!', 0, 0, 0};

		assert_int_equal(vio_vu_fe_set_config(&fe, VIO_CONSOLE_CFG_EMERG_WR, c, 4), 0);
		control("console1 read", reply, sizeof(reply));
		for (tries = 0; strcmp(reply, "0") == 0 && tries < 50; tries++) {
			usleep(20000);
			control("console1 read", reply, sizeof(reply));
		}
		assert_string_equal(reply, "1 !");
	}
	/* A port the device does not have, a bad escape, commands of the other providers. */
	assert_int_equal(it_control(T.ctl, "console1 read 1", reply, sizeof(reply), WAIT_MS), 0);
	assert_int_equal(strncmp(reply, "error", 5), 0);
	assert_int_equal(it_control(T.ctl, "console1 write \\q", reply, sizeof(reply), WAIT_MS), 0);
	assert_int_equal(strncmp(reply, "error", 5), 0);
	assert_int_equal(it_control(T.ctl, "console1 path", reply, sizeof(reply), WAIT_MS), 0);
	assert_int_equal(strncmp(reply, "error", 5), 0);
	assert_int_equal(it_control(T.ctl, "console0 write x", reply, sizeof(reply), WAIT_MS), 0);
	assert_int_equal(strncmp(reply, "error", 5), 0);
	assert_int_equal(it_control(T.ctl, "console1 size 80x25", reply, sizeof(reply), WAIT_MS),
			 0);
	assert_int_equal(strncmp(reply, "error", 5), 0);
}

/* Whether the daemon's log has the line "console2: info: port 0 on PATH". */
static bool log_names(const char *path)
{
	char want[IT_PATH + 64], line[512];
	bool found = false;
	FILE *f = fopen(T.proc.log, "r");

	if (f == NULL)
		return false;
	snprintf(want, sizeof(want), "console2: info: port 0 on %s\n", path);
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, want) != NULL;
	fclose(f);
	return found;
}

/* Writes dots on port 0 until the terminal fd receives them; reads them all. */
static void sync_pty(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char junk[BUF];
	int i;

	for (i = 0; i < 100; i++) {
		tx(".");
		if (poll(&p, 1, 100) > 0)
			break;
	}
	assert_true(i < 100);
	/* Each dot's buffer came back before the next was written: they are all there. */
	while (poll(&p, 1, 50) > 0) {
		ssize_t r = read(fd, junk, sizeof(junk));

		assert_true(r > 0);
		for (ssize_t k = 0; k < r; k++)
			assert_int_equal(junk[k], '.');
	}
}

static void console_pty_both_ways(void **state)
{
	char path[256];
	uint8_t cfg[VIO_CONSOLE_CONFIG_SIZE];
	uint64_t gpa;
	uint8_t *rb;
	int fd;

	(void) state;
	BEGIN();
	start(T.vsock2);
	/* --size: offered, and in the config space. */
	assert_true(vio_vu_fe_has(&fe, VIO_CONSOLE_F_SIZE));
	assert_int_equal(vio_vu_fe_get_config(&fe, 0, cfg, sizeof(cfg)), 0);
	assert_int_equal(cfg[0] | cfg[1] << 8, 100);
	assert_int_equal(cfg[2] | cfg[3] << 8, 40);
	control("console2 size 132x50", NULL, 0);
	assert_int_equal(vio_vu_fe_get_config(&fe, 0, cfg, sizeof(cfg)), 0);
	assert_int_equal(cfg[0] | cfg[1] << 8, 132);
	assert_int_equal(cfg[2] | cfg[3] << 8, 50);
	/* The pty the control socket names is the one the log names. */
	control("console2 path", path, sizeof(path));
	assert_int_equal(strncmp(path, "/dev/pts/", 9), 0);
	assert_true(log_names(path));
	fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	assert_true(fd >= 0);
	/* What a program writes to the pty reaches the driver (the pty is raw). */
	rb = post_rx(&gpa);
	write_all(fd, "typed\n");
	rx_expect(rb, gpa, "typed\n");
	/*
	 * Until the device has seen the terminal opened (it looks on a timer) it
	 * drops what the driver writes, as on a line with nothing plugged in:
	 * write dots until one arrives, then every byte must.
	 */
	sync_pty(fd);
	tx("printed\n");
	fd_expect(fd, "printed\n");
	close(fd);
}

/* One control message (le32 id, le16 event, le16 value) from the driver on the control transmitq.
 */
static void ctrl_send(uint32_t id, uint16_t event, uint16_t value)
{
	uint64_t gpa;
	uint8_t *m = vio_vu_fe_alloc(&fe, VIO_CONSOLE_CTRL_SIZE, 64, &gpa);
	struct vio_buf ob = {gpa, VIO_CONSOLE_CTRL_SIZE};
	void *tok;
	uint32_t len;

	assert_non_null(m);
	for (int k = 0; k < 4; k++)
		m[k] = (uint8_t) (id >> (8 * k));
	m[4] = (uint8_t) event;
	m[5] = (uint8_t) (event >> 8);
	m[6] = (uint8_t) value;
	m[7] = (uint8_t) (value >> 8);
	assert_int_equal(vio_vu_fe_add(&fe, VIO_CONSOLE_CTXQ, &ob, 1, NULL, 0, m), 0);
	assert_true(vio_vu_fe_kick(&fe, VIO_CONSOLE_CTXQ) >= 0);
	assert_int_equal(vio_vu_fe_wait_used(&fe, VIO_CONSOLE_CTXQ, &tok, &len, WAIT_MS), 1);
	assert_ptr_equal(tok, m);
	vio_vu_fe_free(&fe, gpa, VIO_CONSOLE_CTRL_SIZE);
}

/* --ports 3: multiport offered, max_nr_ports 3, and DEVICE_READY answered with PORT_ADD 0, 1, 2. */
static void console_multiport(void **state)
{
	struct vio_vu_fe_params p = {.features = FEATURES | VIO_BIT(VIO_CONSOLE_F_MULTIPORT),
				     .num_queues = 4,
				     .config_size = VIO_CONSOLE_CONFIG_SIZE};
	uint8_t cfg[VIO_CONSOLE_CONFIG_SIZE], *m[3];
	uint64_t gpa[3];
	bool seen[3] = {false, false, false};
	int r;

	(void) state;
	BEGIN();
	r = vio_vu_fe_start(&fe, T.vsock3, &p);
	if (r != 0)
		fail_msg("start: %d (%s)", r, vio_vu_fe_error(&fe));
	assert_true(vio_vu_fe_has(&fe, VIO_CONSOLE_F_MULTIPORT));
	assert_int_equal(vio_vu_fe_get_config(&fe, 0, cfg, sizeof(cfg)), 0);
	assert_int_equal(cfg[4] | cfg[5] << 8 | cfg[6] << 16 | (uint32_t) cfg[7] << 24, 3);
	for (int i = 0; i < 3; i++) {
		struct vio_buf ib;

		m[i] = vio_vu_fe_alloc(&fe, VIO_CONSOLE_CTRL_SIZE, 64, &gpa[i]);
		assert_non_null(m[i]);
		memset(m[i], 0xee, VIO_CONSOLE_CTRL_SIZE);
		ib = (struct vio_buf){gpa[i], VIO_CONSOLE_CTRL_SIZE};
		assert_int_equal(vio_vu_fe_add(&fe, VIO_CONSOLE_CRXQ, NULL, 0, &ib, 1, m[i]), 0);
	}
	assert_true(vio_vu_fe_kick(&fe, VIO_CONSOLE_CRXQ) >= 0);
	ctrl_send(VIO_CONSOLE_BAD_ID, VIO_CONSOLE_DEVICE_READY, 1);
	for (int i = 0; i < 3; i++) {
		void *tok;
		uint32_t len, id;
		uint8_t *b;

		assert_int_equal(vio_vu_fe_wait_used(&fe, VIO_CONSOLE_CRXQ, &tok, &len, WAIT_MS),
				 1);
		assert_int_equal(len, VIO_CONSOLE_CTRL_SIZE);
		b = tok;
		id = b[0] | b[1] << 8 | b[2] << 16 | (uint32_t) b[3] << 24;
		assert_int_equal(b[4] | b[5] << 8, VIO_CONSOLE_PORT_ADD);
		assert_true(id < 3);
		assert_false(seen[id]);
		seen[id] = true;
	}
	for (int i = 0; i < 3; i++)
		vio_vu_fe_free(&fe, gpa[i], VIO_CONSOLE_CTRL_SIZE);
}

static void console_clean_exit(void **state)
{
	(void) state;
	BEGIN();
	start(T.proc.sock);
	it_expect_clean_stop(&T.proc, &T.skip);
	/* The sandboxed daemon removed its console socket, outside its vhost-user sockets'
	 * directory. */
	assert_int_equal(access(T.usock, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(console_unix_both_ways, teardown),
	    cmocka_unit_test_teardown(console_sim_line, teardown),
	    cmocka_unit_test_teardown(console_pty_both_ways, teardown),
	    cmocka_unit_test_teardown(console_multiport, teardown),
	    cmocka_unit_test_teardown(console_clean_exit, teardown),
	};

	return cmocka_run_group_tests_name("vhost-user-console: vioport daemon", tests, group_setup,
					   group_teardown);
}
