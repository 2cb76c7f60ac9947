/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-msg on POSIX: window files, poll and eventfd doorbells, the device endpoint. */
#include "vioport/vmsg_posix.h"
#include "vioport/internal/errmsg.h"
#include "vioport/internal/fdpass.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vioport/errno.h"
#include "vioport/vhost_user.h"

/* How long the device side waits for a connecting driver's eventfd. */
#define HANDSHAKE_MS 1000
/* Longest single wait of the serving thread, so it notices a re-format without a ring. */
#define SERVE_WAIT_US 20000
/* Messages handled per lock hold, so other threads get the lock between batches. */
#define SERVE_BATCH 32
/* Waiting for room in a full tx FIFO: tries and the pause between them. */
#define FULL_TRIES    2000
#define FULL_PAUSE_US 50
/* Longest wait of a re-formatting driver for a device still serving the window to leave it. */
#define DEVICE_LEAVE_MS 1000

uint64_t vio_vmsg_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static void sleep_us(uint32_t us)
{
	struct timespec ts = {.tv_sec = us / 1000000u, .tv_nsec = (long) (us % 1000000u) * 1000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__) || defined(__arm__)
	__asm__ volatile("yield");
#endif
}

/* A 32-bit little-endian word of the window, read once with acquire. */
static uint32_t window_word(const uint8_t *base, uint32_t off)
{
	return le32toh(
	    __atomic_load_n((const uint32_t *) (const void *) (base + off), __ATOMIC_ACQUIRE));
}

/* --- window files ---------------------------------------------------------------------- */

