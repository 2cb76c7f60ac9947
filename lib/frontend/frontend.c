/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user frontend (driver side). The backend is the untrusted party here:
 * every reply is checked for its request code, exact flags, exact size and
 * descriptors before anything in it is used, and a reply that breaks the
 * protocol ends the conversation (the spec's advice: close on a wrong reply).
 */
#include "vioport/fdpass.h"
#include "vioport/vhost_user_frontend.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vioport/byteorder.h"
#include "vioport/virtio.h"

#define DEFAULT_MEM	(8ull << 20)
#define DEFAULT_GPA	(1ull << 30)
#define DEFAULT_QSIZE	128u
#define DEFAULT_TIMEOUT 5000
#define PAGE		4096u
/* An inflight area larger than this is not a sane answer for any queue layout. */
#define MAX_INFLIGHT (256ull << 20)
/* Marks a struct that went through connect/adopt. */
#define FE_MAGIC 0x76756665u

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

__attribute__((format(printf, 3, 4))) static int fail(struct vio_vu_fe *fe, int err,
						      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(fe->err, sizeof(fe->err), fmt, ap);
	va_end(ap);
	return err;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining(int64_t deadline)
{
	int64_t r = deadline - now_ms();

	return r < 0 ? 0 : r > 0x7fffffff ? 0x7fffffff : (int) r;
}

/* Polls until an event, the deadline (-ETIMEDOUT) or an error (-errno); EINTR is retried. */
static int poll_until(struct pollfd *p, nfds_t n, int64_t deadline)
{
	for (;;) {
		int r = poll(p, n, remaining(deadline));

		if (r > 0)
			return r;
		if (r == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

static void close_fds(int *fds, unsigned n)
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
static int send_msg(int fd, const void *a, size_t alen, const void *b, size_t blen, const int *fds,
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

/* What arrived besides the bytes. */
struct rx_fds {
	int *fds;
	unsigned cap, n;
	bool dropped; /* more descriptors than cap, or the kernel truncated them */
};

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
static int read_msg(int fd, struct vio_vu_hdr *hdr, void *payload, size_t cap, struct rx_fds *rx,
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
static int broken(struct vio_vu_fe *fe, int err)
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
	int64_t deadline = now_ms() + fe->timeout_ms;
	uint8_t buf[VIO_VU_MAX_PAYLOAD];
	int rfd[VIO_VU_MAX_FDS];
	struct rx_fds rx = {.fds = rfd, .cap = VIO_VU_MAX_FDS};
	uint32_t want = reply != NULL ? reply_size : (uint32_t) sizeof(uint64_t);
	struct vio_vu_hdr rh;
	int r;

	if (reply_fd != NULL)
		*reply_fd = -1;
	if (fe->sock < 0)
		return fail(fe, -ENOTCONN, "%s: not connected", req_name(request));
	if (fe->broken)
		return fail(fe, -EPROTO, "%s: the connection broke earlier", req_name(request));
	if (want > sizeof(buf))
		return fail(fe, -EINVAL, "%s: reply of %u bytes expected", req_name(request), want);
	if (ack)
		h.flags |= VIO_VU_FLAG_NEED_REPLY;
	r = send_msg(fe->sock, &h, sizeof(h), payload, size, fds, nfds, deadline);
	if (r < 0)
		return broken(fe, fail(fe, r, "sending %s: %s", req_name(request), strerror(-r)));
	if (reply == NULL && !ack)
		return 0;

	r = wait_sock(fe, deadline);
	if (r == 0)
		r = read_msg(fe->sock, &rh, buf, sizeof(buf), &rx, deadline);
	if (r < 0) {
		close_fds(rfd, rx.n);
		if (r == -EMSGSIZE)
			return broken(fe, fail(fe, -EPROTO, "%s: reply of %u bytes, %u expected",
					       req_name(request), rh.size, want));
		return broken(fe, fail(fe, r, "%s: waiting for the reply: %s", req_name(request),
				       strerror(-r)));
	}
	if (rh.request != request || rh.flags != (VIO_VU_VERSION | VIO_VU_FLAG_REPLY)) {
		close_fds(rfd, rx.n);
		return broken(fe, fail(fe, -EPROTO, "%s: reply with request %u flags %#x",
				       req_name(request), rh.request, rh.flags));
	}
	if (rx.dropped || rx.n > (reply_fd != NULL ? 1u : 0u)) {
		close_fds(rfd, rx.n);
		return broken(fe, fail(fe, -EPROTO, "%s: reply with %u unexpected descriptors",
				       req_name(request), rx.n));
	}
	if (rh.size != want) {
		close_fds(rfd, rx.n);
		/* The spec's way of refusing a config read: an empty reply. */
		if (request == VIO_VU_GET_CONFIG && rh.size == 0)
			return fail(fe, -EIO, "GET_CONFIG refused");
		return broken(fe, fail(fe, -EPROTO, "%s: reply of %u bytes, %u expected",
				       req_name(request), rh.size, want));
	}
	if (ack) {
		uint64_t v;

		close_fds(rfd, rx.n);
		memcpy(&v, buf, sizeof(v));
		if (v != 0)
			return fail(fe, -EREMOTEIO, "%s: refused (ack %llu)", req_name(request),
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
	r = send_msg(fe->sock, hdr, hdr != NULL ? sizeof(*hdr) : 0, payload, len, fds, nfds,
		     now_ms() + fe->timeout_ms);
	if (r < 0)
		return fail(fe, r, "raw send: %s", strerror(-r));
	return 0;
}

int vio_vu_fe_recv_raw(struct vio_vu_fe *fe, struct vio_vu_hdr *hdr, void *payload, size_t cap,
		       size_t *len, int *fds, unsigned *nfds, int timeout_ms)
{
	struct rx_fds rx = {.fds = fds, .cap = fds != NULL && nfds != NULL ? *nfds : 0};
	int64_t deadline = now_ms() + timeout_ms;
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
		r = read_msg(fe->sock, hdr, payload, cap, &rx, now_ms() + fe->timeout_ms);
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
	int64_t deadline = now_ms() + timeout_ms;

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
		if (remaining(deadline) == 0)
			return 0;
	}
}

/* ------------------------------------------------------------ connection */

static void fe_init(struct vio_vu_fe *fe)
{
	memset(fe, 0, sizeof(*fe));
	fe->sock = -1;
	fe->backend_fd = -1;
	fe->mem_fd = -1;
	fe->inflight_fd = -1;
	fe->timeout_ms = DEFAULT_TIMEOUT;
	fe->magic = FE_MAGIC;
}

void vio_vu_fe_adopt(struct vio_vu_fe *fe, int sock)
{
	fe_init(fe);
	fe->sock = sock;
}

/* Connects fe->sock to path, retrying while the backend is not listening yet. */
static int connect_path(struct vio_vu_fe *fe, const char *path, int timeout_ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int64_t deadline = now_ms() + timeout_ms;

	if (strlen(path) >= sizeof(sa.sun_path))
		return fail(fe, -ENAMETOOLONG, "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	for (;;) {
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int e;

		if (s < 0)
			return fail(fe, -errno, "socket: %s", strerror(errno));
		if (connect(s, (struct sockaddr *) &sa, sizeof(sa)) == 0) {
			fe->sock = s;
			return 0;
		}
		e = errno;
		close(s);
		/* A daemon still starting has no socket yet, or has not listened yet. */
		if ((e != ENOENT && e != ECONNREFUSED && e != EAGAIN) || remaining(deadline) == 0)
			return fail(fe, -e, "connect %s: %s", path, strerror(e));
		usleep(10000);
	}
}

int vio_vu_fe_connect(struct vio_vu_fe *fe, const char *path, int timeout_ms)
{
	fe_init(fe);
	return connect_path(fe, path, timeout_ms);
}

const char *vio_vu_fe_error(const struct vio_vu_fe *fe)
{
	return fe->err[0] != '\0' ? fe->err : "no error";
}

/* ------------------------------------------------------------ guest memory */

static int mem_create(struct vio_vu_fe *fe)
{
	uint64_t unit = (uint64_t) PAGE * fe->params.nregions;
	uint64_t size = (fe->params.mem_size + unit - 1) / unit * unit;
	void *p;

	fe->mem_fd = memfd_create("vioport-guest", MFD_CLOEXEC);
	if (fe->mem_fd < 0)
		return fail(fe, -errno, "memfd_create: %s", strerror(errno));
	if (ftruncate(fe->mem_fd, (off_t) size) < 0)
		return fail(fe, -errno, "ftruncate guest memory: %s", strerror(errno));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fe->mem_fd, 0);
	if (p == MAP_FAILED)
		return fail(fe, -errno, "mmap guest memory: %s", strerror(errno));
	fe->mem = p;
	fe->mem_size = size;
	fe->gpa_base = fe->params.gpa_base;
	fe->nregions = fe->params.nregions;
	fe->heap_units = size / VIO_VU_FE_GRANULE;
	fe->heap_map = calloc((fe->heap_units + 63) / 64, sizeof(uint64_t));
	if (fe->heap_map == NULL)
		return fail(fe, -ENOMEM, "out of memory");
	return 0;
}

static bool unit_used(const uint64_t *map, uint64_t i)
{
	return (map[i / 64] >> (i % 64)) & 1u;
}

/* First used granule in [from, to), or to. Whole free words are skipped at once. */
static uint64_t first_used(const uint64_t *map, uint64_t from, uint64_t to)
{
	uint64_t i = from;

	while (i < to) {
		if (i % 64 == 0 && map[i / 64] == 0) {
			i += 64;
			continue;
		}
		if (unit_used(map, i))
			return i;
		i++;
	}
	return to;
}

static void mark_units(uint64_t *map, uint64_t from, uint64_t n, bool used)
{
	for (uint64_t i = from; i < from + n; i++) {
		if (used)
			map[i / 64] |= 1ull << (i % 64);
		else
			map[i / 64] &= ~(1ull << (i % 64));
	}
}

void *vio_vu_fe_alloc(struct vio_vu_fe *fe, uint64_t len, uint64_t align, uint64_t *gpa)
{
	uint64_t n, step, start = 0;

	if (fe->heap_map == NULL || len == 0 || len > fe->mem_size || (align & (align - 1)) != 0 ||
	    align > PAGE)
		return NULL;
	n = (len + VIO_VU_FE_GRANULE - 1) / VIO_VU_FE_GRANULE;
	step = align <= VIO_VU_FE_GRANULE ? 1 : align / VIO_VU_FE_GRANULE;
	while (start + n <= fe->heap_units) {
		uint64_t u = first_used(fe->heap_map, start, start + n);

		if (u == start + n) {
			uint8_t *p = fe->mem + start * VIO_VU_FE_GRANULE;

			mark_units(fe->heap_map, start, n, true);
			memset(p, 0, n * VIO_VU_FE_GRANULE);
			*gpa = fe->gpa_base + start * VIO_VU_FE_GRANULE;
			return p;
		}
		start = (u + step) / step * step;
	}
	return NULL;
}

void vio_vu_fe_free(struct vio_vu_fe *fe, uint64_t gpa, uint64_t len)
{
	uint64_t off = gpa - fe->gpa_base;

	if (fe->heap_map == NULL || len == 0 || gpa < fe->gpa_base || off >= fe->mem_size ||
	    len > fe->mem_size - off || off % VIO_VU_FE_GRANULE != 0)
		return;
	mark_units(fe->heap_map, off / VIO_VU_FE_GRANULE,
		   (len + VIO_VU_FE_GRANULE - 1) / VIO_VU_FE_GRANULE, false);
}

void *vio_vu_fe_ptr(const struct vio_vu_fe *fe, uint64_t gpa, uint64_t len)
{
	uint64_t off = gpa - fe->gpa_base;

	if (fe->mem == NULL || gpa < fe->gpa_base || off > fe->mem_size || len > fe->mem_size - off)
		return NULL;
	return fe->mem + off;
}

static void region_of(const struct vio_vu_fe *fe, unsigned i, struct vio_vu_region *r)
{
	uint64_t chunk = fe->mem_size / fe->nregions;

	r->guest_phys_addr = fe->gpa_base + i * chunk;
	r->memory_size = chunk;
	r->userspace_addr = (uint64_t) (uintptr_t) fe->mem + i * chunk;
	/* Every region maps the same memfd at its own offset. */
	r->mmap_offset = i * chunk;
}

static int send_memory(struct vio_vu_fe *fe)
{
	int fds[VIO_VU_MAX_REGIONS];
	int r;

	for (unsigned i = 0; i < fe->nregions; i++)
		fds[i] = fe->mem_fd;
	if (fe->params.add_mem_reg && vio_vu_fe_has_protocol(fe, VIO_VU_PF_CONFIGURE_MEM_SLOTS)) {
		/* Like QEMU: regions the backend has stay; a reset does not drop them. */
		if (fe->regions_added)
			return 0;
		for (unsigned i = 0; i < fe->nregions; i++) {
			struct vio_vu_mem_reg m = {0};

			region_of(fe, i, &m.region);
			r = vio_vu_fe_request(fe, VIO_VU_ADD_MEM_REG, &m, sizeof(m), &fds[i], 1,
					      NULL, 0, NULL);
			if (r < 0)
				return r;
		}
		fe->regions_added = true;
		return 0;
	} else {
		struct vio_vu_mem_table t = {.nregions = fe->nregions};

		for (unsigned i = 0; i < fe->nregions; i++)
			region_of(fe, i, &t.regions[i]);
		/* Only the regions in use travel, as QEMU sends them. */
		return vio_vu_fe_request(
		    fe, VIO_VU_SET_MEM_TABLE, &t,
		    (uint32_t) (8 + fe->nregions * sizeof(struct vio_vu_region)), fds, fe->nregions,
		    NULL, 0, NULL);
	}
}

/* ------------------------------------------------------------ set-up */

static int set_params(struct vio_vu_fe *fe, const struct vio_vu_fe_params *p)
{
	struct vio_vu_fe_params d = {0};

	if (p != NULL)
		d = *p;
	if (d.protocol_features == 0)
		d.protocol_features = VIO_VU_FE_PROTOCOL_DEFAULT;
	if (d.add_mem_reg)
		d.protocol_features |= 1ull << VIO_VU_PF_CONFIGURE_MEM_SLOTS;
	if (d.no_inflight)
		d.protocol_features &= ~(1ull << VIO_VU_PF_INFLIGHT_SHMFD);
	if (d.features == 0)
		d.features = VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_F_EVENT_IDX);
	if (d.mem_size == 0)
		d.mem_size = DEFAULT_MEM;
	if (d.gpa_base == 0)
		d.gpa_base = DEFAULT_GPA;
	if (d.nregions == 0)
		d.nregions = 1;
	if (d.num_queues == 0)
		d.num_queues = 1;
	if (d.queue_size == 0)
		d.queue_size = DEFAULT_QSIZE;
	if (d.timeout_ms == 0)
		d.timeout_ms = DEFAULT_TIMEOUT;
	if (d.nregions > VIO_VU_MAX_REGIONS || d.num_queues > VIO_VU_FE_MAX_QUEUES ||
	    d.queue_size > VIO_VQ_MAX_SIZE || (d.queue_size & (d.queue_size - 1)) != 0 ||
	    d.config_size > VIO_VU_MAX_CONFIG || d.gpa_base % PAGE != 0)
		return fail(fe, -EINVAL, "invalid frontend parameters");
	fe->params = d;
	fe->timeout_ms = d.timeout_ms;
	return 0;
}

static int open_backend_channel(struct vio_vu_fe *fe)
{
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return fail(fe, -errno, "socketpair: %s", strerror(errno));
	r = vio_vu_fe_request(fe, VIO_VU_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1, NULL, 0, NULL);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return r;
	}
	fe->backend_fd = sv[0];
	return 0;
}

int vio_vu_fe_negotiate(struct vio_vu_fe *fe, const struct vio_vu_fe_params *p)
{
	uint64_t pf = 0, want;
	int r;

	r = set_params(fe, p);
	if (r < 0)
		return r;
	r = vio_vu_fe_get_u64(fe, VIO_VU_GET_FEATURES, &fe->features_offered);
	if (r < 0)
		return r;
	if (fe->features_offered & VIO_BIT(VIO_VU_F_PROTOCOL_FEATURES)) {
		r = vio_vu_fe_get_u64(fe, VIO_VU_GET_PROTOCOL_FEATURES, &fe->protocol_offered);
		if (r < 0)
			return r;
		pf = fe->protocol_offered & fe->params.protocol_features;
		/* REPLY_ACK is not in force for the message that turns it on. */
		r = vio_vu_fe_send_u64(fe, VIO_VU_SET_PROTOCOL_FEATURES, pf);
		if (r < 0)
			return r;
		fe->protocol = pf;
	}
	if (vio_vu_fe_has_protocol(fe, VIO_VU_PF_MQ)) {
		r = vio_vu_fe_get_u64(fe, VIO_VU_GET_QUEUE_NUM, &fe->max_queues);
		if (r < 0)
			return r;
		if (fe->max_queues < fe->params.num_queues)
			return fail(fe, -ENOTSUP, "backend has %llu queues, %u wanted",
				    (unsigned long long) fe->max_queues, fe->params.num_queues);
	}
	if (vio_vu_fe_has_protocol(fe, VIO_VU_PF_CONFIGURE_MEM_SLOTS)) {
		r = vio_vu_fe_get_u64(fe, VIO_VU_GET_MAX_MEM_SLOTS, &fe->max_mem_slots);
		if (r < 0)
			return r;
		if (fe->params.add_mem_reg && fe->max_mem_slots < fe->params.nregions)
			return fail(fe, -ENOTSUP, "backend takes %llu memory slots",
				    (unsigned long long) fe->max_mem_slots);
	}
	if (vio_vu_fe_has_protocol(fe, VIO_VU_PF_BACKEND_REQ)) {
		r = open_backend_channel(fe);
		if (r < 0)
			return r;
	}
	r = vio_vu_fe_request(fe, VIO_VU_SET_OWNER, NULL, 0, NULL, 0, NULL, 0, NULL);
	if (r < 0)
		return r;
	if (fe->params.config_size > 0 && vio_vu_fe_has_protocol(fe, VIO_VU_PF_CONFIG)) {
		r = vio_vu_fe_get_config(fe, 0, fe->config, fe->params.config_size);
		if (r < 0)
			return r;
		fe->config_size = fe->params.config_size;
	}
	want = fe->params.features & ~VIO_BIT(VIO_VU_F_PROTOCOL_FEATURES);
	fe->features = fe->features_offered & want;
	if (!vio_vu_fe_has(fe, VIO_F_VERSION_1))
		return fail(fe, -ENOTSUP,
			    "backend does not offer VIRTIO_F_VERSION_1 (offers %#llx)",
			    (unsigned long long) fe->features_offered);
	/* The backend needs to see the bit it offered acknowledged to keep protocol features on. */
	fe->features |= fe->features_offered & VIO_BIT(VIO_VU_F_PROTOCOL_FEATURES);
	return 0;
}

int vio_vu_fe_setup(struct vio_vu_fe *fe, const struct vio_vu_fe_params *p)
{
	int r = vio_vu_fe_negotiate(fe, p);

	return r < 0 ? r : vio_vu_fe_configure(fe);
}

static int status_add(struct vio_vu_fe *fe, uint8_t bits)
{
	uint8_t s;
	int r = vio_vu_fe_get_status(fe, &s);

	if (r < 0)
		return r;
	return vio_vu_fe_set_status(fe, (uint8_t) (s | bits));
}

/* Status steps around SET_FEATURES; the spec's order or QEMU's. */
static int send_features(struct vio_vu_fe *fe)
{
	bool st = vio_vu_fe_has_protocol(fe, VIO_VU_PF_STATUS);
	uint8_t s;
	int r;

	if (st && !fe->params.qemu_status_order) {
		r = vio_vu_fe_set_status(fe, VIO_STATUS_ACKNOWLEDGE);
		if (r == 0)
			r = vio_vu_fe_set_status(fe, VIO_STATUS_ACKNOWLEDGE | VIO_STATUS_DRIVER);
		if (r < 0)
			return r;
	}
	r = vio_vu_fe_send_u64(fe, VIO_VU_SET_FEATURES, fe->features);
	if (r < 0 || !st)
		return r;
	if (fe->params.qemu_status_order)
		r = status_add(fe, VIO_STATUS_FEATURES_OK);
	else
		r = vio_vu_fe_set_status(fe, VIO_STATUS_ACKNOWLEDGE | VIO_STATUS_DRIVER |
						 VIO_STATUS_FEATURES_OK);
	if (r == 0)
		r = vio_vu_fe_get_status(fe, &s);
	if (r < 0)
		return r;
	if (!(s & VIO_STATUS_FEATURES_OK))
		return fail(fe, -ENOTSUP, "backend refused the features %#llx (status %#x)",
			    (unsigned long long) fe->features, s);
	return 0;
}

static void drop_inflight(struct vio_vu_fe *fe)
{
	if (fe->inflight != NULL)
		munmap(fe->inflight, fe->inflight_desc.mmap_size);
	if (fe->inflight_fd >= 0)
		close(fe->inflight_fd);
	fe->inflight = NULL;
	fe->inflight_fd = -1;
	memset(&fe->inflight_desc, 0, sizeof(fe->inflight_desc));
}

/* A fresh inflight area from the backend, handed straight back (what QEMU does per start). */
static int setup_inflight(struct vio_vu_fe *fe)
{
	struct vio_vu_inflight in = {.num_queues = fe->num_queues, .queue_size = fe->queue_size};
	struct vio_vu_inflight out;
	void *p;
	int fd, r;

	drop_inflight(fe);
	r = vio_vu_fe_request(fe, VIO_VU_GET_INFLIGHT_FD, &in, sizeof(in), NULL, 0, &out,
			      sizeof(out), &fd);
	if (r < 0)
		return r;
	if (out.mmap_size == 0) {
		/* The backend tracks nothing: nothing to hand back. */
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (fd < 0 || out.mmap_size > MAX_INFLIGHT || out.mmap_offset % PAGE != 0) {
		if (fd >= 0)
			close(fd);
		return broken(
		    fe, fail(fe, -EPROTO, "GET_INFLIGHT_FD: size %llu offset %llu, descriptor %s",
			     (unsigned long long) out.mmap_size,
			     (unsigned long long) out.mmap_offset, fd < 0 ? "missing" : "present"));
	}
	p = mmap(NULL, out.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t) out.mmap_offset);
	if (p == MAP_FAILED) {
		close(fd);
		return broken(fe, fail(fe, -EPROTO, "GET_INFLIGHT_FD: area does not map: %s",
				       strerror(errno)));
	}
	fe->inflight = p;
	fe->inflight_fd = fd;
	fe->inflight_desc = out;
	in.mmap_size = out.mmap_size;
	in.mmap_offset = out.mmap_offset;
	return vio_vu_fe_request(fe, VIO_VU_SET_INFLIGHT_FD, &in, sizeof(in), &fd, 1, NULL, 0,
				 NULL);
}

/* The area kept from the first connection, handed to a new backend (QEMU's reconnect). */
static int resend_inflight(struct vio_vu_fe *fe)
{
	struct vio_vu_inflight in = fe->inflight_desc;

	return vio_vu_fe_request(fe, VIO_VU_SET_INFLIGHT_FD, &in, sizeof(in), &fe->inflight_fd, 1,
				 NULL, 0, NULL);
}

static int alloc_queues(struct vio_vu_fe *fe)
{
	uint64_t ring_bytes = vio_drvq_ring_bytes(fe->queue_size);

	fe->queues = calloc(fe->num_queues, sizeof(*fe->queues));
	if (fe->queues == NULL)
		return fail(fe, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < fe->num_queues; i++) {
		struct vio_vu_fe_queue *q = &fe->queues[i];

		q->kick_fd = q->call_fd = -1;
		q->slots = calloc(fe->queue_size, sizeof(*q->slots));
		q->ring = vio_vu_fe_alloc(fe, ring_bytes, PAGE, &q->ring_gpa);
		if (q->slots == NULL || q->ring == NULL)
			return fail(fe, -ENOMEM, "no room for the rings in guest memory");
		q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		q->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->kick_fd < 0 || q->call_fd < 0)
			return fail(fe, -errno, "eventfd: %s", strerror(errno));
	}
	return 0;
}

static void drain_eventfd(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == (ssize_t) sizeof(v))
		;
}

/*
 * Hands ring i to the backend. Fresh: empty rings, base 0. Resumed (a new
 * backend after the last one died): the rings as they are, and processing
 * resumes at the used index, the one position the driver knows the dead
 * backend reached (QEMU does the same); what it had in flight beyond that
 * comes back only through the inflight area.
 */
static int setup_queue(struct vio_vu_fe *fe, uint16_t i, bool resume)
{
	struct vio_vu_fe_queue *q = &fe->queues[i];
	struct vio_vu_vring_state st = {.index = i, .num = fe->queue_size};
	struct vio_vu_vring_addr a = {.index = i};
	uint64_t idx = i;
	int r;

	if (!resume) {
		vio_drvq_init(&q->dq, fe->queue_size, q->ring, q->ring_gpa, q->slots,
			      vio_vu_fe_has(fe, VIO_F_EVENT_IDX), &q->desc_gpa, &q->avail_gpa,
			      &q->used_gpa);
		drain_eventfd(q->kick_fd);
		drain_eventfd(q->call_fd);
	}
	r = vio_vu_fe_request(fe, VIO_VU_SET_VRING_NUM, &st, sizeof(st), NULL, 0, NULL, 0, NULL);
	if (r < 0)
		return r;
	st.num = resume ? vio_le16(__atomic_load_n(&q->dq.used[1], __ATOMIC_ACQUIRE)) : 0;
	r = vio_vu_fe_request(fe, VIO_VU_SET_VRING_BASE, &st, sizeof(st), NULL, 0, NULL, 0, NULL);
	if (r < 0)
		return r;
	/* Ring addresses travel as frontend virtual addresses, as QEMU sends them. */
	a.desc_user_addr = (uint64_t) (uintptr_t) vio_vu_fe_ptr(fe, q->desc_gpa, 1);
	a.avail_user_addr = (uint64_t) (uintptr_t) vio_vu_fe_ptr(fe, q->avail_gpa, 1);
	a.used_user_addr = (uint64_t) (uintptr_t) vio_vu_fe_ptr(fe, q->used_gpa, 1);
	a.log_guest_addr = q->used_gpa;
	r = vio_vu_fe_request(fe, VIO_VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0, NULL, 0, NULL);
	if (r < 0)
		return r;
	r = vio_vu_fe_request(fe, VIO_VU_SET_VRING_KICK, &idx, sizeof(idx), &q->kick_fd, 1, NULL, 0,
			      NULL);
	if (r < 0)
		return r;
	r = vio_vu_fe_request(fe, VIO_VU_SET_VRING_CALL, &idx, sizeof(idx), &q->call_fd, 1, NULL, 0,
			      NULL);
	if (r < 0)
		return r;
	q->ready = true;
	/* Without protocol features a ring starts enabled. */
	q->enabled = !vio_vu_fe_has(fe, VIO_VU_F_PROTOCOL_FEATURES);
	return 0;
}

int vio_vu_fe_configure(struct vio_vu_fe *fe)
{
	int r;

	if (fe->sock < 0)
		return fail(fe, -ENOTCONN, "not connected");
	r = send_features(fe);
	if (r < 0)
		return r;
	if (fe->mem == NULL) {
		fe->num_queues = fe->params.num_queues;
		fe->queue_size = fe->params.queue_size;
		r = mem_create(fe);
		if (r == 0)
			r = alloc_queues(fe);
		if (r < 0)
			return r;
	}
	r = send_memory(fe);
	if (r < 0)
		return r;
	if (vio_vu_fe_has_protocol(fe, VIO_VU_PF_INFLIGHT_SHMFD)) {
		r = setup_inflight(fe);
		if (r < 0)
			return r;
	}
	for (uint16_t i = 0; i < fe->num_queues; i++) {
		r = setup_queue(fe, i, false);
		if (r < 0)
			return r;
	}
	fe->configured = true;
	return 0;
}

int vio_vu_fe_reconnect(struct vio_vu_fe *fe, const char *path, int timeout_ms)
{
	struct vio_vu_fe_params p = fe->params;
	int r;

	if (fe->magic != FE_MAGIC || !fe->configured)
		return fail(fe, -EINVAL, "reconnect before the device was configured");
	if (fe->sock >= 0)
		close(fe->sock);
	if (fe->backend_fd >= 0)
		close(fe->backend_fd);
	fe->sock = fe->backend_fd = -1;
	fe->broken = false;
	fe->regions_added = false;
	fe->status = 0;
	for (uint16_t i = 0; i < fe->num_queues; i++)
		fe->queues[i].ready = fe->queues[i].enabled = false;
	r = connect_path(fe, path, timeout_ms);
	if (r == 0)
		r = vio_vu_fe_negotiate(fe, &p);
	if (r == 0)
		r = send_features(fe);
	if (r == 0)
		r = send_memory(fe);
	if (r == 0 && vio_vu_fe_has_protocol(fe, VIO_VU_PF_INFLIGHT_SHMFD))
		r = fe->inflight != NULL ? resend_inflight(fe) : setup_inflight(fe);
	for (uint16_t i = 0; r == 0 && i < fe->num_queues; i++)
		r = setup_queue(fe, i, true);
	return r < 0 ? r : vio_vu_fe_driver_ok(fe);
}

int vio_vu_fe_enable(struct vio_vu_fe *fe, uint16_t queue, bool on)
{
	struct vio_vu_vring_state st = {.index = queue, .num = on};
	int r;

	if (queue >= fe->num_queues)
		return fail(fe, -EINVAL, "no queue %u", queue);
	r = vio_vu_fe_request(fe, VIO_VU_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0, NULL, 0, NULL);
	if (r == 0)
		fe->queues[queue].enabled = on;
	return r;
}

int vio_vu_fe_driver_ok(struct vio_vu_fe *fe)
{
	int r;

	if (!fe->configured)
		return fail(fe, -EINVAL, "driver_ok before configure");
	for (uint16_t i = 0; i < fe->num_queues; i++) {
		if (fe->queues[i].enabled || !vio_vu_fe_has(fe, VIO_VU_F_PROTOCOL_FEATURES))
			continue;
		r = vio_vu_fe_enable(fe, i, true);
		if (r < 0)
			return r;
	}
	if (!vio_vu_fe_has_protocol(fe, VIO_VU_PF_STATUS))
		return 0;
	if (fe->params.qemu_status_order)
		return status_add(fe, VIO_STATUS_ACKNOWLEDGE | VIO_STATUS_DRIVER |
					  VIO_STATUS_DRIVER_OK);
	return vio_vu_fe_set_status(fe, (uint8_t) (fe->status | VIO_STATUS_DRIVER_OK));
}

int vio_vu_fe_start(struct vio_vu_fe *fe, const char *path, const struct vio_vu_fe_params *p)
{
	int timeout = p != NULL && p->timeout_ms > 0 ? p->timeout_ms : DEFAULT_TIMEOUT;
	int r = vio_vu_fe_connect(fe, path, timeout);

	if (r == 0)
		r = vio_vu_fe_setup(fe, p);
	if (r == 0)
		r = vio_vu_fe_driver_ok(fe);
	return r;
}

static int get_vring_base(struct vio_vu_fe *fe, uint16_t i)
{
	struct vio_vu_fe_queue *q = &fe->queues[i];
	struct vio_vu_vring_state st = {.index = i}, rep;
	int r;

	r = vio_vu_fe_request(fe, VIO_VU_GET_VRING_BASE, &st, sizeof(st), NULL, 0, &rep,
			      sizeof(rep), NULL);
	if (r < 0)
		return r;
	/* The backend cannot have consumed more than was published, nor lag by more than a ring. */
	if (rep.index != i || rep.num > 0xffff ||
	    (uint16_t) (q->dq.avail_idx - (uint16_t) rep.num) > fe->queue_size)
		return broken(fe,
			      fail(fe, -EPROTO, "GET_VRING_BASE %u: index %u base %u (avail %u)", i,
				   rep.index, rep.num, q->dq.avail_idx));
	q->stop_base = rep.num;
	q->ready = false;
	q->enabled = false;
	return 0;
}

int vio_vu_fe_stop(struct vio_vu_fe *fe)
{
	bool st = vio_vu_fe_has_protocol(fe, VIO_VU_PF_STATUS);
	int r;

	/* QEMU resets the status first, then disables and stops the rings. */
	if (st && fe->params.qemu_status_order) {
		r = vio_vu_fe_set_status(fe, 0);
		if (r < 0)
			return r;
	}
	for (uint16_t i = 0; i < fe->num_queues; i++) {
		if (!fe->queues[i].ready)
			continue;
		if (fe->params.qemu_status_order && vio_vu_fe_has(fe, VIO_VU_F_PROTOCOL_FEATURES)) {
			r = vio_vu_fe_enable(fe, i, false);
			if (r < 0)
				return r;
		}
		r = get_vring_base(fe, i);
		if (r < 0)
			return r;
	}
	if (st && !fe->params.qemu_status_order)
		return vio_vu_fe_set_status(fe, 0);
	return 0;
}

void vio_vu_fe_close(struct vio_vu_fe *fe)
{
	if (fe->magic != FE_MAGIC)
		return;
	if (fe->sock >= 0)
		close(fe->sock);
	if (fe->backend_fd >= 0)
		close(fe->backend_fd);
	if (fe->queues != NULL) {
		for (unsigned i = 0; i < fe->num_queues; i++) {
			struct vio_vu_fe_queue *q = &fe->queues[i];

			if (q->kick_fd >= 0)
				close(q->kick_fd);
			if (q->call_fd >= 0)
				close(q->call_fd);
			free(q->slots);
		}
		free(fe->queues);
	}
	drop_inflight(fe);
	if (fe->mem != NULL)
		munmap(fe->mem, fe->mem_size);
	if (fe->mem_fd >= 0)
		close(fe->mem_fd);
	free(fe->heap_map);
	fe_init(fe);
	fe->magic = 0;
}

/* ------------------------------------------------------------ config, status, reset */

int vio_vu_fe_get_config(struct vio_vu_fe *fe, uint32_t offset, void *buf, uint32_t len)
{
	struct vio_vu_config c = {.offset = offset, .size = len}, rep;
	int r;

	if (len > VIO_VU_MAX_CONFIG)
		return fail(fe, -EINVAL, "GET_CONFIG of %u bytes", len);
	r = vio_vu_fe_request(fe, VIO_VU_GET_CONFIG, &c, VIO_VU_CONFIG_HDR + len, NULL, 0, &rep,
			      VIO_VU_CONFIG_HDR + len, NULL);
	if (r < 0)
		return r;
	if (rep.offset != offset || rep.size != len)
		return broken(fe, fail(fe, -EPROTO, "GET_CONFIG: reply for offset %u size %u",
				       rep.offset, rep.size));
	memcpy(buf, rep.payload, len);
	return 0;
}

int vio_vu_fe_set_config(struct vio_vu_fe *fe, uint32_t offset, const void *buf, uint32_t len)
{
	struct vio_vu_config c = {.offset = offset, .size = len};

	if (len > VIO_VU_MAX_CONFIG)
		return fail(fe, -EINVAL, "SET_CONFIG of %u bytes", len);
	memcpy(c.payload, buf, len);
	return vio_vu_fe_request(fe, VIO_VU_SET_CONFIG, &c, VIO_VU_CONFIG_HDR + len, NULL, 0, NULL,
				 0, NULL);
}

int vio_vu_fe_set_status(struct vio_vu_fe *fe, uint8_t status)
{
	int r = vio_vu_fe_send_u64(fe, VIO_VU_SET_STATUS, status);

	if (r == 0)
		fe->status = status;
	return r;
}

int vio_vu_fe_get_status(struct vio_vu_fe *fe, uint8_t *status)
{
	uint64_t v;
	int r = vio_vu_fe_get_u64(fe, VIO_VU_GET_STATUS, &v);

	if (r < 0)
		return r;
	if (v > 0xff)
		return broken(fe, fail(fe, -EPROTO, "GET_STATUS: %#llx is not a status byte",
				       (unsigned long long) v));
	*status = (uint8_t) v;
	return 0;
}

int vio_vu_fe_reset_device(struct vio_vu_fe *fe)
{
	int r;

	if (!vio_vu_fe_has_protocol(fe, VIO_VU_PF_RESET_DEVICE))
		return fail(fe, -ENOTSUP, "RESET_DEVICE not negotiated");
	r = vio_vu_fe_request(fe, VIO_VU_RESET_DEVICE, NULL, 0, NULL, 0, NULL, 0, NULL);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < fe->num_queues; i++) {
		fe->queues[i].ready = false;
		fe->queues[i].enabled = false;
	}
	fe->status = 0;
	return 0;
}

/* ------------------------------------------------------------ backend channel */

static int backend_reply(struct vio_vu_fe *fe, uint32_t request, uint64_t value)
{
	struct vio_vu_hdr h = {
	    .request = request, .flags = VIO_VU_VERSION | VIO_VU_FLAG_REPLY, .size = sizeof(value)};

	return send_msg(fe->backend_fd, &h, sizeof(h), &value, sizeof(value), NULL, 0,
			now_ms() + fe->timeout_ms);
}

int vio_vu_fe_backend_poll(struct vio_vu_fe *fe, int timeout_ms)
{
	int handled = 0, wait = timeout_ms;

	if (fe->backend_fd < 0)
		return -ENOTCONN;
	for (;;) {
		struct pollfd p = {.fd = fe->backend_fd, .events = POLLIN};
		uint8_t buf[VIO_VU_MAX_PAYLOAD];
		int fds[VIO_VU_MAX_FDS];
		struct rx_fds rx = {.fds = fds, .cap = VIO_VU_MAX_FDS};
		struct vio_vu_hdr h;
		uint64_t result = 1;
		int r = poll(&p, 1, wait);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return handled;
		r = read_msg(fe->backend_fd, &h, buf, sizeof(buf), &rx, now_ms() + fe->timeout_ms);
		/* Nothing the frontend implements takes a descriptor from the backend. */
		close_fds(fds, rx.n);
		if (r == -ECONNRESET && handled > 0)
			return handled;
		if (r < 0)
			return fail(fe, r == -EMSGSIZE ? -EPROTO : r,
				    "backend channel: message %u of %u bytes: %s", h.request,
				    h.size, strerror(-r));
		if ((h.flags & VIO_VU_VERSION_MASK) != VIO_VU_VERSION ||
		    (h.flags & VIO_VU_FLAG_REPLY))
			return fail(fe, -EPROTO, "backend channel: message %u with flags %#x",
				    h.request, h.flags);
		fe->backend_msgs++;
		if (h.request == VIO_VU_BACKEND_CONFIG_CHANGE_MSG && h.size == 0) {
			fe->config_changes++;
			result = 0;
		}
		if (h.flags & VIO_VU_FLAG_NEED_REPLY) {
			r = backend_reply(fe, h.request, result);
			if (r < 0)
				return fail(fe, r, "backend channel: reply: %s", strerror(-r));
		}
		handled++;
		wait = 0;
	}
}

/* ------------------------------------------------------------ queues */

static struct vio_vu_fe_queue *queue_of(struct vio_vu_fe *fe, uint16_t queue)
{
	if (fe->queues == NULL || queue >= fe->num_queues)
		return NULL;
	return &fe->queues[queue];
}

struct vio_drvq *vio_vu_fe_drvq(struct vio_vu_fe *fe, uint16_t queue)
{
	struct vio_vu_fe_queue *q = queue_of(fe, queue);

	return q != NULL ? &q->dq : NULL;
}

int vio_vu_fe_call_fd(const struct vio_vu_fe *fe, uint16_t queue)
{
	if (fe->queues == NULL || queue >= fe->num_queues)
		return -1;
	return fe->queues[queue].call_fd;
}

int vio_vu_fe_add(struct vio_vu_fe *fe, uint16_t queue, const struct vio_buf *out, unsigned nout,
		  const struct vio_buf *in, unsigned nin, void *token)
{
	struct vio_vu_fe_queue *q = queue_of(fe, queue);
	int r;

	if (q == NULL)
		return -EINVAL;
	r = vio_drvq_add(&q->dq, out, nout, in, nin, token);
	return r < 0 ? r : 0;
}

static int write_kick(struct vio_vu_fe_queue *q)
{
	uint64_t one = 1;

	if (write(q->kick_fd, &one, sizeof(one)) != (ssize_t) sizeof(one) && errno != EAGAIN)
		return -errno;
	return 1;
}

int vio_vu_fe_kick(struct vio_vu_fe *fe, uint16_t queue)
{
	struct vio_vu_fe_queue *q = queue_of(fe, queue);

	if (q == NULL)
		return -EINVAL;
	if (!vio_drvq_kick_prepare(&q->dq))
		return 0;
	return write_kick(q);
}

int vio_vu_fe_notify(struct vio_vu_fe *fe, uint16_t queue)
{
	struct vio_vu_fe_queue *q = queue_of(fe, queue);

	if (q == NULL)
		return -EINVAL;
	vio_drvq_kick_prepare(&q->dq);
	return write_kick(q);
}

int vio_vu_fe_get_used(struct vio_vu_fe *fe, uint16_t queue, void **token, uint32_t *len)
{
	struct vio_vu_fe_queue *q = queue_of(fe, queue);
	int r;

	if (q == NULL)
		return -EINVAL;
	r = vio_drvq_get_used(&q->dq, token, len);
	if (r < 0)
		return fail(fe, -EPROTO, "queue %u: the backend returned a bad used entry", queue);
	return r;
}

int vio_vu_fe_wait(struct vio_vu_fe *fe, uint16_t queue, int timeout_ms)
{
	struct vio_vu_fe_queue *q = queue_of(fe, queue);
	int64_t deadline = now_ms() + timeout_ms;

	if (q == NULL)
		return -EINVAL;
	for (;;) {
		struct pollfd p[3] = {{.fd = q->call_fd, .events = POLLIN},
				      {.fd = fe->sock, .events = POLLRDHUP},
				      {.fd = fe->backend_fd, .events = POLLIN}};
		int r;

		/* Re-arms the interrupt and closes the race with a used entry landing meanwhile. */
		if (vio_drvq_cb_enable(&q->dq))
			return 1;
		r = poll(p, fe->backend_fd >= 0 ? 3 : 2, remaining(deadline));
		if (r < 0 && errno != EINTR)
			return -errno;
		if (r == 0)
			return vio_drvq_cb_enable(&q->dq) ? 1 : 0;
		if (r < 0)
			continue;
		if (p[0].revents & POLLIN)
			drain_eventfd(q->call_fd);
		if (p[1].revents & (POLLRDHUP | POLLHUP | POLLERR))
			return vio_drvq_cb_enable(&q->dq)
				   ? 1
				   : fail(fe, -ECONNRESET, "backend hung up");
		if (p[2].revents != 0 && vio_vu_fe_backend_poll(fe, 0) < 0) {
			close(fe->backend_fd);
			fe->backend_fd = -1;
		}
	}
}

int vio_vu_fe_wait_used(struct vio_vu_fe *fe, uint16_t queue, void **token, uint32_t *len,
			int timeout_ms)
{
	int r = vio_vu_fe_get_used(fe, queue, token, len);

	if (r != 0)
		return r;
	r = vio_vu_fe_wait(fe, queue, timeout_ms);
	if (r <= 0)
		return r;
	return vio_vu_fe_get_used(fe, queue, token, len);
}
