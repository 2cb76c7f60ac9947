/* SPDX-License-Identifier: BSD-3-Clause */
/* Simulated vsock host side: an echo service and a sink/source service, deterministic. */
#include "vioport/errno.h"
#include "vioport/sim_vsock.h"

#include <stddef.h>
#include <string.h>

#define FNV_PRIME 16777619u

void vio_sim_vsock_init(struct vio_sim_vsock *sim, struct vio_sim_vsock_conn *conns, uint32_t nconn,
			uint32_t echo_port, uint32_t sink_port)
{
	memset(sim, 0, sizeof(*sim));
	memset(conns, 0, (size_t) nconn * sizeof(*conns));
	sim->conns = conns;
	sim->nconn = nconn;
	sim->echo_port = echo_port;
	sim->sink_port = sink_port;
}

void vio_sim_vsock_attach(struct vio_sim_vsock *sim, struct vio_vsock *vs)
{
	sim->vs = vs;
}

uint8_t vio_sim_vsock_pattern(uint64_t off)
{
	return (uint8_t) (off * 131u + (off >> 9) + 7u);
}

uint32_t vio_sim_vsock_hash(uint32_t hash, const uint8_t *p, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		hash = (hash ^ p[i]) * FNV_PRIME;
	return hash;
}

static struct vio_sim_vsock_conn *sim_conn(struct vio_sim_vsock *sim, uint32_t id)
{
	return id < sim->nconn ? &sim->conns[id] : NULL;
}

static void sim_open(struct vio_sim_vsock_conn *c, uint8_t mode, uint32_t host_port,
		     uint32_t guest_port)
{
	memset(c, 0, offsetof(struct vio_sim_vsock_conn, echo));
	c->mode = mode;
	c->host_port = host_port;
	c->guest_port = guest_port;
	c->sink_room = VIO_SIM_VSOCK_UNLIMITED;
	c->sink_hash = 2166136261u;
}

static int sim_connect(void *ctx, uint32_t conn, uint32_t host_port, uint32_t guest_port)
{
	struct vio_sim_vsock *sim = ctx;
	struct vio_sim_vsock_conn *c = sim_conn(sim, conn);
	uint8_t mode = VIO_SIM_VSOCK_NONE;

	if (host_port == sim->echo_port)
		mode = VIO_SIM_VSOCK_ECHO;
	else if (host_port == sim->sink_port)
		mode = VIO_SIM_VSOCK_SINK;
	if (c == NULL || mode == VIO_SIM_VSOCK_NONE) {
		sim->refused++;
		return -VIO_ECONNRESET;
	}
	sim_open(c, mode, host_port, guest_port);
	c->open = true;
	sim->connects++;
	return sim->defer_accept ? VIO_VSOCK_PENDING : 0;
}

static void sim_connected(void *ctx, uint32_t conn, int result)
{
	struct vio_sim_vsock_conn *c = sim_conn(ctx, conn);

	if (c == NULL)
		return;
	c->result = result;
	c->open = result == 0;
}

static int sim_send(void *ctx, uint32_t conn, const uint8_t *data, uint32_t len)
{
	struct vio_sim_vsock *sim = ctx;
	struct vio_sim_vsock_conn *c = sim_conn(sim, conn);
	uint32_t took = 0;

	if (sim->fail_send != 0) {
		int err = sim->fail_send;

		sim->fail_send = 0;
		return err;
	}
	if (c == NULL || !c->open)
		return -VIO_EIO;
	if (c->mode == VIO_SIM_VSOCK_ECHO) {
		bool was_empty = c->echo_len == 0;

		while (took < len && c->echo_len < VIO_SIM_VSOCK_ECHO_BUF) {
			c->echo[(c->echo_head + c->echo_len) % VIO_SIM_VSOCK_ECHO_BUF] = data[took];
			c->echo_len++;
			took++;
		}
		if (took != 0 && was_empty)
			vio_vsock_host_readable(sim->vs, conn);
	} else {
		took = c->sink_room < len ? (uint32_t) c->sink_room : len;
		if (c->sink_room != VIO_SIM_VSOCK_UNLIMITED)
			c->sink_room -= took;
		c->sink_hash = vio_sim_vsock_hash(c->sink_hash, data, took);
		c->sink_bytes += took;
	}
	if (took < len)
		c->blocked = true;
	return (int) took;
}