static int open_existing(const char *path, char *err, size_t errlen, int *fdp)
{
	/* O_NONBLOCK: a FIFO or a device node must not block the open; checked right after. */
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0) {
		int e = errno;

		if (e == EISDIR)
			vio_errmsg(err, errlen, "%s: not a regular file", path);
		else if (e != ENOENT)
			vio_errmsg(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	*fdp = fd;
	return 0;
}

static int window_open(struct vio_vmsg_window *w, const char *path, uint64_t offset, uint32_t size,
		       bool exact, char *err, size_t errlen);

/*
 * Checks that an existing file of file_size bytes holds the window at offset:
 * exact, with a nonzero *size, means exactly *size bytes; otherwise at least
 * offset + *size. A zero *size becomes what the file holds past offset.
 */
static int window_fits(const char *path, uint64_t file_size, uint64_t offset, uint32_t *size,
		       bool exact, char *err, size_t errlen)
{
	uint64_t room;

	if (file_size == 0) {
		vio_errmsg(err, errlen, "%s is empty", path);
		return -EINVAL;
	}
	if (offset >= file_size) {
		vio_errmsg(err, errlen, "%s is %llu bytes: window offset %llu is past its end",
			   path, (unsigned long long) file_size, (unsigned long long) offset);
		return -EINVAL;
	}
	room = file_size - offset;
	if (exact && *size != 0 && room != *size) {
		vio_errmsg(err, errlen, "%s is %llu bytes, expected %u", path,
			   (unsigned long long) room, *size);
		return -EINVAL;
	}
	if (*size != 0 && room < *size) {
		vio_errmsg(err, errlen,
			   "%s is %llu bytes: a window of %u bytes at offset %llu does not fit",
			   path, (unsigned long long) file_size, *size,
			   (unsigned long long) offset);
		return -EINVAL;
	}
	if (*size == 0 && room > UINT32_MAX) {
		vio_errmsg(err, errlen,
			   "%s holds %llu bytes past offset %llu, more than a window "
			   "may have (%u): give a size",
			   path, (unsigned long long) room, (unsigned long long) offset,
			   UINT32_MAX);
		return -EFBIG;
	}
	if (*size == 0)
		*size = (uint32_t) room;
	return 0;
}

int vio_vmsg_window_open(struct vio_vmsg_window *w, const char *path, uint32_t size, char *err,
			 size_t errlen)
{
	return window_open(w, path, 0, size, true, err, errlen);
}

int vio_vmsg_window_open_at(struct vio_vmsg_window *w, const char *path, uint64_t offset,
			    uint32_t size, char *err, size_t errlen)
{
	return window_open(w, path, offset, size, false, err, errlen);
}

/* Opens and maps the window; exact: the file is the window, no more, no less. */
static int window_open(struct vio_vmsg_window *w, const char *path, uint64_t offset, uint32_t size,
		       bool exact, char *err, size_t errlen)
{
	long page = sysconf(_SC_PAGESIZE);
	struct stat st;
	bool created = false;
	int fd = -1, r;
	void *base;

	*w = (struct vio_vmsg_window){.fd = -1};
	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(w->path)) {
		vio_errmsg(err, errlen, "window path is empty or longer than %zu bytes",
			   sizeof(w->path) - 1);
		return -EINVAL;
	}
	/* mmap maps whole pages: a window must start on one. */
	if (page <= 0 || offset % (uint64_t) page != 0 ||
	    offset > (uint64_t) INT64_MAX - UINT32_MAX) {
		vio_errmsg(err, errlen,
			   "%s: window offset %llu is not a multiple of the page size (%ld)", path,
			   (unsigned long long) offset, page);
		return -EINVAL;
	}
	for (int attempt = 0; fd < 0; attempt++) {
		r = open_existing(path, err, errlen, &fd);
		if (r == 0)
			break;
		if (r != -ENOENT)
			return r;
		if (size == 0) {
			vio_errmsg(err, errlen, "%s does not exist (give a size to create it)",
				   path);
			return -ENOENT;
		}
		fd = open(path, O_RDWR | O_CLOEXEC | O_CREAT | O_EXCL, 0600);
		if (fd >= 0) {
			created = true;
			break;
		}
		/* Someone else created it between the two opens: open theirs once more. */
		if (errno != EEXIST || attempt > 0) {
			r = -errno;
			vio_errmsg(err, errlen, "%s: cannot create: %s", path, strerror(errno));
			return r;
		}
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		vio_errmsg(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		vio_errmsg(err, errlen, "%s: not a regular file", path);
		r = -EINVAL;
		goto fail;
	}
	if (created && ftruncate(fd, (off_t) (offset + size)) < 0) {
		r = -errno;
		vio_errmsg(err, errlen, "%s: cannot size it to %u bytes: %s", path, size,
			   strerror(errno));
		unlink(path);
		goto fail;
	}
	if (!created) {
		if (st.st_size == 0) {
			vio_errmsg(err, errlen, "%s is empty", path);
			r = -EINVAL;
			goto fail;
		}
		r = window_fits(path, (uint64_t) st.st_size, offset, &size, exact, err, errlen);
		if (r < 0)
			goto fail;
	}
	/* Blocking I/O is never used on it, but a regular file ignores O_NONBLOCK anyway. */
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t) offset);
	if (base == MAP_FAILED) {
		r = -errno;
		vio_errmsg(err, errlen, "%s: cannot map %u bytes: %s", path, size, strerror(errno));
		if (created)
			unlink(path);
		goto fail;
	}
	w->fd = fd;
	w->base = base;
	w->size = size;
	w->offset = offset;
	snprintf(w->path, sizeof(w->path), "%s", path);
	return 0;
fail:
	close(fd);
	return r;
}

void vio_vmsg_window_close(struct vio_vmsg_window *w)
{
	/* fd is ours only while mapped: a zeroed window's fd 0 is not. */
	if (w->base != NULL) {
		munmap(w->base, w->size);
		close(w->fd);
	}
	w->base = NULL;
	w->fd = -1;
	w->size = 0;
}

