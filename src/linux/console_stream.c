/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-console ports on pseudo-terminals and UNIX sockets
 * (vioport/linux_console.h).
 *
 * Each port's descriptor is watched only for what the device waits for:
 * readable while the device holds a receive buffer that found nothing
 * (rx_wait), writable while the device holds bytes the other end had no room
 * for (tx_wait). A level-triggered watch on a readable descriptor nobody
 * reads would spin the loop, so the watch follows those two flags, and the
 * device's calls (on queue threads) post the change to the loop's thread.
 *
 * A pty's master reports a hang-up while no program has the slave open; then
 * nothing is watched and a timer looks again every PROBE_MS.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "vioport/errno.h"
#include "vioport/internal/unixsock.h"
#include "vioport/linux_console.h"

#define PROBE_MS 200u

static void lock(struct vio_host_console *hc)
{
	if (hc->lock != NULL)
		hc->lock(hc->ctx);
}

static void unlock(struct vio_host_console *hc)
{
	if (hc->unlock != NULL)
		hc->unlock(hc->ctx);
}

/* What a port's descriptor reports right now, without waiting. */
static short poll_now(int fd, short events)
{
	struct pollfd p = {.fd = fd, .events = events};

	while (poll(&p, 1, 0) < 0)
		if (errno != EINTR)
			return POLLERR;
	return p.revents;
}

static void on_fd(struct vio_loop_watch *w, uint32_t revents);
static void on_probe(struct vio_loop_timer *t);

/*
 * Brings the fd's watch (or the pty's probe) in line with the port; loop
 * thread, locked. A watch asking for nothing still reports the other end's
 * hang-up.
 */
static void resync(struct vio_host_console_port *p)
{
	struct vio_host_console *hc = p->hc;
	uint32_t want;

	if (hc->loop == NULL || p->fd < 0)
		return;
	if (p->kind == VIO_HOST_CONSOLE_PTY && !p->peer) {
		/* Its hang-up stays reported while nobody is there: look now and then. */
		if (p->w.loop != NULL)
			vio_loop_remove(&p->w);
		p->watched = 0;
		if (!vio_loop_timer_running(&p->probe))
			(void) vio_loop_timer_start(hc->loop, &p->probe, PROBE_MS * 1000000ull,
						    PROBE_MS * 1000000ull, on_probe, p);
		return;
	}
	want = (p->rx_wait ? VIO_LOOP_IN : 0) | (p->tx_wait ? VIO_LOOP_OUT : 0);
	if (p->w.loop == NULL) {
		if (vio_loop_add(hc->loop, &p->w, p->fd, want, on_fd, p) == 0)
			p->watched = want;
	} else if (want != p->watched && vio_loop_modify(&p->w, want) == 0) {
		p->watched = want;
	}
}

static void drop_client(struct vio_host_console_port *p);
static void set_peer(struct vio_host_console_port *p, bool peer);

static void sync_work(void *arg)
{
	struct vio_host_console_port *p = arg;

	lock(p->hc);
	if (p->gone) {
		/* A read found the end of the stream: the other end left. */
		p->gone = false;
		if (p->kind == VIO_HOST_CONSOLE_UNIX)
			drop_client(p);
		else
			set_peer(p, false);
	}
	resync(p);
	unlock(p->hc);
}

/* Asks the loop's thread to resync the port; from the device's calls. */
static void want_sync(struct vio_host_console_port *p)
{
	if (p->hc->loop != NULL)
		vio_loop_post(p->hc->loop, &p->sync, sync_work, p);
}

/* The other end arrived or left: tell the device (and the driver, with multiport). */
static void set_peer(struct vio_host_console_port *p, bool peer)
{
	struct vio_host_console *hc = p->hc;

	if (p->peer == peer)
		return;
	p->peer = peer;
	if (hc->dev == NULL)
		return;
	(void) vio_console_host_open(hc->dev, p->index, peer);
	if (peer) {
		(void) vio_console_rx_wake(hc->dev, p->index);
		(void) vio_console_tx_wake(hc->dev, p->index);
	} else if (p->tx_wait) {
		/* What waited for room now goes nowhere: let the device offer it again. */
		p->tx_wait = false;
		(void) vio_console_tx_wake(hc->dev, p->index);
	}
}

