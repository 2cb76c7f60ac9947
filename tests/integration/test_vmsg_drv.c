/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport-drv's console, input and vsock commands against the daemon serving
 * each device on a virtio-msg window (`vioport KIND --transport vmsg`), the
 * command run as a process of its own with its output checked:
 *
 *  - console on the echo simulation: --write's text comes back, --bytes ends
 *    the run; 6000 bytes of stdin come back whole and in order through the
 *    simulation's 256-byte buffers; on the line simulation the host's text
 *    (control socket) reaches the command and the command's reaches the host;
 *    a count that never comes fails within --wait;
 *  - input: the keyboard's name, serial, IDs and codes from the config
 *    selectors, an LED the command sets read back by the control socket, and
 *    a tap from the control socket printed as press, SYN_REPORT, release,
 *    SYN_REPORT; the touchscreen's axes with their ranges and its property;
 *  - vsock with --uds-path: connect reaches the listener at PATH_5000, which
 *    echoes 100 KiB of stdin (more than the credit of one packet exchange)
 *    back whole; a port nobody listens on is refused; listen takes a host
 *    program's CONNECT and carries bytes both ways, the host seeing our end
 *    of stream;
 *  - the wrong kind of device and a bad option are refused.
 *
 * The daemon is $VIOPORT_BIN, the command $VIOPORT_DRV_BIN.
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
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"

#define WAIT_MS	 10000
#define WIN_SIZE "1048576"
#define LOG_MAX	 (256u * 1024u)

static struct {
	char bin[IT_PATH];
	char drv[IT_PATH];
	char dir[IT_PATH];
	const char *skip;
} T;

/* The daemon of the case, its window and control socket. */
static struct {
	struct it_proc proc;
	char win[IT_PATH], ctl[IT_PATH], uds[IT_PATH];
} S;

/* A vioport-drv run: its process and its output (stdout and stderr). */
struct drv_run {
	struct it_proc p;
	char out[LOG_MAX];
	size_t len;
	int status;
};

/* The run of the case (large: the output is kept whole). */
static struct drv_run R;

#define BEGIN() IT_SKIP_IF(T.skip)

static int group_setup(void **state)
{
	const char *b = it_vioport_bin(), *d = getenv("VIOPORT_DRV_BIN");

	(void) state;
	if (b == NULL) {
		T.skip = "no vioport daemon at $VIOPORT_BIN: vioport-drv cases skipped";
		return 0;
	}
	snprintf(T.bin, sizeof(T.bin), "%s", b);
	if (d == NULL) {
		/* run outside meson (scripts/check.sh): vioport-drv sits beside the daemon */
		const char *slash = strrchr(b, '/');
		int n = slash == NULL ? snprintf(T.drv, sizeof(T.drv), "vioport-drv")
				      : snprintf(T.drv, sizeof(T.drv), "%.*s/vioport-drv",
						 (int) (slash - b), b);

		if (n > 0 && (size_t) n < sizeof(T.drv))
			d = T.drv;
	}
	if (d == NULL || access(d, X_OK) != 0) {
		T.skip = "no vioport-drv at $VIOPORT_DRV_BIN: vioport-drv cases skipped";
		return 0;
	}
	if (d != T.drv)
		snprintf(T.drv, sizeof(T.drv), "%s", d);
	if (it_tmpdir(T.dir, "vmsg-drv") < 0)
		T.skip = "no temporary directory";
	return 0;
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
	if (S.proc.pid > 0)
		it_stop(&S.proc, 2000, NULL);
	return 0;
}

