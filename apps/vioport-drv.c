/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport-drv: the driver side of virtio-msg over a shared-memory window.
 *
 *   vioport-drv --shm PATH [--shm-size N] [--shm-offset N]
 *               [--doorbell poll|eventfd:SOCKET] [--timeout MS] COMMAND ...
 *
 * Formats the window (a new driver generation each run), waits for the device
 * side to attach, runs one command and prints its result. `sim` serves
 * simulated devices on the device side instead, and `bench` measures the GPIO
 * round trip against a `sim` it forks. See docs/vioport-drv.1.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vioport/blk.h"
#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/gpio.h"
#include "vioport/i2c.h"
#include "vioport/rng.h"
#include "vioport/sim_entropy.h"
#include "vioport/sim_gpio.h"
#include "vioport/sim_i2c.h"
#include "vioport/sim_ramdisk.h"
#include "vioport/vhost_user.h"
#include "vioport/virtio.h"
#include "vioport/vmsg_ctl.h"
#include "vioport/vmsg_drv.h"
#include "vioport/vmsg_drv_dev.h"
#include "vioport/vmsg_posix.h"

#define EXIT_USAGE	2
#define DEFAULT_SIZE	65536u
#define DEFAULT_TIMEOUT 5000
#define BLK_CHUNK	16u /* sectors per request: bounced through the area */
#define MAP_WORDS	2048u
#define MAX_VQS		2u
#define NAMES_MAX	4096u
#define SIM_GPIO_LINES	8u
#define SIM_QSIZE	64u
#define SIM_DISK_BYTES	(1u << 20)
#define SIM_BLK_SLOTS	16u
#define BENCH_ROUNDS	20000u
#define BENCH_WARMUP	2000u

struct options {
	const char *shm;
	uint32_t size;
	uint64_t offset; /* where the window starts in the file */
	const char *doorbell;
	int timeout_ms;
};

static void usage_text(FILE *f)
{
	fprintf(
	    f,
	    "usage: vioport-drv --shm PATH [--shm-size N] [--shm-offset N]\n"
	    "                   [--doorbell poll|eventfd:SOCKET] [--timeout MS] COMMAND ...\n"
	    "\n"
	    "Driver side of virtio-msg over the shared-memory window PATH: formats it, waits\n"
	    "for the device side to attach, runs COMMAND.\n"
	    "\n"
	    "options:\n"
	    "  --shm PATH          the window file (for example /dev/shm/vioport.win)\n"
	    "  --shm-size N        create PATH with N bytes when missing (default: use its size;\n"
	    "                      sim and bench create it with %u)\n"
	    "  --shm-offset N      the window starts N bytes into PATH (a multiple of the page\n"
	    "                      size), e.g. inside an emulator's RAM file; N + the window\n"
	    "                      size must fit in PATH (default 0)\n"
	    "  --doorbell SPEC     poll (default) or eventfd:SOCKET\n"
	    "  --timeout MS        wait for the device side and for each request (default %d)\n"
	    "  -h, --help          this text\n"
	    "\n"
	    "commands:\n"
	    "  list                                  devices: number, kind, features, config\n"
	    "  ping                                  bus round trip\n"
	    "  blk DEV read SECTOR COUNT [FILE]      read COUNT sectors (hex dump, or into FILE)\n"
	    "  blk DEV write SECTOR FILE             write FILE (padded to whole sectors)\n"
	    "  rng DEV BYTES                         hex dump of BYTES random bytes\n"
	    "  gpio DEV names                        line names\n"
	    "  gpio DEV get LINE                     line value (as an input)\n"
	    "  gpio DEV set LINE 0|1                 drive the line as an output\n"
	    "  gpio DEV wait LINE rising|falling|both [TIMEOUT_MS]\n"
	    "                                        wait for an edge (default: --timeout)\n"
	    "  i2c DEV ADDR write HEXBYTES           write bytes to 7-bit address ADDR\n"
	    "  i2c DEV ADDR read N                   read N bytes\n"
	    "  i2c DEV ADDR writeread HEXBYTES N     write, repeated start, read N bytes\n"
	    "  exit STATUS                           ask a firmware device side to end its\n"
	    "                                        program with STATUS (0..255)\n"
	    "  sim                                   serve simulated devices (gpio, rng, blk,\n"
	    "                                        i2c) on the device side until killed\n"
	    "  bench [ROUNDS [WARMUP]]               GPIO GET_VALUE round trips against a\n"
	    "                                        forked sim: p50/p99/mean in microseconds\n"
	    "\n"
	    "exit status: 0 success, 1 failure, 2 usage error\n",
	    DEFAULT_SIZE, DEFAULT_TIMEOUT);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "vioport-drv: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'vioport-drv --help'.\n");
	return EXIT_USAGE;
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "vioport-drv: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
	return 1;
}

/* Parses an unsigned number (0x allowed) no larger than max; false when it is not one. */
static bool parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	char *end;

	if (s == NULL || *s == '\0' || *s == '-')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno == 0 && *end == '\0' && *v <= max;
}

