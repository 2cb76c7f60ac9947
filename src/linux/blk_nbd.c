/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-blk provider over an NBD export, through libnbd's asynchronous API.
 *
 * Each request takes an operation (struct vio_host_nbd_op) that counts the NBD
 * commands it is waiting for. libnbd calls cmd_done from inside
 * nbd_aio_notify_read (or from inside an issuing call when the connection
 * dies then): cmd_done only counts, and a finished operation goes on the done
 * list, completed to the device afterwards by service(), outside libnbd. A
 * device completion may issue the next requests at once, which then never
 * runs inside one of libnbd's callbacks.
 *
 * Data segments: NBD reads and writes take one contiguous buffer, the driver's
 * data comes as a list of segments. Neighbouring segments contiguous in our
 * address space are merged, each run becomes one command (split at the
 * export's maximum request size), issued on the driver's buffer itself. A
 * bounce buffer would turn a multi-segment request into one command, but at
 * the price of a copy of every byte and of a buffer per request in flight;
 * Linux's virtio-blk usually hands over guest-contiguous pages that merge, and
 * the commands of one request go out back to back on the same socket.
 *
 * Connection loss: libnbd marks the handle dead. service() sees that, closes
 * the handle (no callback of it can run after that, and it writes into no
 * buffer any more), fails every operation still waiting and arms the
 * reconnection timer. A handle is never reused: each attempt gets a new one.
 */
#include <errno.h>
#include <libnbd.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

#include "vioport/internal/errmsg.h"
#include "vioport/linux_nbd.h"
#include "vioport/log.h"

struct vio_host_nbd_op {
	struct vio_host_nbd *n;
	struct vio_blk_req *req;
	struct vio_host_nbd_op *next; /* free list or done list */
	uint32_t pending;	      /* commands not answered, plus one while issuing */
	uint32_t answered;	      /* callbacks run, to tell whether a failed issue called one */
	bool failed;
	bool busy;
};

/* ---------------------------------------------------------------- URIs */

bool vio_host_nbd_is_uri(const char *s)
{
	return strncmp(s, "nbd://", 6) == 0 || strncmp(s, "nbd+unix://", 11) == 0 ||
	       strncmp(s, "nbds://", 7) == 0 || strncmp(s, "nbds+unix://", 12) == 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Copies s[0..len) percent-decoded into out; 0, -EINVAL or -ENAMETOOLONG. */
static int pct_decode(const char *s, size_t len, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return -EINVAL;
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return -EINVAL;
			c = (char) (hi * 16 + lo);
			i += 2;
		}
		if (o + 1 >= cap)
			return -ENAMETOOLONG;
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* nbd+unix:///[EXPORT]?socket=PATH */
static int parse_unix(const char *rest, struct vio_host_nbd_addr *a, char *err, size_t errlen)
{
	struct sockaddr_un *sun = (struct sockaddr_un *) &a->ss;
	const char *q = strchr(rest, '?');
	char path[sizeof(sun->sun_path)];
	int rc;

	if (rest[0] != '/') {
		vio_errmsg(err, errlen,
			   "nbd+unix:// takes no host: nbd+unix:///EXPORT?socket=PATH");
		return -EINVAL;
	}
	if (q == NULL || strncmp(q + 1, "socket=", 7) != 0 || strchr(q + 1, '&') != NULL) {
		vio_errmsg(err, errlen, "nbd+unix:// needs ?socket=PATH and nothing else");
		return -EINVAL;
	}
	rc = pct_decode(rest + 1, (size_t) (q - rest - 1), a->export_name, sizeof(a->export_name));
	if (rc == 0)
		rc = pct_decode(q + 8, strlen(q + 8), path, sizeof(path));
	if (rc == 0 && path[0] == '\0')
		rc = -EINVAL;
	if (rc < 0) {
		vio_errmsg(err, errlen, "bad export name or socket path in '%s'", rest);
		return rc;
	}
	memset(&a->ss, 0, sizeof(a->ss));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, strlen(path) + 1);
	a->len = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1);
	a->unix_socket = true;
	a->port = 0;
	snprintf(a->desc, sizeof(a->desc), "%s/%s", path, a->export_name);
	return 0;
}

