/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user backend: sockets, framing and the connection's life.
 *
 * The connection socket is non-blocking and a message is collected across as
 * many reads as it takes, so a frontend that stalls in the middle of a message
 * holds up nothing else on the loop. A header that is not version 1, a reply
 * where a request belongs, a payload larger than any request has, or more
 * descriptors than a message may carry cannot be resynchronised: the
 * connection ends.
 */
#include "server_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define HDR_SIZE sizeof(struct vio_vu_hdr)
/* Messages handled per wake-up before other descriptors get a turn. */
#define MSGS_PER_WAKE 16

void vu_log(struct vio_vu_server *s, int level, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (s->cfg.log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->cfg.log(s->cfg.ctx, level, line);
}

void vu_close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int wait_writable(int sock, int timeout_ms)
{
	struct pollfd p = {.fd = sock, .events = POLLOUT};
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	return n > 0 ? 0 : -EAGAIN;
}

int vu_send_on(int sock, const struct vio_vu_hdr *hdr, const void *payload, int fd, int timeout_ms)
{
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov[2] = {{(void *) hdr, HDR_SIZE}, {(void *) payload, hdr->size}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = hdr->size ? 2 : 1};

	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = sizeof(ctl.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	while (mh.msg_iovlen > 0) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && timeout_ms > 0 &&
			    wait_writable(sock, timeout_ms) == 0)
				continue;
			return -errno;
		}
		/* the descriptor went with the first bytes */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		while (mh.msg_iovlen > 0 && (size_t) n >= mh.msg_iov->iov_len) {
			n -= (ssize_t) mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen > 0) {
			mh.msg_iov->iov_base = (char *) mh.msg_iov->iov_base + n;
			mh.msg_iov->iov_len -= (size_t) n;
		}
	}
	return 0;
}

static void rx_drop_fds(struct vio_vu_server *s)
{
	for (unsigned i = 0; i < s->rx_nfds; i++)
		close(s->rx_fds[i]);
	s->rx_nfds = 0;
}

/* Keeps the descriptors of one read; returns -EPROTO when there are too many for a message. */
static int rx_take_fds(struct vio_vu_server *s, struct msghdr *mh)
{
	int rc = (mh->msg_flags & MSG_CTRUNC) ? -EPROTO : 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (s->rx_nfds < VIO_VU_MAX_FDS) {
				s->rx_fds[s->rx_nfds++] = fd;
			} else {
				close(fd);
				rc = -EPROTO;
			}
		}
	}
	return rc;
}

/* Checks a complete header: only what framing needs, the rest is the handler's. */
static int rx_check_hdr(struct vio_vu_server *s)
{
	struct vio_vu_hdr h;

	memcpy(&h, s->rx, HDR_SIZE);
	if ((h.flags & VIO_VU_VERSION_MASK) != VIO_VU_VERSION || (h.flags & VIO_VU_FLAG_REPLY) ||
	    h.size > VIO_VU_MAX_PAYLOAD) {
		vu_log(s, VIO_VU_LOG_WARN, "bad header: request %u flags 0x%x size %u", h.request,
		       h.flags, h.size);
		return -EPROTO;
	}
	return 0;
}

/* Reads toward a whole message: 1 when one is complete, 0 for more later, < 0 to close. */
static int rx_fill(struct vio_vu_server *s)
{
	for (;;) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * VIO_VU_MAX_FDS)];
			struct cmsghdr align;
		} ctl;
		struct vio_vu_hdr h;
		size_t need = HDR_SIZE;
		struct iovec iov;
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = ctl.buf,
				    .msg_controllen = sizeof(ctl.buf)};
		ssize_t n;
		int rc;

		if (s->rx_have >= HDR_SIZE) {
			memcpy(&h, s->rx, HDR_SIZE);
			need += h.size;
		}
		if (s->rx_have == need)
			return 1;
		iov.iov_base = s->rx + s->rx_have;
		iov.iov_len = need - s->rx_have;
		n = recvmsg(s->conn_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0)
			return errno == EINTR ? 0 : (errno == EAGAIN ? 0 : -errno);
		rc = rx_take_fds(s, &mh);
		if (rc < 0) {
			vu_log(s, VIO_VU_LOG_WARN, "more than %u file descriptors in a message",
			       VIO_VU_MAX_FDS);
			return rc;
		}
		if (n == 0)
			return -ECONNRESET;
		s->rx_have += (uint32_t) n;
		if (s->rx_have == HDR_SIZE && (rc = rx_check_hdr(s)) < 0)
			return rc;
	}
}

