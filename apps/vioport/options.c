/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's options, described once: the whole process's and every group's
 * here, each kind's in its kind_*.c. From these tables come the command
 * line's options (cmdline.c), the configuration file's keys (config.c), the
 * refusal of an option that a group's kind does not take, and --help.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vioport.h"

/* The help text around the options. */
static const char usage_intro[] =
    "usage: vioport DEVICE [OPTIONS] [+ DEVICE [OPTIONS]]...\n"
    "       vioport-DEVICE [OPTIONS] [+ DEVICE [OPTIONS]]...\n"
    "       vioport --config FILE [OPTIONS]\n"
    "       vioport --print-capabilities DEVICE | --help | --version\n"
    "\n"
    "Serves VirtIO devices to vhost-user frontends (QEMU, crosvm, cloud-hypervisor)\n"
    "over unix sockets. A device is reset when its frontend goes away and the\n"
    "daemon waits for the next connection. SIGINT and SIGTERM stop it cleanly.\n"
    "One process serves several devices: groups of DEVICE [OPTIONS] separated by\n"
    "'+' on the command line, or the sections of a configuration file.\n"
    "\n";
static const char usage_tail[] =
    "Under systemd: sockets passed by socket activation (LISTEN_FDS) go to the\n"
    "groups that name no --socket-path or --fd, in order; READY=1 and STOPPING=1\n"
    "are sent to NOTIFY_SOCKET (Type=notify). See docs/systemd.md.\n"
    "\n"
    "Exit status: 0 after a clean stop, 1 on a runtime error, 2 on a usage error.\n";

/* --help, --version: answered at once, and the run does nothing more. */
static int apply_help(const struct vp_optctx *c, const char *arg)
{
	(void) arg;
	if (c->in_config)
		return vp_usage_error(c->where, "'help' has no place in a configuration file");
	vp_usage(stdout, c->g != NULL ? c->g->kind : NULL);
	c->o->done = true;
	return 0;
}

static int apply_version(const struct vp_optctx *c, const char *arg)
{
	(void) arg;
	if (c->in_config)
		return vp_usage_error(c->where, "'version' has no place in a configuration file");
	printf("vioport %s\n", VIOPORT_VERSION);
	c->o->done = true;
	return 0;
}

static int apply_config(const struct vp_optctx *c, const char *arg)
{
	if (c->in_config)
		return vp_usage_error(c->where, "a configuration file cannot name another");
	if (c->o->config != NULL)
		return vp_usage_error(c->where, "one --config at a time");
	c->o->config = arg;
	return 0;
}

static int apply_verbose(const struct vp_optctx *c, const char *arg)
{
	(void) arg;
	c->o->log_level = VIO_LOG_INFO;
	return 0;
}

static int apply_quiet(const struct vp_optctx *c, const char *arg)
{
	(void) arg;
	c->o->log_level = VIO_LOG_ERR;
	return 0;
}

static int apply_log_level(const struct vp_optctx *c, const char *arg)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};

	for (int i = 0; i < 4; i++) {
		if (strcmp(arg, names[i]) == 0) {
			c->o->log_level = i;
			return 0;
		}
	}
	return vp_usage_error(c->where, "--log-level is error, warn, info or debug, not '%s'", arg);
}

static int apply_sandbox(const struct vp_optctx *c, const char *arg)
{
	if (!vio_sandbox_parse_mode(arg, &c->o->sandbox.mode))
		return vp_usage_error(c->where, "--sandbox is on, off or log, not '%s'", arg);
	return 0;
}

static int apply_fd(const struct vp_optctx *c, const char *arg)
{
	unsigned v;

	if (!vp_parse_uint(arg, 0, 1u << 20, &v))
		return vp_usage_error(c->where, "--fd needs a file descriptor number, not '%s'",
				      arg);
	c->g->fd = (int) v;
	return 0;
}

static int apply_transport(const struct vp_optctx *c, const char *arg)
{
	if (strcmp(arg, "vhost-user") == 0)
		c->g->transport = TRANSPORT_VHOST_USER;
	else if (strcmp(arg, "vmsg") == 0 || strcmp(arg, "virtio-msg") == 0)
		c->g->transport = TRANSPORT_VMSG;
	else
		return vp_usage_error(c->where, "--transport is vhost-user or vmsg, not '%s'", arg);
	return 0;
}