/* Starts `vioport --control CTL KIND --transport vmsg --shm WIN ... extra` on a fresh window. */
static void start_daemon(const char *kind, const char *const *extra)
{
	char *argv[32];
	int n = 0;

	memset(&S, 0, sizeof(S));
	assert_int_equal(it_path(S.win, T.dir, "window"), 0);
	assert_int_equal(it_path(S.ctl, T.dir, "ctl.sock"), 0);
	assert_int_equal(it_path(S.uds, T.dir, "vm.vsock"), 0);
	assert_int_equal(it_path(S.proc.log, T.dir, "vioport.log"), 0);
	unlink(S.win);
	argv[n++] = T.bin;
	argv[n++] = "--log-level";
	argv[n++] = "info";
	argv[n++] = "--control";
	argv[n++] = S.ctl;
	argv[n++] = (char *) kind;
	argv[n++] = "--transport";
	argv[n++] = "vmsg";
	argv[n++] = "--shm";
	argv[n++] = S.win;
	argv[n++] = "--shm-size";
	argv[n++] = WIN_SIZE;
	for (; extra != NULL && *extra != NULL; extra++)
		argv[n++] = (char *) *extra;
	argv[n] = NULL;
	/* The control socket is up once the daemon has set everything up. */
	snprintf(S.proc.sock, sizeof(S.proc.sock), "%s", S.ctl);
	if (it_start(&S.proc, argv, WAIT_MS) < 0)
		fail_msg("the daemon did not start");
}

/* Stops the daemon, failing the case unless it ends cleanly. */
static void stop_daemon(void)
{
	bool sanitizer = false;
	int st = it_stop(&S.proc, WAIT_MS, &sanitizer);

	if (sanitizer || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		it_print_log(S.proc.log, 30);
		fail_msg("the daemon did not end cleanly (status %d%s)", st,
			 sanitizer ? ", sanitizer report" : "");
	}
}

