/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport-bench: throughput of vioport's building blocks, printed as figures
 * and ratios, never judged.
 *
 *   vioport-bench virtq [--shape one|blk|both] [--chains N] [--seconds S]
 *                       [--warmup N] [--loop-only] [--device NAME|all]
 *   vioport-bench blk --socket PATH [--rw randread|randwrite] [--bs SIZE]
 *                     [--iodepth N] [--seconds S] [--warmup S] [--queues N]
 *                     [--poll] [--connect-timeout S]
 *   vioport-bench gpio --socket PATH [--op get|set] [--iodepth N] [--seconds S]
 *                      [--warmup S] [--poll] [--connect-timeout S]
 *   vioport-bench rng --socket PATH [--bs SIZE] [--iodepth N] [--seconds S]
 *                     [--warmup S] [--poll] [--connect-timeout S]
 *
 * "virtq" runs the device side of a 256-entry split ring with EVENT_IDX
 * against the project's driver side in one thread: the driver adds a batch of
 * 32 chains and publishes them, the device pops 32, pushes each and flushes
 * once, the driver collects 32. Notifications and interrupts are off and no
 * payload byte is touched, so the figures are the ring handling alone, with
 * every validation rule in force.
 *
 * Shapes: "one" is one 16-byte readable descriptor (pushed with length 0);
 * "blk" is the virtio-blk read shape: 16 bytes readable, 4096 and 1 writable
 * (pushed with 4097).
 *
 * --chains N times exactly N chains after a warm-up (--warmup, default
 * 100000); otherwise the loop runs for --seconds (default 1) per shape.
 * --loop-only skips the second, device-side pass (used under callgrind, where
 * only instruction counts matter). Builds that link a peer implementation list
 * it under --device. With every device (the default), vioport runs a second
 * time recording its requests in an inflight region (vhost-user
 * INFLIGHT_SHMFD, docs/inflight.md) and the difference per chain is printed;
 * --device vioport-inflight runs that alone.
 *
 * "blk" drives any vhost-user-blk backend listening at --socket through the
 * vhost-user frontend, as a guest's virtio-blk driver would: random
 * block-aligned reads or writes of --bs bytes (default 4k) over the whole
 * disk, --iodepth requests (default 32) kept in flight, spread over --queues
 * rings (default 1), each completion answered at once by a new request. The
 * client sleeps on the call eventfds (--poll: spins on the used rings
 * instead). After --warmup seconds (default 1) it measures for --seconds
 * (default 3): IOPS and MB/s (10^6 bytes) from the completions inside the
 * window, latency percentiles from per-request timestamps of the requests
 * submitted and completed inside it. The last line, "result key=value ...",
 * is for scripts.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <poll.h>
#include <unistd.h>

#include "vioport-bench.h"
#include "vioport/drvq.h"
#include "vioport/gpio.h"
#include "vioport/vhost_user_blk_client.h"
#include "vioport/virtq.h"
#include "vioport/window.h"

/* Recorded anchor: QEMU's libvhost-user on the reference machine, same loop. */
#define ANCHOR_ONE_MCPS 31.0
#define ANCHOR_BLK_MCPS 22.0

#define BUS_BASE 0x40000000ull

