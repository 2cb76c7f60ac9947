/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's control socket: commands to the simulations (drive a simulated
 * GPIO line, read what the driver set, set the LM75's temperature, dump the
 * EEPROM), one a line, served on the event loop with the device locked.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vioport.h"
#include "vioport/internal/unixsock.h"

/* control: forgets a client. */
static void ctl_close(struct vp_ctl_client *c)
{
	vio_loop_remove(&c->w);
	close(c->fd);
	c->fd = -1;
}

static void ctl_reply(struct vp_ctl_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* control: sends one reply line; a client that cannot take it at once is dropped. */
static void ctl_reply(struct vp_ctl_client *c, const char *fmt, ...)
{
	char line[2 * CTL_LINE + 64]; /* room for an echoed command line */
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t) n > sizeof(line) - 2)
		n = (int) sizeof(line) - 2;
	line[n++] = '\n';
	if (send(c->fd, line, (size_t) n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
		ctl_close(c);
}

/*
 * control: the instance of kind k numbered by the command's suffix (gpio2: the
 * third gpio device; none: the first), or NULL after answering why not.
 */
static struct vp_instance *ctl_find(struct vp_control *ctl, struct vp_ctl_client *c,
				    const struct vp_kind *k, const char *num)
{
	unsigned n = 0, count = 0;
	struct vp_instance *found = NULL;

	if (num[0] != '\0' && !vp_parse_uint(num, 0, MAX_DEVICES, &n)) {
		ctl_reply(c, "error no %s%s here", k->name, num);
		return NULL;
	}
	for (unsigned i = 0; i < ctl->ninst; i++) {
		if (ctl->inst[i].kind != k)
			continue;
		if (count++ == n)
			found = &ctl->inst[i];
	}
	if (found == NULL) {
		if (count == 0)
			ctl_reply(c, "error no %s device here", k->name);
		else
			ctl_reply(c, "error no %s%u (0 to %u)", k->name, n, count - 1);
	}
	return found;
}

/* control: hands "KIND[N] ARGS" to the kind, and sends its reply, however long, as one line. */
static void ctl_kind(struct vp_control *ctl, struct vp_ctl_client *c, const struct vp_kind *k,
		     const char *num, char *args)
{
	struct vp_instance *in = ctl_find(ctl, c, k, num);
	char *out = NULL;
	size_t len = 0;
	FILE *f;

	if (in == NULL)
		return;
	f = open_memstream(&out, &len);
	if (f == NULL) {
		ctl_reply(c, "error out of memory");
		return;
	}
	k->ctl(in, args, f);
	if (fputc('\n', f) == EOF || fclose(f) != 0) {
		free(out);
		ctl_reply(c, "error out of memory");
		return;
	}
	if (send(c->fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t) len)
		ctl_close(c);
	free(out);
}

/* control: one command line, "KIND[N] ...", for a kind that takes commands. */
static void ctl_command(struct vp_control *ctl, struct vp_ctl_client *c, char *line)
{
	char *dev = vp_word(&line);
	char kinds[64];

	if (dev == NULL) {
		ctl_reply(c, "error empty command");
		return;
	}
	for (unsigned i = 0; i < vp_nkinds; i++) {
		const struct vp_kind *k = vp_kinds[i];
		size_t n = strlen(k->name);

		if (k->ctl != NULL && strncmp(dev, k->name, n) == 0) {
			ctl_kind(ctl, c, k, dev + n, line);
			return;
		}
	}
	ctl_reply(c, "error unknown command '%s' (%s)", dev,
		  vp_kind_list(kinds, sizeof(kinds), true));
}

/* control: reads what a client sent and answers each complete line. */
static void ctl_client_event(struct vio_loop_watch *w, uint32_t revents)
{
	struct vp_ctl_client *c = w->ctx;
	ssize_t got;

	(void) revents;
	got = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
	if (got <= 0) {
		if (got == 0 || (errno != EAGAIN && errno != EINTR))
			ctl_close(c);
		return;
	}
	c->len += (size_t) got;
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		size_t used;

		if (nl == NULL) {
			/* No room left for the newline: drop the line and answer it when it ends.
			 */
			if (c->len == sizeof(c->buf)) {
				c->overlong = true;
				c->len = 0;
			}
			return;
		}
		*nl = '\0';
		used = (size_t) (nl - c->buf) + 1;
		if (c->overlong) {
			c->overlong = false;
			ctl_reply(c, "error line too long");
		} else {
			ctl_command(c->ctl, c, c->buf);
		}
		if (c->fd < 0)
			return;
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
	}
}

/* control: takes a new client, or turns it away when every slot is busy. */
static void ctl_accept(struct vio_loop_watch *w, uint32_t revents)
{
	struct vp_control *ctl = w->ctx;
	int fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	(void) revents;
	if (fd < 0)
		return;
	for (int i = 0; i < CTL_CLIENTS; i++) {
		struct vp_ctl_client *c = &ctl->clients[i];

		if (c->fd >= 0)
			continue;
		memset(c, 0, sizeof(*c));
		c->ctl = ctl;
		c->fd = fd;
		if (vio_loop_add(ctl->loop, &c->w, fd, VIO_LOOP_IN, ctl_client_event, c) < 0) {
			close(fd);
			c->fd = -1;
		}
		return;
	}
	(void) send(fd, "error too many control connections\n", 35, MSG_NOSIGNAL | MSG_DONTWAIT);
	close(fd);
}

/* control: listens at path; a stale socket file there is replaced, anything else is kept. */
int vp_ctl_start(struct vp_control *ctl, const char *path, struct vio_loop *loop,
		 struct vp_instance *inst, unsigned ninst)
{
	char err[256];
	int rc;

	ctl->fd = -1;
	ctl->loop = loop;
	ctl->inst = inst;
	ctl->ninst = ninst;
	for (int i = 0; i < CTL_CLIENTS; i++)
		ctl->clients[i].fd = -1;
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	/* Another daemon's live socket stays; only a leftover one is replaced. */
	ctl->fd = vio_unix_listen(path, CTL_CLIENTS, NULL, err, sizeof(err));
	if (ctl->fd < 0) {
		rc = ctl->fd;
		ctl->fd = -1; /* and nothing to remove at exit: the path is not ours */
		vp_say(VIO_LOG_ERR, "", "cannot listen on the control socket: %s", err);
		return rc;
	}
	rc = vio_loop_add(loop, &ctl->w, ctl->fd, VIO_LOOP_IN, ctl_accept, ctl);
	if (rc < 0)
		vp_say(VIO_LOG_ERR, "", "cannot watch the control socket: %s", strerror(-rc));
	return rc;
}

/* control: closes every client and the listener, and removes the socket file. */
void vp_ctl_stop(struct vp_control *ctl)
{
	if (ctl->loop == NULL)
		return; /* never started: the client slots are not set up */
	for (int i = 0; i < CTL_CLIENTS; i++)
		if (ctl->clients[i].fd >= 0)
			ctl_close(&ctl->clients[i]);
	if (ctl->w.loop != NULL)
		vio_loop_remove(&ctl->w);
	if (ctl->fd >= 0) {
		close(ctl->fd);
		unlink(ctl->path);
		ctl->fd = -1;
	}
}
