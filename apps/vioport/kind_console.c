/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport console: virtio-console whose ports end on the host in a
 * pseudo-terminal (--pty), a UNIX socket listening at a path (--unix PATH),
 * both watched on the main loop, or in the simulation (--sim echo|line) that
 * the control socket drives.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vioport.h"
#include "vioport/console.h"
#include "vioport/linux_console.h"
#include "vioport/sim_console.h"

enum console_host { HOST_NONE, HOST_PTY, HOST_UNIX, HOST_SIM };

#define PORT_NAME 16
#define CTL_BYTES 96 /* bytes one "read" reply carries, escaped up to 4 times as long */

/* A console group's options (g->conf). */
struct vp_console_conf {
	enum console_host host;
	unsigned nhosts; /* how many of --pty, --unix, --sim were given */
	const char *unix_path;
	uint8_t sim_kind; /* VIO_SIM_CONSOLE_ECHO or _LINE */
	unsigned ports;
	uint16_t cols, rows; /* --size; 0: not given */
};

/* One console instance (in->state). */
struct vp_console {
	struct vp_instance *in;
	struct vio_console con;
	struct vio_console_port ports[VIO_CONSOLE_MAX_PORTS];
	struct vio_queue queues[2 * VIO_CONSOLE_MAX_PORTS + 2];
	/* --sim */
	struct vio_sim_console sim;
	struct vio_sim_console_port sim_ports[VIO_CONSOLE_MAX_PORTS];
	uint8_t sim_kinds[VIO_CONSOLE_MAX_PORTS];
	char names[VIO_CONSOLE_MAX_PORTS][PORT_NAME];
	const char *name_ptrs[VIO_CONSOLE_MAX_PORTS];
	/* --pty, --unix */
	struct vio_host_console hc;
	struct vio_host_console_port hc_ports[VIO_CONSOLE_MAX_PORTS];
	bool hc_init;
};

/* Every console offers these; multiport, size and emergency write as its options say. */
#define CONSOLE_FEATURES                                                                           \
	(VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) | VIO_BIT(VIO_F_RING_PACKED))

static void console_lock(void *ctx)
{
	vp_lock(ctx);
}

static void console_unlock(void *ctx)
{
	vp_unlock(ctx);
}

/* Port p's UNIX socket: PATH for port 0, PATH.p for the others. */
static int unix_port_path(const char *path, unsigned p, char *out, size_t len)
{
	int n = p == 0 ? snprintf(out, len, "%s", path) : snprintf(out, len, "%s.%u", path, p);

	return n < 0 || (size_t) n >= len ? -ENAMETOOLONG : 0;
}

static int setup_host(struct vp_console *c, const struct vp_console_conf *o)
{
	struct vp_instance *in = c->in;
	int kind = o->host == HOST_PTY ? VIO_HOST_CONSOLE_PTY : VIO_HOST_CONSOLE_UNIX;

	vio_host_console_init(&c->hc, c->hc_ports, o->ports);
	c->hc_init = true;
	for (unsigned p = 0; p < o->ports; p++) {
		char path[VIO_HOST_CONSOLE_PATH] = "";
		int rc = 0;

		if (kind == VIO_HOST_CONSOLE_UNIX)
			rc = unix_port_path(o->unix_path, p, path, sizeof(path));
		if (rc == 0)
			rc = vio_host_console_open(&c->hc, p, kind, path);
		if (rc < 0) {
			if (kind == VIO_HOST_CONSOLE_PTY)
				vp_say(VIO_LOG_ERR, in->name,
				       "cannot open a pseudo-terminal for port %u: %s", p,
				       strerror(-rc));
			else
				vp_say(VIO_LOG_ERR, in->name,
				       "cannot listen for port %u on '%s': %s", p, path,
				       strerror(-rc));
			return rc;
		}
		vp_say(VIO_LOG_INFO, in->name, "port %u on %s", p, c->hc_ports[p].path);
	}
	return 0;
}

static void setup_sim(struct vp_console *c, const struct vp_console_conf *o)
{
	for (unsigned p = 0; p < o->ports; p++) {
		/* Port 0 as --sim says; the others are line ports, named for the driver. */
		c->sim_kinds[p] = p == 0 ? o->sim_kind : VIO_SIM_CONSOLE_LINE;
		if (p > 0)
			snprintf(c->names[p], sizeof(c->names[p]), "port%u", p);
		c->name_ptrs[p] = p > 0 ? c->names[p] : NULL;
	}
	vio_sim_console_init(&c->sim, c->sim_ports, o->ports, c->sim_kinds, c->name_ptrs);
}

