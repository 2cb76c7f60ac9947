/* SPDX-License-Identifier: BSD-3-Clause */
#include "vioport/internal/fdpass.h"

#include <errno.h>
#include <string.h>

int vio_fdpass_attach(struct msghdr *m, union vio_fdpass_buf *buf, const int *fds, unsigned nfds)
{
	struct cmsghdr *c;

	if (nfds > VIO_FDPASS_MAX)
		return -EINVAL;
	if (nfds == 0) {
		m->msg_control = NULL;
		m->msg_controllen = 0;
		return 0;
	}
	memset(buf, 0, sizeof(*buf));
	m->msg_control = buf->buf;
	m->msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
	c = CMSG_FIRSTHDR(m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
	memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	return 0;
}
