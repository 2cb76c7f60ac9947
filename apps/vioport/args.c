/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's options: the command line (groups of devices separated by '+'),
 * the configuration file (one section per group, the same option names), and
 * the checks that make one consistent run of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vioport.h"
#include "vioport/blk.h"

/* Where the option being applied came from, for messages: NULL for the command line. */
static const char *option_origin;

/* The help text in parts: one part per device kind, so that `vioport KIND --help` shows
 * only the options that apply to it. */
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
static const char usage_common[] =
    "Common options (per group):\n"
    "  -s, --socket-path PATH  listen on PATH (with --socket-count: PATH0, PATH1, ...)\n"
    "      --fd N              serve on inherited socket N (listening or connected)\n"
    "                          (neither: the next socket systemd passed, LISTEN_FDS)\n"
    "  -c, --socket-count N    serve N devices on N sockets (default 1)\n"
    "      --transport T       vhost-user (default) or vmsg: virtio-msg on a shared\n"
    "                          window, no hypervisor (the driver: vioport-drv, or\n"
    "                          firmware); groups naming one --shm share its bus\n"
    "      --shm PATH          vmsg: the window file (for example /dev/shm/vioport)\n"
    "      --shm-size N        vmsg: create it with N bytes (K, M; default 4M)\n"
    "      --doorbell D        vmsg: poll (default), eventfd:SOCKET or ivshmem:SOCKET\n"
    "                          (ivshmem: the server of QEMU's ivshmem-doorbell)\n"
    "\n";
/* %u: --poll-us default and bound. */
static const char usage_process[] =
    "Options for the whole process:\n"
    "      --config FILE       read groups (and these options) from FILE; see vioport(1)\n"
    "      --control PATH      a unix socket taking commands to the simulations\n"
    "      --sandbox MODE      on (default): once set up, no_new_privs, a system call\n"
    "                          allowlist and Landlock; a call outside the list is\n"
    "                          logged and stops the daemon; log: logged and fails\n"
    "                          with EPERM; off: no sandbox (see docs/security.md)\n"
    "      --user USER         once set up, run as USER (needs root to start)\n"
    "      --poll-us N         adaptive polling: after work, a queue's thread looks\n"
    "                          for more for up to N microseconds before it sleeps,\n"
    "                          with the driver's kicks suppressed (default %u,\n"
    "                          0 to %u; 0: never poll, sleep at once)\n"
    "      --batch N           blk: send a long run of requests to the kernel N at a\n"
    "                          time, completing each part before taking the next\n"
    "                          (default %u, 0 to %u; 0: the whole run at once)\n"
    "      --print-capabilities  print the backend's capabilities as JSON and exit\n"
    "      --log-level LEVEL   error, warn (default), info or debug\n"
    "      --log-time          start each log line with the time (UTC); under\n"
    "                          systemd's journal, lines carry <N> priorities instead\n"
    "  -v, --verbose           same as --log-level info\n"
    "  -q, --quiet             same as --log-level error\n"
    "  -h, --help              this text\n"
    "  -V, --version           the version\n"
    "\n";
/* %u: queues. */
static const char usage_blk[] =
    "blk options:\n"
    "  -i, --image FILE        the disk image; give it once per socket (also\n"
    "                          --blk-file, QEMU's name for it). FILE may be\n"
    "                          an NBD export: nbd://HOST[:PORT][/EXPORT] or\n"
    "                          nbd+unix:///[EXPORT]?socket=PATH (docs/nbd.md)\n"
    "  -r, --read-only         offer a read-only disk, open the image read-only\n"
    "      --num-queues N      request queues, 1 to %u (default 1); one thread each\n"
    "      --serial S          GET_ID answer, up to 20 bytes (default: from the image)\n"
    "      --nbd-timeout S     NBD image: with requests in flight and no answer for S\n"
    "                          seconds, drop the connection and reconnect (default 30,\n"
    "                          0: never)\n"
    "      --direct            O_DIRECT: bypass the host page cache\n"
    "      --sync              no io_uring: every request completes in the call\n"
    "\n";
