/* SPDX-License-Identifier: BSD-3-Clause */
/* vhost-user backend internals shared by server*.c; not a public interface. */
#ifndef VIOPORT_VU_SERVER_INTERNAL_H
#define VIOPORT_VU_SERVER_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "vioport/vhost_user.h"

/* A queue thread: its loop handles its queue's kicks. */
struct vio_vu_worker {
	struct vio_loop loop;
	pthread_t thread;
	bool loop_ready;
	bool running;
};

/* Payloads as laid out on the wire after the 12-byte header (host byte order). */
union vu_payload {
	uint64_t u64;
	struct vio_vu_vring_state state;
	struct vio_vu_vring_addr addr;
	struct vio_vu_mem_table mem;
	struct vio_vu_mem_reg reg;
	struct vio_vu_config config;
	struct vio_vu_inflight inflight;
	uint8_t raw[VIO_VU_MAX_PAYLOAD];
};

/* A received message. A handler that keeps fds[i] sets it to -1; the rest are closed. */
struct vu_msg {
	struct vio_vu_hdr hdr;
	union vu_payload p;
	int fds[VIO_VU_MAX_FDS];
	unsigned nfds;
};

/* A reply a handler fills in for the requests that have one. */
struct vu_reply {
	union vu_payload p;
	uint32_t size;
	int fd; /* sent with the reply when >= 0; the sender closes it afterwards */
};

/* Protocol features the server offers. */
#define VU_PROTOCOL_FEATURES                                                                       \
	(VIO_BIT(VIO_VU_PF_MQ) | VIO_BIT(VIO_VU_PF_REPLY_ACK) | VIO_BIT(VIO_VU_PF_BACKEND_REQ) |   \
	 VIO_BIT(VIO_VU_PF_CONFIG) | VIO_BIT(VIO_VU_PF_INFLIGHT_SHMFD) |                           \
	 VIO_BIT(VIO_VU_PF_RESET_DEVICE) | VIO_BIT(VIO_VU_PF_CONFIGURE_MEM_SLOTS) |                \
	 VIO_BIT(VIO_VU_PF_STATUS))

/* Says whether the frontend enabled protocol feature bit. */
static inline bool vu_has_pf(const struct vio_vu_server *s, unsigned bit)
{
	return (s->protocol_features >> bit) & 1u;
}

/* Says whether the frontend accepted VHOST_USER_F_PROTOCOL_FEATURES. */
static inline bool vu_has_protocol(const struct vio_vu_server *s)
{
	return (s->features >> VIO_VU_F_PROTOCOL_FEATURES) & 1u;
}

/*
 * Everything below runs with the server lock held, except vu_log, vu_send_on
 * and vu_close_fd, which need no lock.
 */

/* server.c */
/* Formats one line for the log hook (dropped when there is none). */
void vu_log(struct vio_vu_server *s, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Sends header, payload and an optional descriptor; waits up to timeout_ms when full. */
int vu_send_on(int sock, const struct vio_vu_hdr *hdr, const void *payload, int fd, int timeout_ms);
/* Closes *fd if open and marks it closed. */
void vu_close_fd(int *fd);

/* server_msg.c */
/* Checks and handles one message, answers it; < 0 means end the connection. */
int vu_handle_message(struct vio_vu_server *s, struct vu_msg *m);

/* server_mem.c */
/* SET_MEM_TABLE: maps the new table, then drains the device and drops the old one. */
int vu_mem_set_table(struct vio_vu_server *s, struct vu_msg *m);
/* ADD_MEM_REG: maps one more region. */
int vu_mem_add(struct vio_vu_server *s, struct vu_msg *m);
/* REM_MEM_REG: drains the device and unmaps the region with that address and size. */
int vu_mem_remove(struct vio_vu_server *s, struct vu_msg *m);
/* Unmaps every region; the rings must not point into them any more. */
void vu_mem_unmap_all(struct vio_vu_server *s);
/* Turns a frontend virtual address into a guest-physical one; 0 or -EFAULT. */
int vu_ua_to_gpa(const struct vio_vu_server *s, uint64_t ua, uint64_t *gpa);
/* GET_INFLIGHT_FD: a fresh sealed memfd in the split-ring layout, mapped here too. */
int vu_inflight_get(struct vio_vu_server *s, struct vu_msg *m, struct vu_reply *r);
/* SET_INFLIGHT_FD: maps the region the frontend kept. */
int vu_inflight_set(struct vio_vu_server *s, struct vu_msg *m);
/* Drops the inflight mapping. */
void vu_inflight_unmap(struct vio_vu_server *s);

/* server_vring.c */
/* Signals an eventfd (or pipe) without blocking. */
void vu_signal_fd(int fd);
/* Prepares queue q's state, its kicks handled on loop. */
void vu_vring_init(struct vio_vu_server *s, uint16_t q, struct vio_loop *loop);
/* Brings the device model's queue in line with what the frontend set up. */
void vu_vring_sync(struct vio_vu_server *s, struct vio_vu_vring *v);
/* vu_vring_sync for every queue, then DRIVER_OK once a ring runs. */
void vu_vring_sync_all(struct vio_vu_server *s);
/* Replaces the kick descriptor (-1: none) and has the queue's loop watch it. */
void vu_vring_set_kick(struct vio_vu_server *s, struct vio_vu_vring *v, int fd);
/* GET_VRING_BASE: stops the ring, drains the device, returns where the ring stands. */
uint16_t vu_vring_stop(struct vio_vu_server *s, struct vio_vu_vring *v);
/* Forgets everything the frontend set for a ring except its call and err descriptors. */
void vu_vring_forget(struct vio_vu_server *s, struct vio_vu_vring *v);
/* Before memory goes: drains the device and drops its ring mappings, keeping positions. */
void vu_vring_unmap_all(struct vio_vu_server *s);
/* vu_vring_forget for every ring, call and err descriptors closed too. */
void vu_vring_drop_all(struct vio_vu_server *s);
/* Closes everything a ring holds; its loop must not be running. */
void vu_vring_release(struct vio_vu_server *s, struct vio_vu_vring *v);
/* Stops new requests and calls the quiesce hook with the lock released. */
void vu_quiesce(struct vio_vu_server *s);
/* Resets the device model, keeping each ring's position for GET_VRING_BASE. */
void vu_dev_reset(struct vio_vu_server *s);
/* Says whether any queue is enabled in the device model. */
bool vu_any_ring_live(const struct vio_vu_server *s);
/* The device's way back to the frontend: call eventfds, err eventfds, backend messages. */
extern const struct vio_transport_ops vu_transport_ops;

#endif
