/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Listening UNIX sockets at a path (vio_unix_listen): a fresh path, a live
 * server left alone, a stale socket replaced, another file refused, the
 * longest path a socket takes, and the file appearing only once the socket
 * listens, so a client that sees it is never refused.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h> /* after the headers it needs */

#include "vioport/internal/unixsock.h"

static char dir[64];
static char path[200];

static int setup(void **state)
{
	(void) state;
	snprintf(dir, sizeof(dir), "/tmp/vio-unixsock.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/s.sock", dir);
	return 0;
}

static int teardown(void **state)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	(void) state;
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			unlinkat(dirfd(d), e->d_name, 0);
	}
	if (d != NULL)
		closedir(d);
	rmdir(dir);
	return 0;
}

/* Connects to p: 0, or -errno. */
static int try_connect(const char *p)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), rc = 0;

	assert_true(fd >= 0);
	assert_true(strlen(p) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, p, strlen(p) + 1);
	if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Entries in the test directory (the socket and nothing else, after a listen). */
static int dir_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void fresh_path(void **state)
{
	bool replaced = true;
	char err[128];
	int fd;

	(void) state;
	fd = vio_unix_listen(path, 4, &replaced, err, sizeof(err));
	assert_true(fd >= 0);
	assert_false(replaced);
	assert_int_equal(try_connect(path), 0);
	assert_int_equal(dir_entries(), 1); /* no temporary name left behind */
	close(fd);
}

static void live_server_left_alone(void **state)
{
	char err[128];
	int fd, again;
	struct stat before, after;

	(void) state;
	fd = vio_unix_listen(path, 4, NULL, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(lstat(path, &before), 0);
	again = vio_unix_listen(path, 4, NULL, err, sizeof(err));
	assert_int_equal(again, -EADDRINUSE);
	assert_non_null(strstr(err, "in use"));
	assert_int_equal(lstat(path, &after), 0);
	assert_int_equal(before.st_ino, after.st_ino);
	assert_int_equal(try_connect(path), 0);
	assert_int_equal(dir_entries(), 1);
	close(fd);
}

static void stale_socket_replaced(void **state)
{
	bool replaced = false;
	char err[128];
	int fd;

	(void) state;
	fd = vio_unix_listen(path, 4, NULL, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd); /* the file stays, nobody behind it */
	assert_int_equal(try_connect(path), -ECONNREFUSED);
	fd = vio_unix_listen(path, 4, &replaced, err, sizeof(err));
	assert_true(fd >= 0);
	assert_true(replaced);
	assert_int_equal(try_connect(path), 0);
	assert_int_equal(dir_entries(), 1);
	close(fd);
}

static void other_file_refused(void **state)
{
	char err[128];
	struct stat st;
	int f;

	(void) state;
	f = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	assert_true(f >= 0);
	assert_int_equal(write(f, "keep", 4), 4);
	close(f);
	assert_int_equal(vio_unix_listen(path, 4, NULL, err, sizeof(err)), -EEXIST);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 4);
}

/* The longest path a socket takes leaves no room for a temporary name: bound directly. */
static void longest_path(void **state)
{
	struct sockaddr_un sa;
	char err[128];
	size_t len = strlen(dir) + 1;
	int fd;

	(void) state;
	memcpy(path, dir, len - 1);
	path[len - 1] = '/';
	while (len < sizeof(sa.sun_path) - 1)
		path[len++] = 'x';
	path[len] = '\0';
	fd = vio_unix_listen(path, 4, NULL, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(try_connect(path), 0);
	close(fd);
	path[len++] = 'x';
	path[len] = '\0';
	assert_int_equal(vio_unix_listen(path, 4, NULL, err, sizeof(err)), -ENAMETOOLONG);
}

static atomic_int refused;
static atomic_int connected;

/* Connects the moment the file exists, as a front end or a test waiting for it does. */
static void *watcher(void *arg)
{
	struct stat st;

	(void) arg;
	for (long spins = 0; spins < 100000000L; spins++) {
		int rc;

		if (lstat(path, &st) < 0)
			continue;
		rc = try_connect(path);
		if (rc == -ECONNREFUSED)
			atomic_fetch_add(&refused, 1);
		else if (rc == 0)
			atomic_fetch_add(&connected, 1);
		return NULL;
	}
	return NULL; /* never saw it: counted by neither, the test fails */
}

static void file_appears_listening(void **state)
{
	char err[128];

	(void) state;
	for (int i = 0; i < 200; i++) {
		pthread_t t;
		int fd;

		unlink(path);
		assert_int_equal(pthread_create(&t, NULL, watcher, NULL), 0);
		fd = vio_unix_listen(path, 4, NULL, err, sizeof(err));
		assert_true(fd >= 0);
		pthread_join(t, NULL); /* the file exists now: the watcher has connected */
		close(fd);
	}
	assert_int_equal(atomic_load(&refused), 0);
	assert_int_equal(atomic_load(&connected), 200);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(fresh_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(live_server_left_alone, setup, teardown),
	    cmocka_unit_test_setup_teardown(stale_socket_replaced, setup, teardown),
	    cmocka_unit_test_setup_teardown(other_file_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(longest_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(file_appears_listening, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