/* %u: lines. */
static const char usage_gpio[] =
    "gpio options:\n"
    "  -l, --device-list LIST  one chip per socket, separated by ':' or ',': N,\n"
    "                          gpiochipN or /dev/gpiochipN is a Linux GPIO chip; sN\n"
    "                          is a simulated chip of N lines (1 to %u)\n"
    "\n";
static const char usage_i2c[] =
    "i2c options:\n"
    "  -l, --device-list LIST  BUS:ADDR[:ADDR][,BUS:ADDR[:ADDR]]...: the listed\n"
    "                          addresses (decimal, or hex with 0x) of /dev/i2c-BUS;\n"
    "                          or 'sim': a simulated bus with a 24c02 EEPROM at 0x50\n"
    "                          and an LM75 at 0x48\n"
    "      --eeprom-file FILE  the simulated EEPROM's 256 bytes: loaded at start,\n"
    "                          written back on each change\n"
    "\n";
static const char usage_tail[] =
    "Under systemd: sockets passed by socket activation (LISTEN_FDS) go to the\n"
    "groups that name no --socket-path or --fd, in order; READY=1 and STOPPING=1\n"
    "are sent to NOTIFY_SOCKET (Type=notify). See docs/systemd.md.\n"
    "\n"
    "Exit status: 0 after a clean stop, 1 on a runtime error, 2 on a usage error.\n";

/* Prints text in lines of at most width columns, broken at blanks. */
static void vp_wrap(FILE *f, const char *text, size_t width)
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

/* Whether kind is called name: the per-kind help below, until options are data. */
static bool is_kind(const struct vp_kind *kind, const char *name)
{
	return kind == NULL || strcmp(kind->name, name) == 0;
}

/* The help text: everything (kind NULL), or what applies to one kind of device. */
void vp_usage(FILE *f, const struct vp_kind *kind)
{
	char ctl[512] = "";

	if (kind == NULL) {
		fputs(usage_intro, f);
		fputs("Devices:\n", f);
		for (unsigned i = 0; i < vp_nkinds; i++)
			fprintf(f, "  %-22s  %s\n", vp_kinds[i]->name, vp_kinds[i]->summary);
		fputs("\n", f);
	} else {
		fprintf(f, "usage: vioport %s [OPTIONS] [+ DEVICE [OPTIONS]]...\n\n", kind->name);
	}
	fputs(usage_common, f);
	fprintf(f, usage_process, VP_POLL_US_DEFAULT, VP_POLL_US_MAX, VP_BATCH_DEFAULT,
		VP_BATCH_MAX);
	if (is_kind(kind, "blk"))
		fprintf(f, usage_blk, MAX_BLK_QUEUES);
	if (is_kind(kind, "gpio"))
		fprintf(f, usage_gpio, MAX_SIM_GPIO_LINES);
	if (is_kind(kind, "i2c"))
		fputs(usage_i2c, f);
	for (unsigned i = 0; i < vp_nkinds; i++) {
		const struct vp_kind *k = vp_kinds[i];

		if ((kind == NULL || kind == k) && k->ctl_help != NULL) {
			snprintf(
			    ctl + strlen(ctl), sizeof(ctl) - strlen(ctl), "%s%s",
			    ctl[0] ? ", " : "Control socket commands, one a line: ", k->ctl_help);
		}
	}
	if (ctl[0] != '\0') {
		snprintf(ctl + strlen(ctl), sizeof(ctl) - strlen(ctl), " (see vioport(1)).");
		vp_wrap(f, ctl, 80);
		fputs("\n", f);
	}
	if (kind == NULL)
		fputs(usage_tail, f);
	else
		fputs("Everything else (devices, systemd, exit status): vioport --help; "
		      "vioport(1).\n",
		      f);
}