static _Noreturn void die(const char *what)
{
	fprintf(stderr, "vioport-bench: %s\n", what);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

/* The shared memory and the driver: identical for every device under test. */
static int ring_init(struct vio_bench_ring *r, const struct vio_bench_shape *shape)
{
	uint64_t ring_bytes = vio_drvq_ring_bytes(VIO_BENCH_QSIZE);
	uint64_t data = (ring_bytes + 4095u) & ~(uint64_t) 4095u;
	uint64_t per_chain = 0;

	for (unsigned k = 0; k < shape->nout + shape->nin; k++)
		per_chain += (shape->len[k] + 63u) & ~63u;
	memset(r, 0, sizeof(*r));
	r->len = data + per_chain * VIO_BENCH_BATCH;
	r->arena = aligned_alloc(4096, (r->len + 4095u) & ~(uint64_t) 4095u);
	if (r->arena == NULL)
		return -ENOMEM;
	memset(r->arena, 0, r->len);
	r->bus = BUS_BASE;
	r->shape = shape;
	if (vio_drvq_init(&r->dq, VIO_BENCH_QSIZE, r->arena, r->bus, r->slots, true, &r->desc_bus,
			  &r->avail_bus, &r->used_bus) < 0)
		return -EINVAL;
	vio_drvq_cb_disable(&r->dq);
	/* Each chain of a batch has buffers of its own, reused batch after batch. */
	for (unsigned c = 0; c < VIO_BENCH_BATCH; c++) {
		for (unsigned k = 0; k < shape->nout + shape->nin; k++) {
			struct vio_buf *b =
			    k < shape->nout ? &r->out[c][k] : &r->in[c][k - shape->nout];

			b->addr = r->bus + data;
			b->len = shape->len[k];
			data += (shape->len[k] + 63u) & ~63u;
		}
	}
	return 0;
}

static void ring_free(struct vio_bench_ring *r)
{
	free(r->arena);
}

/* vioport's own device side. */
struct vp_dev {
	struct vio_window win[1];
	struct vio_winmap map;
	struct vio_vq vq;
	struct vio_iov iov[4];
	struct vio_req req;
	void *ifl; /* inflight region, vioport-inflight only */
};

static void *vp_setup(struct vio_bench_ring *r)
{
	struct vp_dev *d = calloc(1, sizeof(*d));

	if (d == NULL)
		return NULL;
	vio_winmap_init(&d->map, d->win, 1);
	if (vio_winmap_add(&d->map, r->bus, r->len, r->arena, VIO_ACCESS_RW) < 0 ||
	    vio_vq_setup_split(&d->vq, &d->map, VIO_BENCH_QSIZE, r->desc_bus, r->avail_bus,
			       r->used_bus, VIO_BIT(VIO_F_EVENT_IDX)) < 0) {
		free(d);
		return NULL;
	}
	vio_vq_notify_disable(&d->vq);
	d->req.iov = d->iov;
	d->req.cap = 4;
	return d;
}

static void vp_batch(void *ctx, unsigned n, uint32_t len)
{
	struct vp_dev *d = ctx;

	for (unsigned k = 0; k < n; k++) {
		if (vio_vq_pop(&d->vq, &d->req) != 1)
			die("vioport: pop did not return a chain");
		vio_vq_push(&d->vq, d->req.id, d->req.ndesc, len);
	}
	vio_vq_flush(&d->vq);
}

static void vp_teardown(void *ctx)
{
	struct vp_dev *d = ctx;

	free(d->ifl);
	free(d);
}

/* The same device side recording its requests in an inflight region (vhost-user INFLIGHT_SHMFD). */
static void *vp_setup_ifl(struct vio_bench_ring *r)
{
	struct vp_dev *d = vp_setup(r);
	size_t len = (size_t) VIO_IFL_QUEUE_BYTES(VIO_BENCH_QSIZE);

	if (d == NULL)
		return NULL;
	d->ifl = aligned_alloc(64, len);
	if (d->ifl == NULL) {
		vp_teardown(d);
		return NULL;
	}
	memset(d->ifl, 0, len);
	if (vio_vq_inflight_attach(&d->vq, d->ifl, len) != 0) {
		vp_teardown(d);
		return NULL;
	}
	return d;
}

static const struct vio_bench_device vp_ifl_device = {
    .name = "vioport-inflight",
    .setup = vp_setup_ifl,
    .batch = vp_batch,
    .teardown = vp_teardown,
};

/* Prints the CPU the figures were taken on (Linux's /proc/cpuinfo), if it says. */
static void print_cpu(void)
{
	char line[256];
	FILE *f = fopen("/proc/cpuinfo", "r");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon != NULL) {
			colon += strspn(colon + 1, " \t") + 1;
			printf("cpu: %s", colon);
			break;
		}
	}
	fclose(f);
}

static const struct vio_bench_device vp_device = {
    .name = "vioport",
    .setup = vp_setup,
    .batch = vp_batch,
    .teardown = vp_teardown,
};

static const struct vio_bench_device *const devices[] = {
    &vp_device,
#ifdef VIO_BENCH_PEER
    &vio_bench_peer,
#endif
};

static const struct vio_bench_shape shapes[] = {
    {"one", "1 x 16 B readable, used len 0", 1, 0, {16}, 0},
    {"blk", "16 B readable + 4096 B + 1 B writable, used len 4097", 1, 2, {16, 4096, 1}, 4097},
};

/*
 * Runs chains chains through the loop, in batches. With dev_ns set, the device
 * batches are timed on their own too. Kept out of line so profilers can
 * attribute the whole loop to it.
 */
__attribute__((noinline)) static uint64_t run_batches(struct vio_bench_ring *r,
						      const struct vio_bench_device *dev, void *ctx,
						      uint64_t chains, uint64_t *dev_ns)
{
	const struct vio_bench_shape *s = r->shape;
	uint64_t t0 = now_ns(), inside = 0;

	for (uint64_t done = 0; done < chains; done += VIO_BENCH_BATCH) {
		void *token;
		uint32_t len;

		for (uintptr_t c = 0; c < VIO_BENCH_BATCH; c++) {
			if (vio_drvq_add(&r->dq, r->out[c], s->nout, r->in[c], s->nin,
					 (void *) (c + 1)) < 0)
				die("driver: add failed");
		}
		vio_drvq_kick_prepare(&r->dq);
		if (dev_ns != NULL) {
			uint64_t a = now_ns();

			dev->batch(ctx, VIO_BENCH_BATCH, s->used_len);
			inside += now_ns() - a;
		} else {
			dev->batch(ctx, VIO_BENCH_BATCH, s->used_len);
		}
		for (unsigned c = 0; c < VIO_BENCH_BATCH; c++) {
			if (vio_drvq_get_used(&r->dq, &token, &len) != 1 || len != s->used_len)
				die("driver: wrong used entry");
		}
	}
	if (dev_ns != NULL)
		*dev_ns = inside;
	return now_ns() - t0;
}

struct result {
	uint64_t chains;
	double loop_ns, dev_ns; /* per chain; dev_ns < 0 when not measured */
};

static uint64_t round_batch(uint64_t n)
{
	return (n + VIO_BENCH_BATCH - 1) / VIO_BENCH_BATCH * VIO_BENCH_BATCH;
}

static int measure(const struct vio_bench_device *dev, const struct vio_bench_shape *shape,
		   uint64_t chains, double seconds, uint64_t warmup, bool loop_only,
		   struct result *res)
{
	struct vio_bench_ring r;
	uint64_t ns, dns = 0;
	void *ctx;