static int console_setup(struct vp_instance *in, struct vio_loop *loop)
{
	struct vp_console *c = in->state;
	const struct vp_console_conf *o = in->opt->conf;
	const struct vio_console_ops *ops = &vio_sim_console_ops;
	void *ctx = &c->sim;
	uint64_t features = CONSOLE_FEATURES;
	int rc;

	(void) loop;
	c->in = in;
	if (o->ports > 1)
		features |= VIO_BIT(VIO_CONSOLE_F_MULTIPORT);
	if (o->cols != 0)
		features |= VIO_BIT(VIO_CONSOLE_F_SIZE);
	if (o->host == HOST_SIM) {
		setup_sim(c, o);
		/* The simulation takes emergency characters where port 0's writes go. */
		features |= VIO_BIT(VIO_CONSOLE_F_EMERG_WRITE);
	} else {
		rc = setup_host(c, o);
		if (rc < 0)
			return rc;
		ops = &vio_host_console_ops;
		ctx = &c->hc;
	}
	if (vio_console_init(&c->con, ops, ctx, o->ports, c->ports, c->queues, QUEUE_SIZE,
			     features) < 0) {
		vp_say(VIO_LOG_ERR, in->name, "cannot set up the console device");
		return -EINVAL;
	}
	if (o->cols != 0)
		vio_console_set_size(&c->con, o->cols, o->rows);
	in->dev = &c->con.dev;
	if (o->host == HOST_SIM) {
		vio_sim_console_attach(&c->sim, &c->con);
		vp_say(VIO_LOG_INFO, in->name, "simulated, port 0 %s, %u port%s",
		       o->sim_kind == VIO_SIM_CONSOLE_ECHO ? "echo" : "line", o->ports,
		       o->ports == 1 ? "" : "s");
	}
	return 0;
}

/* The host ends' watches run on the loop, under the device's lock. */
static int console_serve(struct vp_instance *in, struct vio_loop *loop)
{
	struct vp_console *c = in->state;
	int rc;

	if (!c->hc_init)
		return 0;
	rc = vio_host_console_attach(&c->hc, &c->con, loop, console_lock, console_unlock, in);
	if (rc < 0)
		vp_say(VIO_LOG_ERR, in->name, "cannot watch the console's ports: %s",
		       strerror(-rc));
	return rc;
}

/* The sandboxed daemon removes its UNIX sockets when it stops: their directories. */
static int console_sandbox(const struct vp_instance *in, struct vio_sandbox *sb, char *err,
			   size_t errlen)
{
	const struct vp_console *c = in->state;
	int rc = 0;

	for (uint32_t p = 0; c->hc_init && rc == 0 && p < c->hc.nports; p++)
		if (c->hc_ports[p].kind == VIO_HOST_CONSOLE_UNIX)
			rc = vio_sandbox_allow_remove(sb, c->hc_ports[p].path, err, errlen);
	return rc;
}

static void console_stop(struct vp_instance *in)
{
	struct vp_console *c = in->state;

	if (c->hc_init)
		vio_host_console_close(&c->hc);
	c->hc_init = false;
	if (in->opt != NULL && ((const struct vp_console_conf *) in->opt->conf)->host == HOST_SIM)
		vio_sim_console_attach(&c->sim, NULL);
}

/* ---------------------------------------------------------------- control */

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * Decodes the escapes of a control line's text in place (\n, \r, \t, \\, \s
 * for a space at either end, \xHH); returns its length, or -1 for a bad escape.
 */
static int unescape(char *s)
{
	size_t o = 0;

	for (size_t i = 0; s[i] != '\0'; i++) {
		char ch = s[i];

		if (ch == '\\') {
			int hi, lo;

			switch (s[++i]) {
			case 'n':
				ch = '\n';
				break;
			case 'r':
				ch = '\r';
				break;
			case 't':
				ch = '\t';
				break;
			case 's':
				ch = ' ';
				break;
			case '\\':
				ch = '\\';
				break;
			case 'x':
				hi = hexval(s[i + 1]);
				lo = hi < 0 ? -1 : hexval(s[i + 2]);
				if (lo < 0)
					return -1;
				ch = (char) (hi << 4 | lo);
				i += 2;
				break;
			default:
				return -1;
			}
		}
		s[o++] = ch;
	}
	s[o] = '\0';
	return (int) o;
}

/* Writes bytes as one reply word, with the escapes unescape reads. */
static void put_escaped(FILE *f, const uint8_t *b, int n)
{
	for (int i = 0; i < n; i++) {
		if (b[i] == '\n')
			fputs("\\n", f);
		else if (b[i] == '\r')
			fputs("\\r", f);
		else if (b[i] == '\t')
			fputs("\\t", f);
		else if (b[i] == ' ')
			fputs("\\s", f);
		else if (b[i] == '\\')
			fputs("\\\\", f);
		else if (b[i] < 0x20 || b[i] >= 0x7f)
			fprintf(f, "\\x%02x", b[i]);
		else
			fputc(b[i], f);
	}
}