/* Starts `vioport-drv --shm WIN COMMAND...` with stdin from in_path (NULL: /dev/null). */
static void drv_start(struct drv_run *r, const char *in_path, const char *const *words)
{
	static unsigned seq;
	char *argv[32], name[32];
	int n = 0, fd;

	memset(r, 0, sizeof(*r));
	snprintf(name, sizeof(name), "drv%u.log", seq++);
	assert_int_equal(it_path(r->p.log, T.dir, name), 0);
	argv[n++] = T.drv;
	argv[n++] = "--shm";
	argv[n++] = S.win;
	for (; *words != NULL; words++)
		argv[n++] = (char *) *words;
	argv[n] = NULL;
	fd = open(in_path != NULL ? in_path : "/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(it_spawn(&r->p, argv, fd, 0), 0);
	close(fd);
}

/* Reads the run's output so far into r->out (empty before the process made its log). */
static void drv_read(struct drv_run *r)
{
	FILE *f = fopen(r->p.log, "r");

	r->len = 0;
	r->out[0] = '\0';
	if (f == NULL)
		return;
	r->len = fread(r->out, 1, sizeof(r->out) - 1, f);
	r->out[r->len] = '\0';
	fclose(f);
}

/* Waits for the run to end; its exit status (-1: killed, or did not exit). */
static int drv_end(struct drv_run *r)
{
	int st = it_wait_exit(&r->p, WAIT_MS);

	drv_read(r);
	r->status = st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	if (strstr(r->out, "Sanitizer") != NULL || strstr(r->out, "runtime error") != NULL) {
		it_print_log(r->p.log, 40);
		fail_msg("vioport-drv: sanitizer report");
	}
	return r->status;
}

/* Runs vioport-drv to its end. */
static int drv(struct drv_run *r, const char *in_path, const char *const *words)
{
	drv_start(r, in_path, words);
	return drv_end(r);
}

/* Fails unless the run ended with status and its output holds every string of want. */
static void expect(struct drv_run *r, int status, const char *const *want)
{
	bool ok = r->status == status;

	for (; ok && *want != NULL; want++)
		ok = strstr(r->out, *want) != NULL;
	if (!ok) {
		it_print_log(r->p.log, 60);
		it_print_log(S.proc.log, 20);
		fail_msg("vioport-drv exited %d (expected %d)%s%s", r->status, status,
			 *want != NULL ? ", missing: " : "", *want != NULL ? *want : "");
	}
}

/* Waits until the run's output holds s. */
static void drv_wait_for(struct drv_run *r, const char *s)
{
	int64_t end = it_now_ms() + WAIT_MS;

	for (;;) {
		drv_read(r);
		if (strstr(r->out, s) != NULL)
			return;
		if (it_now_ms() >= end || !it_alive(&r->p)) {
			it_print_log(r->p.log, 40);
			fail_msg("vioport-drv never printed '%s'", s);
		}
		usleep(5000);
	}
}

/* Writes len bytes of a pattern to a file in the case's directory; its path in path. */
static void make_input(char path[IT_PATH], const char *name, uint8_t *buf, size_t len,
		       uint32_t seed)
{
	FILE *f;

	assert_int_equal(it_path(path, T.dir, name), 0);
	it_fill(buf, len, seed);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

/* --- console ------------------------------------------------------------------------- */

static void drv_console_echo(void **state)
{
	static const char *const echo[] = {"--sim", "echo", NULL};
	static uint8_t data[6000];
	struct drv_run *r = &R;
	char in[IT_PATH], bytes[16];

	(void) state;
	BEGIN();
	start_daemon("console", echo);
	drv(r, NULL,
	    (const char *const[]){"console", "0", "--write", "hello over the window", "--bytes",
				  "21", NULL});
	expect(r, 0, (const char *const[]){"hello over the window", NULL});
	assert_int_equal(r->len, 21);
	/* stdin, larger than the simulation's buffers and the command's receive buffers. */
	make_input(in, "console.in", data, sizeof(data), 7);
	snprintf(bytes, sizeof(bytes), "%zu", sizeof(data));
	drv(r, in, (const char *const[]){"console", "0", "--bytes", bytes, NULL});
	expect(r, 0, (const char *const[]){NULL});
	assert_int_equal(r->len, sizeof(data));
	assert_memory_equal(r->out, data, sizeof(data));
	/* No --bytes: what comes back within --wait, then success. */
	drv(r, NULL,
	    (const char *const[]){"console", "0", "--write", "abc", "--wait", "300", NULL});
	expect(r, 0, (const char *const[]){"abc", NULL});
	/* A count that never comes: failure after --wait. */
	drv(r, NULL,
	    (const char *const[]){"console", "0", "--write", "abc", "--bytes", "10", "--wait",
				  "300", NULL});
	expect(r, 1, (const char *const[]){"3 of 10 bytes arrived within 300 ms", NULL});
	stop_daemon();
}

static void drv_console_line(void **state)
{
	static const char *const line[] = {"--sim", "line", NULL};
	struct drv_run *r = &R;
	char reply[512];

	(void) state;
	BEGIN();
	start_daemon("console", line);
	/* The host's text waits in the simulation until the driver has buffers. */
	it_control_ok(S.ctl, "console write from\\sthe\\shost\\n", NULL, 0);
	drv(r, NULL,
	    (const char *const[]){"console", "0", "--write", "to the host\n", "--bytes", "14",
				  NULL});
	expect(r, 0, (const char *const[]){"from the host\n", NULL});
	it_control_ok(S.ctl, "console read", reply, sizeof(reply));
	if (strstr(reply, "to\\sthe\\shost\\n") == NULL)
		fail_msg("console read: '%s'", reply);
	stop_daemon();
}

/* --- input --------------------------------------------------------------------------- */

static void drv_input_keyboard(void **state)
{
	static const char *const kbd[] = {"--sim", "keyboard", NULL};
	struct drv_run *r = &R;
	char reply[256];

	(void) state;
	BEGIN();
	start_daemon("input", kbd);
	drv_start(r, NULL,
		  (const char *const[]){"input", "0", "--count", "4", "--led", "1=1", NULL});
	drv_wait_for(r, "Testing");
	it_control_ok(S.ctl, "input leds", reply, sizeof(reply));
	if (strstr(reply, "capslock=1") == NULL || strstr(reply, "numlock=0") == NULL)
		fail_msg("input leds: '%s'", reply);
	it_control_ok(S.ctl, "input tap 30", NULL, 0);
	drv_end(r);
	expect(r, 0,
	       (const char *const[]){"Input device name: \"vioport keyboard\"",
				     "Input device serial: \"vioport-kbd-0\"",
				     "Input device ID: bus 0x6 vendor 0x0 product 0x1",
				     "  Event type 1 (EV_KEY)\n", "    Event code 30\n",
				     "  Event type 17 (EV_LED)\n", "Set LED 1 to 1",
				     "Event: type 1 (EV_KEY), code 30, value 1\n"
				     "Event: -------------- SYN_REPORT ------------\n"
				     "Event: type 1 (EV_KEY), code 30, value 0\n"
				     "Event: -------------- SYN_REPORT ------------\n",
				     NULL});
	/* No event within --wait: a count not reached fails. */
	drv(r, NULL, (const char *const[]){"input", "0", "--count", "1", "--wait", "200", NULL});
	expect(r, 1, (const char *const[]){"0 of 1 events", NULL});
	stop_daemon();
}

static void drv_input_touchscreen(void **state)
{
	static const char *const ts[] = {"--sim", "touchscreen", NULL};
	struct drv_run *r = &R;

	(void) state;
	BEGIN();
	start_daemon("input", ts);
	drv(r, NULL, (const char *const[]){"input", "0", "--count", "0", NULL});
	expect(r, 0,
	       (const char *const[]){"Input device name: \"vioport touchscreen\"",
				     "  Event type 3 (EV_ABS)\n    Event code 0\n"
				     "      Min 0 Max 1279 Fuzz 0 Flat 0 Resolution 10\n",
				     "    Event code 1\n"
				     "      Min 0 Max 799 Fuzz 0 Flat 0 Resolution 10\n",
				     "    Event code 330\n", "Properties:\n  Property type 1\n",
				     NULL});
	assert_null(strstr(r->out, "Testing"));
	/* The wrong kind: device 0 is no console. */
	drv(r, NULL, (const char *const[]){"console", "0", "--write", "x", NULL});
	expect(r, 1, (const char *const[]){"device 0 is input (ID 18), not console", NULL});
	/* A bad option is a usage error before anything is sent. */
	drv(r, NULL, (const char *const[]){"input", "0", "--bogus", "1", NULL});
	expect(r, 2, (const char *const[]){"input: unknown option '--bogus'", NULL});
	stop_daemon();
}

/* --- vsock --------------------------------------------------------------------------- */

/* A UNIX stream socket listening at path. */
static int uds_listen(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(path) < sizeof(a.sun_path));
	memcpy(a.sun_path, path, strlen(path) + 1);
	unlink(path);
	assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 1), 0);
	return fd;
}