	if (ring_init(&r, shape) < 0)
		die("out of memory");
	ctx = dev->setup(&r);
	if (ctx == NULL) {
		ring_free(&r);
		return -1;
	}
	run_batches(&r, dev, ctx, round_batch(warmup), NULL);
	if (chains == 0) {
		/* Grow the run until it lasts long enough to time. */
		chains = 1u << 16;
		while ((ns = run_batches(&r, dev, ctx, chains, NULL)) < seconds * 1e9 / 4)
			chains *= 2;
		chains = (uint64_t) ((double) chains * seconds * 1e9 / (double) ns);
	}
	chains = round_batch(chains);
	ns = run_batches(&r, dev, ctx, chains, NULL);
	res->chains = chains;
	res->loop_ns = (double) ns / (double) chains;
	res->dev_ns = -1;
	if (!loop_only) {
		run_batches(&r, dev, ctx, chains, &dns);
		res->dev_ns = (double) dns / (double) chains;
	}
	dev->teardown(ctx);
	ring_free(&r);
	return 0;
}

static void print_result(const char *name, const struct result *res)
{
	printf("  %-14s loop %7.2f M chains/s %7.2f ns/chain", name, 1e3 / res->loop_ns,
	       res->loop_ns);
	if (res->dev_ns >= 0)
		printf("   device side %7.2f M chains/s %6.2f ns/chain", 1e3 / res->dev_ns,
		       res->dev_ns);
	printf("   (%llu chains)\n", (unsigned long long) res->chains);
}

static int usage(void)
{
	fprintf(stderr, "usage: vioport-bench virtq [--shape one|blk|both] [--chains N] "
			"[--seconds S] [--warmup N] [--loop-only] [--device NAME|all]\n");
	fprintf(stderr,
		"       vioport-bench blk --socket PATH [--rw randread|randwrite] [--bs SIZE] "
		"[--iodepth N] [--seconds S] [--warmup S] [--queues N] [--poll] "
		"[--connect-timeout S]\n");
	fprintf(stderr, "       vioport-bench gpio --socket PATH [--op get|set] [--iodepth N] "
			"[--seconds S] [--warmup S] [--poll] [--connect-timeout S]\n");
	fprintf(stderr, "       vioport-bench rng --socket PATH [--bs SIZE] [--iodepth N] "
			"[--seconds S] [--warmup S] [--poll] [--connect-timeout S]\n");
	fprintf(stderr, "devices:");
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++)
		fprintf(stderr, " %s", devices[i]->name);
	fprintf(stderr, " %s", vp_ifl_device.name);
	fprintf(stderr, "\n");
	return 2;
}

static bool parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno == 0 && end != s && *end == '\0';
}

static int bench_virtq(int argc, char **argv)
{
	const char *shape_opt = "both", *dev_opt = "all";
	uint64_t chains = 0, warmup = 100000;
	double seconds = 1.0;
	bool loop_only = false;
	size_t ndev = sizeof(devices) / sizeof(devices[0]);

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--loop-only") == 0) {
			loop_only = true;
			continue;
		}
		if (v == NULL)
			return usage();
		i++;
		if (strcmp(a, "--shape") == 0)
			shape_opt = v;
		else if (strcmp(a, "--device") == 0)
			dev_opt = v;
		else if (strcmp(a, "--chains") == 0 && parse_u64(v, &chains) && chains > 0)
			continue;
		else if (strcmp(a, "--warmup") == 0 && parse_u64(v, &warmup))
			continue;
		else if (strcmp(a, "--seconds") == 0 && (seconds = strtod(v, NULL)) > 0)
			continue;
		else
			return usage();
	}
	if (strcmp(shape_opt, "one") != 0 && strcmp(shape_opt, "blk") != 0 &&
	    strcmp(shape_opt, "both") != 0)
		return usage();

	printf("virtq: split ring, %u entries, EVENT_IDX, batches of %u, notifications off\n",
	       VIO_BENCH_QSIZE, VIO_BENCH_BATCH);
	print_cpu();
	for (size_t si = 0; si < sizeof(shapes) / sizeof(shapes[0]); si++) {
		const struct vio_bench_shape *s = &shapes[si];
		struct result own = {0}, peer = {0};
		const struct vio_bench_device *peer_dev = NULL;

		if (strcmp(shape_opt, "both") != 0 && strcmp(shape_opt, s->name) != 0)
			continue;
		printf("shape %s (%s):\n", s->name, s->what);
		if (strcmp(dev_opt, vp_ifl_device.name) == 0) {
			struct result res;

			if (measure(&vp_ifl_device, s, chains, seconds, warmup, loop_only, &res) ==
			    0)
				print_result(vp_ifl_device.name, &res);
			continue;
		}
		for (size_t d = 0; d < ndev; d++) {
			struct result res;

			if (strcmp(dev_opt, "all") != 0 && strcmp(dev_opt, devices[d]->name) != 0)
				continue;
			if (measure(devices[d], s, chains, seconds, warmup, loop_only, &res) < 0) {
				printf("  %-14s set-up failed\n", devices[d]->name);
				continue;
			}
			print_result(devices[d]->name, &res);
			if (d == 0) {
				own = res;
			} else {
				peer = res;
				peer_dev = devices[d];
			}
		}
		if (own.chains == 0)
			continue;
		if (strcmp(dev_opt, "all") == 0) {
			struct result ifl;

			if (measure(&vp_ifl_device, s, chains, seconds, warmup, loop_only, &ifl) ==
			    0) {
				print_result(vp_ifl_device.name, &ifl);
				printf("  inflight recording, this run: %+.2f ns/chain loop",
				       ifl.loop_ns - own.loop_ns);
				if (own.dev_ns > 0 && ifl.dev_ns > 0)
					printf(", %+.2f ns/chain device side (%+.1f %%)",
					       ifl.dev_ns - own.dev_ns,
					       100.0 * (ifl.dev_ns - own.dev_ns) / own.dev_ns);
				printf("\n");
			}
		}
		if (peer_dev != NULL) {
			printf("  ratio vioport / %s, this run: loop %.2fx", peer_dev->name,
			       peer.loop_ns / own.loop_ns);
			if (own.dev_ns > 0 && peer.dev_ns > 0)
				printf(", device side %.2fx", peer.dev_ns / own.dev_ns);
			printf("\n");
		} else {
			double anchor = si == 0 ? ANCHOR_ONE_MCPS : ANCHOR_BLK_MCPS;

			printf(
			    "  ratio vioport / recorded anchor (libvhost-user %.0f M chains/s, not "
			    "measured here): loop %.2fx",
			    anchor, 1e3 / own.loop_ns / anchor);
			if (own.dev_ns > 0)
				printf(", device side %.2fx", 1e3 / own.dev_ns / anchor);
			printf("\n");
		}
	}
	return 0;
}