/* An optional "PORT" word: a port number below nports, 0 when absent. */
static bool ctl_port(const char *w, unsigned nports, long *port)
{
	*port = 0;
	return w == NULL || vp_parse_long(w, 0, (long) nports - 1, port);
}

static void ctl_size(struct vp_instance *in, struct vp_console *c, const char *arg, FILE *reply)
{
	unsigned cols, rows;
	char x;
	int rc;

	if (arg == NULL || sscanf(arg, "%5ux%5u%c", &cols, &rows, &x) != 2 || cols == 0 ||
	    rows == 0 || cols > 0xffff || rows > 0xffff) {
		fprintf(reply, "error console size COLSxROWS");
		return;
	}
	vp_lock(in);
	rc = vio_console_set_size(&c->con, (uint16_t) cols, (uint16_t) rows);
	vp_unlock(in);
	if (rc < 0)
		fprintf(reply, "error %s was started without --size", in->name);
	else
		fprintf(reply, "ok");
}

/*
 * console[N] path [PORT], size COLSxROWS; on the simulation also
 * write [PORT] TEXT and read [PORT].
 */
static void console_ctl(struct vp_instance *in, char *args, FILE *reply)
{
	struct vp_console *c = in->state;
	const struct vp_console_conf *o = in->opt->conf;
	const char *verb = vp_word(&args);
	long port;

	if (verb != NULL && strcmp(verb, "path") == 0) {
		if (!ctl_port(vp_word(&args), o->ports, &port) || vp_word(&args) != NULL) {
			fprintf(reply, "error console path [PORT] (0 to %u)", o->ports - 1);
			return;
		}
		if (!c->hc_init)
			fprintf(reply, "error %s is a simulation, not a pty or socket", in->name);
		else
			fprintf(reply, "ok %s", c->hc_ports[port].path);
		return;
	}
	if (verb != NULL && strcmp(verb, "size") == 0) {
		const char *a = vp_word(&args);

		ctl_size(in, c, vp_word(&args) == NULL ? a : NULL, reply);
		return;
	}
	if (verb == NULL || (strcmp(verb, "write") != 0 && strcmp(verb, "read") != 0)) {
		fprintf(reply, "error console takes write [PORT] TEXT, read [PORT], path [PORT] or "
			       "size COLSxROWS");
		return;
	}
	if (o->host != HOST_SIM) {
		fprintf(reply, "error %s is on %s, not a simulation", in->name,
			c->hc_ports[0].path);
		return;
	}
	if (verb[0] == 'w') {
		/* A first word of digits alone is the port; the rest of the line is the text. */
		char *w = args + strspn(args, " \t\r");
		size_t digits = strspn(w, "0123456789");
		int n, put;

		port = 0;
		if (digits > 0 && (w[digits] == ' ' || w[digits] == '\t')) {
			w[digits] = '\0';
			if (!ctl_port(w, o->ports, &port)) {
				fprintf(reply, "error no port '%s' (0 to %u)", w, o->ports - 1);
				return;
			}
			args = w + digits + 1;
		}
		args += strspn(args, " \t\r");
		n = unescape(args);
		if (n <= 0) {
			fprintf(reply, "error console write [PORT] TEXT (escapes \\n \\r \\t \\s "
				       "\\\\ \\xHH)");
			return;
		}
		vp_lock(in);
		put = vio_sim_console_write(&c->sim, (uint32_t) port, args, (uint32_t) n);
		vp_unlock(in);
		/* Bytes that did not fit wait nowhere: the reply says how many went. */
		fprintf(reply, "ok %d", put < 0 ? 0 : put);
		return;
	}
	{
		const char *w = vp_word(&args);
		uint8_t buf[CTL_BYTES];
		int n;

		if (!ctl_port(w, o->ports, &port) || vp_word(&args) != NULL) {
			fprintf(reply, "error console read [PORT] (0 to %u)", o->ports - 1);
			return;
		}
		if (c->sim_kinds[port] != VIO_SIM_CONSOLE_LINE) {
			fprintf(reply, "error port %ld echoes what the driver writes", port);
			return;
		}
		vp_lock(in);
		n = vio_sim_console_read(&c->sim, (uint32_t) port, buf, sizeof(buf));
		vp_unlock(in);
		fprintf(reply, "ok %d%s", n < 0 ? 0 : n, n > 0 ? " " : "");
		put_escaped(reply, buf, n);
	}
}

/* ---------------------------------------------------------------- options */

static int set_host(const struct vp_optctx *ctx, enum console_host h)
{
	struct vp_console_conf *c = ctx->target;

	c->host = h;
	c->nhosts++;
	return 0;
}