/* A window size: bytes, or a number with K or M, from 64 KiB to 1 GiB. */
static int apply_shm_size(const struct vp_optctx *c, const char *arg)
{
	char *end;
	unsigned long long v = 0;
	bool ok = arg[0] >= '0' && arg[0] <= '9';

	if (ok) {
		errno = 0;
		v = strtoull(arg, &end, 10);
		ok = errno == 0;
	}
	if (ok && (*end == 'K' || *end == 'k') && end[1] == '\0')
		v <<= 10;
	else if (ok && (*end == 'M' || *end == 'm') && end[1] == '\0')
		v <<= 20;
	else if (ok && *end != '\0')
		ok = false;
	if (!ok || v < (64u << 10) || v > (1u << 30))
		return vp_usage_error(c->where,
				      "--shm-size is a size from 64K to 1G (bytes, or with K "
				      "or M), not '%s'",
				      arg);
	c->g->shm_size = (uint32_t) v;
	return 0;
}

static int apply_doorbell(const struct vp_optctx *c, const char *arg)
{
	if (strcmp(arg, "poll") != 0 && strncmp(arg, "eventfd:", 8) != 0 &&
	    strncmp(arg, "ivshmem:", 8) != 0)
		return vp_usage_error(
		    c->where, "--doorbell is poll, eventfd:SOCKET or ivshmem:SOCKET, not '%s'",
		    arg);
	if (strcmp(arg, "poll") != 0 && (arg[8] == '\0' || strlen(arg + 8) >= VIO_VMSG_PATH_MAX))
		return vp_usage_error(
		    c->where, "--doorbell %.8sSOCKET needs a socket path of at most %d bytes", arg,
		    VIO_VMSG_PATH_MAX - 1);
	c->g->doorbell = arg;
	return 0;
}

#define IN_OPTIONS(field) offsetof(struct vp_options, field)
#define IN_GROUP(field)	  offsetof(struct vp_group, field)

/* The whole process's, in --help's order. */
const struct vp_option vp_process_options[] = {
    {.name = "config",
     .arg = "FILE",
     .type = VP_OPT_FN,
     .apply = apply_config,
     .help = "read groups (and these options) from FILE; see vioport(1)"},
    {.name = "control",
     .arg = "PATH",
     .type = VP_OPT_STRING,
     .offset = IN_OPTIONS(control),
     .help = "a unix socket taking commands to the simulations"},
    {.name = "sandbox",
     .arg = "MODE",
     .type = VP_OPT_FN,
     .apply = apply_sandbox,
     .help = "on (default): once set up, no_new_privs, a system call\n"
	     "allowlist and Landlock; a call outside the list is\n"
	     "logged and stops the daemon; log: logged and fails\n"
	     "with EPERM; off: no sandbox (see docs/security.md)"},
    {.name = "user",
     .arg = "USER",
     .type = VP_OPT_STRING,
     .offset = IN_OPTIONS(user),
     .help = "once set up, run as USER (needs root to start)"},
    {.name = "poll-us",
     .arg = "N",
     .type = VP_OPT_UINT,
     .offset = IN_OPTIONS(poll_us),
     .lo = 0,
     .hi = VP_POLL_US_MAX,
     .help = "adaptive polling: after work, a queue's thread looks\n"
	     "for more for up to N microseconds before it sleeps,\n"
	     "with the driver's kicks suppressed (default %u,\n"
	     "0 to %u; 0: never poll, sleep at once)",
     .help_n = {VP_POLL_US_DEFAULT, VP_POLL_US_MAX}},
    {.name = "batch",
     .arg = "N",
     .type = VP_OPT_UINT,
     .offset = IN_OPTIONS(batch),
     .lo = 0,
     .hi = VP_BATCH_MAX,
     .help = "blk: send a long run of requests to the kernel N at a\n"
	     "time, completing each part before taking the next\n"
	     "(default %u, 0 to %u; 0: the whole run at once)",
     .help_n = {VP_BATCH_DEFAULT, VP_BATCH_MAX}},
    {.name = "print-capabilities",
     .type = VP_OPT_FLAG,
     .offset = IN_OPTIONS(print_caps),
     .help = "print the backend's capabilities as JSON and exit"},
    {.name = "log-level",
     .arg = "LEVEL",
     .type = VP_OPT_FN,
     .apply = apply_log_level,
     .help = "error, warn (default), info or debug"},
    {.name = "log-time",
     .type = VP_OPT_FLAG,
     .offset = IN_OPTIONS(log_time),
     .help = "start each log line with the time (UTC); under\n"
	     "systemd's journal, lines carry <N> priorities instead"},
    {.name = "verbose",
     .letter = 'v',
     .type = VP_OPT_FN,
     .apply = apply_verbose,
     .help = "same as --log-level info"},
    {.name = "quiet",
     .letter = 'q',
     .type = VP_OPT_FN,
     .apply = apply_quiet,
     .help = "same as --log-level error"},
    {.name = "help", .letter = 'h', .type = VP_OPT_FN, .apply = apply_help, .help = "this text"},
    {.name = "version",
     .letter = 'V',
     .type = VP_OPT_FN,
     .apply = apply_version,
     .help = "the version"},
    {.name = NULL},
};