/* ------------------------------------------------------------ blk */

/* Largest ring most vhost-user backends accept (libvhost-user's limit). */
#define BLK_MAX_QSIZE  1024u
#define BLK_MAX_QUEUES 64u
/* A backend silent for this long is taken as stuck. */
#define BLK_STUCK_NS (5 * 1000000000ull)

struct blk_opts {
	const char *socket;
	bool write;
	uint32_t bs;
	unsigned iodepth, queues;
	double seconds, warmup, connect_s;
	bool poll;
};

struct blk_slot {
	struct vio_vu_blk_io io;
	uint64_t t_submit;
	uint16_t queue;
};

struct blk_run {
	struct vio_vu_blk b;
	const struct blk_opts *o;
	struct blk_slot *slots;
	uint64_t nblocks;	   /* bs-sized blocks on the disk */
	uint64_t rng;		   /* xorshift64 state */
	uint64_t t_measure, t_end; /* the measured window */
	uint64_t done;		   /* completions inside the window */
	uint64_t total;		   /* completions, warm-up included */
	uint32_t *lat;		   /* ns, requests submitted and completed inside the window */
	size_t nlat, cap_lat;
	unsigned inflight;
	bool *pending_kick;
};

static _Noreturn void blk_die(struct blk_run *r, const char *what)
{
	fprintf(stderr, "vioport-bench blk: %s (%s)\n", what, vio_vu_fe_error(&r->b.fe));
	exit(1);
}

static uint64_t blk_rand(struct blk_run *r)
{
	r->rng ^= r->rng << 13;
	r->rng ^= r->rng >> 7;
	r->rng ^= r->rng << 17;
	return r->rng;
}

static void blk_submit(struct blk_run *r, struct blk_slot *s)
{
	uint64_t sector = blk_rand(r) % r->nblocks * (r->o->bs / VIO_BLK_SECTOR_SIZE);

	s->t_submit = now_ns();
	if (vio_vu_blk_io_submit(&r->b, s->queue, &s->io,
				 r->o->write ? VIO_BLK_T_OUT : VIO_BLK_T_IN, sector, r->o->bs,
				 s) < 0)
		blk_die(r, "could not queue a request");
	r->pending_kick[s->queue] = true;
}

static void blk_record(struct blk_run *r, uint64_t ns)
{
	if (r->nlat == r->cap_lat) {
		size_t cap = r->cap_lat ? 2 * r->cap_lat : 1u << 16;
		uint32_t *p = realloc(r->lat, cap * sizeof(*p));

		if (p == NULL)
			blk_die(r, "out of memory");
		r->lat = p;
		r->cap_lat = cap;
	}
	r->lat[r->nlat++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t) ns;
}

/* Collects every used entry of queue q, answering each with a new request while the window lasts.
 */
static unsigned blk_reap(struct blk_run *r, uint16_t q)
{
	unsigned n = 0;
	void *tok;
	uint32_t len;
	int rc;

	while ((rc = vio_vu_fe_get_used(&r->b.fe, q, &tok, &len)) == 1) {
		struct blk_slot *s = tok;
		uint64_t t = now_ns();
		int st = vio_vu_blk_io_status(&s->io);

		if (st != VIO_BLK_S_OK) {
			fprintf(stderr, "vioport-bench blk: request failed with status %d\n", st);
			exit(1);
		}
		r->total++;
		if (t >= r->t_measure && t <= r->t_end) {
			r->done++;
			if (s->t_submit >= r->t_measure)
				blk_record(r, t - s->t_submit);
		}
		if (t < r->t_end)
			blk_submit(r, s);
		else
			r->inflight--;
		n++;
	}
	if (rc < 0)
		blk_die(r, "bad used entry");
	return n;
}

/* Sleeps until a call eventfd fires (or a used entry is already there); false when nothing came. */
static bool blk_sleep(struct blk_run *r)
{
	struct pollfd p[BLK_MAX_QUEUES + 1];
	unsigned nq = r->b.num_queues;

	for (uint16_t q = 0; q < nq; q++) {
		if (vio_drvq_cb_enable(vio_vu_fe_drvq(&r->b.fe, q)))
			return true;
		p[q].fd = vio_vu_fe_call_fd(&r->b.fe, q);
		p[q].events = POLLIN;
	}
	p[nq].fd = r->b.fe.sock;
	p[nq].events = POLLRDHUP;
	if (poll(p, nq + 1, 1000) <= 0)
		return false;
	if (p[nq].revents != 0)
		blk_die(r, "the backend hung up");
	for (uint16_t q = 0; q < nq; q++) {
		uint64_t v;

		if (p[q].revents & POLLIN)
			while (read(p[q].fd, &v, sizeof(v)) == (ssize_t) sizeof(v))
				;
	}
	return true;
}

