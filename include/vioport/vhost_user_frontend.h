/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user frontend: the driver side of a vhost-user connection, playing the
 * part QEMU plays for a guest. It connects to a backend's unix socket, puts
 * "guest memory" in a shared memfd (rings and buffers), negotiates features
 * and protocol features, hands over the rings, kicks through eventfds and
 * collects used buffers, so tests and benchmarks can drive any vhost-user
 * backend (vioport's own daemon, qemu-storage-daemon, ...) without a VM.
 *
 * The backend is not trusted: every reply is checked (request code, flags,
 * exact payload size, file descriptors), and used entries go through the
 * driver-side queue's checks. A reply that breaks the protocol marks the
 * connection broken; it is never read further.
 *
 * For tests that attack a backend, vio_vu_fe_send_raw and vio_vu_fe_recv_raw
 * send and receive arbitrary messages with arbitrary descriptors.
 *
 * Threading: none inside. One struct vio_vu_fe is used by one thread at a time.
 * Every wait is bounded by a timeout.
 */
#ifndef VIOPORT_VU_FRONTEND_H
#define VIOPORT_VU_FRONTEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vioport/drvq.h"
#include "vioport/vhost_user_proto.h"

/* Protocol features used when the backend offers them and the caller does not choose. */
#define VIO_VU_FE_PROTOCOL_DEFAULT                                                                 \
	((1ull << VIO_VU_PF_MQ) | (1ull << VIO_VU_PF_REPLY_ACK) |                                  \
	 (1ull << VIO_VU_PF_BACKEND_REQ) | (1ull << VIO_VU_PF_CONFIG) |                            \
	 (1ull << VIO_VU_PF_INFLIGHT_SHMFD) | (1ull << VIO_VU_PF_RESET_DEVICE) |                   \
	 (1ull << VIO_VU_PF_STATUS))

/* Most queues one frontend drives (the vring index field is 8 bits). */
#define VIO_VU_FE_MAX_QUEUES 256u

/* Allocation granule of guest memory, and the alignment every allocation has at least. */
#define VIO_VU_FE_GRANULE 64u

/* What the frontend asks for. Zero fields take the documented defaults. */
struct vio_vu_fe_params {
	/* Virtio feature bits the driver accepts; masked with the offer. */
	uint64_t features;
	/* Protocol features to use when offered (0: VIO_VU_FE_PROTOCOL_DEFAULT). */
	uint64_t protocol_features;
	uint64_t mem_size;    /* guest memory, rings and buffers (0: 8 MiB) */
	uint64_t gpa_base;    /* its guest-physical address (0: 1 GiB) */
	unsigned nregions;    /* memory regions the memfd is split into (0: 1, at most 8) */
	uint16_t num_queues;  /* 0: 1 */
	uint16_t queue_size;  /* power of two (0: 128) */
	uint32_t config_size; /* config bytes read with GET_CONFIG while setting up (0: none) */
	int timeout_ms;	      /* bound of each wait for a reply (0: 5000) */
	/*
	 * Set the device status the way QEMU does (FEATURES_OK alone after
	 * SET_FEATURES, then ACKNOWLEDGE | DRIVER | DRIVER_OK, each after a
	 * GET_STATUS) instead of the spec's order (ACKNOWLEDGE, DRIVER,
	 * FEATURES_OK, DRIVER_OK).
	 */
	bool qemu_status_order;
	/* With CONFIGURE_MEM_SLOTS negotiated: ADD_MEM_REG per region instead of SET_MEM_TABLE. */
	bool add_mem_reg;
	/* Do not ask for INFLIGHT_SHMFD even when offered. */
	bool no_inflight;
};

/* One virtqueue as the frontend drives it. */
struct vio_vu_fe_queue {
	struct vio_drvq dq;
	struct vio_drvq_slot *slots;
	void *ring;
	uint64_t ring_gpa;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	int kick_fd;	    /* eventfd the frontend writes */
	int call_fd;	    /* eventfd the backend writes */
	uint32_t stop_base; /* what GET_VRING_BASE answered last */
	bool ready;	    /* rings handed to the backend */
	bool enabled;
};

/* A connection. Fields are read-only for callers. */
struct vio_vu_fe {
	uint32_t magic; /* set by connect/adopt, so close() leaves a never-used struct alone */
	int sock;
	int backend_fd; /* the frontend's end of the backend request channel, or -1 */
	bool broken;	/* a reply broke the protocol: nothing more is read */
	int timeout_ms;
	struct vio_vu_fe_params params;

	uint64_t features_offered, features; /* virtio features: offered, then acked */
	uint64_t protocol_offered, protocol; /* protocol features: offered, then used */
	uint64_t max_queues;		     /* GET_QUEUE_NUM, 0 when not asked */
	uint64_t max_mem_slots;		     /* GET_MAX_MEM_SLOTS, 0 when not asked */
	uint8_t status;			     /* last status sent with SET_STATUS */

	uint8_t config[VIO_VU_MAX_CONFIG]; /* config space read while setting up */
	uint32_t config_size;
	unsigned config_changes; /* CONFIG_CHANGE_MSG received on the backend channel */
	unsigned backend_msgs;	 /* every message received on the backend channel */

	/* Guest memory: one shared memfd mapped at mem, seen by the backend at gpa_base. */
	int mem_fd;
	uint8_t *mem;
	uint64_t mem_size, gpa_base;
	unsigned nregions;
	bool regions_added; /* ADD_MEM_REG sent for every region on this connection */
	uint64_t *heap_map; /* allocation bitmap, one bit per granule */
	uint64_t heap_units;

	/* Inflight tracking buffer the backend handed out, when negotiated. */
	int inflight_fd;
	void *inflight;
	struct vio_vu_inflight inflight_desc;

	uint16_t num_queues, queue_size;
	struct vio_vu_fe_queue *queues;
	bool configured; /* memory and rings handed over at least once */

	char err[160]; /* what went wrong last, for diagnostics */
};

/*
 * Connects to the backend listening at path, retrying while the socket does
 * not exist or refuses (a daemon still starting) for up to timeout_ms.
 * Returns 0 or a negative errno; fe is then safe to vio_vu_fe_close either way.
 */
int vio_vu_fe_connect(struct vio_vu_fe *fe, const char *path, int timeout_ms);

/* Takes over an already connected socket (for backends started with --fd). */
void vio_vu_fe_adopt(struct vio_vu_fe *fe, int sock);

/*
 * The session's first steps, nothing configured yet: GET_FEATURES,
 * GET/SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, GET_MAX_MEM_SLOTS,
 * SET_BACKEND_REQ_FD, SET_OWNER, GET_CONFIG; the features to acknowledge are
 * chosen (fe->features) but not sent. p may be NULL for the defaults. Needs
 * VIRTIO_F_VERSION_1 from the backend.
 */
int vio_vu_fe_negotiate(struct vio_vu_fe *fe, const struct vio_vu_fe_params *p);

/* vio_vu_fe_negotiate then vio_vu_fe_configure: a device configured, rings not enabled. */
int vio_vu_fe_setup(struct vio_vu_fe *fe, const struct vio_vu_fe_params *p);

/*
 * Hands the device its features, memory and rings: SET_FEATURES (and the
 * status up to FEATURES_OK), SET_MEM_TABLE or ADD_MEM_REG, GET/SET_INFLIGHT_FD,
 * and per queue SET_VRING_NUM, BASE (0), ADDR, KICK and CALL. Fresh empty rings
 * every time: called again after vio_vu_fe_reset_device, it restarts the device.
 * GET_INFLIGHT_FD gives a fresh inflight area, which stays with fe for
 * vio_vu_fe_reconnect.
 */
int vio_vu_fe_configure(struct vio_vu_fe *fe);

/*
 * After the backend died (or closed the connection): connects to path again
 * (waiting up to timeout_ms for a new backend to listen), negotiates as
 * before and hands over the same memory and rings as they stand, each
 * resuming at its used index, then enables them (QEMU's reconnect). The
 * inflight area of the first connection goes back with SET_INFLIGHT_FD, so
 * the backend hands out again what the dead one had in flight; requests
 * queued since are processed too. Returns 0 or a negative errno.
 */
int vio_vu_fe_reconnect(struct vio_vu_fe *fe, const char *path, int timeout_ms);

/* Enables or disables one ring (SET_VRING_ENABLE). */
int vio_vu_fe_enable(struct vio_vu_fe *fe, uint16_t queue, bool on);

/* Enables every ring not enabled yet and sets DRIVER_OK when STATUS is negotiated. */
int vio_vu_fe_driver_ok(struct vio_vu_fe *fe);

/* connect + setup + driver_ok: a device ready for requests. */
int vio_vu_fe_start(struct vio_vu_fe *fe, const char *path, const struct vio_vu_fe_params *p);

/* Stops every ring (GET_VRING_BASE) and resets the status to 0 when STATUS is negotiated. */
int vio_vu_fe_stop(struct vio_vu_fe *fe);

/* Closes the connection and frees everything; safe on a failed or closed fe. */
void vio_vu_fe_close(struct vio_vu_fe *fe);

/* The description of the last failure. */
const char *vio_vu_fe_error(const struct vio_vu_fe *fe);

/*
 * Sends one well-formed request with payload (size bytes) and fds. With
 * reply != NULL, waits for the reply and requires exactly reply_size payload
 * bytes (and, with reply_fd != NULL, at most one descriptor, stored there or
 * -1). With reply == NULL and REPLY_ACK negotiated, asks for an ack and
 * returns -EREMOTEIO when the backend answers non-zero.
 */
int vio_vu_fe_request(struct vio_vu_fe *fe, uint32_t request, const void *payload, uint32_t size,
		      const int *fds, unsigned nfds, void *reply, uint32_t reply_size,
		      int *reply_fd);

/* Sends a request carrying one u64 (SET_FEATURES, SET_STATUS, ...), acked when possible. */
int vio_vu_fe_send_u64(struct vio_vu_fe *fe, uint32_t request, uint64_t value);

/* Sends a request without payload and reads its u64 reply (GET_FEATURES, GET_STATUS, ...). */
int vio_vu_fe_get_u64(struct vio_vu_fe *fe, uint32_t request, uint64_t *value);

/*
 * Sends any header and any bytes: hdr goes out as given (its size field need
 * not match len), followed by len payload bytes, with nfds descriptors (at
 * most VIO_VU_MAX_FDS) attached. hdr == NULL sends the bytes alone. For tests.
 */
int vio_vu_fe_send_raw(struct vio_vu_fe *fe, const struct vio_vu_hdr *hdr, const void *payload,
		       size_t len, const int *fds, unsigned nfds);

/*
 * Receives one message of any kind: header into *hdr, up to cap payload bytes
 * into payload (*len receives the count), descriptors into fds (up to *nfds;
 * *nfds receives the count; extras are closed). Returns 1, 0 on timeout,
 * -ECONNRESET when the backend closed the connection, -EMSGSIZE when the
 * payload is longer than cap (the connection is then broken).
 */
int vio_vu_fe_recv_raw(struct vio_vu_fe *fe, struct vio_vu_hdr *hdr, void *payload, size_t cap,
		       size_t *len, int *fds, unsigned *nfds, int timeout_ms);

/*
 * Says whether the backend closed the connection, waiting up to timeout_ms:
 * 1 closed, 0 still open (anything it sent meanwhile is read and dropped).
 */
int vio_vu_fe_closed(struct vio_vu_fe *fe, int timeout_ms);

/* Reads len config bytes at offset (GET_CONFIG). -EIO when the backend refuses. */
int vio_vu_fe_get_config(struct vio_vu_fe *fe, uint32_t offset, void *buf, uint32_t len);

/* Writes len config bytes at offset (SET_CONFIG, flags 0: a driver write). */
int vio_vu_fe_set_config(struct vio_vu_fe *fe, uint32_t offset, const void *buf, uint32_t len);

/* SET_STATUS; needs STATUS negotiated. */
int vio_vu_fe_set_status(struct vio_vu_fe *fe, uint8_t status);

/* GET_STATUS; needs STATUS negotiated. */
int vio_vu_fe_get_status(struct vio_vu_fe *fe, uint8_t *status);

/*
 * RESET_DEVICE (needs RESET_DEVICE negotiated): the backend drops its rings
 * and device state. Requests in flight are forgotten. vio_vu_fe_configure and
 * vio_vu_fe_driver_ok start the device again.
 */
int vio_vu_fe_reset_device(struct vio_vu_fe *fe);

/*
 * Handles messages waiting on the backend request channel, waiting up to
 * timeout_ms for the first: counts CONFIG_CHANGE_MSG, answers NEED_REPLY with
 * 0 for what it handled and 1 for anything else, drops descriptors. Returns
 * the number of messages handled, or a negative errno (-ENOTCONN without a
 * channel, -EPROTO for a malformed message).
 */
int vio_vu_fe_backend_poll(struct vio_vu_fe *fe, int timeout_ms);

/*
 * Allocates len bytes of guest memory aligned to align (a power of two; at
 * least VIO_VU_FE_GRANULE). Returns the local pointer and *gpa, or NULL when
 * full. The memory is zeroed.
 */
void *vio_vu_fe_alloc(struct vio_vu_fe *fe, uint64_t len, uint64_t align, uint64_t *gpa);

/* Frees what vio_vu_fe_alloc returned at gpa for len bytes. */
void vio_vu_fe_free(struct vio_vu_fe *fe, uint64_t gpa, uint64_t len);

/* Local pointer of guest memory [gpa, gpa + len), or NULL outside it. */
void *vio_vu_fe_ptr(const struct vio_vu_fe *fe, uint64_t gpa, uint64_t len);

/* The driver-side queue of a ring, for what the helpers below do not cover. */
struct vio_drvq *vio_vu_fe_drvq(struct vio_vu_fe *fe, uint16_t queue);

/* Queues one request (nout readable then nin writable guest buffers); see vio_drvq_add. */
int vio_vu_fe_add(struct vio_vu_fe *fe, uint16_t queue, const struct vio_buf *out, unsigned nout,
		  const struct vio_buf *in, unsigned nin, void *token);

/*
 * Publishes what was added and writes the kick eventfd when the backend asks
 * for it. Returns 1 kicked, 0 not needed, or a negative errno.
 */
int vio_vu_fe_kick(struct vio_vu_fe *fe, uint16_t queue);

/* Publishes what was added and writes the kick eventfd whatever the backend asked. */
int vio_vu_fe_notify(struct vio_vu_fe *fe, uint16_t queue);

/* Takes the next used entry: 1, 0 when none, -EPROTO for a bad one (see vio_drvq_get_used). */
int vio_vu_fe_get_used(struct vio_vu_fe *fe, uint16_t queue, void **token, uint32_t *len);

/*
 * Waits until the ring has a used entry, up to timeout_ms, sleeping on the call
 * eventfd. Returns 1, 0 on timeout, -ECONNRESET when the backend hung up.
 */
int vio_vu_fe_wait(struct vio_vu_fe *fe, uint16_t queue, int timeout_ms);

/* get_used, waiting up to timeout_ms for an entry. Returns 1, 0 on timeout or a negative errno. */
int vio_vu_fe_wait_used(struct vio_vu_fe *fe, uint16_t queue, void **token, uint32_t *len,
			int timeout_ms);

/* The call eventfd of a ring (for callers with their own poll loop), or -1. */
int vio_vu_fe_call_fd(const struct vio_vu_fe *fe, uint16_t queue);

/* Whether a feature bit was negotiated. */
static inline bool vio_vu_fe_has(const struct vio_vu_fe *fe, unsigned bit)
{
	return (fe->features >> bit) & 1u;
}

/* Whether a protocol feature was negotiated. */
static inline bool vio_vu_fe_has_protocol(const struct vio_vu_fe *fe, unsigned bit)
{
	return (fe->protocol >> bit) & 1u;
}

#endif