/* Moves the collected message into m (payload zero-filled past its size) and starts afresh. */
static void rx_take(struct vio_vu_server *s, struct vu_msg *m)
{
	memset(m, 0, sizeof(*m));
	memcpy(&m->hdr, s->rx, HDR_SIZE);
	memcpy(&m->p, s->rx + HDR_SIZE, m->hdr.size);
	memcpy(m->fds, s->rx_fds, sizeof(int) * s->rx_nfds);
	m->nfds = s->rx_nfds;
	s->rx_nfds = 0;
	s->rx_have = 0;
}

static void listen_cb(struct vio_loop_watch *w, uint32_t revents);

/* Accepts connections or not; one frontend at a time, the next waits in the backlog. */
static int arm_listen(struct vio_vu_server *s, bool on)
{
	int rc;

	if (s->listen_fd < 0 || s->listen_armed == on)
		return 0;
	if (on) {
		rc = vio_loop_add(s->cfg.loop, &s->listen_w, s->listen_fd, VIO_LOOP_IN, listen_cb,
				  s);
		if (rc < 0) {
			vu_log(s, VIO_VU_LOG_ERR, "cannot watch the listening socket: %s",
			       strerror(-rc));
			return rc;
		}
	} else {
		vio_loop_remove(&s->listen_w);
	}
	s->listen_armed = on;
	return 0;
}

/* Ends the connection: device reset, memory unmapped, every descriptor closed. */
static void conn_close(struct vio_vu_server *s, bool tell)
{
	if (s->conn_fd < 0)
		return;
	vio_loop_remove(&s->conn_w);
	vu_close_fd(&s->conn_fd);
	rx_drop_fds(s);
	s->rx_have = 0;
	pthread_mutex_lock(&s->lock);
	vu_close_fd(&s->backend_fd);
	vu_dev_reset(s);
	vu_vring_drop_all(s);
	vu_mem_unmap_all(s);
	vu_inflight_unmap(s);
	s->features = 0;
	s->features_set = false;
	s->protocol_features = 0;
	s->owner = false;
	pthread_mutex_unlock(&s->lock);
	arm_listen(s, true);
	vu_log(s, VIO_VU_LOG_INFO, "frontend disconnected");
	if (tell && s->cfg.disconnected != NULL)
		s->cfg.disconnected(s->cfg.ctx, s->listen_fd >= 0);
}

static void conn_cb(struct vio_loop_watch *w, uint32_t revents)
{
	struct vio_vu_server *s = w->ctx;

	(void) revents;
	for (int i = 0; i < MSGS_PER_WAKE; i++) {
		struct vu_msg m;
		int rc = rx_fill(s);

		if (rc == 0)
			return;
		if (rc < 0) {
			if (rc != -ECONNRESET)
				vu_log(s, VIO_VU_LOG_WARN, "connection: %s", strerror(-rc));
			conn_close(s, true);
			return;
		}
		rx_take(s, &m);
		pthread_mutex_lock(&s->lock);
		rc = vu_handle_message(s, &m);
		pthread_mutex_unlock(&s->lock);
		if (rc < 0) {
			vu_log(s, VIO_VU_LOG_WARN, "ending the connection after request %u",
			       m.hdr.request);
			conn_close(s, true);
			return;
		}
	}
}

static int set_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