static int blk_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

	return x < y ? -1 : x > y;
}

static double blk_pct(const struct blk_run *r, double p)
{
	size_t i = (size_t) (p * (double) (r->nlat - 1) + 0.5);

	return r->lat[i] / 1e3;
}

static bool parse_size(const char *s, uint32_t *v)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return false;
	if (*end == 'k' || *end == 'K')
		n *= 1024, end++;
	else if (*end == 'm' || *end == 'M')
		n *= 1024 * 1024, end++;
	if (*end != '\0' || n == 0 || n > (1u << 30))
		return false;
	*v = (uint32_t) n;
	return true;
}

static int blk_parse(int argc, char **argv, struct blk_opts *o)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;

		if (strcmp(a, "--poll") == 0) {
			o->poll = true;
			continue;
		}
		if (v == NULL)
			return -1;
		i++;
		if (strcmp(a, "--socket") == 0)
			o->socket = v;
		else if (strcmp(a, "--rw") == 0 && strcmp(v, "randread") == 0)
			o->write = false;
		else if (strcmp(a, "--rw") == 0 && strcmp(v, "randwrite") == 0)
			o->write = true;
		else if (strcmp(a, "--bs") == 0 && parse_size(v, &o->bs))
			continue;
		else if (strcmp(a, "--iodepth") == 0 && parse_u64(v, &n) && n >= 1 && n <= 4096)
			o->iodepth = (unsigned) n;
		else if (strcmp(a, "--queues") == 0 && parse_u64(v, &n) && n >= 1 &&
			 n <= BLK_MAX_QUEUES)
			o->queues = (unsigned) n;
		else if (strcmp(a, "--seconds") == 0 && (o->seconds = strtod(v, NULL)) > 0)
			continue;
		else if (strcmp(a, "--warmup") == 0 && (o->warmup = strtod(v, NULL)) >= 0)
			continue;
		else if (strcmp(a, "--connect-timeout") == 0 &&
			 (o->connect_s = strtod(v, NULL)) > 0)
			continue;
		else
			return -1;
	}
	if (o->socket == NULL || o->bs % VIO_BLK_SECTOR_SIZE != 0 || o->iodepth < o->queues)
		return -1;
	return 0;
}

/* Opens the device and places every request slot in guest memory. */
static void blk_prepare(struct blk_run *r, const struct blk_opts *o)
{
	unsigned per_q = (o->iodepth + o->queues - 1) / o->queues;
	uint32_t segs = 2 + 1; /* header, data, status; more when SIZE_MAX splits the data */
	struct vio_vu_fe_params p = {.features = VIO_VU_BLK_FEATURES,
				     .num_queues = (uint16_t) o->queues,
				     .timeout_ms = (int) (o->connect_s * 1000)};
	uint16_t qs = 128;
	int rc;

	while (qs < per_q * segs && qs < BLK_MAX_QSIZE)
		qs *= 2;
	p.queue_size = qs;
	p.mem_size = (uint64_t) o->iodepth * ((o->bs + 4095u) / 4096u * 4096u + 128u) +
		     (uint64_t) o->queues * (vio_drvq_ring_bytes(qs) + 4096u) + (1u << 20);
	rc = vio_vu_blk_open(&r->b, o->socket, &p);
	if (rc < 0) {
		fprintf(stderr, "vioport-bench blk: %s: %s\n", o->socket,
			vio_vu_fe_error(&r->b.fe));
		exit(1);
	}
	r->b.timeout_ms = 5000;
	if (r->b.capacity == 0)
		blk_die(r, "the backend did not say its capacity (no CONFIG protocol feature?)");
	r->nblocks = r->b.capacity * VIO_BLK_SECTOR_SIZE / o->bs;
	if (r->nblocks == 0)
		blk_die(r, "the disk is smaller than one block");
	if (o->write && r->b.read_only)
		blk_die(r, "the disk is read-only");
	r->slots = calloc(o->iodepth, sizeof(*r->slots));
	r->pending_kick = calloc(o->queues, sizeof(bool));
	if (r->slots == NULL || r->pending_kick == NULL)
		blk_die(r, "out of memory");
	for (unsigned i = 0; i < o->iodepth; i++) {
		struct blk_slot *s = &r->slots[i];

		if (vio_vu_blk_io_alloc(&r->b, &s->io, o->bs) < 0)
			blk_die(r, "no room for the requests in guest memory");
		s->queue = (uint16_t) (i % o->queues);
		/* Written data is random once, so a backend cannot shortcut zeroes. */
		for (uint32_t k = 0; k < o->bs; k += 8) {
			uint64_t x = blk_rand(r);

			memcpy(s->io.data + k, &x, o->bs - k < 8 ? o->bs - k : 8);
		}
	}
}

static void blk_kick_pending(struct blk_run *r)
{
	for (uint16_t q = 0; q < r->o->queues; q++) {
		if (!r->pending_kick[q])
			continue;
		r->pending_kick[q] = false;
		if (vio_vu_fe_kick(&r->b.fe, q) < 0)
			blk_die(r, "kick failed");
	}
}