/* --- doorbells ------------------------------------------------------------------------- */

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
	struct sockaddr_un sa;
	struct stat st;
	int r;

	b->is_device = true;
	if (b->kind == VIO_VMSG_BELL_POLL)
		return 0;
	if (lstat(b->sock, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			vio_errmsg(err, errlen, "%s exists and is not a socket", b->sock);
			return -EEXIST;
		}
		unlink(b->sock); /* stale: left by an earlier run */
	}
	b->own_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (b->own_efd < 0) {
		r = -errno;
		vio_errmsg(err, errlen, "eventfd: %s", strerror(errno));
		return r;
	}
	b->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (b->listen_fd < 0) {
		r = -errno;
		vio_errmsg(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	sock_addr(b, &sa);
	if (bind(b->listen_fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
	    listen(b->listen_fd, 4) < 0) {
		r = -errno;
		vio_errmsg(err, errlen, "%s: cannot listen: %s", b->sock, strerror(errno));
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
		sleep_us(5000);
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
		sleep_us(us);
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

/* --- the device endpoint --------------------------------------------------------------- */

enum { EP_DETACHED, EP_ATTACHED, EP_STOPPED };

static void ep_log(struct vio_vmsg_endpoint *ep, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void ep_log(struct vio_vmsg_endpoint *ep, int level, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (ep->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	ep->log(ep->log_ctx, level, line);
}

static void bus_log_cb(void *ctx, const char *msg, int err)
{
	struct vio_vmsg_endpoint *ep = ctx;

	if (err != 0)
		ep_log(ep, VIO_VU_LOG_WARN, "%s: %s: %s", ep->win.path, msg,
		       strerror(err < 0 ? -err : err));
	else
		ep_log(ep, VIO_VU_LOG_WARN, "%s: %s", ep->win.path, msg);
}

/*
 * The bus answers through here, always with the lock held. A full FIFO is
 * waited out (the driver is ringed first, so it drains) for a bounded time; a
 * message that still does not fit is lost and said so (once per episode: the
 * loop below explains why the next ones are not waited for). Each try looks for a
 * driver reset or re-format too (vio_vmsg_shm_send fails with -VIO_ECONNRESET
 * then): the message belongs to a session that is over and is dropped at once,
 * as is every later one until the next attach.
 */
static int bus_send_cb(void *ctx, const void *msg, uint32_t len)
{
	struct vio_vmsg_endpoint *ep = ctx;
	int r;

	if (ep->state != EP_ATTACHED) {
		ep->stats.lost++;
		return -VIO_EIO;
	}
	/*
	 * Once a message was lost, the driver evidently does not drain: later ones
	 * get one try each until a send gets through again, so a driver that hangs
	 * or died with the FIFO full costs 100 ms once, not per message.
	 */
	for (int tries = 0;; tries++) {
		r = vio_vmsg_shm_send(&ep->shm, msg, len);
		if (r != -VIO_ENOSPC || tries >= FULL_TRIES || ep->logged_full)
			break;
		if (tries == 0)
			vio_vmsg_shm_ring(&ep->shm);
		sleep_us(FULL_PAUSE_US);
	}
	if (r == 0) {
		ep->stats.sent++;
		ep->pending_ring = true;
		ep->logged_full = false;
		return 0;
	}
	ep->stats.lost++;
	if (r == -VIO_ENOSPC) {
		if (!ep->logged_full)
			ep_log(ep, VIO_VU_LOG_ERR,
			       "%s: device-to-driver FIFO full for %d ms: message lost (the driver "
			       "does not drain it)",
			       ep->win.path, FULL_TRIES * FULL_PAUSE_US / 1000);
		ep->logged_full = true;
	}
	return r;
}

int vio_vmsg_endpoint_init(struct vio_vmsg_endpoint *ep, const struct vio_vmsg_endpoint_config *c,
			   char *err, size_t errlen)
{
	int r;

	memset(ep, 0, sizeof(*ep));
	ep->win.fd = -1;
	ep->log = c->log;
	ep->log_ctx = c->log_ctx;
	ep->quiesce = c->quiesce;
	ep->quiesce_ctx = c->quiesce_ctx;
	r = vio_vmsg_bell_parse(&ep->bell, c->doorbell, err, errlen);
	if (r < 0)
		return r;
	r = vio_vmsg_window_open(&ep->win, c->path, c->size, err, errlen);
	if (r < 0)
		return r;
	if (ep->win.size <= VIO_VMSG_SHM_HDR_SIZE + 2u * 256u) {
		vio_errmsg(err, errlen, "%s: %u bytes is too small for a window", c->path,
			   ep->win.size);
		vio_vmsg_window_close(&ep->win);
		return -EINVAL;
	}
	/* Not serving yet: a driver waiting for an earlier device of this window goes on. */
	vio_vmsg_shm_device_init(&ep->shm, ep->win.base, ep->win.size);
	ep->bell.shm_fd = ep->win.fd; /* ivshmem: the client maps the window file */
	r = vio_vmsg_bell_listen(&ep->bell, err, errlen);
	if (r < 0) {
		vio_vmsg_window_close(&ep->win);
		return r;
	}
	vio_winmap_init(&ep->map, ep->map_win, 1);
	ep->bus_ops.send = bus_send_cb;
	ep->bus_ops.log = bus_log_cb;
	r = vio_vmsg_dev_bus_init(&ep->bus, &ep->bus_ops, ep, &ep->map, VIO_VMSG_SHM_MAX_MSG);
	if (r == 0)
		r = -pthread_mutex_init(&ep->lock, NULL);
	if (r < 0) {
		vio_errmsg(err, errlen, "cannot prepare the bus: %s", strerror(-r));
		vio_vmsg_bell_close(&ep->bell);
		vio_vmsg_window_close(&ep->win);
		return r;
	}
	ep->state = EP_DETACHED;
	return 0;
}

int vio_vmsg_endpoint_add(struct vio_vmsg_endpoint *ep, struct vio_device *dev)
{
	int r;

	if (ep->started)
		return -EBUSY;
	r = vio_vmsg_dev_bus_add(&ep->bus, dev);
	return r < 0 ? -ENOSPC : r;
}

void vio_vmsg_endpoint_lock(struct vio_vmsg_endpoint *ep)
{
	pthread_mutex_lock(&ep->lock);
}

void vio_vmsg_endpoint_unlock(struct vio_vmsg_endpoint *ep)
{
	if (ep->pending_ring) {
		ep->pending_ring = false;
		vio_vmsg_shm_ring(&ep->shm);
	}
	pthread_mutex_unlock(&ep->lock);
}

static bool stopping(struct vio_vmsg_endpoint *ep)
{
	return __atomic_load_n(&ep->stop, __ATOMIC_ACQUIRE) != 0;
}

/* Tries to attach to the window; moves to ATTACHED, or STOPPED for a refused header. */
static void try_attach(struct vio_vmsg_endpoint *ep)
{
	uint32_t gen = window_word(ep->win.base, VIO_VMSG_SHM_OFF_DRV_GEN);
	int r;

	ep->shm.bell = vio_vmsg_bell_doorbell(&ep->bell);
	ep->shm.cache = NULL;
	r = vio_vmsg_shm_attach(&ep->shm, ep->win.base, ep->win.size);
	if (r == -VIO_EAGAIN)
		return;
	if (r < 0) {
		if (gen != ep->refused_gen)
			ep_log(ep, VIO_VU_LOG_ERR,
			       "%s: the driver's window header is invalid (driver generation "
			       "%u): waiting for a re-format",
			       ep->win.path, gen);
		ep->refused_gen = gen;
		ep->stopped_gen = gen;
		ep->state = EP_STOPPED;
		return;
	}
	vio_winmap_clear(&ep->map);
	if (vio_winmap_add(&ep->map, ep->shm.area_off, ep->shm.area_size,
			   ep->win.base + ep->shm.area_off, VIO_ACCESS_RW) < 0) {
		/* The attach checks make this unreachable; stay safe if they change. */
		vio_vmsg_shm_stop(&ep->shm);
		ep->stopped_gen = ep->shm.peer_generation;
		ep->state = EP_STOPPED;
		return;
	}
	ep->stats.attaches++;
	ep->state = EP_ATTACHED;
	ep->logged_full = false;
	ep_log(ep, VIO_VU_LOG_INFO, "%s: attached (driver generation %u, area %u bytes at %u)",
	       ep->win.path, ep->shm.peer_generation, ep->shm.area_size, ep->shm.area_off);
}

/*
 * Leaves the window: devices reset; this side's state STOPPED when it saw a
 * corrupt window, RESET otherwise.
 */
static void leave(struct vio_vmsg_endpoint *ep, int next, bool corrupt)
{
	if (ep->quiesce != NULL)
		ep->quiesce(ep->quiesce_ctx);
	vio_vmsg_dev_bus_reset(&ep->bus);
	vio_winmap_clear(&ep->map);
	if (corrupt)
		vio_vmsg_shm_stop(&ep->shm);
	else
		vio_vmsg_shm_detach(&ep->shm);
	ep->pending_ring = false;
	ep->state = next;
}

/*
 * When the driver ended the session (its state left READY, or a new
 * generation): devices reset, this side's state RESET, which is what a
 * re-formatting driver waits for; then attaches to the new generation, or
 * waits for one. Whether it happened.
 */
static bool driver_gone(struct vio_vmsg_endpoint *ep)
{
	if (!vio_vmsg_shm_session_over(&ep->shm))
		return false;
	ep->stats.driver_restarts++;
	if (vio_vmsg_shm_peer_restarted(&ep->shm)) {
		ep_log(ep, VIO_VU_LOG_INFO, "%s: the driver restarted: devices reset",
		       ep->win.path);
		leave(ep, EP_DETACHED, false);
		try_attach(ep);
		return true;
	}
	/* Re-formatting (RESET first), gone or stopped: off the FIFOs until a new generation. */
	ep_log(ep, VIO_VU_LOG_INFO, "%s: the driver left the window: devices reset", ep->win.path);
	ep->stopped_gen = ep->shm.peer_generation;
	leave(ep, EP_STOPPED, false);
	return true;
}

/* Handles up to a batch of messages under the lock; how many there were. */
static int serve_batch(struct vio_vmsg_endpoint *ep)
{
	uint8_t msg[VIO_VMSG_SHM_SLOT_SIZE];
	int n = 0, r;

	vio_vmsg_endpoint_lock(ep);
	if (driver_gone(ep))
		goto out;
	while (n < SERVE_BATCH) {
		r = vio_vmsg_shm_recv(&ep->shm, msg, sizeof(msg));
		if (r == 0 || r == -VIO_ECONNRESET)
			break;
		n++;
		if (r > 0) {
			ep->stats.received++;
			vio_vmsg_dev_bus_handle(&ep->bus, msg, (uint32_t) r);
			/* A message whose answer found the session over ends the batch. */
			if (ep->state != EP_ATTACHED || vio_vmsg_shm_session_over(&ep->shm))
				break;
			continue;
		}
		if (!vio_vmsg_shm_stopped(&ep->shm)) {
			ep->stats.bad_messages++;
			continue;
		}
		ep->stats.stops++;
		ep_log(ep, VIO_VU_LOG_ERR,
		       "%s: corrupt FIFO index in the window: stopped, devices reset; waiting for "
		       "the driver to re-format",
		       ep->win.path);
		ep->stopped_gen = ep->shm.peer_generation;
		leave(ep, EP_STOPPED, true);
		break;
	}
	if (ep->state == EP_ATTACHED && vio_vmsg_shm_stopped(&ep->shm)) {
		/* A send found the FIFO corrupt. */
		ep->stats.stops++;
		ep_log(ep, VIO_VU_LOG_ERR, "%s: corrupt FIFO index in the window: stopped",
		       ep->win.path);
		ep->stopped_gen = ep->shm.peer_generation;
		leave(ep, EP_STOPPED, true);
	}
	/* Leaves at once, so a driver waiting to re-format is not kept waiting. */
	if (ep->state == EP_ATTACHED && driver_gone(ep))
		n++;
out:
	vio_vmsg_endpoint_unlock(ep);
	return n;
}

static void *serve(void *arg)
{
	struct vio_vmsg_endpoint *ep = arg;
	bool was_connected = vio_vmsg_bell_connected(&ep->bell);

	while (!stopping(ep)) {
		bool connected;

		if (ep->state != EP_ATTACHED) {
			vio_vmsg_endpoint_lock(ep);
			if (ep->state == EP_STOPPED &&
			    window_word(ep->win.base, VIO_VMSG_SHM_OFF_DRV_GEN) != ep->stopped_gen)
				ep->state = EP_DETACHED;
			if (ep->state == EP_DETACHED)
				try_attach(ep);
			vio_vmsg_endpoint_unlock(ep);
		}
		if (ep->state == EP_ATTACHED && serve_batch(ep) > 0) {
			vio_vmsg_bell_activity(&ep->bell);
			continue;
		}
		vio_vmsg_bell_wait(&ep->bell, SERVE_WAIT_US);
		connected = vio_vmsg_bell_connected(&ep->bell);
		if (connected != was_connected)
			ep_log(ep, VIO_VU_LOG_INFO,
			       "%s: driver %s (rings: %llu sent, %llu received)", ep->bell.sock,
			       connected ? "connected" : "disconnected",
			       (unsigned long long) ep->bell.rings,
			       (unsigned long long) ep->bell.wakeups);
		was_connected = connected;
	}
	return NULL;
}

int vio_vmsg_endpoint_start(struct vio_vmsg_endpoint *ep)
{
	int r;

	if (ep->started)
		return -EBUSY;
	r = pthread_create(&ep->thread, NULL, serve, ep);
	if (r != 0)
		return -r;
	ep->started = true;
	return 0;
}

bool vio_vmsg_endpoint_attached(struct vio_vmsg_endpoint *ep)
{
	bool a;

	pthread_mutex_lock(&ep->lock);
	a = ep->state == EP_ATTACHED;
	pthread_mutex_unlock(&ep->lock);
	return a;
}

struct vio_vmsg_endpoint_stats vio_vmsg_endpoint_stats(struct vio_vmsg_endpoint *ep)
{
	struct vio_vmsg_endpoint_stats s;

	pthread_mutex_lock(&ep->lock);
	s = ep->stats;
	pthread_mutex_unlock(&ep->lock);
	return s;
}

void vio_vmsg_endpoint_fini(struct vio_vmsg_endpoint *ep)
{
	if (ep->started) {
		uint64_t one = 1;

		__atomic_store_n(&ep->stop, 1, __ATOMIC_RELEASE);
		/* Wakes a thread blocked on its own eventfd; a polling one sees the flag. */
		if (ep->bell.own_efd >= 0 && write(ep->bell.own_efd, &one, sizeof(one)) < 0) {
			/* Saturated counter: it is awake already. */
		}
		pthread_join(ep->thread, NULL);
		ep->started = false;
	}
	pthread_mutex_lock(&ep->lock);
	if (ep->quiesce != NULL)
		ep->quiesce(ep->quiesce_ctx);
	vio_vmsg_dev_bus_reset(&ep->bus);
	if (ep->state == EP_ATTACHED)
		vio_vmsg_shm_detach(&ep->shm);
	ep->state = EP_DETACHED;
	pthread_mutex_unlock(&ep->lock);
	pthread_mutex_destroy(&ep->lock);
	vio_vmsg_bell_close(&ep->bell);
	vio_vmsg_window_close(&ep->win);
}

/* --- driver side ----------------------------------------------------------------------- */

static void drv_wait(void *os_ctx, uint32_t timeout_us)
{
	struct vio_vmsg_posix_drv *p = os_ctx;
	uint32_t head;

	/* The peer moved its head since the last wait: a fresh exchange, so spin again. */
	head = window_word(p->shm.rx.base, 0);
	if (head != p->seen_head) {
		p->seen_head = head;
		vio_vmsg_bell_activity(&p->bell);
	}
	vio_vmsg_bell_wait(&p->bell, timeout_us);
}

static uint64_t drv_now(void *os_ctx)
{
	(void) os_ctx;
	return vio_vmsg_now_us();
}

/* Formats with the generation after the window's current one and waits for the device. */
static int drv_format(struct vio_vmsg_posix_drv *p, int timeout_ms, char *err, size_t errlen)
{
	uint64_t deadline =
	    vio_vmsg_now_us() + (uint64_t) (timeout_ms < 0 ? 0 : timeout_ms) * 1000u;
	uint32_t gen = window_word(p->win.base, VIO_VMSG_SHM_OFF_DRV_GEN) + 1;
	int leave_ms = timeout_ms < DEVICE_LEAVE_MS ? timeout_ms : DEVICE_LEAVE_MS;
	uint64_t leave_by = vio_vmsg_now_us() + (uint64_t) (leave_ms < 0 ? 0 : leave_ms) * 1000u;

	if (gen == 0)
		gen = 1;
	p->shm.bell = vio_vmsg_bell_doorbell(&p->bell);
	p->shm.cache = NULL;
	/*
	 * A device still serving the window leaves its FIFOs first (it answers the
	 * RESET with its own), so nothing of the old session lands in the new one;
	 * one that died never answers, hence the bound.
	 */
	for (bool rung = false;; rung = true) {
		int r = vio_vmsg_shm_driver_leave(&p->shm, p->win.base, p->win.size);

		if (r != 0 || vio_vmsg_now_us() >= leave_by)
			break;
		if (!rung)
			vio_vmsg_bell_ring(&p->bell);
		sleep_us(100);
	}
	if (vio_vmsg_shm_format(&p->shm, p->win.base, p->win.size, 0, gen) < 0) {
		vio_errmsg(err, errlen, "%s: cannot format a window of %u bytes (too small?)",
			   p->win.path, p->win.size);
		return -EINVAL;
	}
	/* A device that left for the re-format attaches at once instead of at its next look. */
	vio_vmsg_bell_ring(&p->bell);
	p->generation = gen;
	p->seen_head = 0;
	p->binding = (struct vio_vmsg_drv_shm){
	    .shm = &p->shm, .wait = drv_wait, .now_us = drv_now, .os_ctx = p};
	/* The format zeroed the device's words: READY now means this generation was seen. */
	while (vio_vmsg_shm_peer_state(&p->shm) != VIO_VMSG_SHM_STATE_READY) {
		if (vio_vmsg_now_us() >= deadline) {
			vio_errmsg(err, errlen, "no device side attached to %s within %d ms",
				   p->win.path, timeout_ms);
			return -ETIMEDOUT;
		}
		sleep_us(200);
	}
	/* Its first attach after a format is not a restart; take its generation now. */
	vio_vmsg_shm_peer_restarted(&p->shm);
	return 0;
}

int vio_vmsg_posix_drv_open(struct vio_vmsg_posix_drv *p, const char *path, uint32_t size,
			    const char *doorbell, int timeout_ms, char *err, size_t errlen)
{
	return vio_vmsg_posix_drv_open_at(p, path, 0, size, doorbell, timeout_ms, err, errlen);
}

int vio_vmsg_posix_drv_open_at(struct vio_vmsg_posix_drv *p, const char *path, uint64_t offset,
			       uint32_t size, const char *doorbell, int timeout_ms, char *err,
			       size_t errlen)
{
	uint64_t start = vio_vmsg_now_us();
	int r, left;

	memset(p, 0, sizeof(*p));
	p->win.fd = -1;
	r = vio_vmsg_bell_parse(&p->bell, doorbell, err, errlen);
	if (r < 0)
		return r;
	r = vio_vmsg_window_open_at(&p->win, path, offset, size, err, errlen);
	if (r < 0)
		return r;
	/* Connected before the format, so the device's first answers can ring us. */
	r = vio_vmsg_bell_connect(&p->bell, timeout_ms, err, errlen);
	if (r < 0)
		goto fail;
	left = timeout_ms - (int) ((vio_vmsg_now_us() - start) / 1000u);
	r = drv_format(p, left < 0 ? 0 : left, err, errlen);
	if (r == -ETIMEDOUT)
		vio_errmsg(err, errlen, "no device side attached to %s within %d ms", path,
			   timeout_ms);
	if (r < 0)
		goto fail;
	return 0;
fail:
	vio_vmsg_bell_close(&p->bell);
	vio_vmsg_window_close(&p->win);
	return r;
}

int vio_vmsg_posix_drv_reformat(struct vio_vmsg_posix_drv *p, int timeout_ms, char *err,
				size_t errlen)
{
	return drv_format(p, timeout_ms, err, errlen);
}

void vio_vmsg_posix_drv_close(struct vio_vmsg_posix_drv *p)
{
	if (p->win.base != NULL && p->shm.base != NULL)
		vio_vmsg_shm_detach(&p->shm);
	vio_vmsg_bell_close(&p->bell);
	vio_vmsg_window_close(&p->win);
}