static int opt_pty(const struct vp_optctx *ctx, const char *arg)
{
	(void) arg;
	return set_host(ctx, HOST_PTY);
}

static int opt_unix(const struct vp_optctx *ctx, const char *arg)
{
	((struct vp_console_conf *) ctx->target)->unix_path = arg;
	return set_host(ctx, HOST_UNIX);
}

static int opt_sim(const struct vp_optctx *ctx, const char *arg)
{
	struct vp_console_conf *c = ctx->target;

	if (strcmp(arg, "echo") == 0)
		c->sim_kind = VIO_SIM_CONSOLE_ECHO;
	else if (strcmp(arg, "line") == 0)
		c->sim_kind = VIO_SIM_CONSOLE_LINE;
	else
		return vp_usage_error(ctx->where, "--sim takes echo or line, not '%s'", arg);
	return set_host(ctx, HOST_SIM);
}

static int opt_size(const struct vp_optctx *ctx, const char *arg)
{
	struct vp_console_conf *c = ctx->target;
	unsigned cols, rows;
	char x;

	if (sscanf(arg, "%5ux%5u%c", &cols, &rows, &x) != 2 || cols == 0 || rows == 0 ||
	    cols > 0xffff || rows > 0xffff || arg[0] < '0' || arg[0] > '9')
		return vp_usage_error(ctx->where,
				      "--size takes COLSxROWS (1 to 65535 each), not '%s'", arg);
	c->cols = (uint16_t) cols;
	c->rows = (uint16_t) rows;
	return 0;
}

static int console_check(struct vp_group *g, const char *where)
{
	struct vp_console_conf *c = g->conf;
	char path[VIO_HOST_CONSOLE_PATH];

	if (c->nhosts > 1)
		return vp_usage_error(where, "console takes one of --pty, --unix and --sim");
	if (c->nhosts == 0) {
		c->host = HOST_SIM;
		c->sim_kind = VIO_SIM_CONSOLE_ECHO;
	}
	if (c->ports == 0)
		c->ports = 1;
	if (c->host == HOST_UNIX) {
		if (c->unix_path[0] == '\0' ||
		    unix_port_path(c->unix_path, c->ports - 1, path, sizeof(path)) < 0)
			return vp_usage_error(where, "--unix needs a path of 1 to %d bytes",
					      VIO_HOST_CONSOLE_PATH - 4);
		/* One listening socket per path: a second console would take it over. */
		if (g->socket_count != 1)
			return vp_usage_error(where,
					      "--unix serves one console: give each its own group");
	}
	return 0;
}

static const struct vp_option console_options[] = {
    {.name = "pty",
     .type = VP_OPT_FN,
     .apply = opt_pty,
     .help = "each port on a new pseudo-terminal; the log and the\n"
	     "control command 'console path' say which /dev/pts/N"},
    {.name = "unix",
     .arg = "PATH",
     .type = VP_OPT_FN,
     .apply = opt_unix,
     .help = "port 0 on a UNIX socket listening at PATH (one client\n"
	     "at a time), port N on PATH.N"},
    {.name = "sim",
     .arg = "echo|line",
     .type = VP_OPT_FN,
     .apply = opt_sim,
     .help = "a simulation (the default: echo): port 0 echoes what the\n"
	     "driver writes, or collects it for the control socket\n"
	     "(line), which also writes text to the driver"},
    {.name = "ports",
     .arg = "N",
     .type = VP_OPT_UINT,
     .offset = offsetof(struct vp_console_conf, ports),
     .lo = 1,
     .hi = VIO_CONSOLE_MAX_PORTS,
     .help = "ports (1 to %u); more than 1 offers multiport",
     .help_n = {VIO_CONSOLE_MAX_PORTS}},
    {.name = "size",
     .arg = "COLSxROWS",
     .type = VP_OPT_FN,
     .apply = opt_size,
     .help = "the console's size, offered to the driver (F_SIZE)"},
    {.name = NULL},
};

const struct vp_kind vp_kind_console = {
    .name = "console",
    .summary = "virtio-console on a pty, a UNIX socket or a simulation",
    .caps_json = "{\n  \"type\": \"console\",\n  \"features\": []\n}\n",
    .ctl_help = "console[N] write [PORT] TEXT, console[N] read [PORT], "
		"console[N] path [PORT], console[N] size COLSxROWS",
    .options = console_options,
    .conf_size = sizeof(struct vp_console_conf),
    .state_size = sizeof(struct vp_console),
    .check = console_check,
    .setup = console_setup,
    .serve = console_serve,
    .sandbox = console_sandbox,
    .ctl = console_ctl,
    .stop = console_stop,
};