/* A usage error where the option being applied came from; returns EXIT_USAGE. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("vioport: ", stderr);
	if (option_origin != NULL)
		fprintf(stderr, "%s: ", option_origin);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'vioport --help'.\n", stderr);
	return EXIT_USAGE;
}

/* Parses a window size: bytes, or a number with K or M, from 64 KiB to 1 GiB. */
static bool parse_size(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return false;
	if ((*end == 'K' || *end == 'k') && end[1] == '\0')
		v <<= 10;
	else if ((*end == 'M' || *end == 'm') && end[1] == '\0')
		v <<= 20;
	else if (*end != '\0')
		return false;
	if (v < (64u << 10) || v > (1u << 30))
		return false;
	*out = (uint32_t) v;
	return true;
}

static bool parse_level(const char *s, int *level)
{
	static const char *const names[] = {"error", "warn", "info", "debug"};

	for (int i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*level = i;
			return true;
		}
	}
	return false;
}

enum {
	OPT_FD = 256,
	OPT_CAPS,
	OPT_LOG,
	OPT_NUMQ,
	OPT_SERIAL,
	OPT_DIRECT,
	OPT_SYNC,
	OPT_EEPROM,
	OPT_CONTROL,
	OPT_CONFIG,
	OPT_TRANSPORT,
	OPT_SHM,
	OPT_SHM_SIZE,
	OPT_DOORBELL,
	OPT_SANDBOX,
	OPT_USER,
	OPT_POLL_US,
	OPT_LOG_TIME,
	OPT_NBD_TIMEOUT,
	OPT_BATCH,
};

static const struct option long_opts[] = {
    {"socket-path", required_argument, NULL, 's'},
    {"fd", required_argument, NULL, OPT_FD},
    {"socket-count", required_argument, NULL, 'c'},
    {"print-capabilities", no_argument, NULL, OPT_CAPS},
    {"log-level", required_argument, NULL, OPT_LOG},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {"image", required_argument, NULL, 'i'},
    {"blk-file", required_argument, NULL, 'i'}, /* vhost-user's name for it (QEMU's conventions) */
    {"read-only", no_argument, NULL, 'r'},
    {"num-queues", required_argument, NULL, OPT_NUMQ},
    {"serial", required_argument, NULL, OPT_SERIAL},
    {"direct", no_argument, NULL, OPT_DIRECT},
    {"sync", no_argument, NULL, OPT_SYNC},
    {"device-list", required_argument, NULL, 'l'},
    {"eeprom-file", required_argument, NULL, OPT_EEPROM},
    {"control", required_argument, NULL, OPT_CONTROL},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"transport", required_argument, NULL, OPT_TRANSPORT},
    {"shm", required_argument, NULL, OPT_SHM},
    {"shm-size", required_argument, NULL, OPT_SHM_SIZE},
    {"doorbell", required_argument, NULL, OPT_DOORBELL},
    {"sandbox", required_argument, NULL, OPT_SANDBOX},
    {"user", required_argument, NULL, OPT_USER},
    {"poll-us", required_argument, NULL, OPT_POLL_US},
    {"log-time", no_argument, NULL, OPT_LOG_TIME},
    {"nbd-timeout", required_argument, NULL, OPT_NBD_TIMEOUT},
    {"batch", required_argument, NULL, OPT_BATCH},
    {NULL, 0, NULL, 0},
};

/* The error of a group, or a run, without a device. */
static int which_device(void)
{
	char kinds[64];

	return usage_error("which device? (%s)", vp_kind_list(kinds, sizeof(kinds), false));
}

/* Starts group number o->ngroups; returns it, or NULL after reporting too many. */
static struct vp_group *new_group(struct vp_options *o, const char *where)
{
	struct vp_group *g;

