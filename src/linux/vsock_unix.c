/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-vsock streams on UNIX sockets (vioport/linux_vsock.h).
 *
 * The device's operations run on its queue threads; a loop's watches may be
 * changed only on the loop's thread. So the operations touch descriptors
 * only to read and write them, and record the rest (connect, close, the
 * outcome of a host connection, which direction to watch) in the slot's
 * host end, then post the slot's sync work: it runs on the loop's thread
 * with the device's lock held and does the recorded steps in order (close
 * before connect, so a slot the device reuses at once starts clean).
 *
 * Each socket is watched only for what the device waits for: readable after
 * a read found nothing (the device then calls recv again on
 * vio_vsock_host_readable), writable after a write found no room (then
 * vio_vsock_host_writable). A socket that hung up is read once more to its
 * end and then not watched at all, so nothing spins.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vioport/errno.h"
#include "vioport/internal/unixsock.h"
#include "vioport/linux_vsock.h"

static void lock(struct vio_host_vsock *hv)
{
	if (hv->lock != NULL)
		hv->lock(hv->ctx);
}

static void unlock(struct vio_host_vsock *hv)
{
	if (hv->unlock != NULL)
		hv->unlock(hv->ctx);
}

static void on_conn(struct vio_loop_watch *w, uint32_t revents);
static void shut_socket(struct vio_host_vsock_conn *c, uint32_t flags);

/* The slot's watch follows rx_wait and tx_wait; loop thread, locked. */
static void resync(struct vio_host_vsock_conn *c)
{
	uint32_t want = (c->rx_wait ? VIO_LOOP_IN : 0) | (c->tx_wait ? VIO_LOOP_OUT : 0);

	/* A host connection waiting for the guest's answer is not watched yet. */
	if (c->fd < 0 || c->hv->loop == NULL || !c->streaming)
		return;
	if (c->hup) {
		vio_loop_remove(&c->w);
		c->watched = 0;
		return;
	}
	if (c->w.loop == NULL) {
		if (vio_loop_add(c->hv->loop, &c->w, c->fd, want, on_conn, c) == 0)
			c->watched = want;
	} else if (want != c->watched && vio_loop_modify(&c->w, want) == 0) {
		c->watched = want;
	}
}

/* Closes the slot's socket and forgets the stream; loop thread, locked. */
static void close_slot(struct vio_host_vsock_conn *c)
{
	vio_loop_remove(&c->w);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->watched = 0;
	c->rx_wait = c->tx_wait = c->eof = c->hup = c->streaming = false;
}

/* Starts a stream on the slot's socket: wait for the host's data. */
static void start_stream(struct vio_host_vsock_conn *c)
{
	c->streaming = true;
	c->rx_wait = true;
	resync(c);
}