static void hexdump(const uint8_t *p, size_t n, uint64_t base)
{
	for (size_t off = 0; off < n; off += 16) {
		size_t len = n - off < 16 ? n - off : 16;

		printf("%08llx ", (unsigned long long) (base + off));
		for (size_t i = 0; i < 16; i++) {
			if (i < len)
				printf(" %02x", p[off + i]);
			else
				printf("   ");
		}
		printf("  |");
		for (size_t i = 0; i < len; i++)
			putchar(p[off + i] >= 0x20 && p[off + i] < 0x7f ? p[off + i] : '.');
		printf("|\n");
	}
}

/* Parses hex bytes ("0a1b", "0a 1b", "0x0a,0x1b") into buf; the count or -1. */
static int parse_hex(const char *s, uint8_t *buf, int cap)
{
	int n = 0, nib = -1;

	for (; *s != '\0'; s++) {
		int v;

		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && nib < 0) {
			s++;
			continue;
		}
		if (*s == ' ' || *s == ',' || *s == ':')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			return -1;
		if (nib < 0) {
			nib = v;
		} else {
			if (n >= cap)
				return -1;
			buf[n++] = (uint8_t) (nib << 4 | v);
			nib = -1;
		}
	}
	return nib < 0 ? n : -1;
}

/* --- the driver ------------------------------------------------------------------------- */

struct session {
	struct vio_vmsg_posix_drv p;
	struct vio_vmsg_drv drv;
	struct vio_vmsg_drv_dev dev;
	struct vio_vmsg_drv_vq vqs[MAX_VQS];
	uint32_t map[MAP_WORDS];
};

static int session_open(struct session *s, const struct options *o)
{
	char err[256];
	int r = vio_vmsg_posix_drv_open_at(&s->p, o->shm, o->offset, o->size, o->doorbell,
					   o->timeout_ms, err, sizeof(err));

	if (r < 0) {
		fprintf(stderr, "vioport-drv: %s\n", err);
		return r;
	}
	r = vio_vmsg_drv_init_shm(&s->drv, &s->p.binding, s->map, MAP_WORDS);
	if (r < 0) {
		vio_vmsg_posix_drv_close(&s->p);
		fprintf(stderr, "vioport-drv: %s: the window's area does not suit the driver\n",
			o->shm);
		return r;
	}
	s->drv.timeout_us = (uint32_t) o->timeout_ms * 1000u;
	return 0;
}

static void session_close(struct session *s)
{
	/* Answers to no request of ours (an earlier session's, say) were discarded: say so. */
	if (s->drv.dropped > 0)
		fprintf(stderr,
			"vioport-drv: %u stray message%s dropped (malformed, or answering no "
			"request of this driver)\n",
			s->drv.dropped, s->drv.dropped == 1 ? "" : "s");
	vio_vmsg_posix_drv_close(&s->p);
}

static const char *kind_name(uint32_t id)
{
	switch (id) {
	case VIO_ID_BLK:
		return "blk";
	case VIO_ID_RNG:
		return "rng";
	case VIO_ID_GPIO:
		return "gpio";
	case VIO_ID_I2C:
		return "i2c";
	default:
		return "other";
	}
}

/* Opens device number arg, checks its kind, brings it up with want. */
static int device_up(struct session *s, const char *arg, uint32_t kind, uint64_t want)
{
	uint64_t num;
	uint16_t nvqs;
	int r;

	if (!parse_u64(arg, UINT16_MAX, &num))
		return usage_error("bad device number '%s'", arg);
	/* The first request tells whether it exists: GET_DEVICE_INFO of an absent one fails. */
	nvqs = kind == VIO_ID_GPIO ? 2 : 1;
	r = vio_vmsg_drv_dev_init(&s->dev, &s->drv, (uint16_t) num, s->vqs, nvqs);
	if (r < 0) {
		fprintf(stderr, "vioport-drv: device %s: no answer to GET_DEVICE_INFO (%s)\n", arg,
			strerror(-r));
		return 1;
	}
	if (s->dev.info.device_id != kind) {
		fprintf(stderr, "vioport-drv: device %s is %s (ID %u), not %s\n", arg,
			kind_name(s->dev.info.device_id), s->dev.info.device_id, kind_name(kind));
		return 1;
	}
	if (kind == VIO_ID_GPIO && s->dev.info.max_virtqueues < 2)
		s->dev.nvqs = 1;
	r = vio_vmsg_drv_dev_start(&s->dev, want);
	if (r < 0) {
		fprintf(stderr, "vioport-drv: device %s: bring-up failed: %s\n", arg, strerror(-r));
		return 1;
	}
	return 0;
}

static int cmd_ping(struct session *s)
{
	uint64_t t0 = vio_vmsg_now_us();
	int r = vio_vmsg_drv_ping(&s->drv, 0x56494F4Du);

	if (r < 0)
		return fail("ping", r);
	printf("ping: answered in %llu us\n", (unsigned long long) (vio_vmsg_now_us() - t0));
	return 0;
}

