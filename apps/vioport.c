/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport: VirtIO device backends as vhost-user daemons.
 *
 *   vioport blk --socket-path PATH --image FILE [--read-only] [--num-queues N]
 *               [--serial S] [--direct] [--sync]
 *   vioport rng --socket-path PATH
 *   vioport gpio --socket-path PATH --device-list sN[,sN...] [--control PATH]
 *   vioport i2c --socket-path PATH --device-list sim [--eeprom-file FILE] [--control PATH]
 *
 * One process serves one device per socket (--socket-count N gives N sockets
 * PATH0 .. PATHN-1, as rust-vmm's vhost-device programs do), all on one event
 * loop; with --num-queues > 1 each blk queue's kicks run on a thread of their
 * own. See docs/vioport.1.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vioport/blk.h"
#include "vioport/gpio.h"
#include "vioport/host_blk.h"
#include "vioport/host_rng.h"
#include "vioport/i2c.h"
#include "vioport/loop.h"
#include "vioport/rng.h"
#include "vioport/sim_gpio.h"
#include "vioport/sim_i2c.h"
#include "vioport/vhost_user.h"

#define VIOPORT_VERSION "0.1.0"

#define EXIT_USAGE	    2
#define MAX_DEVICES	    64
#define QUEUE_SIZE	    256u
#define MAX_BLK_QUEUES	    16u
#define BLK_SLOTS_PER_QUEUE 128u
#define MAX_SIM_GPIO_LINES  256u
#define I2C_BOUNCE	    4096u
#define CTL_CLIENTS	    8
#define CTL_LINE	    256

enum kind { KIND_NONE, KIND_BLK, KIND_RNG, KIND_GPIO, KIND_I2C };

struct options {
	enum kind kind;
	const char *socket_path;
	int fd;
	unsigned socket_count;
	const char *images[MAX_DEVICES];
	unsigned nimages;
	bool read_only;
	bool direct;
	bool sync;
	unsigned num_queues;
	const char *serial;
	int log_level;
	bool print_caps;
	const char *device_list;
	const char *eeprom_file;
	const char *control;
	uint16_t gpio_lines[MAX_DEVICES]; /* gpio: lines of each simulated chip */
};

/* One served device: the device model, its provider and its vhost-user server. */
struct instance {
	const struct options *opt;
	char name[16];
	char path[108];
	struct vio_vu_server server;
	bool server_ready;
	struct vio_device *dev;
	/* blk */
	struct vio_blk blk;
	struct vio_queue queues[MAX_BLK_QUEUES];
	struct vio_blk_req slots[MAX_BLK_QUEUES * BLK_SLOTS_PER_QUEUE];
	struct vio_host_blk disk;
	bool disk_open;
	struct vio_device_ops ops; /* the blk ops, with a queue_notify that submits */
	const struct vio_device_ops *blk_ops;
	struct vio_loop_watch disk_w;
	/* rng */
	struct vio_rng rng;
	struct vio_queue rng_queue;
	struct vio_host_rng entropy;
	/* gpio: a simulated chip */
	struct vio_gpio gpio;
	struct vio_queue gpio_queues[2];
	struct vio_gpio_line gpio_lines[MAX_SIM_GPIO_LINES];
	struct vio_sim_gpio chip;
	struct vio_sim_gpio_line chip_lines[MAX_SIM_GPIO_LINES];
	/* i2c: the simulated bus */
	struct vio_i2c i2c;
	struct vio_queue i2c_queue;
	uint8_t i2c_bounce[I2C_BOUNCE];
	struct vio_sim_i2c_bus bus;
	struct vio_sim_24c02 eeprom;
	struct vio_sim_lm75 lm75;
	uint8_t eeprom_mem[VIO_SIM_24C02_SIZE];
	uint8_t eeprom_saved[VIO_SIM_24C02_SIZE]; /* what the backing file holds */
	int eeprom_fd;
};

/* A connection to the control socket: one command per line, one reply line each. */
struct ctl_client {
	struct control *ctl;
	int fd;
	struct vio_loop_watch w;
	char buf[CTL_LINE];
	size_t len;
	bool overlong; /* the line being read went past CTL_LINE: answer it with an error */
};

/* The control socket of the simulations, served on the main loop. */
struct control {
	int fd;
	char path[108];
	struct vio_loop_watch w;
	struct vio_loop *loop;
	struct instance *inst;
	unsigned ninst;
	struct ctl_client clients[CTL_CLIENTS];
};

static struct vio_loop *signal_loop; /* what SIGINT/SIGTERM stop */
static int log_level = VIO_VU_LOG_WARN;

static void say(int level, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void say(int level, const char *who, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	va_list ap;

	if (level > log_level)
		return;
	fprintf(stderr, "vioport%s%s: %s: ", who[0] ? " " : "", who, names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: vioport DEVICE [OPTIONS]\n"
	    "       vioport --print-capabilities DEVICE | --help | --version\n"
	    "\n"
	    "Serves a VirtIO device to a vhost-user frontend (QEMU, crosvm, cloud-hypervisor)\n"
	    "over a unix socket. The device is reset when the frontend goes away and the\n"
	    "daemon waits for the next connection. SIGINT and SIGTERM stop it cleanly.\n"
	    "\n"
	    "Devices:\n"
	    "  blk                     virtio-blk on a file or block device (--image)\n"
	    "  rng                     virtio-rng on the kernel's entropy (getrandom)\n"
	    "  gpio                    virtio-gpio on a simulated chip (--device-list sN)\n"
	    "  i2c                     virtio-i2c on a simulated bus (--device-list sim)\n"
	    "\n"
	    "Common options:\n"
	    "  -s, --socket-path PATH  listen on PATH (with --socket-count: PATH0, PATH1, ...)\n"
	    "      --fd N              serve on inherited socket N (listening or connected)\n"
	    "  -c, --socket-count N    serve N devices on N sockets (default 1)\n"
	    "      --print-capabilities  print the backend's capabilities as JSON and exit\n"
	    "      --log-level LEVEL   error, warn (default), info or debug\n"
	    "  -v, --verbose           same as --log-level info\n"
	    "  -q, --quiet             same as --log-level error\n"
	    "  -h, --help              this text\n"
	    "  -V, --version           the version\n"
	    "\n"
	    "blk options:\n"
	    "  -i, --image FILE        the disk image; give it once per socket\n"
	    "  -r, --read-only         offer a read-only disk, open the image read-only\n"
	    "      --num-queues N      request queues, 1 to %u (default 1); one thread each\n"
	    "      --serial S          GET_ID answer, up to 20 bytes (default: from the image)\n"
	    "      --direct            O_DIRECT: bypass the host page cache\n"
	    "      --sync              no io_uring: every request completes in the call\n"
	    "\n"
	    "gpio options:\n"
	    "  -l, --device-list LIST  one chip per socket, comma-separated: sN is a simulated\n"
	    "                          chip of N lines (1 to %u) named sim-gpio-0 ..\n"
	    "                          (Linux GPIO chips are not supported yet)\n"
	    "\n"
	    "i2c options:\n"
	    "  -l, --device-list sim   the simulated bus: a 24c02 EEPROM at 0x50 and an LM75 at\n"
	    "                          0x48 (Linux i2c-dev adapters are not supported yet)\n"
	    "      --eeprom-file FILE  the EEPROM's 256 bytes: loaded at start, written back\n"
	    "                          on each change\n"
	    "\n"
	    "gpio and i2c simulation:\n"
	    "      --control PATH      a unix socket taking commands, one a line: gpio set LINE\n"
	    "                          0|1, gpio get LINE, gpio list, i2c temp MILLICELSIUS,\n"
	    "                          i2c eeprom-dump (see vioport(1))\n"
	    "\n"
	    "Exit status: 0 after a clean stop, 1 on a runtime error, 2 on a usage error.\n",
	    MAX_BLK_QUEUES, MAX_SIM_GPIO_LINES);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("vioport: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'vioport --help'.\n", stderr);
	return EXIT_USAGE;
}

/* Parses a whole decimal number in [lo, hi]. */
static bool parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return false;
	*out = (unsigned) v;
	return true;
}

static enum kind parse_kind(const char *s)
{
	if (strcmp(s, "blk") == 0 || strcmp(s, "block") == 0)
		return KIND_BLK;
	if (strcmp(s, "rng") == 0)
		return KIND_RNG;
	if (strcmp(s, "gpio") == 0)
		return KIND_GPIO;
	if (strcmp(s, "i2c") == 0)
		return KIND_I2C;
	return KIND_NONE;
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
	OPT_CONTROL
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
    {"read-only", no_argument, NULL, 'r'},
    {"num-queues", required_argument, NULL, OPT_NUMQ},
    {"serial", required_argument, NULL, OPT_SERIAL},
    {"direct", no_argument, NULL, OPT_DIRECT},
    {"sync", no_argument, NULL, OPT_SYNC},
    {"device-list", required_argument, NULL, 'l'},
    {"eeprom-file", required_argument, NULL, OPT_EEPROM},
    {"control", required_argument, NULL, OPT_CONTROL},
    {NULL, 0, NULL, 0},
};

/* Applies one option; returns 0, or an exit status to stop with. */
static int apply_option(struct options *o, int c, const char *arg)
{
	unsigned v;

	switch (c) {
	case 's':
		o->socket_path = arg;
		return 0;
	case OPT_FD:
		if (!parse_uint(arg, 0, 1u << 20, &v))
			return usage_error("--fd needs a file descriptor number, not '%s'", arg);
		o->fd = (int) v;
		return 0;
	case 'c':
		if (!parse_uint(arg, 1, MAX_DEVICES, &v))
			return usage_error("--socket-count needs a number from 1 to %d, not '%s'",
					   MAX_DEVICES, arg);
		o->socket_count = v;
		return 0;
	case OPT_LOG:
		if (!parse_level(arg, &o->log_level))
			return usage_error("--log-level is error, warn, info or debug, not '%s'",
					   arg);
		return 0;
	case 'i':
		if (o->nimages == MAX_DEVICES)
			return usage_error("at most %d images", MAX_DEVICES);
		o->images[o->nimages++] = arg;
		return 0;
	case OPT_NUMQ:
		if (!parse_uint(arg, 1, MAX_BLK_QUEUES, &v))
			return usage_error("--num-queues needs a number from 1 to %u, not '%s'",
					   MAX_BLK_QUEUES, arg);
		o->num_queues = v;
		return 0;
	case OPT_SERIAL:
		if (strlen(arg) > VIO_BLK_ID_BYTES)
			return usage_error("--serial is at most %u bytes", VIO_BLK_ID_BYTES);
		o->serial = arg;
		return 0;
	case 'l':
		o->device_list = arg;
		return 0;
	case OPT_EEPROM:
		o->eeprom_file = arg;
		return 0;
	case OPT_CONTROL:
		o->control = arg;
		return 0;
	default:
		return usage_error("unknown option");
	}
}

/* Fills o from argv; returns -1 to go on, or an exit status. */
static int parse_args(struct options *o, int argc, char **argv)
{
	int c, rc;

	memset(o, 0, sizeof(*o));
	o->fd = -1;
	o->socket_count = 1;
	o->num_queues = 1;
	o->log_level = VIO_VU_LOG_WARN;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+s:c:vqhVi:rl:", long_opts, NULL)) != -1 ||
	       optind < argc) {
		if (c == -1) {
			/* The device name may come anywhere; parsing resumes after it. */
			if (o->kind != KIND_NONE)
				return usage_error("one device at a time, '%s' is extra",
						   argv[optind]);
			o->kind = parse_kind(argv[optind]);
			if (o->kind == KIND_NONE)
				return usage_error("unknown device '%s' (blk, rng, gpio or i2c)",
						   argv[optind]);
			optind++;
			continue;
		}
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vioport %s\n", VIOPORT_VERSION);
			return 0;
		case 'v':
			o->log_level = VIO_VU_LOG_INFO;
			break;
		case 'q':
			o->log_level = VIO_VU_LOG_ERR;
			break;
		case 'r':
			o->read_only = true;
			break;
		case OPT_DIRECT:
			o->direct = true;
			break;
		case OPT_SYNC:
			o->sync = true;
			break;
		case OPT_CAPS:
			o->print_caps = true;
			break;
		case '?':
			if (optopt != 0)
				return usage_error("option -%c needs an argument or is unknown",
						   optopt);
			return usage_error("unknown option '%s'", argv[optind - 1]);
		case ':':
			return usage_error("option '%s' needs an argument", argv[optind - 1]);
		default:
			rc = apply_option(o, c, optarg);
			if (rc != 0)
				return rc;
		}
	}
	return -1;
}

