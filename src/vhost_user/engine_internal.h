/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user engine internals shared by the src/vhost_user files; not a public interface.
 *
 * Who calls whom (an arrow is "calls a function of"); the graph has no cycle,
 * so each file can be read, and tested, with only the ones below it in mind:
 *
 *   engine.c        (session life, framing)   -> engine_vring.c, engine_mem.c, engine_log.c
 *   engine_msg.c    (checks and handlers)     -> engine_vring.c, engine_mem.c, engine_log.c
 *   engine_vring.c  (rings, device model)     -> engine_mem.c, engine_log.c
 *   engine_mem.c    (memory table, inflight)  -> engine_log.c
 *   engine_log.c    (the log line)            -> the glue's ops only
 *
 * vu_errstr and the small helpers below are static inline, so they add no edge.
 * When memory goes away (SET_MEM_TABLE, REM_MEM_REG) the rings must be dropped
 * first; engine_msg.c orders the two (vu_vring_unmap_all between
 * vu_mem_map_table and vu_mem_install, or before vu_mem_drop) so that
 * engine_mem.c never calls into engine_vring.c.
 */
#ifndef VIOPORT_VU_ENGINE_INTERNAL_H
#define VIOPORT_VU_ENGINE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/errno.h"
#include "vioport/vhost_user_engine.h"

/* A reply a handler fills in for the requests that have one. */
struct vu_reply {
	union vio_vu_payload p;
	uint32_t size;
	int fd; /* sent with the reply when >= 0, closed afterwards */
};

/* Protocol features the engine offers. */
#define VU_PROTOCOL_FEATURES                                                                       \
	(VIO_BIT(VIO_VU_PF_MQ) | VIO_BIT(VIO_VU_PF_REPLY_ACK) | VIO_BIT(VIO_VU_PF_BACKEND_REQ) |   \
	 VIO_BIT(VIO_VU_PF_CONFIG) | VIO_BIT(VIO_VU_PF_INFLIGHT_SHMFD) |                           \
	 VIO_BIT(VIO_VU_PF_RESET_DEVICE) | VIO_BIT(VIO_VU_PF_CONFIGURE_MEM_SLOTS) |                \
	 VIO_BIT(VIO_VU_PF_STATUS))

/* How long a reply may wait for room in the channel. */
#define VU_REPLY_TIMEOUT_MS 1000

/* engine_log.c: vio_vu_engine_log (public, in vhost_user_engine.h) formats the line. */
#define vu_log vio_vu_engine_log

/* Says whether the frontend enabled protocol feature bit. */
static inline bool vu_has_pf(const struct vio_vu_engine *e, unsigned bit)
{
	return (e->protocol_features >> bit) & 1u;
}

/* Says whether the frontend accepted VHOST_USER_F_PROTOCOL_FEATURES. */
static inline bool vu_has_protocol(const struct vio_vu_engine *e)
{
	return (e->features >> VIO_VU_F_PROTOCOL_FEATURES) & 1u;
}

/* Closes *h through the glue if open and marks it closed. */
static inline void vu_close(struct vio_vu_engine *e, int *h)
{
	if (*h >= 0)
		e->ops->close(e->ctx, *h);
	*h = -1;
}

/* Names err (negative errno) for a log line. */
static inline const char *vu_errstr(struct vio_vu_engine *e, int err)
{
	const char *s = e->ops->errstr != NULL ? e->ops->errstr(e->ctx, err) : NULL;

	return s != NULL ? s : "error";
}

/* engine_mem.c */
/*
 * SET_MEM_TABLE, first half: checks the table and maps its regions into fresh;
 * the number of regions or -errno (nothing left mapped). The old table stays.
 */
int vu_mem_map_table(struct vio_vu_engine *e, struct vio_vu_msg *m,
		     struct vio_vu_mapping fresh[VIO_VU_MAX_REGIONS]);
/* SET_MEM_TABLE, second half: drops the old table and installs fresh; the rings must be gone. */
int vu_mem_install(struct vio_vu_engine *e, const struct vio_vu_mapping *fresh, uint32_t n);
/* ADD_MEM_REG: maps one more region. */
int vu_mem_add(struct vio_vu_engine *e, struct vio_vu_msg *m);
/* REM_MEM_REG, first half: the index of the region with that address and size, or -VIO_ENOENT. */
int vu_mem_find(struct vio_vu_engine *e, const struct vio_vu_msg *m);
/* REM_MEM_REG, second half: unmaps region i; the rings must not point into it any more. */
void vu_mem_drop(struct vio_vu_engine *e, uint32_t i);
/* Unmaps every region; the rings must not point into them any more. */
void vu_mem_unmap_all(struct vio_vu_engine *e);
/* Turns a frontend virtual address into a guest-physical one; 0 or -VIO_EFAULT. */
int vu_ua_to_gpa(const struct vio_vu_engine *e, uint64_t ua, uint64_t *gpa);
/* GET_INFLIGHT_FD: a fresh shared region, mapped here too. */
int vu_inflight_get(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r);
/* SET_INFLIGHT_FD: maps the region the frontend kept. */
int vu_inflight_set(struct vio_vu_engine *e, struct vio_vu_msg *m);
/* Drops the inflight mapping, after the device model let go of it. */
void vu_inflight_unmap(struct vio_vu_engine *e);
/* Gives queue q its share of the region (or none) before the ring is set up. */
void vu_inflight_give(struct vio_vu_engine *e, uint16_t q);
/* The driver reset the device: nothing it had in flight may come back. */
void vu_inflight_forget(struct vio_vu_engine *e);

/* engine_vring.c */
/* Brings the device model's queue in line with what the frontend set up. */
void vu_vring_sync(struct vio_vu_engine *e, struct vio_vu_ering *v);
/* vu_vring_sync for every queue, then DRIVER_OK once a ring runs. */
void vu_vring_sync_all(struct vio_vu_engine *e);
/* Replaces the kick handle (-1: none) and tells the glue. */
void vu_vring_set_kick(struct vio_vu_engine *e, struct vio_vu_ering *v, int h);
/* GET_VRING_BASE: stops the ring, drains the device, returns where the ring stands. */
uint16_t vu_vring_stop(struct vio_vu_engine *e, struct vio_vu_ering *v);
/* Forgets everything the frontend set for a ring except its call and err handles. */
void vu_vring_forget(struct vio_vu_engine *e, struct vio_vu_ering *v);
/* Before memory goes: drains the device and drops its ring mappings, keeping positions. */
void vu_vring_unmap_all(struct vio_vu_engine *e);
/* vu_vring_forget for every ring, call and err handles closed too. */
void vu_vring_drop_all(struct vio_vu_engine *e);
/* Resets the device model, keeping each ring's position for GET_VRING_BASE. */
void vu_dev_reset(struct vio_vu_engine *e);
/* The device's way back to the frontend: call and err handles, backend messages. */
extern const struct vio_transport_ops vu_transport_ops;

#endif
