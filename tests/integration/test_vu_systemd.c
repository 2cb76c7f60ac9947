/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport started the way systemd starts it: under systemd-socket-activate
 * (package systemd), which listens on the sockets, starts the daemon at the
 * first connection and hands it the sockets through LISTEN_PID/LISTEN_FDS.
 * The daemon must serve I/O on them, say READY=1 and STOPPING=1 on the
 * NOTIFY_SOCKET the test listens on, give each passed socket to a group in
 * order and refuse sockets no group takes; it must ignore LISTEN_FDS meant for
 * another process, and put syslog priorities on its log lines when its
 * standard error is the journal (JOURNAL_STREAM). The daemon is $VIOPORT_BIN.
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
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "vioport/vhost_user_blk_client.h"
#include "vioport/vhost_user_frontend.h"
#include "vioport/virtio.h"

#define WAIT_MS	   10000
#define DISK_BYTES (4u << 20)
#define ACTIVATE   "/usr/bin/systemd-socket-activate"

static struct {
	char dir[IT_PATH];
	char bin[IT_PATH];
	char notify[IT_PATH];
	int notify_fd;
	const char *skip;
} T = {.notify_fd = -1};

static struct vio_vu_blk blk;
static struct vio_vu_fe fe;

#define BEGIN() IT_SKIP_IF(T.skip)