/* Every group's, whatever its kind, in --help's order. */
const struct vp_option vp_group_options[] = {
    {.name = "socket-path",
     .letter = 's',
     .arg = "PATH",
     .type = VP_OPT_STRING,
     .offset = IN_GROUP(socket_path),
     .help = "listen on PATH (with --socket-count: PATH0, PATH1, ...)"},
    {.name = "fd",
     .arg = "N",
     .type = VP_OPT_FN,
     .apply = apply_fd,
     .help = "serve on inherited socket N (listening or connected)\n"
	     "(neither: the next socket systemd passed, LISTEN_FDS)"},
    {.name = "socket-count",
     .letter = 'c',
     .arg = "N",
     .type = VP_OPT_UINT,
     .offset = IN_GROUP(socket_count),
     .lo = 1,
     .hi = MAX_DEVICES,
     .help = "serve N devices on N sockets (default 1)"},
    {.name = "transport",
     .arg = "T",
     .type = VP_OPT_FN,
     .apply = apply_transport,
     .help = "vhost-user (default) or vmsg: virtio-msg on a shared\n"
	     "window, no hypervisor (the driver: vioport-drv, or\n"
	     "firmware); groups naming one --shm share its bus"},
    {.name = "shm",
     .arg = "PATH",
     .type = VP_OPT_STRING,
     .offset = IN_GROUP(shm),
     .help = "vmsg: the window file (for example /dev/shm/vioport)"},
    {.name = "shm-size",
     .arg = "N",
     .type = VP_OPT_FN,
     .apply = apply_shm_size,
     .help = "vmsg: create it with N bytes (K, M; default 4M)"},
    {.name = "doorbell",
     .arg = "D",
     .type = VP_OPT_FN,
     .apply = apply_doorbell,
     .help = "vmsg: poll (default), eventfd:SOCKET or ivshmem:SOCKET\n"
	     "(ivshmem: the server of QEMU's ivshmem-doorbell)"},
    {.name = NULL},
};

const struct vp_option *vp_option_in(const struct vp_option *table, const char *name)
{
	for (const struct vp_option *opt = table; table != NULL && opt->name != NULL; opt++)
		if (strcmp(opt->name, name) == 0 ||
		    (opt->alias != NULL && strcmp(opt->alias, name) == 0))
			return opt;
	return NULL;
}

const struct vp_option *vp_option_any(const char *name)
{
	const struct vp_option *opt = vp_option_in(vp_process_options, name);

	if (opt == NULL)
		opt = vp_option_in(vp_group_options, name);
	for (unsigned i = 0; opt == NULL && i < vp_nkinds; i++)
		opt = vp_option_in(vp_kinds[i]->options, name);
	return opt;
}

