// SPDX-License-Identifier: BSD-3-Clause
/*
 * The device side's "ivshmem:SOCKET" doorbell: vioport acts as the server of
 * QEMU's ivshmem-doorbell device (QEMU's docs/specs/ivshmem-spec.txt), so that
 * a Linux guest gets MSI-X interrupts from the device side and rings it
 * through the device's Doorbell register.
 *
 * The socket is the eventfd doorbell's (vio_vmsg_bell_listen binds and
 * listens before any sandbox, and creates this side's eventfd). When QEMU
 * connects, the server sends, each as one 8-byte little-endian integer in
 * its own message: the protocol version 0; the client's ID (1); -1 with the
 * window file's descriptor (QEMU maps it as the device's shared memory BAR);
 * this side's peer ID (0) with this side's eventfd, which QEMU signals when
 * the guest writes 0 << 16 | 0 to Doorbell; and the client's own ID with a
 * new eventfd, which this side writes to raise the guest's MSI-X vector 0.
 * One vector each way; one client at a time (a second waits until the first
 * disconnects).
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vioport/byteorder.h"
#include "vioport/internal/fdpass.h"
#include "vioport/vmsg_posix.h"

/* IDs: this side is peer 0, the one client peer 1. */
#define IVSHMEM_PROTOCOL_VERSION 0
#define IVSHMEM_SERVER_ID	 0
#define IVSHMEM_CLIENT_ID	 1

/* Sends one 8-byte little-endian integer, with fd attached unless it is -1. */
static int send_msg(int sock, int64_t value, int fd)
{
	uint8_t le[8];
	struct iovec iov = {.iov_base = le, .iov_len = sizeof(le)};
	union vio_fdpass_buf u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	ssize_t n;

	vio_put_le64(le, (uint64_t) value);
	vio_fdpass_attach(&m, &u, &fd, fd >= 0 ? 1 : 0);
	do {
		n = sendmsg(sock, &m, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == (ssize_t) sizeof(le) ? 0 : -EIO;
}

int vio_ivshmem_accept(int listen_fd, int shm_fd, int own_efd, int *conn_fd, int *client_efd)
{
	int fd, efd, r;

	fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (efd < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	r = send_msg(fd, IVSHMEM_PROTOCOL_VERSION, -1);
	if (r == 0)
		r = send_msg(fd, IVSHMEM_CLIENT_ID, -1);
	if (r == 0)
		r = send_msg(fd, -1, shm_fd);
	if (r == 0)
		r = send_msg(fd, IVSHMEM_SERVER_ID, own_efd);
	if (r == 0)
		r = send_msg(fd, IVSHMEM_CLIENT_ID, efd);
	if (r < 0) {
		close(efd);
		close(fd);
		return r;
	}
	*conn_fd = fd;
	*client_efd = efd;
	return 0;
}
