/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport: VirtIO device backends as vhost-user daemons.
 *
 *   vioport blk --socket-path PATH --image FILE [--read-only] [--num-queues N]
 *               [--serial S] [--direct] [--sync]
 *   vioport rng --socket-path PATH
 *
 * One process serves one device per socket (--socket-count N gives N sockets
 * PATH0 .. PATHN-1, as rust-vmm's vhost-device programs do), all on one event
 * loop; with --num-queues > 1 each blk queue's kicks run on a thread of their
 * own. See docs/vioport.1.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vioport/blk.h"
#include "vioport/host_blk.h"
#include "vioport/host_rng.h"
#include "vioport/loop.h"
#include "vioport/rng.h"
#include "vioport/vhost_user.h"

#define VIOPORT_VERSION "0.1.0"

#define EXIT_USAGE	    2
#define MAX_DEVICES	    64
#define QUEUE_SIZE	    256u
#define MAX_BLK_QUEUES	    16u
#define BLK_SLOTS_PER_QUEUE 128u

enum kind { KIND_NONE, KIND_BLK, KIND_RNG };

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
	    "Exit status: 0 after a clean stop, 1 on a runtime error, 2 on a usage error.\n",
	    MAX_BLK_QUEUES);
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

enum { OPT_FD = 256, OPT_CAPS, OPT_LOG, OPT_NUMQ, OPT_SERIAL, OPT_DIRECT, OPT_SYNC };

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
	while ((c = getopt_long(argc, argv, "+s:c:vqhVi:r", long_opts, NULL)) != -1 ||
	       optind < argc) {
		if (c == -1) {
			/* The device name may come anywhere; parsing resumes after it. */
			if (o->kind != KIND_NONE)
				return usage_error("one device at a time, '%s' is extra",
						   argv[optind]);
			o->kind = parse_kind(argv[optind]);
			if (o->kind == KIND_NONE)
				return usage_error("unknown device '%s' (blk or rng)",
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
		return usage_error("which device? (blk or rng)");
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
	return -1;
}

/* The JSON that QEMU's backend conventions ask for (docs/interop/vhost-user.json). */
static void print_capabilities(enum kind k)
{
	if (k == KIND_BLK)
		printf("{\n  \"type\": \"block\",\n  \"features\": [\n"
		       "    \"read-only-config\",\n    \"blk-discard-write-zeroes\"\n  ]\n}\n");
	else
		printf("{\n  \"type\": \"rng\",\n  \"features\": []\n}\n");
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

/* Sets up every device; returns 0 or a negative errno (already reported). */
static int start_all(struct instance *inst, unsigned n, const struct options *o,
		     struct vio_loop *loop)
{
	for (unsigned i = 0; i < n; i++) {
		struct instance *in = &inst[i];
		int rc;

		in->opt = o;
		snprintf(in->name, sizeof(in->name), "%s%u", o->kind == KIND_BLK ? "blk" : "rng",
			 i);
		if (o->socket_path != NULL) {
			if (n == 1)
				snprintf(in->path, sizeof(in->path), "%s", o->socket_path);
			else
				snprintf(in->path, sizeof(in->path), "%s%u", o->socket_path, i);
		}
		rc = o->kind == KIND_BLK ? setup_blk(in, o->images[i]) : setup_rng(in);
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
	int rc, status = EXIT_SUCCESS;

	rc = parse_args(&o, argc, argv);
	if (rc >= 0)
		return rc;
	rc = check_args(&o);
	if (rc >= 0)
		return rc;
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
	rc = vio_loop_init(&loop);
	if (rc < 0) {
		say(VIO_VU_LOG_ERR, "", "cannot create the event loop: %s", strerror(-rc));
		free(inst);
		return EXIT_FAILURE;
	}
	signal_loop = &loop;
	rc = install_signals();
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
	for (unsigned i = 0; i < o.socket_count; i++)
		stop_instance(&inst[i]);
	signal_loop = NULL;
	vio_loop_fini(&loop);
	free(inst);
	return status;
}