/* Checks that the options make one consistent run. */
static int check_args(const struct options *o)
{
	if (o->kind == KIND_NONE)
		return usage_error("which device? (blk, rng, gpio or i2c)");
	if (o->print_caps)
		return -1;
	if ((o->socket_path == NULL) == (o->fd < 0))
		return usage_error("give exactly one of --socket-path and --fd");
	if (o->fd >= 0 && o->socket_count != 1)
		return usage_error("--fd serves one device; --socket-count needs --socket-path");
	if (o->kind == KIND_BLK && o->nimages != o->socket_count)
		return usage_error("blk needs one --image per socket (%u socket%s, %u image%s)",
				   o->socket_count, o->socket_count == 1 ? "" : "s", o->nimages,
				   o->nimages == 1 ? "" : "s");
	if (o->kind != KIND_BLK &&
	    (o->nimages || o->read_only || o->direct || o->sync || o->serial || o->num_queues != 1))
		return usage_error("--image, --read-only, --num-queues, --serial, --direct and "
				   "--sync are blk options");
	if (o->socket_path != NULL &&
	    strlen(o->socket_path) + 3 > sizeof(((struct instance *) 0)->path))
		return usage_error("socket path too long: '%s'", o->socket_path);
	if (o->kind != KIND_GPIO && o->kind != KIND_I2C && (o->device_list || o->control))
		return usage_error("--device-list and --control are gpio and i2c options");
	if (o->kind != KIND_I2C && o->eeprom_file)
		return usage_error("--eeprom-file is an i2c option");
	if ((o->kind == KIND_GPIO || o->kind == KIND_I2C) && o->device_list == NULL)
		return usage_error("%s needs --device-list", o->kind == KIND_GPIO ? "gpio" : "i2c");
	if (o->control != NULL && strlen(o->control) >= sizeof(((struct control *) 0)->path))
		return usage_error("control socket path too long: '%s'", o->control);
	return -1;
}