/* A unix client is gone: close it and listen for the next. Loop thread, locked. */
static void drop_client(struct vio_host_console_port *p)
{
	if (p->w.loop != NULL)
		vio_loop_remove(&p->w);
	p->watched = 0;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->rx_wait = false;
	p->gone = false;
	set_peer(p, false);
}

static void on_fd(struct vio_loop_watch *w, uint32_t revents)
{
	struct vio_host_console_port *p = w->ctx;
	struct vio_host_console *hc = p->hc;

	lock(hc);
	if (revents & (VIO_LOOP_HUP | VIO_LOOP_ERR)) {
		/* pty: the last program closed the slave; unix: the client left. */
		if (p->kind == VIO_HOST_CONSOLE_UNIX)
			drop_client(p);
		else
			set_peer(p, false);
	} else {
		if ((revents & VIO_LOOP_IN) && p->rx_wait) {
			p->rx_wait = false;
			if (hc->dev != NULL)
				(void) vio_console_rx_wake(hc->dev, p->index);
		}
		if ((revents & VIO_LOOP_OUT) && p->tx_wait) {
			p->tx_wait = false;
			if (hc->dev != NULL)
				(void) vio_console_tx_wake(hc->dev, p->index);
		}
	}
	resync(p);
	unlock(hc);
}

static void on_probe(struct vio_loop_timer *t)
{
	struct vio_host_console_port *p = t->ctx;
	struct vio_host_console *hc = p->hc;

	lock(hc);
	if (p->fd >= 0 && !(poll_now(p->fd, POLLIN) & POLLHUP)) {
		vio_loop_timer_stop(&p->probe);
		set_peer(p, true);
	}
	resync(p);
	unlock(hc);
}

static void on_listen(struct vio_loop_watch *w, uint32_t revents)
{
	struct vio_host_console_port *p = w->ctx;
	struct vio_host_console *hc = p->hc;
	int fd = accept4(p->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	(void) revents;
	if (fd < 0)
		return;
	lock(hc);
	if (p->fd >= 0) {
		/* One client at a time: the second is told by a closed connection. */
		close(fd);
	} else {
		p->fd = fd;
		p->clients++;
		set_peer(p, true);
		resync(p);
	}
	unlock(hc);
}

/* ---------------------------------------------------------------- provider ops */

static struct vio_host_console_port *port_of(void *ctx, uint32_t port)
{
	struct vio_host_console *hc = ctx;

	return port < hc->nports ? &hc->ports[port] : NULL;
}

static int hc_tx(void *ctx, uint32_t port, const uint8_t *buf, uint32_t len)
{
	struct vio_host_console_port *p = port_of(ctx, port);
	ssize_t n;

	if (p == NULL)
		return -VIO_EINVAL;
	if (p->fd < 0 || !p->peer) {
		p->dropped += len;
		return (int) len;
	}
	n = p->kind == VIO_HOST_CONSOLE_UNIX ? send(p->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT)
					     : write(p->fd, buf, len);
	if (n >= 0 && (uint32_t) n == len)
		return (int) n;
	if (n >= 0) {
		/* Room for part of it: the rest waits until the other end reads. */
		p->tx_wait = true;
		want_sync(p);
		return (int) n;
	}
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
		p->tx_wait = true;
		want_sync(p);
		return 0;
	}
	/* The other end is gone (EPIPE, EIO): the bytes with it; the watch sees the hang-up. */
	p->dropped += len;
	want_sync(p);
	return (int) len;
}

static int hc_rx(void *ctx, uint32_t port, uint8_t *buf, uint32_t cap)
{
	struct vio_host_console_port *p = port_of(ctx, port);
	ssize_t n;

	if (p == NULL)
		return -VIO_EINVAL;
	if (p->fd < 0 || !p->peer)
		return 0; /* set_peer wakes the device when somebody arrives */
	n = read(p->fd, buf, cap);
	if (n > 0)
		return (int) n;
	if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		p->rx_wait = true;
		want_sync(p);
		return 0;
	}
	/* End of the stream (or EIO: the pty's last program closed it): the other end left. */
	p->gone = true;
	want_sync(p);
	return 0;
}

const struct vio_console_ops vio_host_console_ops = {
    .tx = hc_tx,
    .rx = hc_rx,
};