/*
 * Asks the device side to end its program with status through the window's
 * control words (vmsg_ctl.h): status first, then the request, release-ordered.
 */
static int cmd_exit(struct session *s, int argc, char **argv)
{
	uint32_t *arg = (uint32_t *) (void *) (s->p.win.base + VIO_VMSG_SHM_OFF_CTL_ARG);
	uint32_t *req = (uint32_t *) (void *) (s->p.win.base + VIO_VMSG_SHM_OFF_CTL_REQ);
	uint64_t status;

	if (argc != 1 || !parse_u64(argv[0], 255, &status))
		return usage_error("%s", "exit: expected STATUS (0..255)");
	__atomic_store_n(arg, vio_le32((uint32_t) status), __ATOMIC_RELAXED);
	__atomic_store_n(req, vio_le32(VIO_VMSG_CTL_EXIT), __ATOMIC_RELEASE);
	printf("exit: asked the device side to end with status %u\n", (unsigned) status);
	return 0;
}

static void config_summary(struct vio_vmsg_drv_dev *d)
{
	uint8_t cfg[8];

	switch (d->info.device_id) {
	case VIO_ID_BLK:
		if (vio_vmsg_drv_read_config(d, VIO_BLK_CFG_CAPACITY, cfg, 8) == 0)
			printf("  capacity %llu sectors (%llu bytes)%s",
			       (unsigned long long) vio_get_le64(cfg),
			       (unsigned long long) vio_get_le64(cfg) * VIO_BLK_SECTOR_SIZE,
			       (d->device_features & VIO_BIT(VIO_BLK_F_RO)) ? ", read-only" : "");
		break;
	case VIO_ID_GPIO:
		if (vio_vmsg_drv_read_config(d, 0, cfg, VIO_GPIO_CONFIG_SIZE) == 0)
			printf(
			    "  %u lines, names %u bytes%s", vio_get_le16(cfg + VIO_GPIO_CFG_NGPIO),
			    vio_get_le32(cfg + VIO_GPIO_CFG_NAMES_SIZE),
			    (d->device_features & VIO_BIT(VIO_GPIO_F_IRQ)) ? ", interrupts" : "");
		break;
	default:
		break;
	}
}

static int cmd_list(struct session *s)
{
	uint8_t bitmap[VIO_VMSG_DEV_MAX * 8 / 8 + 32] = {0};
	int n = vio_vmsg_drv_get_devices(&s->drv, bitmap, sizeof(bitmap));

	if (n < 0)
		return fail("GET_DEVICES", n);
	printf("%d device%s\n", n, n == 1 ? "" : "s");
	for (unsigned num = 0; num < sizeof(bitmap) * 8; num++) {
		struct vio_vmsg_drv_dev *d = &s->dev;
		int r;

		if (!(bitmap[num / 8] & (1u << (num % 8))))
			continue;
		r = vio_vmsg_drv_dev_init(d, &s->drv, (uint16_t) num, NULL, 0);
		if (r < 0) {
			printf("%u: no device info (%s)\n", num, strerror(-r));
			continue;
		}
		/* Negotiation reads the offered features; nothing is set up. */
		r = vio_vmsg_drv_dev_negotiate(d, ~0ull);
		printf("%u: %-5s id %u, vendor 0x%08x, %u queue%s, features 0x%016llx", num,
		       kind_name(d->info.device_id), d->info.device_id, d->info.vendor_id,
		       d->info.max_virtqueues, d->info.max_virtqueues == 1 ? "" : "s",
		       (unsigned long long) d->device_features);
		if (r == 0)
			config_summary(d);
		printf("\n");
		vio_vmsg_drv_dev_fini(d);
	}
	return 0;
}

