/* SPDX-License-Identifier: BSD-3-Clause */

/*
 * vhost-user frontend (driver side). The backend is the untrusted party here:
 * every reply is checked for its request code, exact flags, exact size and
 * descriptors before anything in it is used, and a reply that breaks the
 * protocol ends the conversation (the spec's advice: close on a wrong reply).
 */
#include "fe_internal.h"

static const char *req_name(uint32_t r)
{
	static const char *const names[] = {
	    [VIO_VU_GET_FEATURES] = "GET_FEATURES",
	    [VIO_VU_SET_FEATURES] = "SET_FEATURES",
	    [VIO_VU_SET_OWNER] = "SET_OWNER",
	    [VIO_VU_RESET_OWNER] = "RESET_OWNER",
	    [VIO_VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
	    [VIO_VU_SET_LOG_BASE] = "SET_LOG_BASE",
	    [VIO_VU_SET_LOG_FD] = "SET_LOG_FD",
	    [VIO_VU_SET_VRING_NUM] = "SET_VRING_NUM",
	    [VIO_VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
	    [VIO_VU_SET_VRING_BASE] = "SET_VRING_BASE",
	    [VIO_VU_GET_VRING_BASE] = "GET_VRING_BASE",
	    [VIO_VU_SET_VRING_KICK] = "SET_VRING_KICK",
	    [VIO_VU_SET_VRING_CALL] = "SET_VRING_CALL",
	    [VIO_VU_SET_VRING_ERR] = "SET_VRING_ERR",
	    [VIO_VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	    [VIO_VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	    [VIO_VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	    [VIO_VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	    [VIO_VU_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
	    [VIO_VU_GET_CONFIG] = "GET_CONFIG",
	    [VIO_VU_SET_CONFIG] = "SET_CONFIG",
	    [VIO_VU_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
	    [VIO_VU_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
	    [VIO_VU_RESET_DEVICE] = "RESET_DEVICE",
	    [VIO_VU_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
	    [VIO_VU_ADD_MEM_REG] = "ADD_MEM_REG",
	    [VIO_VU_REM_MEM_REG] = "REM_MEM_REG",
	    [VIO_VU_SET_STATUS] = "SET_STATUS",
	    [VIO_VU_GET_STATUS] = "GET_STATUS",
	};

	if (r < sizeof(names) / sizeof(names[0]) && names[r] != NULL)
		return names[r];
	return "request";
}

int fe_fail(struct vio_vu_fe *fe, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fe->err, sizeof(fe->err), fmt, ap);
	va_end(ap);
	return err;
}

int64_t fe_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int fe_remaining(int64_t deadline)
{
	int64_t r = deadline - fe_now_ms();

	return r < 0 ? 0 : r > 0x7fffffff ? 0x7fffffff : (int) r;
}

/* Polls until an event, the deadline (-ETIMEDOUT) or an error (-errno); EINTR is retried. */
static int poll_until(struct pollfd *p, nfds_t n, int64_t deadline)
{
	for (;;) {
		int r = poll(p, n, fe_remaining(deadline));

		if (r > 0)
			return r;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

void fe_close_fds(int *fds, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* ------------------------------------------------------------ socket I/O */

_Static_assert(VIO_VU_MAX_FDS <= VIO_FDPASS_MAX,
	       "a vhost-user message's descriptors fit one control message");

/*
 * Sends a then b (either may be empty) with nfds descriptors on the first
 * byte. Non-blocking sends with a poll in between, so a backend that stops
 * reading cannot hang the caller past the deadline.
 */
int fe_send_msg(int fd, const void *a, size_t alen, const void *b, size_t blen, const int *fds,
		unsigned nfds, int64_t deadline)
{
	union vio_fdpass_buf u;
	size_t total = alen + blen, sent = 0;
	bool with_fds = nfds > 0;

	if (nfds > VIO_VU_MAX_FDS || (nfds > 0 && total == 0))
		return -EINVAL;
	while (sent < total) {
		struct iovec iov[2];
		struct msghdr m;
		int niov = 0;
		ssize_t n;

		if (sent < alen) {
			iov[niov].iov_base = (char *) a + sent;
			iov[niov++].iov_len = alen - sent;
			if (blen > 0) {
				iov[niov].iov_base = (void *) b;
				iov[niov++].iov_len = blen;
			}
		} else {
			iov[niov].iov_base = (char *) b + (sent - alen);
			iov[niov++].iov_len = total - sent;
		}
		memset(&m, 0, sizeof(m));
		m.msg_iov = iov;
		m.msg_iovlen = (size_t) niov;
		vio_fdpass_attach(&m, &u, fds, with_fds ? nfds : 0);
		n = sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			int r;

			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return -errno;
			r = poll_until(&p, 1, deadline);
			if (r < 0)
				return r;
			continue;
		}
		with_fds = false;
		sent += (size_t) n;
	}
	return 0;
}

static void take_fds(struct msghdr *m, struct rx_fds *rx)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c != NULL; c = CMSG_NXTHDR(m, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (rx != NULL && rx->n < rx->cap) {
				rx->fds[rx->n++] = fd;
			} else {
				close(fd);
				if (rx != NULL)
					rx->dropped = true;
			}
		}
	}
	if ((m->msg_flags & MSG_CTRUNC) && rx != NULL)
		rx->dropped = true;
}

/* Reads exactly len bytes before the deadline; -ECONNRESET when the peer closed. */
static int recv_exact(int fd, void *buf, size_t len, struct rx_fds *rx, int64_t deadline)
{
	union {
		char buf[CMSG_SPACE(sizeof(int) * VIO_VU_MAX_FDS)];
		struct cmsghdr align;
	} u;
	size_t got = 0;

	while (got < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		struct iovec iov = {.iov_base = (char *) buf + got, .iov_len = len - got};
		struct msghdr m;
		ssize_t n;
		int r;

		r = poll_until(&p, 1, deadline);
		if (r < 0)
			return r;
		memset(&m, 0, sizeof(m));
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
				continue;
			return errno == ECONNRESET ? -ECONNRESET : -errno;
		}
		take_fds(&m, rx);
		if (n == 0)
			return -ECONNRESET;
		got += (size_t) n;
	}
	return 0;
}

/*
 * Reads one message: header, then its payload when it fits in cap
 * (-EMSGSIZE otherwise, payload left unread).
 */
int fe_read_msg(int fd, struct vio_vu_hdr *hdr, void *payload, size_t cap, struct rx_fds *rx,
		int64_t deadline)
{
	int r = recv_exact(fd, hdr, sizeof(*hdr), rx, deadline);

	if (r < 0)
		return r;
	if (hdr->size > cap)
		return -EMSGSIZE;
	return recv_exact(fd, payload, hdr->size, rx, deadline);
}

/* Marks the conversation over: nothing more is read from a backend that broke the protocol. */
int fe_broken(struct vio_vu_fe *fe, int err)
{
	fe->broken = true;
	return err;
}

/*
 * Waits until the main socket is readable, serving the backend request
 * channel meanwhile: a backend may block on a request of its own (a config
 * change asking for a reply) before it answers ours.
 */
static int wait_sock(struct vio_vu_fe *fe, int64_t deadline)
{
	for (;;) {
		struct pollfd p[2] = {{.fd = fe->sock, .events = POLLIN},
				      {.fd = fe->backend_fd, .events = POLLIN}};
		int r = poll_until(p, fe->backend_fd >= 0 ? 2 : 1, deadline);

		if (r < 0)
			return r;
		if (p[0].revents != 0)
			return 0;
		if (p[1].revents != 0 && vio_vu_fe_backend_poll(fe, 0) < 0 && fe->backend_fd >= 0) {
			/* A broken backend channel is dropped; the main socket decides. */
			close(fe->backend_fd);
			fe->backend_fd = -1;
		}
	}
}

/* ------------------------------------------------------------ requests */

int vio_vu_fe_request(struct vio_vu_fe *fe, uint32_t request, const void *payload, uint32_t size,
		      const int *fds, unsigned nfds, void *reply, uint32_t reply_size,
		      int *reply_fd)
{
	struct vio_vu_hdr h = {.request = request, .flags = VIO_VU_VERSION, .size = size};
	bool ack = reply == NULL && vio_vu_fe_has_protocol(fe, VIO_VU_PF_REPLY_ACK);
	int64_t deadline = fe_now_ms() + fe->timeout_ms;
	uint8_t buf[VIO_VU_MAX_PAYLOAD];
	int rfd[VIO_VU_MAX_FDS];
	struct rx_fds rx = {.fds = rfd, .cap = VIO_VU_MAX_FDS};
	uint32_t want = reply != NULL ? reply_size : (uint32_t) sizeof(uint64_t);
	struct vio_vu_hdr rh;
	int r;

	if (reply_fd != NULL)
		*reply_fd = -1;
	if (fe->sock < 0)
		return fe_fail(fe, -ENOTCONN, "%s: not connected", req_name(request));
	if (fe->broken)
		return fe_fail(fe, -EPROTO, "%s: the connection broke earlier", req_name(request));
	if (want > sizeof(buf))
		return fe_fail(fe, -EINVAL, "%s: reply of %u bytes expected", req_name(request),
			       want);
	if (ack)
		h.flags |= VIO_VU_FLAG_NEED_REPLY;
	r = fe_send_msg(fe->sock, &h, sizeof(h), payload, size, fds, nfds, deadline);
	if (r < 0)
		return fe_broken(fe,
				 fe_fail(fe, r, "sending %s: %s", req_name(request), strerror(-r)));
	if (reply == NULL && !ack)
		return 0;

	r = wait_sock(fe, deadline);
	if (r == 0)
		r = fe_read_msg(fe->sock, &rh, buf, sizeof(buf), &rx, deadline);
	if (r < 0) {
		fe_close_fds(rfd, rx.n);
		if (r == -EMSGSIZE)
			return fe_broken(fe,
					 fe_fail(fe, -EPROTO, "%s: reply of %u bytes, %u expected",
						 req_name(request), rh.size, want));
		return fe_broken(fe, fe_fail(fe, r, "%s: waiting for the reply: %s",
					     req_name(request), strerror(-r)));
	}
	if (rh.request != request || rh.flags != (VIO_VU_VERSION | VIO_VU_FLAG_REPLY)) {
		fe_close_fds(rfd, rx.n);
		return fe_broken(fe, fe_fail(fe, -EPROTO, "%s: reply with request %u flags %#x",
					     req_name(request), rh.request, rh.flags));
	}
	if (rx.dropped || rx.n > (reply_fd != NULL ? 1u : 0u)) {
		fe_close_fds(rfd, rx.n);
		return fe_broken(fe,
				 fe_fail(fe, -EPROTO, "%s: reply with %u unexpected descriptors",
					 req_name(request), rx.n));
	}
	if (rh.size != want) {
		fe_close_fds(rfd, rx.n);
		/* The spec's way of refusing a config read: an empty reply. */
		if (request == VIO_VU_GET_CONFIG && rh.size == 0)
			return fe_fail(fe, -EIO, "GET_CONFIG refused");
		return fe_broken(fe, fe_fail(fe, -EPROTO, "%s: reply of %u bytes, %u expected",
					     req_name(request), rh.size, want));
	}
	if (ack) {
		uint64_t v;

		fe_close_fds(rfd, rx.n);
		memcpy(&v, buf, sizeof(v));
		if (v != 0)
			return fe_fail(fe, -EREMOTEIO, "%s: refused (ack %llu)", req_name(request),
				       (unsigned long long) v);
		return 0;
	}
	memcpy(reply, buf, reply_size);
	if (reply_fd != NULL && rx.n == 1)
		*reply_fd = rfd[0];
	return 0;
}

int vio_vu_fe_send_u64(struct vio_vu_fe *fe, uint32_t request, uint64_t value)
{
	return vio_vu_fe_request(fe, request, &value, sizeof(value), NULL, 0, NULL, 0, NULL);
}

int vio_vu_fe_get_u64(struct vio_vu_fe *fe, uint32_t request, uint64_t *value)
{
	return vio_vu_fe_request(fe, request, NULL, 0, NULL, 0, value, sizeof(*value), NULL);
}

int vio_vu_fe_send_raw(struct vio_vu_fe *fe, const struct vio_vu_hdr *hdr, const void *payload,
		       size_t len, const int *fds, unsigned nfds)
{
	int r;

	if (fe->sock < 0)
		return -ENOTCONN;
	r = fe_send_msg(fe->sock, hdr, hdr != NULL ? sizeof(*hdr) : 0, payload, len, fds, nfds,
			fe_now_ms() + fe->timeout_ms);
	if (r < 0)
		return fe_fail(fe, r, "raw send: %s", strerror(-r));
	return 0;
}

int vio_vu_fe_recv_raw(struct vio_vu_fe *fe, struct vio_vu_hdr *hdr, void *payload, size_t cap,
		       size_t *len, int *fds, unsigned *nfds, int timeout_ms)
{
	struct rx_fds rx = {.fds = fds, .cap = fds != NULL && nfds != NULL ? *nfds : 0};
	int64_t deadline = fe_now_ms() + timeout_ms;
	int r;

	if (len != NULL)
		*len = 0;
	if (nfds != NULL)
		*nfds = 0;
	if (fe->sock < 0)
		return -ENOTCONN;
	r = wait_sock(fe, deadline);
	if (r == -ETIMEDOUT)
		return 0;
	if (r == 0)
		r = fe_read_msg(fe->sock, hdr, payload, cap, &rx, fe_now_ms() + fe->timeout_ms);
	if (nfds != NULL)
		*nfds = rx.n;
	if (r < 0) {
		if (r == -EMSGSIZE)
			fe->broken = true;
		return r;
	}
	if (len != NULL)
		*len = hdr->size;
	return 1;
}

int vio_vu_fe_closed(struct vio_vu_fe *fe, int timeout_ms)
{
	int64_t deadline = fe_now_ms() + timeout_ms;

	if (fe->sock < 0)
		return 1;
	for (;;) {
		struct pollfd p = {.fd = fe->sock, .events = POLLIN | POLLRDHUP};
		union {
			char buf[CMSG_SPACE(sizeof(int) * VIO_VU_MAX_FDS)];
			struct cmsghdr align;
		} u;
		char scratch[512];
		struct iovec iov = {.iov_base = scratch, .iov_len = sizeof(scratch)};
		struct msghdr m;
		ssize_t n;
		if (poll_until(&p, 1, deadline) < 0)
			return 0;
		memset(&m, 0, sizeof(m));
		m.msg_iov = &iov;
		m.msg_iovlen = 1;
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		n = recvmsg(fe->sock, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return 1;
		if (n > 0)
			take_fds(&m, NULL);
		if (fe_remaining(deadline) == 0)
			return 0;
	}
}