static int group_setup(void **state)
{
	const char *b = it_vioport_bin();
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	(void) state;
	if (b == NULL) {
		T.skip = "no vioport daemon at $VIOPORT_BIN (build apps/vioport first): systemd "
			 "cases skipped";
		return 0;
	}
	if (access(ACTIVATE, X_OK) != 0) {
		T.skip = "no " ACTIVATE " (Debian package systemd): systemd cases skipped";
		return 0;
	}
	snprintf(T.bin, sizeof(T.bin), "%s", b);
	if (it_tmpdir(T.dir, "systemd") < 0 || it_path(T.notify, T.dir, "notify.sock") < 0)
		return -1;
	/* The notification socket systemd would listen on, as a datagram socket. */
	T.notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (T.notify_fd < 0 || strlen(T.notify) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, T.notify, strlen(T.notify) + 1);
	if (bind(T.notify_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void) state;
	if (T.notify_fd >= 0)
		close(T.notify_fd);
	if (T.dir[0] != '\0')
		it_rmtree(T.dir);
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	vio_vu_blk_close(&blk);
	vio_vu_fe_close(&fe);
	return 0;
}

/* Drops notifications a previous case left unread. */
static void drain_notify(void)
{
	char buf[256];

	while (recv(T.notify_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

/* Waits up to WAIT_MS for the next notification and returns it in buf; fails the case else. */
static void next_notify(char *buf, size_t cap)
{
	struct pollfd pfd = {.fd = T.notify_fd, .events = POLLIN};
	ssize_t got;

	if (poll(&pfd, 1, WAIT_MS) != 1)
		fail_msg("no notification on NOTIFY_SOCKET within %d ms", WAIT_MS);
	got = recv(T.notify_fd, buf, cap - 1, 0);
	assert_true(got > 0);
	buf[got] = '\0';
}

/* Whether the file at path has a line containing s. */
static bool file_has(const char *path, const char *s)
{
	char line[512];
	bool found = false;
	FILE *f = fopen(path, "r");

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, s) != NULL;
	fclose(f);
	return found;
}

/* Stops the daemon: it must end cleanly on SIGTERM, without a sanitizer report. */
static void stop_clean(struct it_proc *p)
{
	bool san = false;
	int st = it_stop(p, WAIT_MS, &san);

	if (san || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		it_print_log(p->log, 40);
		fail_msg("daemon wait status %#x after SIGTERM%s", st,
			 san ? ", with a sanitizer report" : "");
	}
}

/*
 * A disk on an activated socket, configured as the vioport-blk@.service unit does it (a
 * configuration file whose [blk] section names no socket): I/O works, READY=1 comes once
 * serving, STOPPING=1 at the end.
 */
static void activated_blk(void **state)
{
	char img[IT_PATH], sock[IT_PATH], conf[IT_PATH], text[512], msg[256];
	char *argv[] = {ACTIVATE, "-E",	 "NOTIFY_SOCKET", "-l", sock,
			"--",	  T.bin, "--config",	  conf, NULL};
	FILE *f;
	struct it_proc p = {0};
	uint8_t out[4096], in[4096];
	char id[VIO_BLK_ID_BYTES + 1] = {0};

	(void) state;
	BEGIN();
	drain_notify();
	assert_int_equal(it_path(img, T.dir, "disk.img"), 0);
	assert_int_equal(it_make_image(img, DISK_BYTES), 0);
	assert_int_equal(it_path(sock, T.dir, "blk.sock"), 0);
	assert_int_equal(it_path(p.log, T.dir, "blk.log"), 0);
	assert_int_equal(it_path(conf, T.dir, "blk-activated.conf"), 0);
	snprintf(text, sizeof(text), "log-level = info\n[blk]\nimage = %s\nserial = activated\n",
		 img);
	f = fopen(conf, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	snprintf(p.sock, sizeof(p.sock), "%s", sock);
	assert_int_equal(setenv("NOTIFY_SOCKET", T.notify, 1), 0);
	if (it_start(&p, argv, WAIT_MS) < 0)
		fail_msg("systemd-socket-activate did not listen on %s", sock);
	unsetenv("NOTIFY_SOCKET");
	/* The first connection starts the daemon, which takes it from the passed socket. */
	if (vio_vu_blk_open(&blk, sock, NULL) != 0)
		fail_msg("open: %s", vio_vu_fe_error(&blk.fe));
	assert_int_equal(blk.capacity, DISK_BYTES / 512);
	it_fill(out, sizeof(out), 7);
	assert_int_equal(vio_vu_blk_write(&blk, 8, out, sizeof(out)), 0);
	assert_int_equal(vio_vu_blk_flush(&blk), 0);
	assert_int_equal(vio_vu_blk_read(&blk, 8, in, sizeof(in)), 0);
	assert_memory_equal(in, out, sizeof(out));
	assert_int_equal(vio_vu_blk_get_id(&blk, id), 0);
	assert_string_equal(id, "activated");
	next_notify(msg, sizeof(msg));
	assert_non_null(strstr(msg, "READY=1"));
	assert_non_null(strstr(msg, "STATUS=serving 1 device"));
	/* systemd-socket-activate execs the daemon in its own process. */
	assert_true(file_has(p.log, "vioport blk0: info: frontend connected"));
	vio_vu_blk_close(&blk);
	stop_clean(&p);
	next_notify(msg, sizeof(msg));
	assert_string_equal(msg, "STOPPING=1");
}

/* Two passed sockets go to the two groups without a socket of their own, in order. */
static void activated_two_groups(void **state)
{
	char img[IT_PATH], sblk[IT_PATH], srng[IT_PATH], spath[IT_PATH];
	char *argv[] = {ACTIVATE,	 "-l",	sblk, "-l",  srng, "--",   T.bin, "blk",
			"--image",	 img,	"+",  "rng", "+",  "gpio", "-l",  "s4",
			"--socket-path", spath, NULL};
	struct vio_vu_fe_params params = {.features = VIO_BIT(VIO_F_VERSION_1)};
	struct it_proc p = {0};
	uint8_t block[512];
	struct vio_buf b;
	uint64_t gpa;
	uint32_t len = 0;
	void *tok = NULL;
	struct stat st;

	(void) state;
	BEGIN();
	assert_int_equal(it_path(img, T.dir, "two.img"), 0);
	assert_int_equal(it_make_image(img, DISK_BYTES), 0);
	assert_int_equal(it_path(sblk, T.dir, "two-blk.sock"), 0);
	assert_int_equal(it_path(srng, T.dir, "two-rng.sock"), 0);
	assert_int_equal(it_path(spath, T.dir, "two-gpio.sock"), 0);
	assert_int_equal(it_path(p.log, T.dir, "two.log"), 0);
	snprintf(p.sock, sizeof(p.sock), "%s", srng);
	if (it_start(&p, argv, WAIT_MS) < 0)
		fail_msg("systemd-socket-activate did not listen on %s", srng);
	/* The rng socket starts the daemon: an entropy request must be answered there. */
	if (vio_vu_fe_start(&fe, srng, &params) != 0)
		fail_msg("rng start: %s", vio_vu_fe_error(&fe));
	assert_non_null(vio_vu_fe_alloc(&fe, 64, 64, &gpa));
	b = (struct vio_buf){gpa, 64};
	assert_int_equal(vio_vu_fe_add(&fe, 0, NULL, 0, &b, 1, &fe), 0);
	assert_true(vio_vu_fe_kick(&fe, 0) >= 0);
	assert_int_equal(vio_vu_fe_wait_used(&fe, 0, &tok, &len, WAIT_MS), 1);
	assert_int_equal(len, 64);
	/* The disk is on the first passed socket. */
	if (vio_vu_blk_open(&blk, sblk, NULL) != 0)
		fail_msg("blk open: %s", vio_vu_fe_error(&blk.fe));
	assert_int_equal(blk.capacity, DISK_BYTES / 512);
	assert_int_equal(vio_vu_blk_read(&blk, 0, block, sizeof(block)), 0);
	/* A group that names its socket still listens on it. */
	assert_int_equal(stat(spath, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	vio_vu_blk_close(&blk);
	vio_vu_fe_close(&fe);
	stop_clean(&p);
}

/* A passed socket no group takes is a usage error that says so. */
static void activated_extra_socket(void **state)
{
	char s0[IT_PATH], s1[IT_PATH];
	char *argv[] = {ACTIVATE, "-l", s0, "-l", s1, "--", T.bin, "rng", NULL};
	struct it_proc p = {0};
	int st, c;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	(void) state;
	BEGIN();
	assert_int_equal(it_path(s0, T.dir, "extra0.sock"), 0);
	assert_int_equal(it_path(s1, T.dir, "extra1.sock"), 0);
	assert_int_equal(it_path(p.log, T.dir, "extra.log"), 0);
	snprintf(p.sock, sizeof(p.sock), "%s", s0);
	if (it_start(&p, argv, WAIT_MS) < 0)
		fail_msg("systemd-socket-activate did not listen on %s", s0);
	/* A connection starts the daemon, which must refuse to run. */
	c = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c >= 0);
	memcpy(sa.sun_path, s0, strlen(s0) + 1);
	assert_int_equal(connect(c, (struct sockaddr *) &sa, sizeof(sa)), 0);
	st = it_wait_exit(&p, WAIT_MS);
	close(c);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 2) {
		it_print_log(p.log, 20);
		fail_msg("want exit status 2, wait status %#x", st);
	}
	assert_true(file_has(p.log, "systemd passed 2 sockets (LISTEN_FDS) but only 1 group"));
}

/* LISTEN_FDS for another process (LISTEN_PID not ours) is ignored, as sd_listen_fds does. */
static void listen_pid_other(void **state)
{
	char *argv[] = {T.bin, "rng", NULL};
	struct it_proc p = {0};
	int st;

	(void) state;
	BEGIN();
	assert_int_equal(it_path(p.log, T.dir, "otherpid.log"), 0);
	assert_int_equal(setenv("LISTEN_PID", "1", 1), 0);
	assert_int_equal(setenv("LISTEN_FDS", "1", 1), 0);
	assert_int_equal(it_spawn(&p, argv, -1, -1), 0);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	st = it_wait_exit(&p, WAIT_MS);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 2);
	assert_true(file_has(p.log, "give exactly one of --socket-path and --fd"));
}

/* Standard error on the journal (JOURNAL_STREAM names it): lines start with <N> priorities. */
static void journal_priorities(void **state)
{
	char sock[IT_PATH], env[64];
	char *argv[] = {T.bin, "rng", "--socket-path", sock, "-v", NULL};
	struct it_proc p = {0};
	struct stat st;
	int fd;

	(void) state;
	BEGIN();
	assert_int_equal(it_path(sock, T.dir, "journal.sock"), 0);
	assert_int_equal(it_path(p.log, T.dir, "journal.log"), 0);
	snprintf(p.sock, sizeof(p.sock), "%s", sock);
	/* The log file exists first, so its device and inode are known; the child truncates it. */
	fd = open(p.log, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long) st.st_dev,
		 (unsigned long long) st.st_ino);
	assert_int_equal(setenv("JOURNAL_STREAM", env, 1), 0);
	if (it_start(&p, argv, WAIT_MS) < 0)
		fail_msg("the daemon did not start");
	unsetenv("JOURNAL_STREAM");
	stop_clean(&p);
	assert_true(file_has(p.log, "<6>vioport: info: sandbox on"));
	assert_true(file_has(p.log, "<6>vioport: info: stopping"));
}

/* --log-time: each line starts with the UTC time, to the millisecond. */
static void log_time(void **state)
{
	char sock[IT_PATH], line[512];
	char *argv[] = {T.bin, "rng", "--socket-path", sock, "-v", "--log-time", NULL};
	struct it_proc p = {0};
	unsigned y, mo, d, h, mi, s, ms;
	char z = 0;
	FILE *f;

	(void) state;
	BEGIN();
	assert_int_equal(it_path(sock, T.dir, "time.sock"), 0);
	assert_int_equal(it_path(p.log, T.dir, "time.log"), 0);
	snprintf(p.sock, sizeof(p.sock), "%s", sock);
	if (it_start(&p, argv, WAIT_MS) < 0)
		fail_msg("the daemon did not start");
	stop_clean(&p);
	f = fopen(p.log, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	assert_int_equal(
	    sscanf(line, "%4u-%2u-%2uT%2u:%2u:%2u.%3u%c", &y, &mo, &d, &h, &mi, &s, &ms, &z), 8);
	assert_int_equal(z, 'Z');
	assert_true(y >= 2024 && mo >= 1 && mo <= 12 && d >= 1 && d <= 31 && h < 24);
	assert_non_null(strstr(line, "Z vioport rng0: info: listening on "));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(activated_blk, teardown),
	    cmocka_unit_test_teardown(activated_two_groups, teardown),
	    cmocka_unit_test_teardown(activated_extra_socket, teardown),
	    cmocka_unit_test_teardown(listen_pid_other, teardown),
	    cmocka_unit_test_teardown(journal_priorities, teardown),
	    cmocka_unit_test_teardown(log_time, teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