static int bench_blk(int argc, char **argv)
{
	struct blk_opts o = {
	    .bs = 4096, .iodepth = 32, .queues = 1, .seconds = 3, .warmup = 1, .connect_s = 5};
	struct blk_run r = {.o = &o, .rng = 0x9e3779b97f4a7c15ull};
	uint64_t t0, last_progress;
	double window, iops, sum = 0;

	if (blk_parse(argc, argv, &o) < 0)
		return usage();
	blk_prepare(&r, &o);
	printf("blk %s: bs %u, iodepth %u, %u queue%s, %.2f s warm-up, %.2f s measured, %s "
	       "(features %#llx, protocol %#llx, %llu MiB disk)\n",
	       o.write ? "randwrite" : "randread", o.bs, o.iodepth, o.queues,
	       o.queues > 1 ? "s" : "", o.warmup, o.seconds,
	       o.poll ? "polling the used rings" : "sleeping on the call eventfds",
	       (unsigned long long) r.b.fe.features, (unsigned long long) r.b.fe.protocol,
	       (unsigned long long) (r.b.capacity / 2048));
	fflush(stdout);

	t0 = now_ns();
	r.t_measure = t0 + (uint64_t) (o.warmup * 1e9);
	r.t_end = r.t_measure + (uint64_t) (o.seconds * 1e9);
	/* a polling driver asks for no interrupts; event idx makes that exact */
	if (o.poll)
		for (uint16_t q = 0; q < o.queues; q++)
			vio_drvq_cb_disable(vio_vu_fe_drvq(&r.b.fe, q));
	for (unsigned i = 0; i < o.iodepth; i++)
		blk_submit(&r, &r.slots[i]);
	r.inflight = o.iodepth;
	blk_kick_pending(&r);
	last_progress = now_ns();
	while (r.inflight > 0) {
		unsigned n = 0;

		for (uint16_t q = 0; q < o.queues; q++)
			n += blk_reap(&r, q);
		blk_kick_pending(&r);
		if (n > 0) {
			last_progress = now_ns();
			continue;
		}
		if (now_ns() - last_progress > BLK_STUCK_NS)
			blk_die(&r, "the backend stopped completing requests");
		if (!o.poll)
			blk_sleep(&r);
	}

	window = (double) (r.t_end - r.t_measure) / 1e9;
	iops = (double) r.done / window;
	if (r.nlat == 0)
		blk_die(&r, "no request completed inside the measured window");
	qsort(r.lat, r.nlat, sizeof(*r.lat), blk_cmp);
	for (size_t i = 0; i < r.nlat; i++)
		sum += r.lat[i];
	printf("  %.0f IOPS, %.1f MB/s; latency us: avg %.1f, p50 %.1f, p99 %.1f, p99.9 %.1f, max "
	       "%.1f (%zu requests timed)\n",
	       iops, iops * o.bs / 1e6, sum / (double) r.nlat / 1e3, blk_pct(&r, 0.50),
	       blk_pct(&r, 0.99), blk_pct(&r, 0.999), r.lat[r.nlat - 1] / 1e3, r.nlat);
	printf(
	    "result rw=%s bs=%u iodepth=%u queues=%u iops=%.0f mbps=%.1f avg_us=%.1f p50_us=%.1f "
	    "p99_us=%.1f p999_us=%.1f total=%llu\n",
	    o.write ? "randwrite" : "randread", o.bs, o.iodepth, o.queues, iops, iops * o.bs / 1e6,
	    sum / (double) r.nlat / 1e3, blk_pct(&r, 0.50), blk_pct(&r, 0.99), blk_pct(&r, 0.999),
	    (unsigned long long) r.total);
	/* A clean stop, as a guest shutting down: rings stopped, then the connection closed. */
	vio_vu_fe_stop(&r.b.fe);
	for (unsigned i = 0; i < o.iodepth; i++)
		vio_vu_blk_io_free(&r.b, &r.slots[i].io);
	vio_vu_blk_close(&r.b);
	free(r.slots);
	free(r.pending_kick);
	free(r.lat);
	return 0;
}

/* ------------------------------------------------------------ gpio, rng */

/*
 * Requests of a vhost-user GPIO or RNG backend on its request queue: GPIO
 * GET_VALUE or SET_VALUE of line 0 (an 8-byte request, a 2-byte answer), or RNG
 * reads of --bs bytes. The same loop as blk: --iodepth requests in flight, the
 * client sleeping on the call eventfd or polling the used ring.
 */
struct rq_opts {
	const char *socket;
	bool rng;
	bool set; /* gpio: SET_VALUE instead of GET_VALUE */
	uint32_t bs;
	unsigned iodepth;
	double seconds, warmup, connect_s;
	bool poll;
};

struct rq_slot {
	uint8_t *out, *in;
	uint64_t out_gpa, in_gpa;
	uint64_t t_submit;
};

struct rq_run {
	struct vio_vu_fe fe;
	const struct rq_opts *o;
	struct rq_slot *slots;
	uint64_t t_measure, t_end, done, total, bytes;
	uint32_t *lat;
	size_t nlat, cap_lat;
	unsigned inflight;
	uint32_t toggle;
	bool pending_kick;
};

static _Noreturn void rq_die(struct rq_run *r, const char *what)
{
	fprintf(stderr, "vioport-bench %s: %s (%s)\n", r->o->rng ? "rng" : "gpio", what,
		vio_vu_fe_error(&r->fe));
	exit(1);
}

