/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Simulated host side of a virtio-vsock device, for tests and the demo.
 *
 * Two services, each on a host port chosen at init:
 *   echo         every byte the guest sends comes back on the same stream,
 *                through a small ring (VIO_SIM_VSOCK_ECHO_BUF bytes), so a
 *                guest that does not read stops being read from;
 *   sink/source  bytes from the guest are counted and hashed (FNV-1a 32)
 *                and thrown away, up to a room the test sets (unlimited by
 *                default); bytes to the guest are a fixed pattern
 *                (vio_sim_vsock_pattern) in the amount the test asks for.
 * Guest connections to any other port are refused. The host side can also
 * connect to a guest port with either service behind the stream.
 *
 * Deterministic and freestanding: per-stream state in caller storage, one
 * entry per device connection slot; nothing happens unless the device or a
 * test calls in.
 */
#ifndef VIOPORT_SIM_VSOCK_H
#define VIOPORT_SIM_VSOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/vsock.h"

#define VIO_SIM_VSOCK_ECHO_BUF 1024u

/* What serves a stream. */
#define VIO_SIM_VSOCK_NONE 0
#define VIO_SIM_VSOCK_ECHO 1
#define VIO_SIM_VSOCK_SINK 2 /* sink of guest data, source of pattern bytes */

#define VIO_SIM_VSOCK_UNLIMITED UINT64_MAX

struct vio_sim_vsock_conn {
	uint8_t mode; /* VIO_SIM_VSOCK_* */
	bool open;    /* accepted or connected, not closed yet */
	bool closed;  /* closed was called (reason in closed_reason) */
	bool blocked; /* send was refused bytes: writable is owed when room appears */
	int result;   /* host connects: 1 waiting, then what connected said */
	int closed_reason;
	uint8_t shut; /* SHUTDOWN flags the guest sent */
	uint32_t host_port;
	uint32_t guest_port;
	/* echo */
	uint32_t echo_head;
	uint32_t echo_len;
	/* sink */
	uint64_t sink_bytes;
	uint64_t sink_room; /* bytes still taken; VIO_SIM_VSOCK_UNLIMITED: no limit */
	uint32_t sink_hash;
	/* source */
	uint64_t src_total; /* pattern bytes asked for */
	uint64_t src_sent;
	uint8_t echo[VIO_SIM_VSOCK_ECHO_BUF]; /* last: a new stream clears what is before it */
};

struct vio_sim_vsock {
	struct vio_vsock *vs;
	struct vio_sim_vsock_conn *conns;
	uint32_t nconn;
	uint32_t echo_port;
	uint32_t sink_port;
	bool defer_accept; /* connect answers VIO_VSOCK_PENDING; the test accepts */
	int fail_send;	   /* when non-zero, the next send returns this (negative) once */
	int fail_recv;	   /* same for recv */
	uint32_t connects; /* guest connections accepted */
	uint32_t refused;  /* guest connections refused */
	uint32_t closes;   /* closed calls */
};

/* Prepares sim with nconn entries in conns (the device's nconn) and the two service ports. */
void vio_sim_vsock_init(struct vio_sim_vsock *sim, struct vio_sim_vsock_conn *conns, uint32_t nconn,
			uint32_t echo_port, uint32_t sink_port);

/* Tells sim which device it serves, for the calls it makes back. */
void vio_sim_vsock_attach(struct vio_sim_vsock *sim, struct vio_vsock *vs);

/* The provider table over a struct vio_sim_vsock context. */
extern const struct vio_vsock_ops vio_sim_vsock_ops;

/* Byte off of the source pattern. */
uint8_t vio_sim_vsock_pattern(uint64_t off);

/* FNV-1a 32 of len bytes continuing from hash (start with 2166136261). */
uint32_t vio_sim_vsock_hash(uint32_t hash, const uint8_t *p, uint32_t len);

/* The source of stream conn makes n more pattern bytes. Returns 0 or -VIO_EINVAL. */
int vio_sim_vsock_source(struct vio_sim_vsock *sim, uint32_t conn, uint64_t n);

/* Sets how many more bytes the sink of conn takes. Returns 0 or -VIO_EINVAL. */
int vio_sim_vsock_sink_room(struct vio_sim_vsock *sim, uint32_t conn, uint64_t room);

/* Connects the host to guest_port with service mode behind it; the slot or a negative error. */
int vio_sim_vsock_connect(struct vio_sim_vsock *sim, uint32_t guest_port, uint8_t mode);

#endif
