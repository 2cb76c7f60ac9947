/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-msg on POSIX: doorbells, poll and eventfd (the eventfds passed over a
 * unix socket); the ivshmem one's server side is ivshmem_server.c.
 */
#include "vioport/vmsg_bell.h"
#include "vioport/internal/errmsg.h"
#include "vioport/internal/fdpass.h"
#include "vioport/internal/unixsock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmsg_posix_internal.h"

/* How long the device side waits for a connecting driver's eventfd. */
#define HANDSHAKE_MS 1000

uint64_t vio_vmsg_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
	__asm__ volatile("yield");
#endif
}

int vio_vmsg_bell_parse(struct vio_vmsg_bell *b, const char *spec, char *err, size_t errlen)
{
	static const char prefix[] = "eventfd:";

	int kind = VIO_VMSG_BELL_EVENTFD;

	*b = (struct vio_vmsg_bell){
	    .listen_fd = -1, .conn_fd = -1, .own_efd = -1, .peer_efd = -1, .shm_fd = -1};
	if (spec == NULL || spec[0] == '\0' || strcmp(spec, "poll") == 0) {
		b->kind = VIO_VMSG_BELL_POLL;
		return 0;
	}
	if (strncmp(spec, "ivshmem:", 8) == 0) {
		kind = VIO_VMSG_BELL_IVSHMEM;
		spec += 8;
	} else if (strncmp(spec, prefix, sizeof(prefix) - 1) == 0) {
		spec += sizeof(prefix) - 1;
	} else {
		vio_errmsg(err, errlen,
			   "doorbell '%s': expected 'poll', 'eventfd:SOCKET' or 'ivshmem:SOCKET'",
			   spec);
		return -EINVAL;
	}
	if (spec[0] == '\0') {
		vio_errmsg(err, errlen, "doorbell 'eventfd:': the socket path is missing");
		return -EINVAL;
	}
	if (strlen(spec) >= sizeof(b->sock) ||
	    strlen(spec) >= sizeof(((struct sockaddr_un *) NULL)->sun_path)) {
		vio_errmsg(err, errlen, "doorbell socket path longer than %zu bytes",
			   sizeof(b->sock) - 1);
		return -ENAMETOOLONG;
	}
	b->kind = kind;
	b->spin_us = VIO_VMSG_BELL_EVENTFD_SPIN_US;
	b->look_us = b->spin_us;
	snprintf(b->sock, sizeof(b->sock), "%s", spec);
	/* An optional ",spin=US" suffix; a path that merely contains a comma is kept. */
	{
		char *opt = strrchr(b->sock, ',');
		char *end;
		unsigned long us;

		if (opt != NULL && strncmp(opt, ",spin=", 6) == 0) {
			errno = 0;
			us = strtoul(opt + 6, &end, 10);
			if (opt[6] < '0' || opt[6] > '9' || *end != '\0' || errno != 0 ||
			    us > 1000000) {
				vio_errmsg(err, errlen,
					   "doorbell '%s': spin is a number of microseconds, 0 to "
					   "1000000",
					   spec);
				return -EINVAL;
			}
			b->spin_us = (uint32_t) us;
			b->look_us = b->spin_us;
			*opt = '\0';
			if (b->sock[0] == '\0') {
				vio_errmsg(err, errlen,
					   "doorbell 'eventfd:': the socket path is missing");
				return -EINVAL;
			}
		}
	}
	return 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int sock_addr(const struct vio_vmsg_bell *b, struct sockaddr_un *sa)
{
	*sa = (struct sockaddr_un){.sun_family = AF_UNIX};
	snprintf(sa->sun_path, sizeof(sa->sun_path), "%s", b->sock);
	return 0;
}

/* Sends one byte with fd attached. */
static int send_fd(int sock, int fd)
{
	char byte = 'E';
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union vio_fdpass_buf u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};

	vio_fdpass_attach(&m, &u, &fd, 1);
	while (sendmsg(sock, &m, MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Whether fd is an eventfd: the peer could pass anything, a pipe that blocks included. */
static bool is_eventfd(int fd)
{
	char link[64], target[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return strcmp(target, "anon_inode:[eventfd]") == 0;
}

/*
 * Receives one byte with exactly one eventfd attached, waiting up to timeout_ms;
 * the fd, -ETIMEDOUT, -EPROTO (no eventfd, or something else attached) or -errno.
 */
static int recv_efd(int sock, int timeout_ms)
{
	char byte;
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(4 * sizeof(int))];
	} u;
	struct msghdr m = {
	    .msg_iov = &iov,
	    .msg_iovlen = 1,
	    .msg_control = u.buf,
	    .msg_controllen = sizeof(u.buf),
	};
	struct pollfd pfd = {.fd = sock, .events = POLLIN};
	int fd = -1, bad = 0, r;
	ssize_t n;

	do {
		r = poll(&pfd, 1, timeout_ms);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	do {
		n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return -ECONNRESET;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c != NULL; c = CMSG_NXTHDR(&m, c)) {
		size_t nfd;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < nfd; i++) {
			int got;

			memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (fd < 0)
				fd = got;
			else {
				close(got);
				bad = 1;
			}
		}
	}
	if (m.msg_flags & MSG_CTRUNC)
		bad = 1;
	if (fd >= 0 && (bad || !is_eventfd(fd))) {
		close(fd);
		return -EPROTO;
	}
	if (fd < 0)
		return -EPROTO;
	/* A ring must never block, whatever the peer set on its end. */
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

int vio_vmsg_bell_listen(struct vio_vmsg_bell *b, char *err, size_t errlen)
{
	int r;

	b->is_device = true;
	if (b->kind == VIO_VMSG_BELL_POLL)
		return 0;
	b->own_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (b->own_efd < 0) {
		r = -errno;
		vio_errmsg(err, errlen, "eventfd: %s", strerror(errno));
		return r;
	}
	b->listen_fd = vio_unix_listen(b->sock, 4, NULL, err, errlen);
	if (b->listen_fd < 0) {
		r = b->listen_fd;
		b->listen_fd = -1;
		goto fail;
	}
	return 0;
fail:
	close_fd(&b->listen_fd);
	close_fd(&b->own_efd);
	return r;
}

int vio_vmsg_bell_connect(struct vio_vmsg_bell *b, int timeout_ms, char *err, size_t errlen)
{
	uint64_t deadline =
	    vio_vmsg_now_us() + (uint64_t) (timeout_ms < 0 ? 0 : timeout_ms) * 1000u;
	struct sockaddr_un sa;
	int r, fd;

	b->is_device = false;
	if (b->kind == VIO_VMSG_BELL_POLL)
		return 0;
	if (b->kind == VIO_VMSG_BELL_IVSHMEM) {
		vio_errmsg(err, errlen, "%s: an ivshmem doorbell is the device side's", b->sock);
		return -EINVAL;
	}
	sock_addr(b, &sa);
	for (;;) {
		b->conn_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (b->conn_fd < 0) {
			r = -errno;
			vio_errmsg(err, errlen, "socket: %s", strerror(errno));
			return r;
		}
		if (connect(b->conn_fd, (struct sockaddr *) &sa, sizeof(sa)) == 0)
			break;
		r = -errno;
		close_fd(&b->conn_fd);
		if ((r != -ENOENT && r != -ECONNREFUSED && r != -EAGAIN) ||
		    vio_vmsg_now_us() >= deadline) {
			if (r == -ENOENT || r == -ECONNREFUSED || r == -EAGAIN) {
				vio_errmsg(err, errlen,
					   "no device side listening on %s within %d ms", b->sock,
					   timeout_ms);
				return -ETIMEDOUT;
			}
			vio_errmsg(err, errlen, "%s: cannot connect: %s", b->sock, strerror(-r));
			return r;
		}
		vmsg_sleep_us(5000);
	}
	b->own_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (b->own_efd < 0) {
		r = -errno;
		vio_errmsg(err, errlen, "eventfd: %s", strerror(errno));
		goto fail;
	}
	r = send_fd(b->conn_fd, b->own_efd);
	if (r < 0) {
		vio_errmsg(err, errlen, "%s: cannot send the eventfd: %s", b->sock, strerror(-r));
		goto fail;
	}
	{
		int64_t left = (int64_t) (deadline - vio_vmsg_now_us()) / 1000;

		fd = recv_efd(b->conn_fd, left < HANDSHAKE_MS ? HANDSHAKE_MS : (int) left);
	}
	if (fd < 0) {
		r = fd;
		if (r == -ETIMEDOUT)
			vio_errmsg(err, errlen,
				   "the device side on %s did not answer (serving another driver?)",
				   b->sock);
		else
			vio_errmsg(err, errlen, "%s: no eventfd from the device side: %s", b->sock,
				   strerror(-r));
		goto fail;
	}
	b->peer_efd = fd;
	return 0;
fail:
	close_fd(&b->conn_fd);
	close_fd(&b->own_efd);
	return r;
}

bool vio_vmsg_bell_connected(const struct vio_vmsg_bell *b)
{
	return b->kind == VIO_VMSG_BELL_POLL || b->peer_efd >= 0;
}

void vio_vmsg_bell_close(struct vio_vmsg_bell *b)
{
	close_fd(&b->conn_fd);
	close_fd(&b->peer_efd);
	close_fd(&b->own_efd);
	if (b->listen_fd >= 0) {
		close_fd(&b->listen_fd);
		unlink(b->sock);
	}
}

void vio_vmsg_bell_ring(struct vio_vmsg_bell *b)
{
	uint64_t one = 1;

	if (b->peer_efd < 0)
		return;
	/* EAGAIN means the counter is saturated: the peer is woken anyway. */
	while (write(b->peer_efd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	b->rings++;
}

static void bell_ring_cb(void *ctx)
{
	vio_vmsg_bell_ring(ctx);
}

struct vio_vmsg_doorbell vio_vmsg_bell_doorbell(struct vio_vmsg_bell *b)
{
	struct vio_vmsg_doorbell d = {.ring = NULL, .ctx = b};

	if (b->kind != VIO_VMSG_BELL_POLL)
		d.ring = bell_ring_cb;
	return d;
}

void vio_vmsg_bell_activity(struct vio_vmsg_bell *b)
{
	if (b->kind != VIO_VMSG_BELL_POLL && b->idle == 1) {
		/* found while looking: the look pays, keep it whole */
		b->look_us = b->spin_us;
		b->looks_paid++;
	}
	b->idle = 0;
}

/* One poll step: spin first (the answer is usually microseconds away), then sleep longer. */
static int poll_step(struct vio_vmsg_bell *b, int64_t timeout_us)
{
	uint32_t us;

	if (b->idle < VIO_VMSG_BELL_POLL_SPINS) {
		b->idle++;
		for (int i = 0; i < 8; i++)
			cpu_relax();
		return 0;
	}
	us = 1u << ((b->idle - VIO_VMSG_BELL_POLL_SPINS) < 10 ? (b->idle - VIO_VMSG_BELL_POLL_SPINS)
							      : 10);
	if (us > VIO_VMSG_BELL_POLL_MAX_US)
		us = VIO_VMSG_BELL_POLL_MAX_US;
	if (timeout_us >= 0 && (int64_t) us > timeout_us)
		us = (uint32_t) timeout_us;
	b->idle++;
	if (us > 0)
		vmsg_sleep_us(us);
	return 0;
}

/* Device side: a driver connects; takes its eventfd and hands over ours. */
static void accept_driver(struct vio_vmsg_bell *b)
{
	int fd, efd;

	if (b->kind == VIO_VMSG_BELL_IVSHMEM) {
		if (vio_ivshmem_accept(b->listen_fd, b->shm_fd, b->own_efd, &fd, &efd) == 0) {
			b->conn_fd = fd;
			b->peer_efd = efd;
		}
		return;
	}
	fd = accept4(b->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	efd = recv_efd(fd, HANDSHAKE_MS);
	if (efd < 0 || send_fd(fd, b->own_efd) < 0) {
		if (efd >= 0)
			close(efd);
		close(fd);
		return;
	}
	b->conn_fd = fd;
	b->peer_efd = efd;
}

static void drop_driver(struct vio_vmsg_bell *b)
{
	close_fd(&b->conn_fd);
	close_fd(&b->peer_efd);
}

int vio_vmsg_bell_wait(struct vio_vmsg_bell *b, int64_t timeout_us)
{
	struct pollfd pfd[2];
	int n = 0, r, ms;
	uint64_t v;

	if (b->kind == VIO_VMSG_BELL_POLL)
		return poll_step(b, timeout_us);
	if (b->spin_us > 0 && b->peer_efd >= 0) {
		uint64_t now = vio_vmsg_now_us();

		if (b->idle == 0) {
			b->idle = 1;
			b->spin_since = now;
		}
		if (b->idle == 1 && now - b->spin_since < b->look_us) {
			for (int i = 0; i < 8; i++)
				cpu_relax();
			return 0;
		}
		if (b->idle == 1) {
			/* the look ran out: the next one is half as long, down to none */
			if (b->look_us > 0)
				b->looks_lost++;
			b->look_us /= 2;
			b->idle = 2;
		}
		b->block_since = now;
	}
	pfd[n++] = (struct pollfd){.fd = b->own_efd, .events = POLLIN};
	if (b->conn_fd >= 0)
		pfd[n++] = (struct pollfd){.fd = b->conn_fd, .events = POLLIN};
	else if (b->is_device && b->listen_fd >= 0)
		pfd[n++] = (struct pollfd){.fd = b->listen_fd, .events = POLLIN};
	/* Round up: a 0 ms poll for a 300 us wait would make the caller spin. */
	ms = timeout_us < 0 ? -1 : (int) ((timeout_us + 999) / 1000);
	r = poll(pfd, (nfds_t) n, ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	if (n > 1 && pfd[1].revents != 0) {
		if (b->conn_fd >= 0) {
			/* The peer sends nothing after the handshake: data or EOF ends it. */
			if (b->is_device)
				drop_driver(b);
			else
				close_fd(&b->conn_fd);
		} else {
			accept_driver(b);
		}
	}
	if (pfd[0].revents & POLLIN) {
		if (read(b->own_efd, &v, sizeof(v)) == (ssize_t) sizeof(v)) {
			b->wakeups++;
			/* woken sooner than a whole look would have lasted: look whole again */
			if (b->spin_us > 0 && b->block_since != 0 &&
			    vio_vmsg_now_us() - b->block_since < b->spin_us)
				b->look_us = b->spin_us;
			return 1;
		}
	}
	return 0;
}