static void rq_gpio_msg(struct rq_slot *s, uint16_t type, uint16_t line, uint32_t value)
{
	s->out[0] = (uint8_t) type;
	s->out[1] = (uint8_t) (type >> 8);
	s->out[2] = (uint8_t) line;
	s->out[3] = (uint8_t) (line >> 8);
	for (int i = 0; i < 4; i++)
		s->out[4 + i] = (uint8_t) (value >> (8 * i));
}

static void rq_add(struct rq_run *r, struct rq_slot *s)
{
	struct vio_buf out = {s->out_gpa, 8}, in = {s->in_gpa, r->o->rng ? r->o->bs : 2};

	s->t_submit = now_ns();
	if (vio_vu_fe_add(&r->fe, 0, &out, r->o->rng ? 0 : 1, &in, 1, s) < 0)
		rq_die(r, "could not queue a request");
	r->pending_kick = true;
}

static void rq_submit(struct rq_run *r, struct rq_slot *s)
{
	if (!r->o->rng) {
		if (r->o->set)
			rq_gpio_msg(s, VIO_GPIO_MSG_SET_VALUE, 0, r->toggle++ & 1u);
		else
			rq_gpio_msg(s, VIO_GPIO_MSG_GET_VALUE, 0, 0);
	}
	rq_add(r, s);
}

static void rq_record(struct rq_run *r, uint64_t ns)
{
	if (r->nlat == r->cap_lat) {
		size_t cap = r->cap_lat ? 2 * r->cap_lat : 1u << 16;
		uint32_t *p = realloc(r->lat, cap * sizeof(*p));

		if (p == NULL)
			rq_die(r, "out of memory");
		r->lat = p;
		r->cap_lat = cap;
	}
	r->lat[r->nlat++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t) ns;
}

static void rq_kick(struct rq_run *r)
{
	if (r->pending_kick) {
		r->pending_kick = false;
		if (vio_vu_fe_kick(&r->fe, 0) < 0)
			rq_die(r, "kick failed");
	}
}

static unsigned rq_reap(struct rq_run *r)
{
	unsigned n = 0;
	void *tok;
	uint32_t len;
	int rc;

	while ((rc = vio_vu_fe_get_used(&r->fe, 0, &tok, &len)) == 1) {
		struct rq_slot *s = tok;
		uint64_t t = now_ns();

		if (!r->o->rng && (len < 2 || s->in[0] != VIO_GPIO_STATUS_OK))
			rq_die(r, "a GPIO request failed");
		if (r->o->rng && len == 0)
			rq_die(r, "an RNG request returned no bytes");
		r->total++;
		if (t >= r->t_measure && t <= r->t_end) {
			r->done++;
			r->bytes += len;
			if (s->t_submit >= r->t_measure)
				rq_record(r, t - s->t_submit);
		}
		if (t < r->t_end)
			rq_submit(r, s);
		else
			r->inflight--;
		n++;
	}
	if (rc < 0)
		rq_die(r, "bad used entry");
	return n;
}

static void rq_sleep(struct rq_run *r)
{
	struct pollfd p[2] = {{.fd = vio_vu_fe_call_fd(&r->fe, 0), .events = POLLIN},
			      {.fd = r->fe.sock, .events = POLLRDHUP}};
	uint64_t v;

	if (vio_drvq_cb_enable(vio_vu_fe_drvq(&r->fe, 0)))
		return;
	if (poll(p, 2, 1000) <= 0)
		return;
	if (p[1].revents != 0)
		rq_die(r, "the backend hung up");
	if (p[0].revents & POLLIN)
		while (read(p[0].fd, &v, sizeof(v)) == (ssize_t) sizeof(v))
			;
}

static double rq_pct(const struct rq_run *r, double p)
{
	size_t i = (size_t) (p * (double) (r->nlat - 1) + 0.5);

	return r->lat[i] / 1e3;
}

static int rq_parse(int argc, char **argv, struct rq_opts *o)
{
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		uint64_t n;

		if (strcmp(a, "--poll") == 0) {
			o->poll = true;
			continue;
		}
		if (v == NULL)
			return -1;
		i++;
		if (strcmp(a, "--socket") == 0)
			o->socket = v;
		else if (!o->rng && strcmp(a, "--op") == 0 && strcmp(v, "get") == 0)
			o->set = false;
		else if (!o->rng && strcmp(a, "--op") == 0 && strcmp(v, "set") == 0)
			o->set = true;
		else if (o->rng && strcmp(a, "--bs") == 0 && parse_size(v, &o->bs))
			continue;
		else if (strcmp(a, "--iodepth") == 0 && parse_u64(v, &n) && n >= 1 && n <= 128)
			o->iodepth = (unsigned) n;
		else if (strcmp(a, "--seconds") == 0 && (o->seconds = strtod(v, NULL)) > 0)
			continue;
		else if (strcmp(a, "--warmup") == 0 && (o->warmup = strtod(v, NULL)) >= 0)
			continue;
		else if (strcmp(a, "--connect-timeout") == 0 &&
			 (o->connect_s = strtod(v, NULL)) > 0)
			continue;
		else
			return -1;
	}
	return o->socket == NULL ? -1 : 0;
}