/* The guest connects to host port c->host_port: connect to PATH_<port>. */
static int connect_host(struct vio_host_vsock_conn *c)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int n = snprintf(a.sun_path, sizeof(a.sun_path), "%s_%u", c->hv->path, c->host_port);
	int fd;

	if (n < 0 || (size_t) n >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* A UNIX connect completes at once or fails (a full backlog too: refused). */
	if (connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	c->fd = fd;
	return 0;
}

static void sync_work(void *arg)
{
	struct vio_host_vsock_conn *c = arg;
	struct vio_host_vsock *hv = c->hv;

	lock(hv);
	if (c->want_close) {
		c->want_close = false;
		close_slot(c);
	}
	if (c->want_connect) {
		int rc;

		c->want_connect = false;
		close_slot(c);
		rc = connect_host(c);
		if (rc == 0) {
			hv->stats.guest_connects++;
			if (hv->dev != NULL)
				(void) vio_vsock_host_accept(hv->dev, c->slot, 0);
			start_stream(c);
		} else {
			hv->stats.guest_refused++;
			if (hv->dev != NULL)
				(void) vio_vsock_host_accept(hv->dev, c->slot, -VIO_ECONNRESET);
		}
	}
	if (c->want_answer) {
		c->want_answer = false;
		if (c->answer == 0 && c->fd >= 0 && hv->dev != NULL) {
			char ok[32];
			int n =
			    snprintf(ok, sizeof(ok), "OK %u\n", hv->dev->conns[c->slot].host_port);

			/* A fresh socket has room for a line; if not, the program is not reading.
			 */
			if (send(c->fd, ok, (size_t) n, MSG_NOSIGNAL | MSG_DONTWAIT) == n) {
				hv->stats.host_connects++;
				start_stream(c);
				/* A shutdown the guest sent before the line went out. */
				if (hv->dev->conns[c->slot].peer_shut != 0)
					shut_socket(c, hv->dev->conns[c->slot].peer_shut);
			} else {
				(void) vio_vsock_host_reset(hv->dev, c->slot);
				close_slot(c);
			}
		} else {
			hv->stats.host_refused++;
			close_slot(c);
		}
	}
	resync(c);
	unlock(hv);
}

static void post(struct vio_host_vsock_conn *c)
{
	if (c->hv->loop != NULL)
		vio_loop_post(c->hv->loop, &c->sync, sync_work, c);
}

static void on_conn(struct vio_loop_watch *w, uint32_t revents)
{
	struct vio_host_vsock_conn *c = w->ctx;
	struct vio_host_vsock *hv = c->hv;
	bool gone = revents & (VIO_LOOP_HUP | VIO_LOOP_ERR);

	lock(hv);
	if (gone) {
		/* Read what is left to its end (recv turns that into a SHUTDOWN), then stop. */
		c->hup = true;
		if (!c->eof)
			c->rx_wait = true;
	}
	if (c->rx_wait && (revents & VIO_LOOP_IN || gone)) {
		c->rx_wait = false;
		if (hv->dev != NULL)
			vio_vsock_host_readable(hv->dev, c->slot);
	}
	if (c->tx_wait && (revents & VIO_LOOP_OUT || gone)) {
		c->tx_wait = false;
		if (hv->dev != NULL)
			vio_vsock_host_writable(hv->dev, c->slot);
	}
	resync(c);
	unlock(hv);
}

/* ---------------------------------------------------------------- host connections */

static void drop_newcomer(struct vio_host_vsock_newcomer *nc)
{
	vio_loop_remove(&nc->w);
	if (nc->fd >= 0)
		close(nc->fd);
	nc->fd = -1;
}

/* "CONNECT <port>" into *port; false for anything else. */
static bool parse_connect(const char *line, uint32_t *port)
{
	char *end;
	unsigned long v;

	if (strncmp(line, "CONNECT ", 8) != 0 || line[8] < '0' || line[8] > '9')
		return false;
	errno = 0;
	v = strtoul(line + 8, &end, 10);
	if (errno != 0 || *end != '\0' || v > UINT32_MAX)
		return false;
	*port = (uint32_t) v;
	return true;
}

/* A whole CONNECT line arrived: ask the guest; the slot takes the socket. */
static void newcomer_line(struct vio_host_vsock_newcomer *nc)
{
	struct vio_host_vsock *hv = nc->hv;
	uint32_t port;
	int slot = -1;

	if (nc->len > 0 && nc->line[nc->len - 1] == '\r')
		nc->line[--nc->len] = '\0';
	lock(hv);
	if (parse_connect(nc->line, &port) && hv->dev != NULL)
		slot = vio_vsock_host_connect(hv->dev, port, 0);
	if (slot >= 0 && (uint32_t) slot < hv->nconn) {
		struct vio_host_vsock_conn *c = &hv->conns[slot];

		/* The device freed the slot; its old socket may not be closed yet. */
		close_slot(c);
		c->want_close = false;
		vio_loop_remove(&nc->w);
		c->fd = nc->fd; /* not watched until the guest answers */
		nc->fd = -1;
	} else {
		hv->stats.host_refused++;
		drop_newcomer(nc);
	}
	unlock(hv);
}

static void on_newcomer(struct vio_loop_watch *w, uint32_t revents)
{
	struct vio_host_vsock_newcomer *nc = w->ctx;

	(void) revents;
	/* Byte by byte: what follows the line is the stream's, left in the socket. */
	while (nc->fd >= 0) {
		char ch;
		ssize_t n = recv(nc->fd, &ch, 1, MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			return;
		if (n <= 0 || nc->len + 1 >= sizeof(nc->line)) {
			nc->hv->stats.host_refused++;
			drop_newcomer(nc);
			return;
		}
		if (ch == '\n') {
			nc->line[nc->len] = '\0';
			newcomer_line(nc);
			return;
		}
		nc->line[nc->len++] = ch;
	}
}

static void on_listen(struct vio_loop_watch *w, uint32_t revents)
{
	struct vio_host_vsock *hv = w->ctx;
	int fd = accept4(hv->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	(void) revents;
	if (fd < 0)
		return;
	for (unsigned i = 0; i < VIO_HOST_VSOCK_NEWCOMERS; i++) {
		struct vio_host_vsock_newcomer *nc = &hv->newcomers[i];

		if (nc->fd >= 0)
			continue;
		nc->fd = fd;
		nc->len = 0;
		if (vio_loop_add(hv->loop, &nc->w, fd, VIO_LOOP_IN, on_newcomer, nc) == 0)
			return;
		nc->fd = -1;
		break;
	}
	/* Too many connections still saying what they want: this one waits no longer. */
	hv->stats.host_refused++;
	close(fd);
}

/* ---------------------------------------------------------------- provider ops */

static struct vio_host_vsock_conn *slot_of(void *ctx, uint32_t conn)
{
	struct vio_host_vsock *hv = ctx;

	return conn < hv->nconn ? &hv->conns[conn] : NULL;
}

static int hv_connect(void *ctx, uint32_t conn, uint32_t host_port, uint32_t guest_port)
{
	struct vio_host_vsock_conn *c = slot_of(ctx, conn);

	(void) guest_port;
	if (c == NULL)
		return -VIO_EINVAL;
	c->want_connect = true;
	c->host_port = host_port;
	post(c);
	return VIO_VSOCK_PENDING;
}

static void hv_connected(void *ctx, uint32_t conn, int result)
{
	struct vio_host_vsock_conn *c = slot_of(ctx, conn);

	if (c == NULL)
		return;
	c->want_answer = true;
	c->answer = result;
	post(c);
}

static int hv_send(void *ctx, uint32_t conn, const uint8_t *data, uint32_t len)
{
	struct vio_host_vsock_conn *c = slot_of(ctx, conn);
	ssize_t n;

	if (c == NULL || c->fd < 0)
		return -VIO_ECONNRESET;
	/*
	 * A host program's connection gets its "OK <port>" line first, from the
	 * loop: data a guest sends right after accepting waits in the device
	 * until the stream starts (its watch then says writable).
	 */
	if (!c->streaming) {
		c->tx_wait = true;
		return 0;
	}
	n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
		return -VIO_ECONNRESET; /* the host end is gone: the guest gets an RST */
	if (n < 0 || (uint32_t) n < len) {
		c->tx_wait = true;
		post(c);
	}
	return n < 0 ? 0 : (int) n;
}

static int hv_recv(void *ctx, uint32_t conn, uint8_t *buf, uint32_t len)
{
	struct vio_host_vsock_conn *c = slot_of(ctx, conn);
	struct vio_host_vsock *hv = ctx;
	ssize_t n;

	if (c == NULL || c->fd < 0 || c->eof)
		return 0;
	n = recv(c->fd, buf, len, MSG_DONTWAIT);
	if (n > 0)
		return (int) n;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		c->rx_wait = true;
		post(c);
		return 0;
	}
	if (n < 0)
		return -VIO_ECONNRESET;
	/* End of stream: the host will send no more. */
	c->eof = true;
	(void) vio_vsock_host_shutdown(hv->dev, conn, VIO_VSOCK_SHUTDOWN_SEND);
	post(c);
	return 0;
}

/* Passes the guest's shutdown flags on to the socket. */
static void shut_socket(struct vio_host_vsock_conn *c, uint32_t flags)
{
	if ((flags & VIO_VSOCK_SHUTDOWN_BOTH) == VIO_VSOCK_SHUTDOWN_BOTH)
		(void) shutdown(c->fd, SHUT_RDWR);
	else if (flags & VIO_VSOCK_SHUTDOWN_SEND)
		(void) shutdown(c->fd, SHUT_WR); /* the guest sends no more: end of stream */
	else if (flags & VIO_VSOCK_SHUTDOWN_RCV)
		(void) shutdown(c->fd, SHUT_RD);
}

static void hv_shutdown(void *ctx, uint32_t conn, uint32_t flags)
{
	struct vio_host_vsock_conn *c = slot_of(ctx, conn);

	/* Before a host program's OK line the socket stays open: the start applies them. */
	if (c == NULL || c->fd < 0 || !c->streaming)
		return;
	shut_socket(c, flags);
}

static void hv_closed(void *ctx, uint32_t conn, int reason)
{
	struct vio_host_vsock_conn *c = slot_of(ctx, conn);

	(void) reason;
	if (c == NULL)
		return;
	c->want_close = true;
	c->want_connect = false;
	c->want_answer = false;
	post(c);
}

const struct vio_vsock_ops vio_host_vsock_ops = {
    .connect = hv_connect,
    .connected = hv_connected,
    .send = hv_send,
    .recv = hv_recv,
    .shutdown = hv_shutdown,
    .closed = hv_closed,
};

/* ---------------------------------------------------------------- set-up */

int vio_host_vsock_open(struct vio_host_vsock *hv, const char *path,
			struct vio_host_vsock_conn *conns, uint32_t nconn)
{
	struct sockaddr_un a;
	int fd;

	memset(hv, 0, sizeof(*hv));
	hv->listen_fd = -1;
	memset(conns, 0, (size_t) nconn * sizeof(*conns));
	hv->conns = conns;
	hv->nconn = nconn;
	for (uint32_t i = 0; i < nconn; i++) {
		conns[i].hv = hv;
		conns[i].slot = i;
		conns[i].fd = -1;
	}
	for (unsigned i = 0; i < VIO_HOST_VSOCK_NEWCOMERS; i++) {
		hv->newcomers[i].hv = hv;
		hv->newcomers[i].fd = -1;
	}
	if (path == NULL || path[0] == '\0')
		return -EINVAL;
	/* Room for "_<port>" after it: guest connections go to PATH_<port>. */
	if (strlen(path) + 12 >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(hv->path, path, strlen(path) + 1);
	/* An earlier run's socket is replaced; a live server's, or another file, is not. */
	fd = vio_unix_listen(path, 16, NULL, NULL, 0);
	if (fd < 0)
		return fd;
	hv->listen_fd = fd;
	return 0;
}

int vio_host_vsock_attach(struct vio_host_vsock *hv, struct vio_vsock *dev, struct vio_loop *loop,
			  void (*lockf)(void *ctx), void (*unlockf)(void *ctx), void *ctx)
{
	hv->dev = dev;
	hv->loop = loop;
	hv->lock = lockf;
	hv->unlock = unlockf;
	hv->ctx = ctx;
	return vio_loop_add(loop, &hv->lw, hv->listen_fd, VIO_LOOP_IN, on_listen, hv);
}

void vio_host_vsock_close(struct vio_host_vsock *hv)
{
	for (uint32_t i = 0; i < hv->nconn; i++)
		close_slot(&hv->conns[i]);
	for (unsigned i = 0; i < VIO_HOST_VSOCK_NEWCOMERS; i++)
		drop_newcomer(&hv->newcomers[i]);
	vio_loop_remove(&hv->lw);
	if (hv->listen_fd >= 0) {
		close(hv->listen_fd);
		(void) unlink(hv->path);
	}
	hv->listen_fd = -1;
	hv->dev = NULL;
	hv->loop = NULL;
}