	if (o->ngroups == MAX_GROUPS) {
		usage_error("at most %d groups of devices", MAX_GROUPS);
		return NULL;
	}
	g = &o->groups[o->ngroups++];
	memset(g, 0, sizeof(*g));
	g->fd = -1;
	g->socket_count = 1;
	g->num_queues = 1;
	snprintf(g->where, sizeof(g->where), "%s", where);
	return g;
}

/*
 * Applies option c with argument arg (NULL for a flag) to the run or to group
 * g; in_config says it comes from the configuration file, where --config,
 * --help and --version have no place. Returns -1 to go on, or an exit status.
 */
static int apply_option(struct vp_options *o, struct vp_group *g, int c, const char *arg,
			bool in_config)
{
	unsigned v;

	switch (c) {
	case 'h':
	case 'V':
		if (in_config)
			return usage_error("'%s' has no place in a configuration file",
					   c == 'h' ? "help" : "version");
		if (c == 'h')
			vp_usage(stdout, g != NULL ? g->kind : NULL);
		else
			printf("vioport %s\n", VIOPORT_VERSION);
		return EXIT_SUCCESS;
	case 'v':
		o->log_level = VIO_VU_LOG_INFO;
		return -1;
	case 'q':
		o->log_level = VIO_VU_LOG_ERR;
		return -1;
	case OPT_LOG:
		if (!parse_level(arg, &o->log_level))
			return usage_error("--log-level is error, warn, info or debug, not '%s'",
					   arg);
		return -1;
	case OPT_CAPS:
		o->print_caps = true;
		return -1;
	case OPT_LOG_TIME:
		o->log_time = true;
		return -1;
	case OPT_CONTROL:
		o->control = arg;
		return -1;
	case OPT_SANDBOX:
		if (!vio_sandbox_parse_mode(arg, &o->sandbox.mode))
			return usage_error("--sandbox is on, off or log, not '%s'", arg);
		return -1;
	case OPT_USER:
		o->user = arg;
		return -1;
	case OPT_POLL_US:
		if (!vp_parse_uint(arg, 0, VP_POLL_US_MAX, &v))
			return usage_error("--poll-us needs a number from 0 to %u, not '%s'",
					   VP_POLL_US_MAX, arg);
		o->poll_us = v;
		return -1;
	case OPT_BATCH:
		if (!vp_parse_uint(arg, 0, VP_BATCH_MAX, &v))
			return usage_error("--batch needs a number from 0 to %u, not '%s'",
					   VP_BATCH_MAX, arg);
		o->batch = v;
		return -1;
	case OPT_CONFIG:
		if (in_config)
			return usage_error("a configuration file cannot name another");
		if (o->config != NULL)
			return usage_error("one --config at a time");
		o->config = arg;
		return -1;
	}

	/* The rest belong to a group of devices. */
	if (g == NULL)
		return usage_error("this option belongs to a device: put it in a [DEVICE] "
				   "section");
	switch (c) {
	case 's':
		g->socket_path = arg;
		return -1;
	case OPT_FD:
		if (!vp_parse_uint(arg, 0, 1u << 20, &v))
			return usage_error("--fd needs a file descriptor number, not '%s'", arg);
		g->fd = (int) v;
		return -1;
	case 'c':
		if (!vp_parse_uint(arg, 1, MAX_DEVICES, &v))
			return usage_error("--socket-count needs a number from 1 to %d, not '%s'",
					   MAX_DEVICES, arg);
		g->socket_count = v;
		return -1;
	case 'i':
		if (g->nimages == MAX_DEVICES)
			return usage_error("at most %d images", MAX_DEVICES);
		g->images[g->nimages++] = arg;
		return -1;
	case 'r':
		g->read_only = true;
		return -1;
	case OPT_DIRECT:
		g->direct = true;
		return -1;
	case OPT_SYNC:
		g->sync = true;
		return -1;
	case OPT_NUMQ:
		if (!vp_parse_uint(arg, 1, MAX_BLK_QUEUES, &v))
			return usage_error("--num-queues needs a number from 1 to %u, not '%s'",
					   MAX_BLK_QUEUES, arg);
		g->num_queues = v;
		return -1;
	case OPT_NBD_TIMEOUT:
		if (!vp_parse_uint(arg, 0, 3600, &v))
			return usage_error("--nbd-timeout needs seconds from 0 to 3600, not '%s'",
					   arg);
		g->nbd_timeout = v;
		g->nbd_timeout_set = true;
		return -1;
	case OPT_SERIAL:
		if (strlen(arg) > VIO_BLK_ID_BYTES)
			return usage_error("--serial is at most %u bytes", VIO_BLK_ID_BYTES);
		g->serial = arg;
		return -1;
	case 'l':
		g->device_list = arg;
		return -1;
	case OPT_EEPROM:
		g->eeprom_file = arg;
		return -1;
	case OPT_TRANSPORT:
		if (strcmp(arg, "vhost-user") == 0)
			g->transport = TRANSPORT_VHOST_USER;
		else if (strcmp(arg, "vmsg") == 0 || strcmp(arg, "virtio-msg") == 0)
			g->transport = TRANSPORT_VMSG;
		else
			return usage_error("--transport is vhost-user or vmsg, not '%s'", arg);
		return -1;
	case OPT_SHM:
		g->shm = arg;
		return -1;
	case OPT_SHM_SIZE:
		if (!parse_size(arg, &g->shm_size))
			return usage_error("--shm-size is a size from 64K to 1G (bytes, or with K "
					   "or M), not '%s'",
					   arg);
		return -1;
	case OPT_DOORBELL:
		if (strcmp(arg, "poll") != 0 && strncmp(arg, "eventfd:", 8) != 0 &&
		    strncmp(arg, "ivshmem:", 8) != 0)
			return usage_error(
			    "--doorbell is poll, eventfd:SOCKET or ivshmem:SOCKET, not '%s'", arg);
		if (strcmp(arg, "poll") != 0 &&
		    (arg[8] == '\0' || strlen(arg + 8) >= VIO_VMSG_PATH_MAX))
			return usage_error("--doorbell %.8sSOCKET needs a socket path of at "
					   "most %d bytes",
					   arg, VIO_VMSG_PATH_MAX - 1);
		g->doorbell = arg;
		return -1;
	default:
		return usage_error("unknown option");
	}
}