/* Whether a gpio list entry names a host chip (/dev/gpiochipN, gpiochipN or N). */
static bool gpio_host_chip(const char *e, size_t n)
{
	return (n > 0 && e[0] >= '0' && e[0] <= '9') || (n >= 5 && strncmp(e, "/dev/", 5) == 0) ||
	       (n >= 8 && strncmp(e, "gpiochip", 8) == 0);
}

/*
 * Checks --device-list against the device and --socket-count (the rust-vmm
 * vhost-device forms); host devices are refused at run time, not as a usage
 * error, since the list is well-formed and only the provider is missing.
 * Returns -1 to go on, or an exit status.
 */
static int check_device_list(struct options *o)
{
	const char *p = o->device_list;
	unsigned n = 0;

	if (o->kind == KIND_I2C) {
		if (strcmp(p, "sim") == 0) {
			if (o->socket_count != 1)
				return usage_error("the simulated i2c bus is served on one socket");
			return -1;
		}
		if (strchr(p, ':') != NULL) {
			fprintf(stderr,
				"vioport: i2c: host adapters ('%s') are not supported yet; "
				"use --device-list sim\n",
				p);
			return EXIT_FAILURE;
		}
		return usage_error("--device-list for i2c is 'sim' or '<bus>:<addr>[:<addr>],...', "
				   "not '%s'",
				   p);
	}
	for (;;) {
		size_t len = strcspn(p, ",");
		char num[8];
		unsigned v;

		if (n == MAX_DEVICES)
			return usage_error("--device-list has more than %d chips", MAX_DEVICES);
		if (len > 1 && len < sizeof(num) + 1 && p[0] == 's') {
			memcpy(num, p + 1, len - 1);
			num[len - 1] = '\0';
			if (!parse_uint(num, 1, MAX_SIM_GPIO_LINES, &v))
				return usage_error("a simulated chip has 1 to %u lines, not '%.*s'",
						   MAX_SIM_GPIO_LINES, (int) len, p);
			o->gpio_lines[n] = (uint16_t) v;
		} else if (gpio_host_chip(p, len)) {
			fprintf(stderr,
				"vioport: gpio: host GPIO chips ('%.*s') are not supported yet; "
				"use a simulated chip, sN\n",
				(int) len, p);
			return EXIT_FAILURE;
		} else {
			return usage_error("--device-list for gpio takes sN (a simulated chip of N "
					   "lines) per socket, not '%.*s'",
					   (int) len, p);
		}
		n++;
		if (p[len] == '\0')
			break;
		p += len + 1;
	}
	if (n != o->socket_count)
		return usage_error("--device-list names %u chip%s for %u socket%s", n,
				   n == 1 ? "" : "s", o->socket_count,
				   o->socket_count == 1 ? "" : "s");
	return -1;
}