/* One request, waited for: the GPIO line's direction before the measured ones. */
static void rq_once(struct rq_run *r, struct rq_slot *s)
{
	void *tok;
	uint32_t len;

	rq_add(r, s);
	rq_kick(r);
	if (vio_vu_fe_wait_used(&r->fe, 0, &tok, &len, 5000) != 1 || tok != s || len < 2 ||
	    s->in[0] != VIO_GPIO_STATUS_OK)
		rq_die(r, "setting the line's direction failed");
}

static int bench_rq(int argc, char **argv, bool rng)
{
	struct rq_opts o = {
	    .rng = rng, .bs = 4096, .iodepth = 1, .seconds = 3, .warmup = 1, .connect_s = 5};
	struct rq_run r = {.o = &o};
	struct vio_vu_fe_params p = {.features = VIO_BIT(VIO_F_VERSION_1) |
						 VIO_BIT(VIO_F_EVENT_IDX) |
						 VIO_BIT(VIO_F_INDIRECT_DESC),
				     .num_queues = 1,
				     .queue_size = 256};
	uint64_t t0, last_progress;
	double window, sum = 0;
	const char *what;

	if (rq_parse(argc, argv, &o) < 0)
		return usage();
	p.timeout_ms = (int) (o.connect_s * 1000);
	p.mem_size = (uint64_t) o.iodepth * ((o.bs + 4095u) / 4096u * 4096u + 8192u) + (2u << 20);
	if (vio_vu_fe_start(&r.fe, o.socket, &p) < 0) {
		fprintf(stderr, "vioport-bench %s: %s: %s\n", rng ? "rng" : "gpio", o.socket,
			vio_vu_fe_error(&r.fe));
		return 1;
	}
	r.slots = calloc(o.iodepth, sizeof(*r.slots));
	if (r.slots == NULL)
		rq_die(&r, "out of memory");
	for (unsigned i = 0; i < o.iodepth; i++) {
		struct rq_slot *s = &r.slots[i];

		s->out = vio_vu_fe_alloc(&r.fe, 64, 64, &s->out_gpa);
		s->in = vio_vu_fe_alloc(&r.fe, rng ? o.bs : 64, 64, &s->in_gpa);
		if (s->out == NULL || s->in == NULL)
			rq_die(&r, "no room for the requests in guest memory");
	}
	if (!rng) {
		rq_gpio_msg(&r.slots[0], VIO_GPIO_MSG_SET_DIRECTION, 0,
			    o.set ? VIO_GPIO_DIRECTION_OUT : VIO_GPIO_DIRECTION_IN);
		rq_once(&r, &r.slots[0]);
	}
	what = rng ? "RNG reads" : o.set ? "GPIO SET_VALUE" : "GPIO GET_VALUE";
	printf("%s: %u in flight, %.2f s warm-up, %.2f s measured, %s\n", what, o.iodepth, o.warmup,
	       o.seconds, o.poll ? "polling the used ring" : "sleeping on the call eventfd");
	fflush(stdout);
	if (o.poll)
		vio_drvq_cb_disable(vio_vu_fe_drvq(&r.fe, 0));
	t0 = now_ns();
	r.t_measure = t0 + (uint64_t) (o.warmup * 1e9);
	r.t_end = r.t_measure + (uint64_t) (o.seconds * 1e9);
	for (unsigned i = 0; i < o.iodepth; i++)
		rq_submit(&r, &r.slots[i]);
	r.inflight = o.iodepth;
	rq_kick(&r);
	last_progress = now_ns();
	while (r.inflight > 0) {
		unsigned n = rq_reap(&r);

		rq_kick(&r);
		if (n > 0) {
			last_progress = now_ns();
			continue;
		}
		if (now_ns() - last_progress > BLK_STUCK_NS)
			rq_die(&r, "the backend stopped completing requests");
		if (!o.poll)
			rq_sleep(&r);
	}
	if (r.nlat == 0)
		rq_die(&r, "no request completed inside the measured window");
	window = (double) (r.t_end - r.t_measure) / 1e9;
	qsort(r.lat, r.nlat, sizeof(*r.lat), blk_cmp);
	for (size_t i = 0; i < r.nlat; i++)
		sum += r.lat[i];
	printf("  %.0f ops/s, %.1f MB/s; latency us: avg %.1f, p50 %.1f, p99 %.1f, p99.9 %.1f\n",
	       (double) r.done / window, (double) r.bytes / window / 1e6,
	       sum / (double) r.nlat / 1e3, rq_pct(&r, 0.50), rq_pct(&r, 0.99), rq_pct(&r, 0.999));
	printf("result op=%s iodepth=%u ops=%.0f mbps=%.1f avg_us=%.1f p50_us=%.1f p99_us=%.1f "
	       "p999_us=%.1f total=%llu\n",
	       rng     ? "rng"
	       : o.set ? "gpio-set"
		       : "gpio-get",
	       o.iodepth, (double) r.done / window, (double) r.bytes / window / 1e6,
	       sum / (double) r.nlat / 1e3, rq_pct(&r, 0.50), rq_pct(&r, 0.99), rq_pct(&r, 0.999),
	       (unsigned long long) r.total);
	vio_vu_fe_stop(&r.fe);
	vio_vu_fe_close(&r.fe);
	free(r.slots);
	free(r.lat);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "virtq") == 0)
		return bench_virtq(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "blk") == 0)
		return bench_blk(argc - 2, argv + 2);
	if (argc >= 2 && (strcmp(argv[1], "gpio") == 0 || strcmp(argv[1], "rng") == 0))
		return bench_rq(argc - 2, argv + 2, argv[1][0] == 'r');
	return usage();
}
