/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device side as the server of QEMU's ivshmem-doorbell
 * (src/os/posix/ivshmem_server.c, "--doorbell ivshmem:SOCKET"): the spec is
 * parsed and refused for the driver side; a client that connects as QEMU does
 * receives, one 8-byte little-endian integer per message, the protocol
 * version 0, its ID 1, -1 with the window file, peer 0 (this side) with an
 * eventfd that wakes this side, and its own ID with an eventfd this side
 * rings; a second client waits until the first is gone.
 */
#include <errno.h>
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

#include "vioport/byteorder.h"
#include "vioport/vmsg_posix.h"

#define WIN_SIZE 65536u

static char dir[64];

static int setup_dir(void **state)
{
	(void) state;
	snprintf(dir, sizeof(dir), "/tmp/ivshmem-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void) state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_parse(void **state)
{
	struct vio_vmsg_bell b;
	char err[256] = "";

	(void) state;
	assert_int_equal(vio_vmsg_bell_parse(&b, "ivshmem:/tmp/x.sock", err, sizeof(err)), 0);
	assert_int_equal(b.kind, VIO_VMSG_BELL_IVSHMEM);
	assert_string_equal(b.sock, "/tmp/x.sock");
	assert_int_equal(b.shm_fd, -1);
	assert_int_equal(vio_vmsg_bell_parse(&b, "ivshmem:", err, sizeof(err)), -EINVAL);
	assert_int_equal(vio_vmsg_bell_parse(&b, "ivshmem", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "'ivshmem:SOCKET'"));
	/* The driver side never is the server. */
	assert_int_equal(vio_vmsg_bell_parse(&b, "ivshmem:/tmp/x.sock", err, sizeof(err)), 0);
	assert_int_equal(vio_vmsg_bell_connect(&b, 10, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "device side"));
}

static int client(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true((size_t) snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path) <
		    sizeof(sa.sun_path));
	assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
	return fd;
}

/* Receives one message: its value, and *fd the descriptor with it or -1; waits up to 5 s. */
static int64_t recv_msg(int sock, int *fd)
{
	uint8_t le[8];
	struct iovec iov = {.iov_base = le, .iov_len = sizeof(le)};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = u.buf,
			   .msg_controllen = sizeof(u.buf)};
	struct pollfd p = {.fd = sock, .events = POLLIN};
	struct cmsghdr *c;

	assert_int_equal(poll(&p, 1, 5000), 1);
	assert_int_equal(recvmsg(sock, &m, MSG_CMSG_CLOEXEC), 8);
	*fd = -1;
	c = CMSG_FIRSTHDR(&m);
	if (c != NULL && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return (int64_t) vio_get_le64(le);
}

/* Runs the server's waits until it is connected as want, at most 5 s. */
static void serve_until(struct vio_vmsg_bell *b, bool want)
{
	for (int i = 0; i < 500 && vio_vmsg_bell_connected(b) != want; i++)
		vio_vmsg_bell_wait(b, 10000);
	assert_int_equal(vio_vmsg_bell_connected(b), want);
}

static void test_handshake_and_rings(void **state)
{
	struct vio_vmsg_bell b;
	struct vio_vmsg_window w;
	struct stat st_win, st_got;
	char sock[128], winpath[128], spec[160], err[256] = "";
	int c, c2, fd, peer0, own, r = 0;
	uint64_t v = 1;

	(void) state;
	snprintf(sock, sizeof(sock), "%s/ivs.sock", dir);
	snprintf(winpath, sizeof(winpath), "%s/window", dir);
	snprintf(spec, sizeof(spec), "ivshmem:%s", sock);
	assert_int_equal(vio_vmsg_window_open(&w, winpath, WIN_SIZE, err, sizeof(err)), 0);
	assert_int_equal(vio_vmsg_bell_parse(&b, spec, err, sizeof(err)), 0);
	b.shm_fd = w.fd;
	assert_int_equal(vio_vmsg_bell_listen(&b, err, sizeof(err)), 0);
	assert_false(vio_vmsg_bell_connected(&b));

	c = client(sock);
	serve_until(&b, true);
	assert_int_equal(recv_msg(c, &fd), 0); /* the protocol version */
	assert_int_equal(fd, -1);
	assert_int_equal(recv_msg(c, &fd), 1); /* the client's ID */
	assert_int_equal(fd, -1);
	assert_int_equal(recv_msg(c, &fd), -1); /* the shared memory: the window file */
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st_got), 0);
	assert_int_equal(stat(winpath, &st_win), 0);
	assert_int_equal(st_got.st_ino, st_win.st_ino);
	assert_int_equal(st_got.st_size, WIN_SIZE);
	close(fd);
	assert_int_equal(recv_msg(c, &peer0), 0); /* peer 0, this side, vector 0 */
	assert_true(peer0 >= 0);
	assert_int_equal(recv_msg(c, &own), 1); /* the client's own vector 0 */
	assert_true(own >= 0);

	/* The guest's Doorbell write, as QEMU turns it into a signal, wakes this side. */
	assert_int_equal(write(peer0, &v, sizeof(v)), (ssize_t) sizeof(v));
	for (int i = 0; i < 500 && r != 1; i++)
		r = vio_vmsg_bell_wait(&b, 10000);
	assert_int_equal(r, 1);
	/* This side's ring is the client's interrupt. */
	vio_vmsg_bell_ring(&b);
	v = 0;
	assert_int_equal(read(own, &v, sizeof(v)), (ssize_t) sizeof(v));
	assert_int_equal(v, 1);
	assert_int_equal(b.rings, 1);
	assert_int_equal(b.wakeups, 1);

	/* A second client waits in the backlog until the first disconnects. */
	c2 = client(sock);
	vio_vmsg_bell_wait(&b, 10000);
	assert_true(vio_vmsg_bell_connected(&b));
	close(c);
	serve_until(&b, false);
	serve_until(&b, true);
	assert_int_equal(recv_msg(c2, &fd), 0);
	close(c2);
	close(peer0);
	close(own);
	vio_vmsg_bell_close(&b);
	vio_vmsg_window_close(&w);
	assert_int_equal(access(sock, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_handshake_and_rings),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