/* The JSON that QEMU's backend conventions ask for (docs/interop/vhost-user.json). */
static void print_capabilities(enum kind k)
{
	if (k == KIND_BLK)
		printf("{\n  \"type\": \"block\",\n  \"features\": [\n"
		       "    \"read-only-config\",\n    \"blk-discard-write-zeroes\"\n  ]\n}\n");
	else
		printf("{\n  \"type\": \"%s\",\n  \"features\": []\n}\n", k == KIND_RNG	   ? "rng"
									  : k == KIND_GPIO ? "gpio"
											   : "i2c");
}

static void server_log(void *ctx, int level, const char *msg)
{
	struct instance *in = ctx;

	say(level, in->name, "%s", msg);
}

/* blk: the provider's completions arrive on its event fd. */
static void disk_event(struct vio_loop_watch *w, uint32_t revents)
{
	struct instance *in = w->ctx;

	(void) revents;
	vio_vu_server_lock(&in->server);
	vio_host_blk_reap(&in->disk);
	vio_vu_server_unlock(&in->server);
}

/* blk: after the device took a kick's requests, send them to the kernel at once. */
static void blk_queue_notify(struct vio_device *dev, uint16_t q)
{
	struct vio_blk *blk = dev->priv;
	struct instance *in = (struct instance *) ((char *) blk - offsetof(struct instance, blk));

	in->blk_ops->queue_notify(dev, q);
	vio_host_blk_submit(&in->disk);
}

/* blk: before memory goes away, every request in the kernel must have finished. */
static void blk_quiesce(void *ctx, struct vio_device *dev)
{
	struct instance *in = ctx;

	(void) dev;
	vio_vu_server_lock(&in->server);
	vio_host_blk_drain(&in->disk);
	vio_vu_server_unlock(&in->server);
}

static int open_disk(struct instance *in, const char *image)
{
	const struct options *o = in->opt;
	struct vio_host_blk_options ho = {
	    .read_only = o->read_only,
	    .direct = o->direct,
	    .sync = o->sync,
	    .queue_depth = (uint16_t) (o->num_queues * BLK_SLOTS_PER_QUEUE),
	};
	int rc = vio_host_blk_open(&in->disk, image, &ho);

	if (rc < 0) {
		say(VIO_VU_LOG_ERR, in->name, "cannot open image '%s': %s%s", image, strerror(-rc),
		    rc == -EROFS ? " (try --read-only)" : "");
		return rc;
	}
	in->disk_open = true;
	if (!o->sync && !vio_host_blk_async(&in->disk))
		say(VIO_VU_LOG_INFO, in->name,
		    "io_uring unavailable (%s); requests run synchronously",
		    strerror(-in->disk.async_err));
	return 0;
}

static int setup_blk(struct instance *in, const char *image)
{
	const struct options *o = in->opt;
	struct vio_blk_params p;
	int rc;

	rc = open_disk(in, image);
	if (rc < 0)
		return rc;
	memset(&p, 0, sizeof(p));
	p.features = VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) |
		     VIO_BIT(VIO_F_RING_PACKED) | VIO_BIT(VIO_BLK_F_SEG_MAX);
	if (o->num_queues > 1)
		p.features |= VIO_BIT(VIO_BLK_F_MQ);
	p.num_queues = (uint16_t) o->num_queues;
	p.queue_size = QUEUE_SIZE;
	p.seg_max = VIO_BLK_SLOT_SEGS - 2;
	vio_host_blk_params(&in->disk, &p);
	if (o->serial != NULL)
		memcpy(p.serial, o->serial, strlen(o->serial)); /* checked to fit; p was zeroed */
	else
		vio_host_blk_default_serial(&in->disk, p.serial);
	rc = vio_blk_init(&in->blk, &p, &vio_host_blk_ops, &in->disk, in->queues, in->slots,
			  (uint16_t) (o->num_queues * BLK_SLOTS_PER_QUEUE));
	if (rc < 0) {
		say(VIO_VU_LOG_ERR, in->name, "cannot set up the blk device (%d)", rc);
		return -EINVAL;
	}
	in->blk_ops = in->blk.dev.ops;
	in->ops = *in->blk_ops;
	in->ops.queue_notify = blk_queue_notify;
	in->blk.dev.ops = &in->ops;
	in->dev = &in->blk.dev;
	say(VIO_VU_LOG_INFO, in->name, "image '%s': %llu sectors%s%s, %u queue%s, %s", image,
	    (unsigned long long) p.capacity, o->read_only ? ", read-only" : "",
	    o->direct ? ", O_DIRECT" : "", o->num_queues, o->num_queues == 1 ? "" : "s",
	    vio_host_blk_async(&in->disk) ? "io_uring" : "synchronous");
	return 0;
}