/* Stores arg as opt says, in c->target. */
static int store(const struct vp_option *opt, const struct vp_optctx *c, const char *arg)
{
	char *at = (char *) c->target + opt->offset;
	unsigned v;

	switch (opt->type) {
	case VP_OPT_FLAG:
		*(bool *) (void *) at = true;
		return 0;
	case VP_OPT_STRING:
		*(const char **) (void *) at = arg;
		return 0;
	case VP_OPT_UINT:
		if (!vp_parse_uint(arg, opt->lo, opt->hi, &v))
			return vp_usage_error(c->where,
					      "--%s needs a number from %u to %u, not '%s'",
					      opt->name, opt->lo, opt->hi, arg);
		*(unsigned *) (void *) at = v;
		return 0;
	default:
		return opt->apply(c, arg);
	}
}

/* The kinds that take an option called name, for the refusal. */
static bool any_kind_takes(const char *name)
{
	for (unsigned i = 0; i < vp_nkinds; i++)
		if (vp_option_in(vp_kinds[i]->options, name) != NULL)
			return true;
	return false;
}

int vp_option_apply(struct vp_options *o, struct vp_group *g, const char *name, const char *arg,
		    const char *where, bool in_config)
{
	struct vp_optctx c = {.o = o, .g = g, .target = o, .where = where, .in_config = in_config};
	const struct vp_option *opt = vp_option_in(vp_process_options, name);

	if (opt != NULL)
		return store(opt, &c, arg);
	/* The rest belong to a group of devices. */
	if (g == NULL)
		return vp_usage_error(where, "this option belongs to a device: put it in a "
					     "[DEVICE] section");
	c.target = g;
	opt = vp_option_in(vp_group_options, name);
	if (opt != NULL)
		return store(opt, &c, arg);
	if (g->kind == NULL) {
		/* Only once the group names its device does it say which options it takes. */
		for (unsigned i = 0; i < vp_nkinds && opt == NULL; i++)
			opt = vp_option_in(vp_kinds[i]->options, name);
		if (opt == NULL)
			return vp_usage_error(where, "unknown option '%s'", name);
		if (g->npending == MAX_PENDING)
			return vp_usage_error(where, "at most %d options before the device",
					      MAX_PENDING);
		g->pending[g->npending] = opt;
		g->pending_arg[g->npending++] = arg;
		return 0;
	}
	opt = vp_option_in(g->kind->options, name);
	if (opt == NULL && any_kind_takes(name))
		return vp_usage_error(where,
				      "option '%s%s' does not apply to %s (see vioport %s --help)",
				      in_config ? "" : "--", name, g->kind->name, g->kind->name);
	if (opt == NULL)
		return vp_usage_error(where, "unknown option '%s'", name);
	c.target = g->conf;
	return store(opt, &c, arg);
}

int vp_group_new(struct vp_options *o, const char *where, const char *origin, struct vp_group **out)
{
	struct vp_group *g;

	if (o->ngroups == MAX_GROUPS)
		return vp_usage_error(origin, "at most %d groups of devices", MAX_GROUPS);
	g = &o->groups[o->ngroups++];
	memset(g, 0, sizeof(*g));
	g->fd = -1;
	g->socket_count = 1;
	snprintf(g->where, sizeof(g->where), "%s", where);
	*out = g;
	return 0;
}

int vp_group_set_kind(struct vp_options *o, struct vp_group *g, const struct vp_kind *k,
		      const char *where)
{
	unsigned n = g->npending;
	int rc = 0;

	g->kind = k;
	g->conf = calloc(1, k->conf_size > 0 ? k->conf_size : 1);
	if (g->conf == NULL) {
		fprintf(stderr, "vioport: out of memory\n");
		return -ENOMEM;
	}
	g->npending = 0;
	for (unsigned i = 0; i < n && rc == 0; i++)
		rc = vp_option_apply(o, g, g->pending[i]->name, g->pending_arg[i], where,
				     where != NULL);
	return rc;
}