/* nbd://HOST[:PORT][/EXPORT], HOST a name, an IPv4 address or [IPv6]. */
static int parse_tcp(const char *rest, struct vio_host_nbd_addr *a, char *err, size_t errlen)
{
	const char *slash = strchr(rest, '/');
	const char *auth_end = slash != NULL ? slash : rest + strlen(rest);
	const char *host = rest, *host_end, *port = NULL;
	char hostbuf[VIO_HOST_NBD_NAME_MAX], portbuf[8];
	struct addrinfo hints, *res = NULL;
	unsigned long pn = VIO_HOST_NBD_PORT;
	int rc;

	if (strchr(rest, '?') != NULL) {
		vio_errmsg(err, errlen,
			   "nbd:// takes no query (TLS and other options unsupported)");
		return -EINVAL;
	}
	if (host[0] == '[') {
		host_end = memchr(host, ']', (size_t) (auth_end - host));
		if (host_end == NULL) {
			vio_errmsg(err, errlen, "unclosed '[' in '%s'", rest);
			return -EINVAL;
		}
		host++;
		if (host_end + 1 < auth_end && host_end[1] == ':')
			port = host_end + 2;
		else if (host_end + 1 != auth_end) {
			vio_errmsg(err, errlen, "junk after ']' in '%s'", rest);
			return -EINVAL;
		}
	} else {
		host_end = memchr(host, ':', (size_t) (auth_end - host));
		if (host_end != NULL)
			port = host_end + 1;
		else
			host_end = auth_end;
	}
	if (host_end == host || (size_t) (host_end - host) >= sizeof(hostbuf)) {
		vio_errmsg(err, errlen, "no host, or a host too long, in '%s'", rest);
		return -EINVAL;
	}
	memcpy(hostbuf, host, (size_t) (host_end - host));
	hostbuf[host_end - host] = '\0';
	if (port != NULL) {
		char *end;

		errno = 0;
		pn = strtoul(port, &end, 10);
		if (end == port || end != auth_end || errno != 0 || pn == 0 || pn > 65535) {
			vio_errmsg(err, errlen, "bad port in '%s'", rest);
			return -EINVAL;
		}
	}
	rc = 0;
	a->export_name[0] = '\0';
	if (slash != NULL)
		rc = pct_decode(slash + 1, strlen(slash + 1), a->export_name,
				sizeof(a->export_name));
	if (rc < 0) {
		vio_errmsg(err, errlen, "bad export name in '%s'", rest);
		return rc;
	}
	snprintf(portbuf, sizeof(portbuf), "%lu", pn);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(hostbuf, portbuf, &hints, &res);
	if (rc != 0 || res == NULL) {
		vio_errmsg(err, errlen, "cannot resolve '%s': %s", hostbuf, gai_strerror(rc));
		return -ENOENT;
	}
	memcpy(&a->ss, res->ai_addr, res->ai_addrlen);
	a->len = res->ai_addrlen;
	freeaddrinfo(res);
	a->unix_socket = false;
	a->port = (uint16_t) pn;
	snprintf(a->desc, sizeof(a->desc), "%s:%lu/%s", hostbuf, pn, a->export_name);
	return 0;
}

int vio_host_nbd_parse(const char *uri, struct vio_host_nbd_addr *a, char *err, size_t errlen)
{
	memset(a, 0, sizeof(*a));
	if (strncmp(uri, "nbds", 4) == 0) {
		vio_errmsg(err, errlen, "'%s': NBD over TLS (nbds) is not supported", uri);
		return -EINVAL;
	}
	if (strncmp(uri, "nbd+unix://", 11) == 0)
		return parse_unix(uri + 11, a, err, errlen);
	if (strncmp(uri, "nbd://", 6) == 0)
		return parse_tcp(uri + 6, a, err, errlen);
	vio_errmsg(err, errlen, "'%s' is not an nbd:// or nbd+unix:// URI", uri);
	return -EINVAL;
}

/* ---------------------------------------------------------------- helpers */