static int setup_rng(struct instance *in)
{
	vio_host_rng_init(&in->entropy);
	if (vio_rng_init(&in->rng, &vio_host_rng_ops, &in->entropy, &in->rng_queue, QUEUE_SIZE,
			 VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) |
			     VIO_BIT(VIO_F_RING_PACKED)) < 0)
		return -EINVAL;
	in->dev = &in->rng.dev;
	return 0;
}

/* gpio: a simulated chip of the listed size, interrupts on the eventq. */
static int setup_gpio(struct instance *in, uint16_t nlines)
{
	vio_sim_gpio_init(&in->chip, in->chip_lines, nlines, NULL);
	if (vio_gpio_init(&in->gpio, &vio_sim_gpio_ops, &in->chip, nlines, in->gpio_lines,
			  in->gpio_queues, QUEUE_SIZE,
			  VIO_BIT(VIO_GPIO_F_IRQ) | VIO_BIT(VIO_F_INDIRECT_DESC) |
			      VIO_BIT(VIO_F_EVENT_IDX) | VIO_BIT(VIO_F_RING_PACKED)) < 0) {
		say(VIO_VU_LOG_ERR, in->name, "cannot set up the gpio device");
		return -EINVAL;
	}
	vio_sim_gpio_attach(&in->chip, &in->gpio);
	in->dev = &in->gpio.dev;
	say(VIO_VU_LOG_INFO, in->name, "simulated chip, %u lines", nlines);
	return 0;
}

/* i2c: writes the EEPROM back when a transfer changed it, so a crash loses nothing. */
static void eeprom_sync(struct instance *in)
{
	if (in->eeprom_fd < 0 || memcmp(in->eeprom_mem, in->eeprom_saved, VIO_SIM_24C02_SIZE) == 0)
		return;
	if (pwrite(in->eeprom_fd, in->eeprom_mem, VIO_SIM_24C02_SIZE, 0) !=
	    (ssize_t) VIO_SIM_24C02_SIZE) {
		say(VIO_VU_LOG_ERR, in->name, "cannot write the EEPROM file: %s", strerror(errno));
		return;
	}
	memcpy(in->eeprom_saved, in->eeprom_mem, VIO_SIM_24C02_SIZE);
}

/* i2c: the simulated bus, then the EEPROM's write-back; runs under the server lock. */
static int i2c_xfer(void *ctx, const struct vio_i2c_msg *msgs, unsigned n)
{
	struct instance *in = ctx;
	int rc = vio_sim_i2c_xfer(&in->bus, msgs, n);

	eeprom_sync(in);
	return rc;
}

static const struct vio_i2c_ops i2c_ops = {.xfer = i2c_xfer};

/*
 * i2c: loads the EEPROM file; a short or new file reads as erased (0xff) bytes.
 * The descriptor is kept, and so ever written to, only once the file passed
 * every check: a file refused here must be left exactly as it was.
 */
static int open_eeprom(struct instance *in, const char *file)
{
	struct stat st;
	ssize_t got;
	int fd, rc;

	fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		say(VIO_VU_LOG_ERR, in->name, "cannot open the EEPROM file '%s': %s", file,
		    strerror(errno));
		goto fail;
	}
	/* A bigger file is something else: refuse rather than overwrite its start. */
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t) VIO_SIM_24C02_SIZE) {
		say(VIO_VU_LOG_ERR, in->name,
		    "the EEPROM file '%s' must be a regular file of at most %u bytes", file,
		    VIO_SIM_24C02_SIZE);
		rc = -EINVAL;
		goto fail;
	}
	memset(in->eeprom_mem, 0xff, sizeof(in->eeprom_mem));
	got = pread(fd, in->eeprom_mem, VIO_SIM_24C02_SIZE, 0);
	if (got < 0) {
		rc = -errno;
		say(VIO_VU_LOG_ERR, in->name, "cannot read the EEPROM file '%s': %s", file,
		    strerror(errno));
		goto fail;
	}
	in->eeprom_fd = fd;
	/* Force the first sync to give the file its full size. */
	memcpy(in->eeprom_saved, in->eeprom_mem, sizeof(in->eeprom_saved));
	if (got != (ssize_t) VIO_SIM_24C02_SIZE)
		in->eeprom_saved[0] ^= 0xff;
	eeprom_sync(in);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* i2c: the simulated bus with its 24c02 and LM75. */