static int write_all(FILE *f, const void *p, size_t n, const char *path)
{
	if (fwrite(p, 1, n, f) != n) {
		fprintf(stderr, "vioport-drv: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

static void progress(uint64_t done, uint64_t total, uint64_t *next)
{
	if (total < 8u * 1024u * 1024u / VIO_BLK_SECTOR_SIZE || done < *next)
		return;
	fprintf(stderr, "vioport-drv: %llu of %llu sectors (%llu%%)\n", (unsigned long long) done,
		(unsigned long long) total, (unsigned long long) (done * 100u / total));
	*next += total / 10u;
}

static int blk_read(struct session *s, uint64_t sector, uint64_t count, const char *path)
{
	uint8_t buf[BLK_CHUNK * VIO_BLK_SECTOR_SIZE];
	FILE *f = NULL;
	uint64_t next = count / 10u;
	int rc = 0;

	if (path != NULL && (f = fopen(path, "wb")) == NULL) {
		fprintf(stderr, "vioport-drv: %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (uint64_t done = 0; done < count;) {
		uint32_t n = count - done < BLK_CHUNK ? (uint32_t) (count - done) : BLK_CHUNK;
		int r = vio_vmsg_drv_blk_read(&s->dev, sector + done, buf, n);

		if (r < 0) {
			fprintf(stderr, "vioport-drv: read of sector %llu failed: %s\n",
				(unsigned long long) (sector + done), strerror(-r));
			rc = 1;
			break;
		}
		if (f != NULL) {
			if (write_all(f, buf, n * VIO_BLK_SECTOR_SIZE, path) < 0) {
				rc = 1;
				break;
			}
		} else {
			hexdump(buf, n * VIO_BLK_SECTOR_SIZE,
				(sector + done) * VIO_BLK_SECTOR_SIZE);
		}
		done += n;
		progress(done, count, &next);
	}
	if (f != NULL && fclose(f) != 0 && rc == 0) {
		fprintf(stderr, "vioport-drv: %s: %s\n", path, strerror(errno));
		rc = 1;
	}
	return rc;
}

static int blk_write(struct session *s, uint64_t sector, const char *path)
{
	uint8_t buf[BLK_CHUNK * VIO_BLK_SECTOR_SIZE];
	FILE *f = fopen(path, "rb");
	uint64_t done = 0, total, next;
	long size;
	int rc = 0;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "vioport-drv: %s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return 1;
	}
	total = ((uint64_t) size + VIO_BLK_SECTOR_SIZE - 1) / VIO_BLK_SECTOR_SIZE;
	next = total / 10u;
	while (done < total) {
		size_t got;
		uint32_t n;
		int r;

		memset(buf, 0, sizeof(buf));
		got = fread(buf, 1, sizeof(buf), f);
		if (got == 0) {
			fprintf(stderr, "vioport-drv: %s: short read\n", path);
			rc = 1;
			break;
		}
		n = (uint32_t) ((got + VIO_BLK_SECTOR_SIZE - 1) / VIO_BLK_SECTOR_SIZE);
		r = vio_vmsg_drv_blk_write(&s->dev, sector + done, buf, n);
		if (r < 0) {
			fprintf(stderr, "vioport-drv: write of sector %llu failed: %s\n",
				(unsigned long long) (sector + done), strerror(-r));
			rc = 1;
			break;
		}
		done += n;
		progress(done, total, &next);
	}
	fclose(f);
	if (rc == 0)
		printf("wrote %llu sectors at %llu\n", (unsigned long long) done,
		       (unsigned long long) sector);
	return rc;
}

static int cmd_blk(struct session *s, int argc, char **argv)
{
	uint64_t sector, count;
	int r;

	if (argc < 3)
		return usage_error("%s", "blk: expected DEV read|write ...");
	if (strcmp(argv[1], "read") == 0) {
		if (argc < 4 || argc > 5 || !parse_u64(argv[2], UINT64_MAX / 512, &sector) ||
		    !parse_u64(argv[3], UINT32_MAX, &count) || count == 0)
			return usage_error("%s", "blk: expected DEV read SECTOR COUNT [FILE]");
		if ((r = device_up(s, argv[0], VIO_ID_BLK, 0)) != 0)
			return r;
		return blk_read(s, sector, count, argc == 5 ? argv[4] : NULL);
	}
	if (strcmp(argv[1], "write") == 0) {
		if (argc != 4 || !parse_u64(argv[2], UINT64_MAX / 512, &sector))
			return usage_error("%s", "blk: expected DEV write SECTOR FILE");
		if ((r = device_up(s, argv[0], VIO_ID_BLK, 0)) != 0)
			return r;
		return blk_write(s, sector, argv[3]);
	}
	return usage_error("blk: unknown operation '%s'", argv[1]);
}

static int cmd_rng(struct session *s, int argc, char **argv)
{
	uint8_t buf[4096];
	uint64_t want;
	int r;

	if (argc != 2 || !parse_u64(argv[1], 1u << 20, &want) || want == 0)
		return usage_error("%s", "rng: expected DEV BYTES (1 .. 1048576)");
	if ((r = device_up(s, argv[0], VIO_ID_RNG, 0)) != 0)
		return r;
	for (uint64_t done = 0; done < want;) {
		uint32_t n = want - done < sizeof(buf) ? (uint32_t) (want - done) : sizeof(buf);

		r = vio_vmsg_drv_rng_read(&s->dev, buf, n);
		if (r <= 0)
			return fail("rng read", r < 0 ? r : -EIO);
		hexdump(buf, (size_t) r, done);
		done += (uint64_t) r;
	}
	return 0;
}

static int gpio_names(struct session *s)
{
	static char names[NAMES_MAX];
	int n = vio_vmsg_drv_gpio_line_names(&s->dev, names, sizeof(names));
	int line = 0;

	if (n < 0)
		return fail("line names", n);
	for (int off = 0; off < n; line++) {
		const char *name = names + off;
		size_t len = strnlen(name, (size_t) (n - off));

		printf("%d\t%.*s\n", line, (int) len, len > 0 ? name : "(unnamed)");
		off += (int) len + 1;
	}
	return 0;
}

static int gpio_wait(struct session *s, uint16_t line, const char *edge, uint32_t timeout_ms)
{
	uint8_t type, status;
	uint16_t got;
	int r;

	if (strcmp(edge, "rising") == 0)
		type = VIO_GPIO_IRQ_TYPE_EDGE_RISING;
	else if (strcmp(edge, "falling") == 0)
		type = VIO_GPIO_IRQ_TYPE_EDGE_FALLING;
	else if (strcmp(edge, "both") == 0)
		type = VIO_GPIO_IRQ_TYPE_EDGE_BOTH;
	else
		return usage_error("gpio: edge must be rising, falling or both, not '%s'", edge);
	if (!(s->dev.features & VIO_BIT(VIO_GPIO_F_IRQ))) {
		fprintf(stderr, "vioport-drv: this gpio device offers no interrupts\n");
		return 1;
	}
	if ((r = vio_vmsg_drv_gpio_set_direction(&s->dev, line, VIO_GPIO_DIRECTION_IN)) < 0 ||
	    (r = vio_vmsg_drv_gpio_set_irq_type(&s->dev, line, type)) < 0 ||
	    (r = vio_vmsg_drv_gpio_irq_arm(&s->dev, line)) < 0)
		return fail("arming the line", r);
	r = vio_vmsg_drv_gpio_irq_wait(&s->dev, &got, &status, timeout_ms * 1000u);
	if (r == -VIO_ETIMEDOUT) {
		fprintf(stderr, "vioport-drv: no %s edge on line %u within %u ms\n", edge, line,
			timeout_ms);
		return 1;
	}
	if (r < 0)
		return fail("waiting for the edge", r);
	if (status != VIO_GPIO_IRQ_STATUS_VALID) {
		fprintf(stderr, "vioport-drv: line %u: the device returned the buffer unfired\n",
			got);
		return 1;
	}
	r = vio_vmsg_drv_gpio_get(&s->dev, line);
	printf("line %u: %s edge, level now %d\n", got, edge, r);
	return 0;
}

static int cmd_gpio(struct session *s, int argc, char **argv, const struct options *o)
{
	uint64_t line = 0, v = 0, t = (uint64_t) o->timeout_ms;
	const char *op = argc >= 2 ? argv[1] : "";
	int r;

	if (strcmp(op, "names") == 0  ? argc != 2
	    : strcmp(op, "get") == 0  ? argc != 3
	    : strcmp(op, "set") == 0  ? argc != 4
	    : strcmp(op, "wait") == 0 ? argc < 4 || argc > 5
				      : true)
		return usage_error("%s", "gpio: expected DEV names|get LINE|set LINE 0|1|"
					 "wait LINE rising|falling|both [TIMEOUT_MS]");
	if (argc >= 3 && !parse_u64(argv[2], UINT16_MAX, &line))
		return usage_error("gpio: bad line '%s'", argv[2]);
	if (strcmp(op, "set") == 0 && !parse_u64(argv[3], 1, &v))
		return usage_error("gpio: value must be 0 or 1, not '%s'", argv[3]);
	if (strcmp(op, "wait") == 0 && argc == 5 && !parse_u64(argv[4], UINT32_MAX / 1000u, &t))
		return usage_error("gpio: bad timeout '%s'", argv[4]);
	r = device_up(s, argv[0], VIO_ID_GPIO,
		      strcmp(op, "wait") == 0 ? VIO_BIT(VIO_GPIO_F_IRQ) : 0);
	if (r != 0)
		return r;
	if (strcmp(op, "names") == 0)
		return gpio_names(s);
	if (strcmp(op, "get") == 0) {
		r = vio_vmsg_drv_gpio_set_direction(&s->dev, (uint16_t) line,
						    VIO_GPIO_DIRECTION_IN);
		if (r == 0)
			r = vio_vmsg_drv_gpio_get(&s->dev, (uint16_t) line);
		if (r < 0)
			return fail("gpio get", r);
		printf("%d\n", r);
		return 0;
	}
	if (strcmp(op, "set") == 0) {
		/* The value first, so the line never shows the old level as an output. */
		r = vio_vmsg_drv_gpio_set(&s->dev, (uint16_t) line, (uint8_t) v);
		if (r == 0)
			r = vio_vmsg_drv_gpio_set_direction(&s->dev, (uint16_t) line,
							    VIO_GPIO_DIRECTION_OUT);
		return r < 0 ? fail("gpio set", r) : 0;
	}
	return gpio_wait(s, (uint16_t) line, argv[3], (uint32_t) t);
}

static int cmd_i2c(struct session *s, int argc, char **argv)
{
	uint8_t wbuf[256], rbuf[256];
	uint64_t addr, n = 0;
	int wlen = 0, r;
	const char *op = argc >= 3 ? argv[2] : "";

	if (argc < 4 || !parse_u64(argv[1], 0x7f, &addr))
		return usage_error("%s", "i2c: expected DEV ADDR write HEXBYTES|read N|"
					 "writeread HEXBYTES N (ADDR 0 .. 0x7f)");
	if (strcmp(op, "write") == 0 || strcmp(op, "writeread") == 0) {
		wlen = parse_hex(argv[3], wbuf, (int) sizeof(wbuf));
		if (wlen < 0)
			return usage_error("i2c: bad hex bytes '%s'", argv[3]);
	}
	if (strcmp(op, "write") == 0  ? argc != 4
	    : strcmp(op, "read") == 0 ? argc != 4 || !parse_u64(argv[3], sizeof(rbuf), &n)
	    : strcmp(op, "writeread") == 0
		? argc != 5 || !parse_u64(argv[4], sizeof(rbuf), &n) || n == 0
		: true)
		return usage_error("%s", "i2c: expected DEV ADDR write HEXBYTES|read N|"
					 "writeread HEXBYTES N (N up to 256)");
	if ((r = device_up(s, argv[0], VIO_ID_I2C, VIO_BIT(VIO_I2C_F_ZERO_LENGTH_REQUEST))) != 0)
		return r;
	if (strcmp(op, "write") == 0)
		r = vio_vmsg_drv_i2c_xfer(&s->dev, (uint16_t) addr, false, wbuf, (uint32_t) wlen);
	else if (strcmp(op, "read") == 0)
		r = vio_vmsg_drv_i2c_xfer(&s->dev, (uint16_t) addr, true, rbuf, (uint32_t) n);
	else
		r = vio_vmsg_drv_i2c_write_read(&s->dev, (uint16_t) addr, wbuf, (uint32_t) wlen,
						rbuf, (uint32_t) n);
	if (r == -VIO_EIO) {
		fprintf(stderr, "vioport-drv: no acknowledge from address 0x%02llx\n",
			(unsigned long long) addr);
		return 1;
	}
	if (r < 0)
		return fail("i2c transfer", r);
	if (strcmp(op, "write") == 0)
		printf("wrote %d byte%s to 0x%02llx\n", wlen, wlen == 1 ? "" : "s",
		       (unsigned long long) addr);
	else
		hexdump(rbuf, (size_t) n, 0);
	return 0;
}

/* --- the simulated device side ---------------------------------------------------------- */

struct sim {
	struct vio_vmsg_endpoint ep;
	struct vio_sim_gpio chip;
	struct vio_sim_gpio_line chip_lines[SIM_GPIO_LINES];
	struct vio_gpio gpio;
	struct vio_gpio_line gpio_lines[SIM_GPIO_LINES];
	struct vio_queue gpio_queues[2];
	struct vio_sim_entropy ent;
	struct vio_rng rng;
	struct vio_queue rng_queue;
	struct vio_sim_ramdisk rd;
	struct vio_blk blk;
	struct vio_queue blk_queue;
	struct vio_blk_req blk_slots[SIM_BLK_SLOTS];
	struct vio_sim_i2c_bus bus;
	struct vio_sim_24c02 eeprom;
	struct vio_sim_lm75 lm75;
	struct vio_i2c i2c;
	struct vio_queue i2c_queue;
	uint8_t i2c_bounce[256];
	bool quiet;
};

static void sim_log(void *ctx, int level, const char *msg)
{
	struct sim *s = ctx;

	if (!s->quiet || level <= VIO_VU_LOG_WARN)
		fprintf(stderr, "vioport-drv sim: %s\n", msg);
}

static int sim_devices(struct sim *s, void *disk)
{
	static const char *const names[SIM_GPIO_LINES] = {"led0", "led1",  "button0", "button1",
							  "irq",  "reset", NULL,      "spare"};
	struct vio_blk_params p = {.capacity = SIM_DISK_BYTES / VIO_BLK_SECTOR_SIZE,
				   .num_queues = 1,
				   .queue_size = SIM_QSIZE,
				   .seg_max = 4,
				   .serial = "vioport-sim"};

	vio_sim_gpio_init(&s->chip, s->chip_lines, SIM_GPIO_LINES, names);
	if (vio_gpio_init(&s->gpio, &vio_sim_gpio_ops, &s->chip, SIM_GPIO_LINES, s->gpio_lines,
			  s->gpio_queues, SIM_QSIZE, VIO_BIT(VIO_GPIO_F_IRQ)) < 0)
		return -EINVAL;
	vio_sim_gpio_attach(&s->chip, &s->gpio);
	vio_sim_entropy_init(&s->ent, (uint64_t) getpid() * 0x9E3779B97F4A7C15ull);
	if (vio_rng_init(&s->rng, &vio_sim_entropy_ops, &s->ent, &s->rng_queue, SIM_QSIZE, 0) < 0)
		return -EINVAL;
	vio_sim_ramdisk_init(&s->rd, disk, SIM_DISK_BYTES);
	if (vio_blk_init(&s->blk, &p, &vio_sim_ramdisk_ops, &s->rd, &s->blk_queue, s->blk_slots,
			 SIM_BLK_SLOTS) < 0)
		return -EINVAL;
	vio_sim_i2c_init(&s->bus);
	vio_sim_24c02_init(&s->eeprom, VIO_SIM_24C02_ADDR, NULL);
	vio_sim_lm75_init(&s->lm75, VIO_SIM_LM75_ADDR);
	if (vio_sim_i2c_attach(&s->bus, &s->eeprom.dev) < 0 ||
	    vio_sim_i2c_attach(&s->bus, &s->lm75.dev) < 0 ||
	    vio_i2c_init(&s->i2c, &vio_sim_i2c_ops, &s->bus, &s->i2c_queue, SIM_QSIZE, 0,
			 s->i2c_bounce, sizeof(s->i2c_bounce)) < 0)
		return -EINVAL;
	if (vio_vmsg_endpoint_add(&s->ep, &s->gpio.dev) < 0 ||
	    vio_vmsg_endpoint_add(&s->ep, &s->rng.dev) < 0 ||
	    vio_vmsg_endpoint_add(&s->ep, &s->blk.dev) < 0 ||
	    vio_vmsg_endpoint_add(&s->ep, &s->i2c.dev) < 0)
		return -ENOSPC;
	return 0;
}

static volatile sig_atomic_t sim_stop;

static void on_signal(int sig)
{
	(void) sig;
	sim_stop = 1;
}

/*
 * Serves the simulated devices until SIGINT/SIGTERM, or until ready_fd's peer
 * closes when ready_fd >= 0 (a byte is written to it once serving).
 */
static int run_sim(const struct options *o, int ready_fd, int quit_fd, bool quiet)
{
	struct vio_vmsg_endpoint_config c = {.path = o->shm,
					     .size = o->size != 0 ? o->size : DEFAULT_SIZE,
					     .doorbell = o->doorbell,
					     .log = sim_log};
	struct sigaction sa = {.sa_handler = on_signal};
	struct sim *s = calloc(1, sizeof(*s));
	void *disk = calloc(1, SIM_DISK_BYTES);
	char err[256];
	int r;

	if (s == NULL || disk == NULL) {
		free(s);
		free(disk);
		return fail("sim", -ENOMEM);
	}
	s->quiet = quiet;
	c.log_ctx = s;
	r = vio_vmsg_endpoint_init(&s->ep, &c, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "vioport-drv sim: %s\n", err);
		free(s);
		free(disk);
		return 1;
	}
	r = sim_devices(s, disk);
	if (r == 0)
		r = vio_vmsg_endpoint_start(&s->ep);
	if (r < 0) {
		vio_vmsg_endpoint_fini(&s->ep);
		free(s);
		free(disk);
		return fail("sim", r);
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (!quiet)
		fprintf(stderr,
			"vioport-drv sim: serving gpio (0), rng (1), blk (2), i2c (3) on %s, "
			"doorbell %s\n",
			o->shm, o->doorbell != NULL ? o->doorbell : "poll");
	if (ready_fd >= 0) {
		char byte = 'R';

		if (write(ready_fd, &byte, 1) != 1)
			sim_stop = 1;
	}
	while (!sim_stop) {
		char byte;

		if (quit_fd >= 0) {
			/* The parent closes its end (or dies): time to go. */
			if (read(quit_fd, &byte, 1) <= 0)
				break;
		} else {
			pause();
		}
	}
	vio_vmsg_endpoint_fini(&s->ep);
	free(s);
	free(disk);
	return 0;
}

/* --- the benchmark ---------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int bench_rounds(struct session *s, uint64_t rounds, uint64_t warmup, const char *bell)
{
	uint64_t *ns = calloc(rounds, sizeof(*ns));
	double sum = 0;
	int r;

	if (ns == NULL)
		return fail("bench", -ENOMEM);
	if ((r = device_up(s, "0", VIO_ID_GPIO, 0)) != 0) {
		free(ns);
		return r;
	}
	for (uint64_t i = 0; i < warmup; i++)
		if ((r = vio_vmsg_drv_gpio_get(&s->dev, 2)) < 0)
			goto out;
	for (uint64_t i = 0; i < rounds; i++) {
		uint64_t t0 = now_ns();

		r = vio_vmsg_drv_gpio_get(&s->dev, 2);
		ns[i] = now_ns() - t0;
		if (r < 0)
			goto out;
		sum += (double) ns[i];
	}
	qsort(ns, rounds, sizeof(*ns), cmp_u64);
	printf("doorbell %s rounds %llu p50_us %.2f p99_us %.2f mean_us %.2f min_us %.2f "
	       "max_us %.2f\n",
	       bell, (unsigned long long) rounds, (double) ns[rounds / 2] / 1000.0,
	       (double) ns[rounds * 99 / 100] / 1000.0, sum / (double) rounds / 1000.0,
	       (double) ns[0] / 1000.0, (double) ns[rounds - 1] / 1000.0);
	r = 0;
out:
	free(ns);
	return r < 0 ? fail("GPIO GET_VALUE", r) : 0;
}

static int cmd_bench(const struct options *o, int argc, char **argv)
{
	uint64_t rounds = BENCH_ROUNDS, warmup = BENCH_WARMUP;
	int ready[2], quit[2], status, rc;
	struct session *s;
	char byte;
	pid_t pid;

	if (argc > 3 || (argc >= 2 && (!parse_u64(argv[1], 100000000u, &rounds) || rounds == 0)) ||
	    (argc == 3 && !parse_u64(argv[2], 100000000u, &warmup)))
		return usage_error("%s", "bench: expected [ROUNDS [WARMUP]]");
	if (pipe(ready) < 0 || pipe(quit) < 0)
		return fail("pipe", -errno);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return fail("fork", -errno);
	if (pid == 0) {
		/* The device side: a separate process over the same window file. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		close(ready[0]);
		close(quit[1]);
		_exit(run_sim(o, ready[1], quit[0], true));
	}
	close(ready[1]);
	close(quit[0]);
	rc = 1;
	if (read(ready[0], &byte, 1) != 1) {
		fprintf(stderr, "vioport-drv: the device side did not start\n");
		goto out;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		goto out;
	if (session_open(s, o) == 0) {
		rc = bench_rounds(s, rounds, warmup, o->doorbell != NULL ? o->doorbell : "poll");
		session_close(s);
	}
	free(s);
out:
	close(quit[1]);
	close(ready[0]);
	if (waitpid(pid, &status, 0) == pid && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		fprintf(stderr, "vioport-drv: the device side failed\n");
		rc = 1;
	}
	return rc;
}

/* --- main ------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"shm", required_argument, NULL, 's'},
	    {"shm-size", required_argument, NULL, 'S'},
	    {"doorbell", required_argument, NULL, 'd'},
	    {"timeout", required_argument, NULL, 't'},
	    {"shm-offset", required_argument, NULL, 'O'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct options o = {.timeout_ms = DEFAULT_TIMEOUT};
	struct vio_vmsg_bell probe;
	struct session *s;
	const char *cmd;
	char err[256];
	uint64_t v;
	int c, rc;

	while ((c = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.shm = optarg;
			break;
		case 'S':
			if (!parse_u64(optarg, UINT32_MAX, &v) || v == 0)
				return usage_error("bad --shm-size '%s'", optarg);
			o.size = (uint32_t) v;
			break;
		case 'O':
			if (!parse_u64(optarg, UINT64_MAX / 2, &v))
				return usage_error("bad --shm-offset '%s'", optarg);
			o.offset = v;
			break;
		case 'd':
			o.doorbell = optarg;
			break;
		case 't':
			if (!parse_u64(optarg, 3600000u, &v) || v == 0)
				return usage_error("bad --timeout '%s' (1 .. 3600000 ms)", optarg);
			o.timeout_ms = (int) v;
			break;
		case 'h':
			usage_text(stdout);
			return 0;
		default:
			return usage_error("%s", "unknown option");
		}
	}
	if (o.shm == NULL)
		return usage_error("%s", "--shm PATH is required");
	if (optind >= argc)
		return usage_error("%s", "a command is required");
	if (vio_vmsg_bell_parse(&probe, o.doorbell, err, sizeof(err)) < 0)
		return usage_error("%s", err);
	cmd = argv[optind];
	argc -= optind + 1;
	argv += optind + 1;
	if (o.offset != 0 && (strcmp(cmd, "sim") == 0 || strcmp(cmd, "bench") == 0))
		return usage_error("--shm-offset is for the driver commands, not %s", cmd);
	if (strcmp(cmd, "sim") == 0)
		return argc == 0 ? run_sim(&o, -1, -1, false)
				 : usage_error("%s", "sim takes no arguments");
	if (strcmp(cmd, "bench") == 0)
		return cmd_bench(&o, argc + 1, argv - 1);
	if (strcmp(cmd, "list") != 0 && strcmp(cmd, "ping") != 0 && strcmp(cmd, "blk") != 0 &&
	    strcmp(cmd, "rng") != 0 && strcmp(cmd, "gpio") != 0 && strcmp(cmd, "i2c") != 0 &&
	    strcmp(cmd, "exit") != 0)
		return usage_error("unknown command '%s'", cmd);
	if (strcmp(cmd, "exit") == 0 && (argc != 1 || !parse_u64(argv[0], 255, &v)))
		return usage_error("%s", "exit: expected STATUS (0..255)");
	if ((strcmp(cmd, "list") == 0 || strcmp(cmd, "ping") == 0) && argc != 0)
		return usage_error("%s takes no arguments", cmd);

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return fail("driver", -ENOMEM);
	if (session_open(s, &o) < 0) {
		free(s);
		return 1;
	}
	if (strcmp(cmd, "list") == 0)
		rc = cmd_list(s);
	else if (strcmp(cmd, "ping") == 0)
		rc = cmd_ping(s);
	else if (strcmp(cmd, "blk") == 0)
		rc = cmd_blk(s, argc, argv);
	else if (strcmp(cmd, "rng") == 0)
		rc = cmd_rng(s, argc, argv);
	else if (strcmp(cmd, "gpio") == 0)
		rc = cmd_gpio(s, argc, argv, &o);
	else if (strcmp(cmd, "exit") == 0)
		rc = cmd_exit(s, argc, argv);
	else
		rc = cmd_i2c(s, argc, argv);
	fflush(stdout);
	session_close(s);
	free(s);
	return rc;
}
