/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What systemd tells a daemon through its environment, read without
 * libsystemd (src/os/posix/systemd.c): LISTEN_PID/LISTEN_FDS interpreted as
 * sd_listen_fds does, the NOTIFY_SOCKET forms (path, '@' abstract, refused
 * others) with messages arriving whole, and JOURNAL_STREAM matched against a
 * descriptor's device and inode.
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
#include <unistd.h>

#include <cmocka.h>

#include "vioport/internal/systemd.h"

static void listen_values(void **state)
{
	(void) state;
	/* Unset: no sockets. */
	assert_int_equal(vio_sd_parse_listen(NULL, NULL, 42), 0);
	assert_int_equal(vio_sd_parse_listen("42", NULL, 42), 0);
	assert_int_equal(vio_sd_parse_listen(NULL, "2", 42), 0);
	/* For this process. */
	assert_int_equal(vio_sd_parse_listen("42", "2", 42), 2);
	assert_int_equal(vio_sd_parse_listen("42", "0", 42), 0);
	assert_int_equal(vio_sd_parse_listen("42", "1024", 42), 1024);
	/* For another process: inherited by mistake, ignored. */
	assert_int_equal(vio_sd_parse_listen("41", "2", 42), 0);
	/* Malformed. */
	assert_int_equal(vio_sd_parse_listen("42", "1025", 42), -EINVAL);
	assert_int_equal(vio_sd_parse_listen("42", "-1", 42), -EINVAL);
	assert_int_equal(vio_sd_parse_listen("42", "2x", 42), -EINVAL);
	assert_int_equal(vio_sd_parse_listen("42", "", 42), -EINVAL);
	assert_int_equal(vio_sd_parse_listen("4 2", "2", 42), -EINVAL);
	assert_int_equal(vio_sd_parse_listen("99999999999999999999999", "2", 42), -EINVAL);
}

/* Whether a datagram arrives on fd within a second, and it equals want. */
static void expect_dgram(int fd, const char *want)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char buf[128];
	ssize_t got;

	assert_int_equal(poll(&pfd, 1, 1000), 1);
	got = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_true(got >= 0);
	buf[got] = '\0';
	assert_string_equal(buf, want);
}

static void notify_path(void **state)
{
	char dir[] = "/tmp/vioport-sd-XXXXXX", path[64];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct vio_sd_notify n;
	int fd;

	(void) state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	assert_int_equal(vio_sd_notify_open(&n, path), 0);
	assert_true(n.fd >= 0);
	assert_true(fcntl(n.fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(vio_sd_notify_send(&n, "READY=1\nSTATUS=serving"), 0);
	expect_dgram(fd, "READY=1\nSTATUS=serving");
	vio_sd_notify_close(&n);
	assert_int_equal(n.fd, -1);
	close(fd);
	unlink(path);
	rmdir(dir);
	/* Nobody listening any more: the connect fails and says why. */
	assert_int_equal(vio_sd_notify_open(&n, path), -ENOENT);
	assert_int_equal(n.fd, -1);
}

static void notify_abstract(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char name[64];
	struct vio_sd_notify n;
	size_t len;
	int fd;

	(void) state;
	len = (size_t) snprintf(name, sizeof(name), "@vioport-test-%d", (int) getpid());
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	memcpy(sa.sun_path + 1, name + 1, len - 1);
	assert_int_equal(bind(fd, (struct sockaddr *) &sa,
			      (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len)),
			 0);
	assert_int_equal(vio_sd_notify_open(&n, name), 0);
	assert_int_equal(vio_sd_notify_send(&n, "STOPPING=1"), 0);
	expect_dgram(fd, "STOPPING=1");
	vio_sd_notify_close(&n);
	close(fd);
}

static void notify_refused(void **state)
{
	struct vio_sd_notify n = {.fd = 5};
	char longpath[200];

	(void) state;
	/* Unset or empty: nothing to do, sending is a no-op. */
	assert_int_equal(vio_sd_notify_open(&n, NULL), 0);
	assert_int_equal(n.fd, -1);
	assert_int_equal(vio_sd_notify_send(&n, "READY=1"), 0);
	assert_int_equal(vio_sd_notify_open(&n, ""), 0);
	assert_int_equal(n.fd, -1);
	/* Relative paths, a bare '@', and addresses too long for sockaddr_un. */
	assert_int_equal(vio_sd_notify_open(&n, "run/notify"), -EINVAL);
	assert_int_equal(vio_sd_notify_open(&n, "@"), -EINVAL);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(vio_sd_notify_open(&n, longpath), -EINVAL);
	assert_int_equal(n.fd, -1);
}

static void journal_stream(void **state)
{
	char path[] = "/tmp/vioport-sd-journal-XXXXXX", env[64];
	struct stat st;
	int fd, other;

	(void) state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long) st.st_dev,
		 (unsigned long long) st.st_ino);
	assert_true(vio_sd_journal_stream(fd, env));
	/* Another file, or a malformed value, is not the journal. */
	other = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_true(other >= 0);
	assert_false(vio_sd_journal_stream(other, env));
	assert_false(vio_sd_journal_stream(fd, NULL));
	assert_false(vio_sd_journal_stream(fd, ""));
	assert_false(vio_sd_journal_stream(fd, "12"));
	assert_false(vio_sd_journal_stream(fd, ":12"));
	assert_false(vio_sd_journal_stream(fd, "1:2:3"));
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long) st.st_dev,
		 (unsigned long long) st.st_ino + 1);
	assert_false(vio_sd_journal_stream(fd, env));
	close(other);
	close(fd);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(listen_values),   cmocka_unit_test(notify_path),
	    cmocka_unit_test(notify_abstract), cmocka_unit_test(notify_refused),
	    cmocka_unit_test(journal_stream),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