static int setup_i2c(struct instance *in)
{
	const struct options *o = in->opt;
	int rc;

	memset(in->eeprom_mem, 0xff, sizeof(in->eeprom_mem));
	if (o->eeprom_file != NULL) {
		rc = open_eeprom(in, o->eeprom_file);
		if (rc < 0)
			return rc;
	}
	vio_sim_i2c_init(&in->bus);
	vio_sim_24c02_init(&in->eeprom, VIO_SIM_24C02_ADDR, in->eeprom_mem);
	vio_sim_lm75_init(&in->lm75, VIO_SIM_LM75_ADDR);
	if (vio_sim_i2c_attach(&in->bus, &in->eeprom.dev) < 0 ||
	    vio_sim_i2c_attach(&in->bus, &in->lm75.dev) < 0 ||
	    vio_i2c_init(&in->i2c, &i2c_ops, in, &in->i2c_queue, QUEUE_SIZE,
			 VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) |
			     VIO_BIT(VIO_F_RING_PACKED),
			 in->i2c_bounce, sizeof(in->i2c_bounce)) < 0) {
		say(VIO_VU_LOG_ERR, in->name, "cannot set up the i2c device");
		return -EINVAL;
	}
	in->dev = &in->i2c.dev;
	say(VIO_VU_LOG_INFO, in->name, "simulated bus: 24c02 at 0x%02x%s%s, LM75 at 0x%02x",
	    VIO_SIM_24C02_ADDR, o->eeprom_file ? " on " : "", o->eeprom_file ? o->eeprom_file : "",
	    VIO_SIM_LM75_ADDR);
	return 0;
}

static int start_server(struct instance *in, struct vio_loop *loop)
{
	const struct options *o = in->opt;
	bool blk = o->kind == KIND_BLK;
	struct vio_vu_server_config cfg = {
	    .dev = in->dev,
	    .loop = loop,
	    .queue_workers = blk && o->num_queues > 1,
	    .ctx = in,
	    .quiesce = blk ? blk_quiesce : NULL,
	    .log = server_log,
	};
	int rc = vio_vu_server_init(&in->server, &cfg);

	if (rc < 0) {
		say(VIO_VU_LOG_ERR, in->name, "cannot start the vhost-user server: %s",
		    strerror(-rc));
		return rc;
	}
	in->server_ready = true;
	if (blk) {
		rc = vio_loop_add(loop, &in->disk_w, vio_host_blk_event_fd(&in->disk), VIO_LOOP_IN,
				  disk_event, in);
		if (rc < 0)
			return rc;
	}
	if (o->fd >= 0) {
		rc = vio_vu_server_adopt_fd(&in->server, o->fd);
		if (rc < 0)
			say(VIO_VU_LOG_ERR, in->name, "cannot serve on fd %d: %s", o->fd,
			    strerror(-rc));
		return rc;
	}
	rc = vio_vu_server_listen(&in->server, in->path);
	/* The server reports a socket in use or a path that is not a socket itself. */
	if (rc < 0 && rc != -EADDRINUSE && rc != -EEXIST)
		say(VIO_VU_LOG_ERR, in->name, "cannot listen on '%s': %s", in->path, strerror(-rc));
	return rc;
}

static void stop_instance(struct instance *in)
{
	if (in->disk_w.loop != NULL)
		vio_loop_remove(&in->disk_w);
	if (in->server_ready)
		vio_vu_server_fini(&in->server);
	if (in->disk_open)
		vio_host_blk_close(&in->disk);
	if (in->eeprom_fd >= 0) {
		eeprom_sync(in);
		close(in->eeprom_fd);
		in->eeprom_fd = -1;
	}
}

/* control: forgets a client. */
static void ctl_close(struct ctl_client *c)
{
	vio_loop_remove(&c->w);
	close(c->fd);
	c->fd = -1;
}