/* ---------------------------------------------------------------- set-up */

void vio_host_console_init(struct vio_host_console *hc, struct vio_host_console_port *ports,
			   uint32_t nports)
{
	memset(hc, 0, sizeof(*hc));
	memset(ports, 0, nports * sizeof(*ports));
	hc->ports = ports;
	hc->nports = nports;
	for (uint32_t i = 0; i < nports; i++) {
		ports[i].hc = hc;
		ports[i].index = i;
		ports[i].fd = -1;
		ports[i].listen_fd = -1;
		vio_loop_timer_init(&ports[i].probe);
	}
}

static int open_pty(struct vio_host_console_port *p)
{
	struct termios t;
	int slave;
	int fd = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (grantpt(fd) < 0 || unlockpt(fd) < 0 || ptsname_r(fd, p->path, sizeof(p->path)) != 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	/*
	 * The master reports a hang-up only once a slave was opened and closed:
	 * open and close one now, so that "nobody there" shows from the start.
	 */
	slave = open(p->path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave >= 0)
		close(slave);
	/* Raw: the driver's bytes pass unchanged both ways, as on a serial line. */
	if (tcgetattr(fd, &t) == 0) {
		cfmakeraw(&t);
		(void) tcsetattr(fd, TCSANOW, &t);
	}
	p->fd = fd;
	p->peer = false;
	return 0;
}

static int open_unix(struct vio_host_console_port *p, const char *path)
{
	int fd;

	if (path == NULL || strlen(path) >= sizeof(p->path))
		return path == NULL ? -EINVAL : -ENAMETOOLONG;
	/* An earlier run's socket is replaced; a live server's, or another file, is not. */
	fd = vio_unix_listen(path, 4, NULL, NULL, 0);
	if (fd < 0)
		return fd;
	snprintf(p->path, sizeof(p->path), "%s", path);
	p->listen_fd = fd;
	return 0;
}

int vio_host_console_open(struct vio_host_console *hc, uint32_t port, int kind, const char *path)
{
	struct vio_host_console_port *p;
	int rc;

	if (port >= hc->nports)
		return -EINVAL;
	p = &hc->ports[port];
	if (p->fd >= 0 || p->listen_fd >= 0)
		return -EBUSY;
	if (kind == VIO_HOST_CONSOLE_PTY)
		rc = open_pty(p);
	else if (kind == VIO_HOST_CONSOLE_UNIX)
		rc = open_unix(p, path);
	else
		rc = -EINVAL;
	if (rc == 0)
		p->kind = kind;
	return rc;
}

int vio_host_console_attach(struct vio_host_console *hc, struct vio_console *dev,
			    struct vio_loop *loop, void (*lockf)(void *ctx),
			    void (*unlockf)(void *ctx), void *ctx)
{
	hc->dev = dev;
	hc->loop = loop;
	hc->lock = lockf;
	hc->unlock = unlockf;
	hc->ctx = ctx;
	for (uint32_t i = 0; i < hc->nports; i++) {
		struct vio_host_console_port *p = &hc->ports[i];
		int rc;

		/* Nobody is on the other end yet: the device starts with its ports closed. */
		(void) vio_console_host_open(dev, i, false);
		if (p->listen_fd >= 0) {
			rc = vio_loop_add(loop, &p->lw, p->listen_fd, VIO_LOOP_IN, on_listen, p);
			if (rc < 0)
				return rc;
		} else if (p->fd >= 0) {
			lock(hc);
			if (!(poll_now(p->fd, POLLIN) & POLLHUP))
				set_peer(p, true);
			resync(p);
			unlock(hc);
		}
	}
	return 0;
}

void vio_host_console_close(struct vio_host_console *hc)
{
	for (uint32_t i = 0; i < hc->nports; i++) {
		struct vio_host_console_port *p = &hc->ports[i];

		vio_loop_remove(&p->w);
		vio_loop_remove(&p->lw);
		vio_loop_timer_stop(&p->probe);
		if (p->fd >= 0)
			close(p->fd);
		if (p->listen_fd >= 0) {
			close(p->listen_fd);
			(void) unlink(p->path);
		}
		p->fd = p->listen_fd = -1;
	}
	hc->dev = NULL;
	hc->loop = NULL;
}