static int sim_recv(void *ctx, uint32_t conn, uint8_t *buf, uint32_t len)
{
	struct vio_sim_vsock *sim = ctx;
	struct vio_sim_vsock_conn *c = sim_conn(sim, conn);
	uint32_t n = 0;

	if (sim->fail_recv != 0) {
		int err = sim->fail_recv;

		sim->fail_recv = 0;
		return err;
	}
	if (c == NULL || !c->open)
		return -VIO_EIO;
	if (c->mode == VIO_SIM_VSOCK_ECHO) {
		while (n < len && c->echo_len != 0) {
			buf[n++] = c->echo[c->echo_head];
			c->echo_head = (c->echo_head + 1) % VIO_SIM_VSOCK_ECHO_BUF;
			c->echo_len--;
		}
		if (n != 0 && c->blocked) {
			c->blocked = false;
			vio_vsock_host_writable(sim->vs, conn);
		}
	} else {
		uint64_t left = c->src_total - c->src_sent;

		n = left < len ? (uint32_t) left : len;
		for (uint32_t i = 0; i < n; i++)
			buf[i] = vio_sim_vsock_pattern(c->src_sent + i);
		c->src_sent += n;
	}
	return (int) n;
}

static void sim_shutdown(void *ctx, uint32_t conn, uint32_t flags)
{
	struct vio_sim_vsock_conn *c = sim_conn(ctx, conn);

	if (c != NULL)
		c->shut |= (uint8_t) flags;
}

static void sim_closed(void *ctx, uint32_t conn, int reason)
{
	struct vio_sim_vsock *sim = ctx;
	struct vio_sim_vsock_conn *c = sim_conn(sim, conn);

	sim->closes++;
	if (c == NULL)
		return;
	c->open = false;
	c->closed = true;
	c->closed_reason = reason;
}

const struct vio_vsock_ops vio_sim_vsock_ops = {
    .connect = sim_connect,
    .connected = sim_connected,
    .send = sim_send,
    .recv = sim_recv,
    .shutdown = sim_shutdown,
    .closed = sim_closed,
};

int vio_sim_vsock_source(struct vio_sim_vsock *sim, uint32_t conn, uint64_t n)
{
	struct vio_sim_vsock_conn *c = sim_conn(sim, conn);

	if (c == NULL || !c->open || c->mode != VIO_SIM_VSOCK_SINK)
		return -VIO_EINVAL;
	c->src_total += n;
	vio_vsock_host_readable(sim->vs, conn);
	return 0;
}

int vio_sim_vsock_sink_room(struct vio_sim_vsock *sim, uint32_t conn, uint64_t room)
{
	struct vio_sim_vsock_conn *c = sim_conn(sim, conn);

	if (c == NULL || !c->open || c->mode != VIO_SIM_VSOCK_SINK)
		return -VIO_EINVAL;
	c->sink_room = room;
	if (c->blocked && room != 0) {
		c->blocked = false;
		vio_vsock_host_writable(sim->vs, conn);
	}
	return 0;
}

int vio_sim_vsock_connect(struct vio_sim_vsock *sim, uint32_t guest_port, uint8_t mode)
{
	int slot;

	if (sim->vs == NULL || (mode != VIO_SIM_VSOCK_ECHO && mode != VIO_SIM_VSOCK_SINK))
		return -VIO_EINVAL;
	slot = vio_vsock_host_connect(sim->vs, guest_port, 0);
	if (slot < 0)
		return slot;
	if ((uint32_t) slot >= sim->nconn) {
		(void) vio_vsock_host_reset(sim->vs, (uint32_t) slot);
		return -VIO_ENOSPC;
	}
	sim_open(&sim->conns[slot], mode, sim->vs->conns[slot].host_port, guest_port);
	sim->conns[slot].result = 1;
	return slot;
}