static void ctl_reply(struct ctl_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* control: sends one reply line; a client that cannot take it at once is dropped. */
static void ctl_reply(struct ctl_client *c, const char *fmt, ...)
{
	char line[2 * VIO_SIM_24C02_SIZE + 64];
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

/* control: the next blank-separated word of *p, NUL-terminated in place, or NULL. */
static char *ctl_word(char **p)
{
	char *w = *p + strspn(*p, " \t\r");

	if (*w == '\0')
		return NULL;
	*p = w + strcspn(w, " \t\r");
	if (**p != '\0')
		*(*p)++ = '\0';
	return w;
}

/* control: a whole signed decimal number. */
static bool ctl_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (s == NULL)
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static const char *const dir_names[] = {"none", "out", "in"};

/* control: gpio list; the whole chip on one line, so it stays one reply. */
static void ctl_gpio_list(struct ctl_client *c, struct instance *in)
{
	size_t cap = 16 + (size_t) in->chip.nlines * 40, len;
	char *out = malloc(cap);

	if (out == NULL) {
		ctl_reply(c, "error out of memory");
		return;
	}
	len = (size_t) snprintf(out, cap, "ok %u", in->chip.nlines);
	for (uint16_t i = 0; i < in->chip.nlines; i++) {
		const struct vio_sim_gpio_line *l = &in->chip.lines[i];
		uint8_t level = l->dir == VIO_GPIO_DIRECTION_OUT ? l->output : l->input;

		len += (size_t) snprintf(out + len, cap - len, " sim-gpio-%u=%s:%u", i,
					 dir_names[l->dir <= 2 ? l->dir : 0], level);
	}
	out[len++] = '\n';
	if (send(c->fd, out, len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t) len)
		ctl_close(c);
	free(out);
}

/* control: gpio[N] set|get|list on chip N (0 when not given). */
static void ctl_gpio(struct control *ctl, struct ctl_client *c, const char *chip, char *args)
{
	const char *verb = ctl_word(&args), *a1 = ctl_word(&args), *a2 = ctl_word(&args);
	struct instance *in;
	unsigned n = 0;
	long line, v;

	if (ctl->inst[0].opt->kind != KIND_GPIO) {
		ctl_reply(c, "error no gpio chip here");
		return;
	}
	if (chip[0] != '\0' && !parse_uint(chip, 0, ctl->ninst - 1, &n)) {
		ctl_reply(c, "error no gpio chip %s (0 to %u)", chip, ctl->ninst - 1);
		return;
	}
	in = &ctl->inst[n];
	if (verb != NULL && strcmp(verb, "list") == 0 && a1 == NULL) {
		vio_vu_server_lock(&in->server);
		ctl_gpio_list(c, in);
		vio_vu_server_unlock(&in->server);
		return;
	}
	if (verb == NULL || (strcmp(verb, "set") != 0 && strcmp(verb, "get") != 0)) {
		ctl_reply(c, "error gpio takes set LINE 0|1, get LINE or list");
		return;
	}
	if (!ctl_int(a1, 0, in->chip.nlines - 1, &line)) {
		ctl_reply(c, "error no line '%s' (0 to %u)", a1 ? a1 : "", in->chip.nlines - 1u);
		return;
	}
	if (verb[0] == 's') {
		if (!ctl_int(a2, 0, 1, &v) || ctl_word(&args) != NULL) {
			ctl_reply(c, "error gpio set LINE 0|1");
			return;
		}
		vio_vu_server_lock(&in->server);
		vio_sim_gpio_set_input(&in->chip, (uint16_t) line, (uint8_t) v);
		vio_vu_server_unlock(&in->server);
		ctl_reply(c, "ok");
		return;
	}
	if (a2 != NULL) {
		ctl_reply(c, "error gpio get LINE");
		return;
	}
	vio_vu_server_lock(&in->server);
	{
		const struct vio_sim_gpio_line *l = &in->chip.lines[line];
		uint8_t level = l->dir == VIO_GPIO_DIRECTION_OUT ? l->output : l->input;

		ctl_reply(c, "ok %u dir=%s output=%u input=%u", level,
			  dir_names[l->dir <= 2 ? l->dir : 0], l->output, l->input);
	}
	vio_vu_server_unlock(&in->server);
}

/* control: i2c temp|eeprom-dump on the simulated bus. */
static void ctl_i2c(struct control *ctl, struct ctl_client *c, char *args)
{
	const char *verb = ctl_word(&args), *a1 = ctl_word(&args);
	struct instance *in = &ctl->inst[0];
	char hex[2 * VIO_SIM_24C02_SIZE + 1];
	long mc;

	if (in->opt->kind != KIND_I2C) {
		ctl_reply(c, "error no i2c bus here");
		return;
	}
	if (verb != NULL && strcmp(verb, "temp") == 0) {
		if (!ctl_int(a1, -1000000, 1000000, &mc) || ctl_word(&args) != NULL) {
			ctl_reply(c, "error i2c temp MILLICELSIUS");
			return;
		}
		vio_vu_server_lock(&in->server);
		vio_sim_lm75_set_temp_mc(&in->lm75, (int32_t) mc);
		vio_vu_server_unlock(&in->server);
		ctl_reply(c, "ok");
		return;
	}
	if (verb != NULL && strcmp(verb, "eeprom-dump") == 0 && a1 == NULL) {
		vio_vu_server_lock(&in->server);
		for (unsigned i = 0; i < VIO_SIM_24C02_SIZE; i++)
			snprintf(hex + 2 * i, 3, "%02x", in->eeprom.mem[i]);
		vio_vu_server_unlock(&in->server);
		ctl_reply(c, "ok %s", hex);
		return;
	}
	ctl_reply(c, "error i2c takes temp MILLICELSIUS or eeprom-dump");
}

/* control: one command line. */
static void ctl_command(struct control *ctl, struct ctl_client *c, char *line)
{
	char *dev = ctl_word(&line);

	if (dev == NULL) {
		ctl_reply(c, "error empty command");
		return;
	}
	if (strncmp(dev, "gpio", 4) == 0)
		ctl_gpio(ctl, c, dev + 4, line);
	else if (strcmp(dev, "i2c") == 0)
		ctl_i2c(ctl, c, line);
	else
		ctl_reply(c, "error unknown command '%s' (gpio or i2c)", dev);
}

/* control: reads what a client sent and answers each complete line. */
static void ctl_client_event(struct vio_loop_watch *w, uint32_t revents)
{
	struct ctl_client *c = w->ctx;
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
	struct control *ctl = w->ctx;
	int fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	(void) revents;
	if (fd < 0)
		return;
	for (int i = 0; i < CTL_CLIENTS; i++) {
		struct ctl_client *c = &ctl->clients[i];

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
static int ctl_start(struct control *ctl, const char *path, struct vio_loop *loop,
		     struct instance *inst, unsigned ninst)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int rc;

	ctl->fd = -1;
	ctl->loop = loop;
	ctl->inst = inst;
	ctl->ninst = ninst;
	for (int i = 0; i < CTL_CLIENTS; i++)
		ctl->clients[i].fd = -1;
	snprintf(ctl->path, sizeof(ctl->path), "%s", path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			say(VIO_VU_LOG_ERR, "", "control path '%s' exists and is not a socket",
			    path);
			return -EEXIST;
		}
		/* Another daemon's live socket stays; only a leftover one is replaced. */
		ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (ctl->fd >= 0 && connect(ctl->fd, (struct sockaddr *) &sa, sizeof(sa)) == 0) {
			say(VIO_VU_LOG_ERR, "", "control socket '%s' is in use", path);
			close(ctl->fd);
			ctl->fd = -1;
			return -EADDRINUSE;
		}
		if (ctl->fd >= 0)
			close(ctl->fd);
		unlink(path);
	}
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ctl->fd < 0 || bind(ctl->fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
	    listen(ctl->fd, CTL_CLIENTS) < 0) {
		rc = -errno;
		say(VIO_VU_LOG_ERR, "", "cannot listen on control socket '%s': %s", path,
		    strerror(errno));
		/* Not ours to remove at exit: the path may be someone else's by now. */
		if (ctl->fd >= 0)
			close(ctl->fd);
		ctl->fd = -1;
		return rc;
	}
	rc = vio_loop_add(loop, &ctl->w, ctl->fd, VIO_LOOP_IN, ctl_accept, ctl);
	if (rc < 0)
		say(VIO_VU_LOG_ERR, "", "cannot watch the control socket: %s", strerror(-rc));
	return rc;
}

/* control: closes every client and the listener, and removes the socket file. */
static void ctl_stop(struct control *ctl)
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

static void on_signal(int sig)
{
	(void) sig;
	if (signal_loop != NULL)
		vio_loop_stop(signal_loop);
}

static int install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		return -errno;
	/* A frontend that vanishes mid-reply must not kill the daemon. */
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL) < 0 ? -errno : 0;
}