/* Waits up to WAIT_MS for fd to have events; fails the case when it does not. */
static void wait_fd(int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};

	if (poll(&p, 1, WAIT_MS) <= 0)
		fail_msg("no %s within %d ms", events == POLLIN ? "input" : "room", WAIT_MS);
}

/* Accepts one connection on lfd and echoes it to its end of stream; the bytes echoed. */
static size_t echo_one(int lfd)
{
	uint8_t buf[8192];
	size_t total = 0;
	int c;

	wait_fd(lfd, POLLIN);
	c = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	assert_true(c >= 0);
	for (;;) {
		ssize_t n;

		wait_fd(c, POLLIN);
		n = read(c, buf, sizeof(buf));
		assert_true(n >= 0);
		if (n == 0)
			break;
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(c, buf + off, (size_t) (n - off));

			assert_true(w > 0);
			off += w;
		}
		total += (size_t) n;
	}
	close(c);
	return total;
}

static void drv_vsock_connect(void **state)
{
	static uint8_t data[100 * 1024];
	struct drv_run *r = &R;
	char path[IT_PATH + 8], in[IT_PATH], bytes[16];
	int lfd;

	(void) state;
	BEGIN();
	assert_int_equal(it_path(S.uds, T.dir, "vm.vsock"), 0);
	start_daemon("vsock", (const char *const[]){"--uds-path", S.uds, NULL});
	snprintf(path, sizeof(path), "%s_5000", S.uds);
	lfd = uds_listen(path);
	drv_start(r, NULL,
		  (const char *const[]){"vsock", "0", "connect", "5000", "--write", "hello vsock",
					"--bytes", "11", NULL});
	assert_int_equal(echo_one(lfd), 11);
	drv_end(r);
	expect(
	    r, 0,
	    (const char *const[]){"connected from 3:49152 to host port 5000", "hello vsock", NULL});
	/* 100 KiB of stdin, echoed: more than the credit the device gives at once. */
	make_input(in, "vsock.in", data, sizeof(data), 11);
	snprintf(bytes, sizeof(bytes), "%zu", sizeof(data));
	drv_start(r, in,
		  (const char *const[]){"vsock", "0", "connect", "5000", "--port", "7777",
					"--bytes", bytes, NULL});
	assert_int_equal(echo_one(lfd), sizeof(data));
	drv_end(r);
	expect(r, 0, (const char *const[]){"connected from 3:7777 to host port 5000", NULL});
	{
		const char *p = strstr(r->out, "host port 5000\n");

		assert_non_null(p);
		p += strlen("host port 5000\n");
		assert_true((size_t) (r->out + r->len - p) >= sizeof(data));
		assert_memory_equal(p, data, sizeof(data));
	}
	close(lfd);
	/* Nobody at PATH_5001: refused. */
	drv(r, NULL, (const char *const[]){"vsock", "0", "connect", "5001", "--write", "x", NULL});
	expect(r, 1, (const char *const[]){"host port 5001 refused the connection", NULL});
	stop_daemon();
}