static void say(struct vio_host_nbd *n, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(struct vio_host_nbd *n, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (n->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	n->log(n->ctx, level, msg);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A new handle for n's export, not connected yet; NULL when libnbd cannot make one. */
static struct nbd_handle *new_handle(struct vio_host_nbd *n)
{
	struct nbd_handle *h = nbd_create();

	if (h == NULL)
		return NULL;
	/* Reads land in driver buffers only returned on success: no need to zero them first. */
	if (nbd_set_export_name(h, n->addr.export_name) < 0 ||
	    nbd_set_pread_initialize(h, false) < 0) {
		nbd_close(h);
		return NULL;
	}
	return h;
}

/* Starts connecting h to n's address without blocking; 0 or -1 (libnbd's error set). */
static int start_connect(struct vio_host_nbd *n, struct nbd_handle *h)
{
	return nbd_aio_connect(h, (const struct sockaddr *) &n->addr.ss, n->addr.len);
}

static uint32_t clamp_u32(int64_t v, uint32_t dflt, uint32_t lo, uint32_t hi)
{
	if (v <= 0)
		v = dflt;
	if (v < lo)
		v = lo;
	if (v > hi)
		v = hi;
	return (uint32_t) v;
}

/* Reads what a freshly negotiated handle offers into n. */
static int read_export(struct vio_host_nbd *n, struct nbd_handle *h, char *err, size_t errlen)
{
	int64_t size = nbd_get_size(h);

	if (size < (int64_t) VIO_BLK_SECTOR_SIZE) {
		vio_errmsg(err, errlen, "export '%s' is %s", n->addr.desc,
			   size < 0 ? nbd_get_error() : "smaller than one sector");
		return -EINVAL;
	}
	n->size = (uint64_t) size;
	n->can_flush = nbd_can_flush(h) > 0;
	n->can_fua = nbd_can_fua(h) > 0;
	n->can_trim = nbd_can_trim(h) > 0;
	n->can_zero = nbd_can_zero(h) > 0;
	n->read_only = n->read_only || nbd_is_read_only(h) > 0;
	n->min_block = clamp_u32(nbd_get_block_size(h, LIBNBD_SIZE_MINIMUM), 1, 1, 65536);
	n->pref_block =
	    clamp_u32(nbd_get_block_size(h, LIBNBD_SIZE_PREFERRED), 4096, 512, 1u << 21);
	/* libnbd refuses payloads over 64 MiB whatever the server says. */
	n->max_req = clamp_u32(nbd_get_block_size(h, LIBNBD_SIZE_MAXIMUM),
			       VIO_HOST_NBD_DEFAULT_MAX_REQ, 4096, 64u << 20);
	n->max_req &= ~(VIO_BLK_SECTOR_SIZE - 1);
	return 0;
}

/* ---------------------------------------------------------------- requests */

static int cmd_done(void *user_data, int *error)
{
	struct vio_host_nbd_op *op = user_data;
	struct vio_host_nbd *n = op->n;

	if (n->h == NULL || !op->busy)
		return 1; /* the handle is being closed: service() fails the operation */
	op->answered++;
	n->answers++;
	if (*error != 0)
		op->failed = true;
	if (--op->pending == 0) {
		op->next = n->done;
		n->done = op;
	}
	return 1;
}

static void put_op(struct vio_host_nbd *n, struct vio_host_nbd_op *op)
{
	op->busy = false;
	op->req = NULL;
	op->next = n->free_ops;
	n->free_ops = op;
	n->busy--;
}

/* An operation for req, or NULL when the request must fail at once. */
static struct vio_host_nbd_op *get_op(struct vio_host_nbd *n, struct vio_blk_req *req)
{
	struct vio_host_nbd_op *op = n->free_ops;

	if (n->state != VIO_HOST_NBD_READY || n->h == NULL) {
		n->stats.refused++;
		n->stats.errors++;
		return NULL;
	}
	if (op == NULL) {
		n->stats.errors++;
		return NULL;
	}
	n->free_ops = op->next;
	op->next = NULL;
	op->req = req;
	op->pending = 1; /* held while issuing */
	op->answered = 0;
	op->failed = false;
	op->busy = true;
	n->busy++;
	return op;
}

/* Accounts for one issue attempt: rc is libnbd's answer. */
static void issued(struct vio_host_nbd *n, struct vio_host_nbd_op *op, int64_t rc, uint32_t before)
{
	if (rc >= 0) {
		n->stats.commands++;
		return;
	}
	op->failed = true;
	/* libnbd calls no callback for a command it refused; undo its count. */
	if (op->answered == before)
		op->pending--;
}

/* Drops the issuing hold: the request's status now, or VIO_BLK_PENDING. */
static int end_issue(struct vio_host_nbd *n, struct vio_host_nbd_op *op)
{
	int status;

	if (--op->pending > 0)
		return VIO_BLK_PENDING;
	status = op->failed ? VIO_BLK_S_IOERR : VIO_BLK_S_OK;
	if (op->failed)
		n->stats.errors++;
	put_op(n, op);
	return status;
}

static nbd_completion_callback done_cb(struct vio_host_nbd_op *op)
{
	return (nbd_completion_callback){.callback = cmd_done, .user_data = op};
}

static int hn_rw(struct vio_host_nbd *n, bool write, uint64_t sector, const struct vio_iov *iov,
		 uint16_t niov, struct vio_blk_req *req)
{
	struct vio_host_nbd_op *op = get_op(n, req);
	uint64_t off = sector * VIO_BLK_SECTOR_SIZE;
	uint32_t flags = write && !n->writeback && n->can_fua ? LIBNBD_CMD_FLAG_FUA : 0;

	if (op == NULL)
		return VIO_BLK_S_IOERR;
	for (uint16_t i = 0; i < niov && !op->failed;) {
		uint8_t *base = iov[i].base;
		uint64_t len = iov[i].len;

		/* Merge the following segments that continue this one in memory. */
		for (i++; i < niov && base + len == iov[i].base; i++)
			len += iov[i].len;
		while (len > 0 && !op->failed) {
			size_t chunk = len > n->max_req ? n->max_req : (size_t) len;
			uint32_t before = op->answered;
			int64_t rc;

			op->pending++;
			rc = write ? nbd_aio_pwrite(n->h, base, chunk, off, done_cb(op), flags)
				   : nbd_aio_pread(n->h, base, chunk, off, done_cb(op), 0);
			issued(n, op, rc, before);
			base += chunk;
			off += chunk;
			len -= chunk;
		}
	}
	return end_issue(n, op);
}

static int hn_read(void *ctx, uint64_t sector, const struct vio_iov *iov, uint16_t niov,
		   struct vio_blk_req *req)
{
	struct vio_host_nbd *n = ctx;

	n->stats.reads++;
	return hn_rw(n, false, sector, iov, niov, req);
}

static int hn_write(void *ctx, uint64_t sector, const struct vio_iov *iov, uint16_t niov,
		    struct vio_blk_req *req)
{
	struct vio_host_nbd *n = ctx;

	n->stats.writes++;
	if (n->read_only)
		return VIO_BLK_S_IOERR;
	return hn_rw(n, true, sector, iov, niov, req);
}

static int hn_flush(void *ctx, struct vio_blk_req *req)
{
	struct vio_host_nbd *n = ctx;
	struct vio_host_nbd_op *op;
	uint32_t before;

	n->stats.flushes++;
	if (!n->can_flush)
		return VIO_BLK_S_OK; /* nothing cached on the server: writes are stable */
	op = get_op(n, req);
	if (op == NULL)
		return VIO_BLK_S_IOERR;
	before = op->answered;
	op->pending++;
	issued(n, op, nbd_aio_flush(n->h, done_cb(op), 0), before);
	return end_issue(n, op);
}

/* Trim or write zeroes over a range, split at what one NBD command carries (32-bit length). */
static int hn_range(struct vio_host_nbd *n, bool zero, uint64_t sector, uint32_t nsectors,
		    uint32_t flags, struct vio_blk_req *req)
{
	const uint64_t max = (UINT32_MAX / VIO_BLK_SECTOR_SIZE) * VIO_BLK_SECTOR_SIZE;
	struct vio_host_nbd_op *op = get_op(n, req);
	uint64_t off = sector * VIO_BLK_SECTOR_SIZE;
	uint64_t len = (uint64_t) nsectors * VIO_BLK_SECTOR_SIZE;

	if (op == NULL)
		return VIO_BLK_S_IOERR;
	while (len > 0 && !op->failed) {
		uint64_t chunk = len > max ? max : len;
		uint32_t before = op->answered;

		op->pending++;
		issued(n, op,
		       zero ? nbd_aio_zero(n->h, chunk, off, done_cb(op), flags)
			    : nbd_aio_trim(n->h, chunk, off, done_cb(op), flags),
		       before);
		off += chunk;
		len -= chunk;
	}
	return end_issue(n, op);
}

static int hn_discard(void *ctx, uint64_t sector, uint32_t nsectors, struct vio_blk_req *req)
{
	struct vio_host_nbd *n = ctx;

	n->stats.trims++;
	if (n->read_only || !n->can_trim)
		return VIO_BLK_S_UNSUPP;
	return hn_range(n, false, sector, nsectors, 0, req);
}

static int hn_write_zeroes(void *ctx, uint64_t sector, uint32_t nsectors, bool unmap,
			   struct vio_blk_req *req)
{
	struct vio_host_nbd *n = ctx;
	uint32_t flags = unmap ? 0 : LIBNBD_CMD_FLAG_NO_HOLE;

	n->stats.zeroes++;
	if (n->read_only || !n->can_zero)
		return VIO_BLK_S_UNSUPP;
	if (!n->writeback && n->can_fua)
		flags |= LIBNBD_CMD_FLAG_FUA;
	return hn_range(n, true, sector, nsectors, flags, req);
}

static void hn_set_writeback(void *ctx, bool writeback)
{
	struct vio_host_nbd *n = ctx;

	n->writeback = writeback;
}

const struct vio_blk_ops vio_host_nbd_ops = {
    .read = hn_read,
    .write = hn_write,
    .flush = hn_flush,
    .discard = hn_discard,
    .write_zeroes = hn_write_zeroes,
    .set_writeback = hn_set_writeback,
};

/* ---------------------------------------------------------------- the connection */

/* Completes the finished operations to the device, outside libnbd. */
static void finish_done(struct vio_host_nbd *n)
{
	while (n->done != NULL) {
		struct vio_host_nbd_op *op = n->done;
		struct vio_blk_req *req = op->req;
		int status = op->failed ? VIO_BLK_S_IOERR : VIO_BLK_S_OK;

		n->done = op->next;
		if (op->failed)
			n->stats.errors++;
		put_op(n, op);
		vio_blk_complete(req, status);
	}
}

static void on_timer(struct vio_loop_timer *t);

static void arm_timer(struct vio_host_nbd *n, uint32_t ms)
{
	if (n->loop != NULL &&
	    vio_loop_timer_start(n->loop, &n->t, (uint64_t) ms * 1000000u, 0, on_timer, n) < 0)
		say(n, VIO_LOG_ERR, "%s: cannot arm the reconnection timer", n->addr.desc);
}

/*
 * Drops the handle and fails what waited on it. After nbd_close no callback
 * of the handle runs and no buffer is written any more, so the requests can
 * go back to the driver.
 */
static void drop_handle(struct vio_host_nbd *n)
{
	struct nbd_handle *h = n->h;

	if (n->w.loop != NULL)
		vio_loop_remove(&n->w);
	n->watch_events = 0;
	n->h = NULL; /* cmd_done ignores calls from inside nbd_close */
	if (h != NULL)
		nbd_close(h);
	/* Operations already on the done list (nothing pending) stay there. */
	for (uint32_t i = 0; i < n->depth; i++) {
		struct vio_host_nbd_op *op = &n->ops[i];

		if (op->busy && op->pending > 0) {
			op->failed = true;
			op->pending = 0;
			op->next = n->done;
			n->done = op;
		}
	}
}

/* The connection is gone (or the attempt failed): fail, log once, retry later. */
static void lose(struct vio_host_nbd *n, const char *why)
{
	bool was_ready = n->state == VIO_HOST_NBD_READY;

	drop_handle(n);
	n->state = VIO_HOST_NBD_DOWN;
	n->watching = false;
	if (was_ready)
		n->stats.lost++;
	if (!n->outage_logged) {
		say(n, VIO_LOG_WARN,
		    "%s: connection lost (%s); requests fail until it is back, reconnecting",
		    n->addr.desc, why);
		n->outage_logged = true;
	}
	if (was_ready)
		n->backoff_ms = VIO_HOST_NBD_BACKOFF_MIN_MS;
	arm_timer(n, n->backoff_ms);
	n->backoff_ms = n->backoff_ms * 2 > VIO_HOST_NBD_BACKOFF_MAX_MS
			    ? VIO_HOST_NBD_BACKOFF_MAX_MS
			    : n->backoff_ms * 2;
	finish_done(n);
}

/* A new connection negotiated: check it still is the same disk, then serve. */
static void connected(struct vio_host_nbd *n)
{
	int64_t size = nbd_get_size(n->h);

	if (size < 0 || (uint64_t) size < n->size) {
		lose(n, "the export is smaller than it was");
		return;
	}
	if (!n->read_only && nbd_is_read_only(n->h) > 0)
		say(n, VIO_LOG_WARN, "%s: the export is read-only now: writes fail", n->addr.desc);
	n->state = VIO_HOST_NBD_READY;
	n->watching = false;
	n->backoff_ms = VIO_HOST_NBD_BACKOFF_MIN_MS;
	n->stats.reconnects++;
	say(n, VIO_LOG_INFO, "%s: connected again, serving", n->addr.desc);
	n->outage_logged = false;
}

static void on_io(struct vio_loop_watch *w, uint32_t revents);

/* Makes the watch follow libnbd's direction. */
static void update_watch(struct vio_host_nbd *n)
{
	unsigned dir = nbd_aio_get_direction(n->h);
	uint32_t ev = ((dir & LIBNBD_AIO_DIRECTION_READ) ? VIO_LOOP_IN : 0) |
		      ((dir & LIBNBD_AIO_DIRECTION_WRITE) ? VIO_LOOP_OUT : 0);
	int rc = 0;

	if (n->w.loop == NULL)
		rc = vio_loop_add(n->loop, &n->w, nbd_aio_get_fd(n->h), ev, on_io, n);
	else if (ev != n->watch_events)
		rc = vio_loop_modify(&n->w, ev);
	if (rc < 0) {
		lose(n, "cannot watch the socket");
		return;
	}
	n->watch_events = ev;
}

/* Looks at the connection after libnbd ran: completions, loss, handshake done, watch. */
static void service(struct vio_host_nbd *n)
{
	finish_done(n);
	if (n->h == NULL)
		return;
	if (nbd_aio_is_dead(n->h) || nbd_aio_is_closed(n->h)) {
		const char *e = nbd_get_error();

		lose(n, e != NULL ? e : "closed");
		return;
	}
	if (n->state == VIO_HOST_NBD_CONNECTING && nbd_aio_is_ready(n->h))
		connected(n);
	if (n->h != NULL && n->loop != NULL)
		update_watch(n);
	/* Requests in flight: watch that the server keeps answering. */
	if (n->state == VIO_HOST_NBD_READY && n->busy > 0 && !n->watching &&
	    n->timeout_ms != UINT32_MAX && n->loop != NULL) {
		n->watching = true;
		n->answers_seen = n->answers;
		arm_timer(n, n->timeout_ms);
	}
}

static void lock(struct vio_host_nbd *n)
{
	if (n->lock != NULL)
		n->lock(n->ctx);
}

static void unlock(struct vio_host_nbd *n)
{
	if (n->unlock != NULL)
		n->unlock(n->ctx);
}

/*
 * Whether the socket has something to read now. A readiness the loop reported
 * may be stale: libnbd reads replies while it issues commands too. libnbd
 * takes a read notification in its READY state as a promise that a reply is
 * there; on an empty socket it waits in REPLY.START and queues every later
 * command instead of sending it, which with nothing in flight never ends.
 */
static bool readable_now(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	while (poll(&p, 1, 0) < 0)
		if (errno != EINTR)
			return true; /* let libnbd find out what is wrong */
	return p.revents != 0;
}

static void on_io(struct vio_loop_watch *w, uint32_t revents)
{
	struct vio_host_nbd *n = w->ctx;

	lock(n);
	if (n->h != NULL) {
		unsigned dir = nbd_aio_get_direction(n->h);
		bool bad = revents & (VIO_LOOP_ERR | VIO_LOOP_HUP);

		if ((dir & LIBNBD_AIO_DIRECTION_READ) && (bad || (revents & VIO_LOOP_IN)) &&
		    readable_now(nbd_aio_get_fd(n->h)))
			nbd_aio_notify_read(n->h);
		if (n->h != NULL && (nbd_aio_get_direction(n->h) & LIBNBD_AIO_DIRECTION_WRITE) &&
		    (bad || (revents & VIO_LOOP_OUT)))
			nbd_aio_notify_write(n->h);
	}
	service(n);
	unlock(n);
}

/* Starts an attempt: a new handle and a connect that does not block. */
static void try_connect(struct vio_host_nbd *n)
{
	n->h = new_handle(n);
	if (n->h == NULL || start_connect(n, n->h) < 0) {
		const char *e = nbd_get_error();

		lose(n, e != NULL ? e : "cannot create a handle");
		return;
	}
	n->state = VIO_HOST_NBD_CONNECTING;
	arm_timer(n, VIO_HOST_NBD_CONNECT_MS); /* the attempt's bound */
	service(n);
}

static void on_timer(struct vio_loop_timer *t)
{
	struct vio_host_nbd *n = t->ctx;

	lock(n);
	if (n->state == VIO_HOST_NBD_DOWN) {
		try_connect(n);
	} else if (n->state == VIO_HOST_NBD_CONNECTING) {
		lose(n, "the server did not answer in time");
	} else if (n->watching) {
		n->watching = false;
		if (n->busy > 0 && n->answers == n->answers_seen) {
			char why[80];

			snprintf(why, sizeof(why), "no answer for %u ms with requests in flight",
				 n->timeout_ms);
			n->stats.timeouts++;
			lose(n, why);
		} else {
			service(n); /* still busy but answering: watch again */
		}
	}
	unlock(n);
}

static void kick_work(void *arg)
{
	struct vio_host_nbd *n = arg;

	lock(n);
	service(n);
	unlock(n);
}

void vio_host_nbd_kick(struct vio_host_nbd *n)
{
	bool need;

	if (n->loop == NULL)
		return;
	need = n->done != NULL || (n->busy > 0 && !n->watching && n->timeout_ms != UINT32_MAX);
	if (!need && n->h != NULL) {
		unsigned dir = nbd_aio_get_direction(n->h);

		need = nbd_aio_is_dead(n->h) ||
		       ((dir & LIBNBD_AIO_DIRECTION_WRITE) && !(n->watch_events & VIO_LOOP_OUT));
	}
	if (need)
		vio_loop_post(n->loop, &n->work, kick_work, n);
}

/* ---------------------------------------------------------------- set-up and teardown */

int vio_host_nbd_open(struct vio_host_nbd *n, const char *uri, const struct vio_host_nbd_options *o,
		      char *err, size_t errlen)
{
	int64_t deadline = now_ms() + VIO_HOST_NBD_CONNECT_MS;
	uint32_t depth = o != NULL && o->queue_depth > 0 ? o->queue_depth : 128u;
	int rc;

	memset(n, 0, sizeof(*n));
	rc = vio_host_nbd_parse(uri, &n->addr, err, errlen);
	if (rc < 0)
		return rc;
	n->read_only = o != NULL && o->read_only;
	n->writeback = true;
	n->timeout_ms = o != NULL && o->timeout_ms > 0 ? o->timeout_ms : VIO_HOST_NBD_TIMEOUT_MS;
	n->h = new_handle(n);
	if (n->h == NULL) {
		vio_errmsg(err, errlen, "libnbd: %s", nbd_get_error());
		return -ENOMEM;
	}
	if (start_connect(n, n->h) < 0) {
		vio_errmsg(err, errlen, "cannot connect to %s: %s", n->addr.desc, nbd_get_error());
		rc = nbd_get_errno() > 0 ? -nbd_get_errno() : -ECONNREFUSED;
		goto fail;
	}
	/* Start-up may block, boundedly: the daemon serves nothing yet. */
	while (nbd_aio_is_connecting(n->h)) {
		int64_t left = deadline - now_ms();

		if (left <= 0 || nbd_poll(n->h, (int) left) < 0)
			break;
	}
	if (!nbd_aio_is_ready(n->h)) {
		const char *e = nbd_aio_is_connecting(n->h) ? "timed out" : nbd_get_error();

		vio_errmsg(err, errlen, "cannot connect to %s: %s", n->addr.desc,
			   e != NULL ? e : "handshake failed");
		rc = nbd_aio_is_connecting(n->h) ? -ETIMEDOUT : -ECONNREFUSED;
		goto fail;
	}
	rc = read_export(n, n->h, err, errlen);
	if (rc < 0)
		goto fail;
	n->ops = calloc(depth, sizeof(*n->ops));
	if (n->ops == NULL) {
		rc = -ENOMEM;
		vio_errmsg(err, errlen, "out of memory");
		goto fail;
	}
	n->depth = depth;
	for (uint32_t i = depth; i-- > 0;) {
		n->ops[i].n = n;
		n->ops[i].next = n->free_ops;
		n->free_ops = &n->ops[i];
	}
	n->state = VIO_HOST_NBD_READY;
	n->backoff_ms = VIO_HOST_NBD_BACKOFF_MIN_MS;
	vio_loop_timer_init(&n->t);
	return 0;
fail:
	nbd_close(n->h);
	n->h = NULL;
	return rc;
}

int vio_host_nbd_attach(struct vio_host_nbd *n, struct vio_loop *loop, void (*lockf)(void *ctx),
			void (*unlockf)(void *ctx),
			void (*log)(void *ctx, int level, const char *msg), void *ctx)
{
	n->loop = loop;
	n->lock = lockf;
	n->unlock = unlockf;
	n->log = log;
	n->ctx = ctx;
	if (n->h == NULL) {
		arm_timer(n, n->backoff_ms);
		return 0;
	}
	update_watch(n);
	return n->w.loop != NULL || n->h == NULL ? 0 : -EIO;
}

void vio_host_nbd_drain(struct vio_host_nbd *n, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	finish_done(n);
	while (n->busy > 0 && n->h != NULL) {
		int64_t left = deadline - now_ms();
		unsigned dir = nbd_aio_get_direction(n->h);
		struct pollfd p = {.fd = nbd_aio_get_fd(n->h)};

		if (left <= 0) {
			lose(n, "requests did not finish in time");
			break;
		}
		p.events = (short) (((dir & LIBNBD_AIO_DIRECTION_READ) ? POLLIN : 0) |
				    ((dir & LIBNBD_AIO_DIRECTION_WRITE) ? POLLOUT : 0));
		if (poll(&p, 1, (int) left) < 0 && errno != EINTR) {
			lose(n, "poll failed");
			break;
		}
		if (p.revents & (POLLIN | POLLHUP | POLLERR) && (dir & LIBNBD_AIO_DIRECTION_READ))
			nbd_aio_notify_read(n->h);
		if (p.revents & (POLLOUT | POLLHUP | POLLERR) &&
		    (nbd_aio_get_direction(n->h) & LIBNBD_AIO_DIRECTION_WRITE))
			nbd_aio_notify_write(n->h);
		service(n);
	}
	finish_done(n);
}

unsigned vio_host_nbd_inflight(const struct vio_host_nbd *n)
{
	return n->busy;
}

void vio_host_nbd_close(struct vio_host_nbd *n)
{
	if (n->w.loop != NULL)
		vio_loop_remove(&n->w);
	vio_loop_timer_stop(&n->t);
	if (n->h != NULL) {
		struct nbd_handle *h = n->h;

		n->h = NULL;
		nbd_close(h);
	}
	free(n->ops);
	n->ops = NULL;
	n->free_ops = NULL;
	n->done = NULL;
	n->depth = 0;
	n->busy = 0;
}

/* ---------------------------------------------------------------- what is offered */

static uint8_t log2u(uint32_t v)
{
	uint8_t e = 0;

	while (v > 1) {
		v >>= 1;
		e++;
	}
	return e;
}

void vio_host_nbd_params(const struct vio_host_nbd *n, struct vio_blk_params *bp)
{
	uint32_t blk = VIO_BLK_SECTOR_SIZE;
	/* A discard or write-zeroes segment: a 32-bit NBD length, in whole sectors. */
	uint32_t max_range = (1u << 22) - 1;

	while (blk < n->min_block && blk < 65536)
		blk <<= 1;
	bp->capacity = n->size / VIO_BLK_SECTOR_SIZE;
	bp->features |= VIO_BIT(VIO_BLK_F_BLK_SIZE) | VIO_BIT(VIO_BLK_F_TOPOLOGY);
	bp->blk_size = blk;
	bp->physical_block_exp = n->pref_block > blk ? log2u(n->pref_block / blk) : 0;
	bp->min_io_size = (uint16_t) (n->pref_block > blk ? n->pref_block / blk : 1);
	bp->opt_io_size = 0;
	/*
	 * No SIZE_MAX: SeaBIOS (QEMU's x86 firmware) turns SIZE_MAX into a
	 * 16-bit count of blocks per request, which wraps to zero for the sizes
	 * NBD servers announce (it then loops on empty reads and never boots).
	 * A segment longer than max_req is split into several commands instead.
	 */
	if (n->read_only) {
		bp->features |= VIO_BIT(VIO_BLK_F_RO);
		return;
	}
	if (n->can_flush) {
		bp->features |= VIO_BIT(VIO_BLK_F_FLUSH);
		if (n->can_fua) {
			bp->features |= VIO_BIT(VIO_BLK_F_CONFIG_WCE);
			bp->writeback = true;
		}
	}
	if (n->can_trim) {
		bp->features |= VIO_BIT(VIO_BLK_F_DISCARD);
		bp->max_discard_sectors = max_range;
		bp->max_discard_seg = 16;
		bp->discard_sector_alignment = blk / VIO_BLK_SECTOR_SIZE;
	}
	if (n->can_zero) {
		bp->features |= VIO_BIT(VIO_BLK_F_WRITE_ZEROES);
		bp->max_write_zeroes_sectors = max_range;
		bp->max_write_zeroes_seg = 16;
		bp->write_zeroes_may_unmap = true;
	}
}

void vio_host_nbd_default_serial(const struct vio_host_nbd *n, char serial[VIO_BLK_ID_BYTES])
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a over the address and export */
	char buf[VIO_BLK_ID_BYTES + 1];

	for (const char *s = n->addr.desc; *s != '\0'; s++)
		h = (h ^ (uint8_t) *s) * 1099511628211ull;
	snprintf(buf, sizeof(buf), "nbd-%016llx", (unsigned long long) h);
	memcpy(serial, buf, VIO_BLK_ID_BYTES);
}