static int conn_open(struct vio_vu_server *s, int fd)
{
	int rc = set_flags(fd);

	if (rc == 0)
		rc = vio_loop_add(s->cfg.loop, &s->conn_w, fd, VIO_LOOP_IN, conn_cb, s);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	s->conn_fd = fd;
	s->rx_have = 0;
	s->rx_nfds = 0;
	arm_listen(s, false);
	vu_log(s, VIO_VU_LOG_INFO, "frontend connected");
	return 0;
}

static void listen_cb(struct vio_loop_watch *w, uint32_t revents)
{
	struct vio_vu_server *s = w->ctx;
	int fd;

	(void) revents;
	fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			vu_log(s, VIO_VU_LOG_ERR, "accept: %s", strerror(errno));
		return;
	}
	if (s->conn_fd >= 0) {
		close(fd); /* one frontend at a time */
		return;
	}
	if (conn_open(s, fd) < 0)
		vu_log(s, VIO_VU_LOG_ERR, "cannot serve the new connection");
}

static void *worker_main(void *arg)
{
	struct vio_vu_worker *w = arg;

	vio_loop_run(&w->loop);
	return NULL;
}

/* Starts the queue threads with every signal blocked: signals are the application's. */
static int start_workers(struct vio_vu_server *s)
{
	sigset_t all, old;
	int rc = 0;

	s->workers = calloc(s->nq, sizeof(*s->workers));
	if (s->workers == NULL)
		return -ENOMEM;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (uint16_t q = 0; q < s->nq && rc == 0; q++) {
		struct vio_vu_worker *w = &s->workers[q];

		rc = vio_loop_init(&w->loop);
		if (rc < 0)
			break;
		w->loop_ready = true;
		rc = -pthread_create(&w->thread, NULL, worker_main, w);
		w->running = rc == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static void stop_workers(struct vio_vu_server *s)
{
	if (s->workers == NULL)
		return;
	for (uint16_t q = 0; q < s->nq; q++) {
		struct vio_vu_worker *w = &s->workers[q];

		if (w->running) {
			vio_loop_stop(&w->loop);
			pthread_join(w->thread, NULL);
			w->running = false;
		}
	}
}

static void free_workers(struct vio_vu_server *s)
{
	if (s->workers == NULL)
		return;
	for (uint16_t q = 0; q < s->nq; q++)
		if (s->workers[q].loop_ready)
			vio_loop_fini(&s->workers[q].loop);
	free(s->workers);
	s->workers = NULL;
}

int vio_vu_server_init(struct vio_vu_server *s, const struct vio_vu_server_config *cfg)
{
	struct vio_device *dev = cfg != NULL ? cfg->dev : NULL;
	uint16_t nq;
	int rc;

	if (dev == NULL || cfg->loop == NULL || dev->num_queues == 0)
		return -EINVAL;
	nq = cfg->num_queues ? cfg->num_queues : dev->num_queues;
	if (nq > dev->num_queues || nq > VIO_VU_MAX_QUEUES)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->dev = dev;
	s->nq = nq;
	s->listen_fd = s->conn_fd = s->backend_fd = -1;
	s->listen_w.fd = s->conn_w.fd = -1;
	vio_winmap_init(&s->map, s->windows, VIO_VU_MAX_MEM_SLOTS);
	rc = -pthread_mutex_init(&s->lock, NULL);
	if (rc < 0)
		return rc;
	s->lock_ready = true;
	s->vrings = calloc(nq, sizeof(*s->vrings));
	if (s->vrings == NULL) {
		vio_vu_server_fini(s);
		return -ENOMEM;
	}
	if (cfg->queue_workers && (rc = start_workers(s)) < 0) {
		vio_vu_server_fini(s);
		return rc;
	}
	for (uint16_t q = 0; q < nq; q++)
		vu_vring_init(s, q, s->workers ? &s->workers[q].loop : cfg->loop);
	vio_device_attach(dev, &vu_transport_ops, s, &s->map);
	return 0;
}

/* Says whether a socket file at path has a listener behind it: 1 yes, 0 stale, < 0 error. */
static int socket_live(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *) sa, sizeof(*sa));
	if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS)
		rc = 1;
	else
		rc = errno == ECONNREFUSED ? 0 : -errno;
	close(fd);
	return rc;
}