/* Connects to the daemon's base path and asks for guest port port; the stream. */
static int host_connect(const char *port)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	char line[64] = "", cmd[32];
	size_t n = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(S.uds) < sizeof(a.sun_path));
	memcpy(a.sun_path, S.uds, strlen(S.uds) + 1);
	assert_int_equal(connect(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	snprintf(cmd, sizeof(cmd), "CONNECT %s\n", port);
	assert_int_equal(write(fd, cmd, strlen(cmd)), (ssize_t) strlen(cmd));
	/* One byte at a time: what follows the line is the guest's data. */
	while (n < sizeof(line) - 1 && (n == 0 || line[n - 1] != '\n')) {
		wait_fd(fd, POLLIN);
		if (read(fd, line + n, 1) != 1)
			break;
		n++;
	}
	if (strncmp(line, "OK ", 3) != 0)
		fail_msg("CONNECT %s: '%s'", port, line);
	return fd;
}

static void drv_vsock_listen(void **state)
{
	struct drv_run *r = &R;
	char got[64];
	size_t n = 0;
	int fd;

	(void) state;
	BEGIN();
	assert_int_equal(it_path(S.uds, T.dir, "vm.vsock"), 0);
	start_daemon("vsock", (const char *const[]){"--uds-path", S.uds, NULL});
	drv_start(r, NULL,
		  (const char *const[]){"vsock", "0", "listen", "6000", "--write", "from the guest",
					"--bytes", "13", NULL});
	drv_wait_for(r, "listening on 3:6000");
	fd = host_connect("6000");
	assert_int_equal(write(fd, "from the host", 13), 13);
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	/* The guest's bytes, then its end of stream. */
	for (;;) {
		ssize_t k;

		wait_fd(fd, POLLIN);
		k = read(fd, got + n, sizeof(got) - 1 - n);
		assert_true(k >= 0);
		if (k == 0)
			break;
		n += (size_t) k;
	}
	got[n] = '\0';
	assert_string_equal(got, "from the guest");
	close(fd);
	drv_end(r);
	expect(r, 0, (const char *const[]){"connected", "from the host", NULL});
	stop_daemon();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(drv_console_echo, teardown),
	    cmocka_unit_test_teardown(drv_console_line, teardown),
	    cmocka_unit_test_teardown(drv_input_keyboard, teardown),
	    cmocka_unit_test_teardown(drv_input_touchscreen, teardown),
	    cmocka_unit_test_teardown(drv_vsock_connect, teardown),
	    cmocka_unit_test_teardown(drv_vsock_listen, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