void vp_options_init(struct vp_options *o)
{
	memset(o, 0, sizeof(*o));
	o->log_level = VIO_LOG_WARN;
	o->poll_us = VP_POLL_US_DEFAULT;
	o->batch = VP_BATCH_DEFAULT;
	vio_sandbox_init(&o->sandbox, VIO_SANDBOX_ON, "vioport");
}

void vp_options_free(struct vp_options *o)
{
	for (unsigned i = 0; i < o->ngroups; i++) {
		free(o->groups[i].conf);
		o->groups[i].conf = NULL;
	}
	free(o->config_text);
	o->config_text = NULL;
}

/* Prints text in lines of at most width columns, broken at blanks. */
static void wrap(FILE *f, const char *text, size_t width)
{
	while (strlen(text) > width) {
		size_t cut = width;

		while (cut > 0 && text[cut] != ' ')
			cut--;
		if (cut == 0)
			break;
		fprintf(f, "%.*s\n", (int) cut, text);
		text += cut + 1;
	}
	fprintf(f, "%s\n", text);
}

/* One option's lines: "  -x, --name ARG" then its text from column 26. */
static void print_option(FILE *f, const struct vp_option *opt)
{
	char head[64], text[1024];
	const char *p = text;
	int n;

	n = snprintf(head, sizeof(head), "  %c%c%c --%s%s%s", opt->letter ? '-' : ' ',
		     opt->letter ? opt->letter : ' ', opt->letter ? ',' : ' ', opt->name,
		     opt->arg ? " " : "", opt->arg ? opt->arg : "");
	snprintf(text, sizeof(text), opt->help, opt->help_n[0], opt->help_n[1], opt->help_n[2]);
	fprintf(f, "%s%*s", head, n < 24 ? 26 - n : 2, "");
	for (;;) {
		size_t len = strcspn(p, "\n");

		fprintf(f, "%.*s\n", (int) len, p);
		if (p[len] == '\0')
			break;
		p += len + 1;
		fprintf(f, "%26s", "");
	}
}

static void print_options(FILE *f, const char *title, const struct vp_option *table)
{
	fprintf(f, "%s:\n", title);
	for (const struct vp_option *opt = table; opt->name != NULL; opt++)
		print_option(f, opt);
	fputs("\n", f);
}

void vp_usage(FILE *f, const struct vp_kind *kind)
{
	char ctl[2048] = ""; /* every kind's control commands, wrapped below */

	if (kind == NULL) {
		fputs(usage_intro, f);
		fputs("Devices:\n", f);
		for (unsigned i = 0; i < vp_nkinds; i++)
			fprintf(f, "  %-22s  %s\n", vp_kinds[i]->name, vp_kinds[i]->summary);
		fputs("\n", f);
	} else {
		fprintf(f, "usage: vioport %s [OPTIONS] [+ DEVICE [OPTIONS]]...\n\n", kind->name);
	}
	print_options(f, "Common options (per group)", vp_group_options);
	print_options(f, "Options for the whole process", vp_process_options);
	for (unsigned i = 0; i < vp_nkinds; i++) {
		const struct vp_kind *k = vp_kinds[i];
		char title[32];

		if ((kind != NULL && kind != k) || k->options == NULL || k->options[0].name == NULL)
			continue;
		snprintf(title, sizeof(title), "%s options", k->name);
		print_options(f, title, k->options);
	}
	for (unsigned i = 0; i < vp_nkinds; i++) {
		const struct vp_kind *k = vp_kinds[i];

		if ((kind == NULL || kind == k) && k->ctl_help != NULL)
			snprintf(
			    ctl + strlen(ctl), sizeof(ctl) - strlen(ctl), "%s%s",
			    ctl[0] ? ", " : "Control socket commands, one a line: ", k->ctl_help);
	}
	if (ctl[0] != '\0') {
		snprintf(ctl + strlen(ctl), sizeof(ctl) - strlen(ctl), " (see vioport(1)).");
		wrap(f, ctl, 80);
		fputs("\n", f);
	}
	if (kind == NULL)
		fputs(usage_tail, f);
	else
		fputs("Everything else (devices, systemd, exit status): vioport --help; "
		      "vioport(1).\n",
		      f);
}