/* Reads a whole file into a NUL-terminated buffer the caller frees; NULL after reporting. */
static char *read_text(const char *path)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "vioport: cannot read the configuration file '%s': %s\n", path,
			strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (1 << 20)) {
		fprintf(stderr,
			"vioport: the configuration file '%s' must be a regular file of "
			"at most 1 MiB\n",
			path);
		goto out;
	}
	buf = malloc((size_t) st.st_size + 1);
	if (buf == NULL) {
		fprintf(stderr, "vioport: out of memory\n");
		goto out;
	}
	while (len < (size_t) st.st_size) {
		got = read(fd, buf + len, (size_t) st.st_size - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t) got;
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		fprintf(stderr, "vioport: the configuration file '%s' is not text\n", path);
		free(buf);
		buf = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	return buf;
}

/* Strips blanks at both ends of s in place. */
static char *trim(char *s)
{
	char *e;

	s += strspn(s, " \t\r");
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/*
 * Reads the configuration file: '#' comments, '[DEVICE]' starting a group,
 * 'option = value' or a bare 'flag' with the long option names. Options
 * before the first section apply to the whole process. The option strings
 * point into o->config_text, kept until exit.
 */
static int read_config(struct vp_options *o, const char *path)
{
	char where[96];
	struct vp_group *g = NULL;
	unsigned lineno = 0;
	char *p, *next;
	int rc = -1;

	o->config_text = read_text(path);
	if (o->config_text == NULL)
		return EXIT_FAILURE;
	option_origin = where;
	for (p = o->config_text; p != NULL && rc < 0; p = next) {
		char *line, *eq, *key, *val = NULL;
		const struct option *opt;

		next = strchr(p, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		line = p;
		if (line[strcspn(line, "#")] == '#')
			line[strcspn(line, "#")] = '\0';
		line = trim(line);
		if (*line == '\0')
			continue;
		if (*line == '[') {
			size_t n = strlen(line);
			const struct vp_kind *k;
			char kinds[64];

			if (n < 3 || line[n - 1] != ']') {
				rc = usage_error("a section is '[DEVICE]', not '%s'", line);
				break;
			}
			line[n - 1] = '\0';
			k = vp_kind_find(trim(line + 1));
			if (k == NULL) {
				rc = usage_error("unknown device '%s' (%s)", trim(line + 1),
						 vp_kind_list(kinds, sizeof(kinds), false));
				break;
			}
			g = new_group(o, where);
			if (g == NULL) {
				rc = EXIT_USAGE;
				break;
			}
			g->kind = k;
			continue;
		}
		eq = strchr(line, '=');
		if (eq != NULL) {
			*eq = '\0';
			val = trim(eq + 1);
		}
		key = trim(line);
		for (opt = long_opts; opt->name != NULL; opt++)
			if (strcmp(opt->name, key) == 0)
				break;
		if (opt->name == NULL) {
			rc = usage_error("unknown option '%s'", key);
			break;
		}
		if (opt->has_arg == required_argument && (val == NULL || *val == '\0')) {
			rc = usage_error("'%s' needs a value: '%s = VALUE'", key, key);
			break;
		}
		if (opt->has_arg == no_argument && val != NULL) {
			rc = usage_error("'%s' takes no value", key);
			break;
		}
		rc = apply_option(o, g, opt->val, val, true);
	}
	option_origin = NULL;
	return rc;
}

int vp_parse_args(struct vp_options *o, int argc, char **argv)
{
	struct vp_group *g = NULL;
	bool group_open = false; /* the current group still lacks its device */
	bool after_plus = false; /* the last word was '+' */
	char where[40];
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->log_level = VIO_VU_LOG_WARN;
	o->poll_us = VP_POLL_US_DEFAULT;
	o->batch = VP_BATCH_DEFAULT;
	vio_sandbox_init(&o->sandbox, VIO_SANDBOX_ON, "vioport");
	/* Called vioport-KIND (the links QEMU's backend descriptions name), the first group's
	 * device is KIND: `vioport-blk --print-capabilities`, `vioport-blk --socket-path ...`. */
	if (argc > 0) {
		const char *base = strrchr(argv[0], '/');
		const struct vp_kind *k;

		base = base != NULL ? base + 1 : argv[0];
		k = strncmp(base, "vioport-", 8) == 0 ? vp_kind_find(base + 8) : NULL;
		if (k != NULL) {
			g = new_group(o, "group 1 of the command line");
			if (g == NULL)
				return EXIT_USAGE;
			g->kind = k;
		}
	}
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+s:c:vqhVi:rl:", long_opts, NULL)) != -1 ||
	       optind < argc) {
		if (c == -1) {
			const char *word = argv[optind++];
			const struct vp_kind *k;
			char kinds[64];

			/* '+' ends a group; the device name may come anywhere in its group. */
			if (strcmp(word, "+") == 0) {
				if (g == NULL || g->kind == NULL)
					return usage_error(
					    "'+' separates groups, each with a device");
				g = NULL;
				after_plus = true;
				continue;
			}
			after_plus = false;
			k = vp_kind_find(word);
			if (k == NULL)
				return usage_error("unknown device '%s' (%s)", word,
						   vp_kind_list(kinds, sizeof(kinds), false));
			if (g != NULL && g->kind != NULL)
				return usage_error("one device per group, '%s' is extra (separate "
						   "groups with '+')",
						   word);
			if (g == NULL) {
				snprintf(where, sizeof(where), "group %u of the command line",
					 o->ngroups + 1);
				g = new_group(o, where);
				if (g == NULL)
					return EXIT_USAGE;
			}
			g->kind = k;
			group_open = false;
			continue;
		}
		switch (c) {
		case '?':
			if (optopt != 0)
				return usage_error("option -%c needs an argument or is unknown",
						   optopt);
			return usage_error("unknown option '%s'", argv[optind - 1]);
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		case 's':
		case OPT_FD:
		case 'c':
		case 'i':
		case 'r':
		case OPT_DIRECT:
		case OPT_SYNC:
		case OPT_NUMQ:
		case OPT_SERIAL:
		case 'l':
		case OPT_EEPROM:
		case OPT_TRANSPORT:
		case OPT_SHM:
		case OPT_SHM_SIZE:
		case OPT_DOORBELL:
			/* A group's option before its device name opens the group. */
			if (g == NULL) {
				snprintf(where, sizeof(where), "group %u of the command line",
					 o->ngroups + 1);
				g = new_group(o, where);
				if (g == NULL)
					return EXIT_USAGE;
				group_open = true;
			}
			after_plus = false;
			break;
		default:
			break;
		}
		rc = apply_option(o, g, c, optarg, false);
		if (rc >= 0)
			return rc;
	}
	if (after_plus)
		return usage_error("'+' must be followed by another device");
	if (group_open || (g != NULL && g->kind == NULL))
		return which_device();
	if (o->config != NULL) {
		/* The file's groups come first; the command line's follow them. */
		struct vp_group cli[MAX_GROUPS];
		unsigned ncli = o->ngroups;

		memcpy(cli, o->groups, sizeof(cli[0]) * ncli);
		o->ngroups = 0;
		rc = read_config(o, o->config);
		if (rc >= 0)
			return rc;
		if (o->ngroups + ncli > MAX_GROUPS)
			return usage_error("at most %d groups of devices", MAX_GROUPS);
		memcpy(&o->groups[o->ngroups], cli, sizeof(cli[0]) * ncli);
		o->ngroups += ncli;
	}
	return -1;
}

/*
 * Checks how a group reaches its driver: sockets for vhost-user, or a window
 * for virtio-msg, whose devices (counted by the kind's check) are all on the
 * window's bus.
 */
static int check_transport(struct vp_group *g)
{
	if (g->transport == TRANSPORT_VMSG) {
		if (g->shm == NULL)
			return usage_error("--transport vmsg needs --shm PATH (the window file)");
		if (strlen(g->shm) >= VIO_VMSG_PATH_MAX)
			return usage_error("window path too long: '%s'", g->shm);
		if (g->socket_path != NULL || g->fd >= 0 || g->socket_count != 1)
			return usage_error("--socket-path, --fd and --socket-count are for "
					   "vhost-user; with --transport vmsg the devices share "
					   "the window's bus");
		return -1;
	}
	if (g->shm != NULL || g->shm_size != 0 || g->doorbell != NULL)
		return usage_error("--shm, --shm-size and --doorbell need --transport vmsg");
	if ((g->socket_path == NULL) == (g->fd < 0))
		return usage_error("give exactly one of --socket-path and --fd");
	if (g->fd >= 0 && g->socket_count != 1)
		return usage_error("--fd serves one device; --socket-count needs --socket-path");
	if (g->socket_path != NULL &&
	    strlen(g->socket_path) + 3 > sizeof(((struct vp_instance *) 0)->path))
		return usage_error("socket path too long: '%s'", g->socket_path);
	return -1;
}

/* Checks one group; -1 to go on, else an exit status. */
static int check_group(struct vp_group *g, bool print_caps)
{
	int rc;

	if (g->kind == NULL)
		return which_device();
	if (print_caps)
		return -1;
	rc = check_transport(g);
	if (rc >= 0)
		return rc;
	if (!is_kind(g->kind, "blk") && (g->nimages || g->read_only || g->direct || g->sync ||
					 g->serial || g->num_queues != 1 || g->nbd_timeout_set))
		return usage_error("--image, --read-only, --num-queues, --serial, --nbd-timeout, "
				   "--direct and --sync are blk options");
	if (!is_kind(g->kind, "gpio") && !is_kind(g->kind, "i2c") && g->device_list)
		return usage_error("--device-list is a gpio and i2c option");
	if (!is_kind(g->kind, "i2c") && g->eeprom_file)
		return usage_error("--eeprom-file is an i2c option");
	if (g->kind->check != NULL && g->kind->check(g, option_origin) < 0)
		return EXIT_USAGE;
	return -1;
}

/*
 * Hands the sockets systemd passed (LISTEN_FDS) to the vhost-user groups that
 * name neither --socket-path nor --fd, one each, in order; every passed socket
 * must find its group. -1 to go on, else an exit status.
 */
static int take_activated(struct vp_options *o)
{
	int n = vio_sd_listen_fds(true);
	unsigned next = 0;

	if (n < 0)
		return usage_error("LISTEN_PID and LISTEN_FDS from systemd are unusable: %s",
				   strerror(-n));
	for (unsigned i = 0; i < o->ngroups && next < (unsigned) n; i++) {
		struct vp_group *g = &o->groups[i];

		if (g->transport == TRANSPORT_VHOST_USER && g->socket_path == NULL && g->fd < 0)
			g->fd = VIO_SD_LISTEN_FDS_START + (int) next++;
	}
	if (next < (unsigned) n)
		return usage_error("systemd passed %d sockets (LISTEN_FDS) but only %u group%s "
				   "name%s neither --socket-path nor --fd to take one",
				   n, next, next == 1 ? "" : "s", next == 1 ? "s" : "");
	o->activated = next;
	return -1;
}

int vp_check_args(struct vp_options *o)
{
	unsigned total = 0;
	int rc;

	if (o->ngroups == 0)
		return which_device();
	if (o->print_caps && o->ngroups != 1)
		return usage_error("--print-capabilities takes one device");
	if (o->control != NULL && strlen(o->control) >= sizeof(((struct vp_control *) 0)->path))
		return usage_error("control socket path too long: '%s'", o->control);
	if (!o->print_caps) {
		rc = take_activated(o);
		if (rc >= 0)
			return rc;
	}
	/* The user database is read now: the sandbox has no access to it later. */
	if (o->user != NULL && !o->print_caps) {
		char err[160];

		if (vio_sandbox_set_user(&o->sandbox, o->user, err, sizeof(err)) < 0)
			return usage_error("--user: %s", err);
	}
	for (unsigned i = 0; i < o->ngroups; i++) {
		struct vp_group *g = &o->groups[i];

		option_origin = o->ngroups > 1 || o->config != NULL ? g->where : NULL;
		rc = check_group(g, o->print_caps);
		if (rc < 0 && !o->print_caps) {
			total += g->socket_count;
			if (total > MAX_DEVICES)
				rc = usage_error("at most %d devices in one process", MAX_DEVICES);
		}
		for (unsigned j = 0; rc < 0 && j < i; j++) {
			const struct vp_group *h = &o->groups[j];

			if (g->socket_path != NULL && h->socket_path != NULL &&
			    strcmp(g->socket_path, h->socket_path) == 0)
				rc = usage_error("socket path '%s' is used by %s already",
						 g->socket_path, h->where);
			else if (g->fd >= 0 && g->fd == h->fd)
				rc = usage_error("fd %d is used by %s already", g->fd, h->where);
		}
		option_origin = NULL;
		if (rc >= 0)
			return rc;
	}
	return -1;
}