/* Binds fd to path, replacing a stale socket file but never a live one or another file. */
static int bind_path(struct vio_vu_server *s, int fd, const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int live;

	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0)
		return 0;
	if (errno != EADDRINUSE)
		return -errno;
	live = socket_live(path, &sa);
	if (live == 1) {
		vu_log(s, VIO_VU_LOG_ERR, "%s is in use by a running server", path);
		return -EADDRINUSE;
	}
	if (live < 0) {
		vu_log(s, VIO_VU_LOG_ERR, "%s: %s", path,
		       live == -EEXIST ? "exists and is not a socket" : strerror(-live));
		return live;
	}
	vu_log(s, VIO_VU_LOG_INFO, "replacing stale socket %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return bind(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0 ? 0 : -errno;
}

static void listen_close(struct vio_vu_server *s)
{
	struct stat st;

	arm_listen(s, false);
	vu_close_fd(&s->listen_fd);
	/* remove the socket file only if it is still the one this server created */
	if (s->unlink_path && lstat(s->path, &st) == 0 && st.st_dev == s->path_dev &&
	    st.st_ino == s->path_ino)
		unlink(s->path);
	s->unlink_path = false;
}

int vio_vu_server_listen(struct vio_vu_server *s, const char *path)
{
	struct stat st;
	int fd, rc;

	if (s->listen_fd >= 0 || path == NULL || path[0] == '\0')
		return -EINVAL;
	if (strlen(path) >= sizeof(s->path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	rc = bind_path(s, fd, path);
	if (rc == 0 && (listen(fd, 8) < 0 || lstat(path, &st) < 0))
		rc = -errno;
	if (rc < 0) {
		close(fd);
		return rc;
	}
	memcpy(s->path, path, strlen(path) + 1);
	s->path_dev = st.st_dev;
	s->path_ino = st.st_ino;
	s->unlink_path = true;
	s->listen_fd = fd;
	rc = arm_listen(s, s->conn_fd < 0);
	if (rc < 0) {
		listen_close(s);
		return rc;
	}
	vu_log(s, VIO_VU_LOG_INFO, "listening on %s", path);
	return 0;
}

int vio_vu_server_adopt_fd(struct vio_vu_server *s, int fd)
{
	int listening = 0, type = 0, rc;
	socklen_t len = sizeof(listening), tlen = sizeof(type);

	if (fd < 0)
		return -EBADF;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (type != SOCK_STREAM || (listening ? s->listen_fd : s->conn_fd) >= 0) {
		close(fd);
		return type != SOCK_STREAM ? -ENOTSOCK : -EBUSY;
	}
	if (!listening)
		return conn_open(s, fd);
	rc = set_flags(fd);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	s->listen_fd = fd;
	rc = arm_listen(s, s->conn_fd < 0);
	if (rc < 0)
		listen_close(s);
	return rc;
}

bool vio_vu_server_connected(const struct vio_vu_server *s)
{
	return s->conn_fd >= 0;
}

void vio_vu_server_disconnect(struct vio_vu_server *s)
{
	conn_close(s, true);
}

void vio_vu_server_fini(struct vio_vu_server *s)
{
	conn_close(s, false);
	listen_close(s);
	stop_workers(s);
	if (s->vrings != NULL) {
		for (uint16_t q = 0; q < s->nq; q++)
			vu_vring_release(s, &s->vrings[q]);
		free(s->vrings);
		s->vrings = NULL;
	}
	free_workers(s);
	if (s->dev != NULL && s->dev->transport == s) {
		vio_device_reset(s->dev);
		vio_device_attach(s->dev, NULL, NULL, NULL);
	}
	if (s->lock_ready)
		pthread_mutex_destroy(&s->lock);
	s->lock_ready = false;
}

void vio_vu_server_lock(struct vio_vu_server *s)
{
	pthread_mutex_lock(&s->lock);
}

void vio_vu_server_unlock(struct vio_vu_server *s)
{
	pthread_mutex_unlock(&s->lock);
}
