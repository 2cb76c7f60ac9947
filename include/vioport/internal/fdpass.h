/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Descriptors passed over unix sockets (SCM_RIGHTS): the one place that
 * builds the control message, for the vhost-user server and frontend, the
 * virtio-msg doorbells and the ivshmem server.
 */
#ifndef VIOPORT_FDPASS_H
#define VIOPORT_FDPASS_H

#include <sys/socket.h>

/* The most descriptors one message carries (vhost-user allows 8). */
#define VIO_FDPASS_MAX 8

/* Room for the control message of up to VIO_FDPASS_MAX descriptors, aligned. */
union vio_fdpass_buf {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(int) * VIO_FDPASS_MAX)];
};

/*
 * Attaches nfds descriptors (at most VIO_FDPASS_MAX) to m as one SCM_RIGHTS
 * control message kept in buf; with nfds 0, m carries no control message.
 * Returns 0, or -EINVAL when nfds is too large.
 */
int vio_fdpass_attach(struct msghdr *m, union vio_fdpass_buf *buf, const int *fds, unsigned nfds);

#endif