/* The short name of a device kind, for messages. */
static const char *kind_name(enum kind k)
{
	switch (k) {
	case KIND_BLK:
		return "blk";
	case KIND_GPIO:
		return "gpio";
	case KIND_I2C:
		return "i2c";
	default:
		return "rng";
	}
}

/* Sets up every device; returns 0 or a negative errno (already reported). */
static int start_all(struct instance *inst, unsigned n, const struct options *o,
		     struct vio_loop *loop)
{
	for (unsigned i = 0; i < n; i++) {
		struct instance *in = &inst[i];
		int rc;

		in->opt = o;
		snprintf(in->name, sizeof(in->name), "%s%u", kind_name(o->kind), i);
		if (o->socket_path != NULL) {
			if (n == 1)
				snprintf(in->path, sizeof(in->path), "%s", o->socket_path);
			else
				snprintf(in->path, sizeof(in->path), "%s%u", o->socket_path, i);
		}
		switch (o->kind) {
		case KIND_BLK:
			rc = setup_blk(in, o->images[i]);
			break;
		case KIND_GPIO:
			rc = setup_gpio(in, o->gpio_lines[i]);
			break;
		case KIND_I2C:
			rc = setup_i2c(in);
			break;
		default:
			rc = setup_rng(in);
		}
		if (rc == 0)
			rc = start_server(in, loop);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct vio_loop loop;
	struct instance *inst;
	struct control ctl = {.fd = -1};
	int rc, status = EXIT_SUCCESS;

	rc = parse_args(&o, argc, argv);
	if (rc >= 0)
		return rc;
	rc = check_args(&o);
	if (rc >= 0)
		return rc;
	if (!o.print_caps && (o.kind == KIND_GPIO || o.kind == KIND_I2C)) {
		rc = check_device_list(&o);
		if (rc >= 0)
			return rc;
	}
	if (o.print_caps) {
		print_capabilities(o.kind);
		return EXIT_SUCCESS;
	}
	log_level = o.log_level;
	inst = calloc(o.socket_count, sizeof(*inst));
	if (inst == NULL) {
		say(VIO_VU_LOG_ERR, "", "out of memory");
		return EXIT_FAILURE;
	}
	for (unsigned i = 0; i < o.socket_count; i++)
		inst[i].eeprom_fd = -1;
	rc = vio_loop_init(&loop);
	if (rc < 0) {
		say(VIO_VU_LOG_ERR, "", "cannot create the event loop: %s", strerror(-rc));
		free(inst);
		return EXIT_FAILURE;
	}
	signal_loop = &loop;
	rc = install_signals();
	/* The control socket exists before the device sockets, so a client that waited for
	 * those finds it; commands are served once the loop runs, with every device set up. */
	if (rc == 0 && o.control != NULL)
		rc = ctl_start(&ctl, o.control, &loop, inst, o.socket_count);
	if (rc == 0)
		rc = start_all(inst, o.socket_count, &o, &loop);
	if (rc == 0) {
		rc = vio_loop_run(&loop);
		if (rc < 0)
			say(VIO_VU_LOG_ERR, "", "event loop failed: %s", strerror(-rc));
		else
			say(VIO_VU_LOG_INFO, "", "stopping");
	}
	if (rc < 0)
		status = EXIT_FAILURE;
	ctl_stop(&ctl);
	for (unsigned i = 0; i < o.socket_count; i++)
		stop_instance(&inst[i]);
	signal_loop = NULL;
	vio_loop_fini(&loop);
	free(inst);
	return status;
}
