/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Peer device for vioport-bench: the same loop through QEMU's libvhost-user
 * (vu_queue_pop, vu_queue_fill, vu_queue_flush once per batch), so both
 * implementations are measured in one run on one machine.
 *
 * Not part of the Meson build, and no libvhost-user code lives in this tree:
 * scripts/bench-virtq.sh compiles this file with -DVIO_BENCH_PEER against a
 * libvhost-user source tree when one is available. The device is set up the
 * way a vhost-user session would leave it (one memory region over the ring
 * arena, EVENT_IDX negotiated, queue started), without a frontend.
 * libvhost-user allocates an element per pop; the batch frees it after
 * filling the used entry, as its users do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "libvhost-user.h"
#include "vioport-bench.h"

struct peer {
	VuDev dev;
	int fds[2];
};

static void peer_panic(VuDev *dev, const char *err)
{
	(void) dev;
	fprintf(stderr, "libvhost-user: %s\n", err);
	exit(1);
}

static void peer_set_watch(VuDev *dev, int fd, int condition, vu_watch_cb cb, void *data)
{
	(void) dev, (void) fd, (void) condition, (void) cb, (void) data;
}

static void peer_remove_watch(VuDev *dev, int fd)
{
	(void) dev, (void) fd;
}

static const VuDevIface peer_iface;

static void *peer_setup(struct vio_bench_ring *r)
{
	struct peer *p = calloc(1, sizeof(*p));
	VuVirtq *vq;

	if (p == NULL)
		return NULL;
	/* vu_init wants a socket; nothing is ever sent on it. */
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, p->fds) < 0 ||
	    !vu_init(&p->dev, 1, p->fds[0], peer_panic, NULL, peer_set_watch, peer_remove_watch,
		     &peer_iface)) {
		free(p);
		return NULL;
	}
	p->dev.nregions = 1;
	p->dev.regions[0] = (VuDevRegion){
	    .gpa = r->bus,
	    .size = r->len,
	    .qva = (uint64_t) (uintptr_t) r->arena,
	    .mmap_offset = 0,
	    .mmap_addr = (uint64_t) (uintptr_t) r->arena,
	};
	p->dev.features = (1ull << VIRTIO_RING_F_EVENT_IDX) | (1ull << VIRTIO_F_VERSION_1);
	vq = &p->dev.vq[0];
	vq->vring.num = VIO_BENCH_QSIZE;
	vq->vring.desc = (void *) (r->arena + (r->desc_bus - r->bus));
	vq->vring.avail = (void *) (r->arena + (r->avail_bus - r->bus));
	vq->vring.used = (void *) (r->arena + (r->used_bus - r->bus));
	vq->enable = 1;
	vq->started = true;
	vu_queue_set_notification(&p->dev, vq, 0);
	return p;
}

static void peer_batch(void *ctx, unsigned n, uint32_t len)
{
	struct peer *p = ctx;
	VuVirtq *vq = &p->dev.vq[0];

	for (unsigned k = 0; k < n; k++) {
		VuVirtqElement *e = vu_queue_pop(&p->dev, vq, sizeof(*e));

		if (e == NULL) {
			fprintf(stderr, "libvhost-user: pop did not return a chain\n");
			exit(1);
		}
		vu_queue_fill(&p->dev, vq, e, len, k);
		free(e);
	}
	vu_queue_flush(&p->dev, vq, n);
}

static void peer_teardown(void *ctx)
{
	struct peer *p = ctx;

	/* The arena is the bench's, not a mapping vu_deinit may unmap. */
	p->dev.nregions = 0;
	vu_deinit(&p->dev);
	close(p->fds[1]);
	free(p);
}

const struct vio_bench_device vio_bench_peer = {
    .name = "libvhost-user",
    .setup = peer_setup,
    .batch = peer_batch,
    .teardown = peer_teardown,
};
