/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-vsock device model (device ID 19), stream sockets.
 *
 * The device is the host end of every guest AF_VSOCK stream: it parses the
 * packets the driver queues on the tx queue, keeps one entry per stream in a
 * connection table in caller storage, and writes packets for the guest into
 * the buffers the driver queues on the rx queue. What is behind the host end
 * is a provider (struct vio_vsock_ops): an in-memory simulation, UNIX sockets
 * in the hybrid form of Firecracker and vhost-device-vsock, a firmware
 * service. The provider sees connections by their slot number in the table.
 *
 * Flow control is the spec's credit scheme in both directions. Guest to host:
 * each connection has buf_size bytes of buffer in caller storage, advertised
 * to the guest as buf_alloc; bytes the provider takes at once are not
 * buffered, the rest wait there until the provider says it can take more
 * (vio_vsock_host_writable), and fwd_cnt counts what the provider took, so a
 * full provider stops the guest. Host to guest: the device pulls data from
 * the provider (ops->recv) straight into rx buffers, never more than the
 * guest's buf_alloc - (tx_cnt - fwd_cnt), once the provider said it has some
 * (vio_vsock_host_readable).
 *
 * A guest that breaks the protocol on one stream (data beyond its credit, a
 * fwd_cnt for bytes never sent, a bad op or type, a len that disagrees with
 * the buffer, data after its own SHUTDOWN) gets an RST for that stream and
 * the provider is told; other streams carry on. Packets for no stream are
 * answered with an RST, packets with a wrong CID are dropped, as Linux's
 * vhost-vsock does.
 *
 * Threading: none inside. Every call for one device comes from one thread or
 * event loop. A provider may call the vio_vsock_host_* functions from inside
 * its own operations: the device finishes what it is doing first.
 */
#ifndef VIOPORT_VSOCK_H
#define VIOPORT_VSOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/device.h"
#include "vioport/virtq.h"

#ifndef VIO_ID_VSOCK
#define VIO_ID_VSOCK 19
#endif

/* Feature bits. */
#define VIO_VSOCK_F_STREAM 0

/* Queues. */
#define VIO_VSOCK_RXQ	 0
#define VIO_VSOCK_TXQ	 1
#define VIO_VSOCK_EVENTQ 2

/* Well-known CIDs: the host, and the first a guest may have. */
#define VIO_VSOCK_HOST_CID	2u
#define VIO_VSOCK_MIN_GUEST_CID 3u

/* struct virtio_vsock_hdr, little-endian byte offsets. */
#define VIO_VSOCK_HDR_SRC_CID	0  /* le64 */
#define VIO_VSOCK_HDR_DST_CID	8  /* le64 */
#define VIO_VSOCK_HDR_SRC_PORT	16 /* le32 */
#define VIO_VSOCK_HDR_DST_PORT	20 /* le32 */
#define VIO_VSOCK_HDR_LEN	24 /* le32 */
#define VIO_VSOCK_HDR_TYPE	28 /* le16 */
#define VIO_VSOCK_HDR_OP	30 /* le16 */
#define VIO_VSOCK_HDR_FLAGS	32 /* le32 */
#define VIO_VSOCK_HDR_BUF_ALLOC 36 /* le32 */
#define VIO_VSOCK_HDR_FWD_CNT	40 /* le32 */
#define VIO_VSOCK_HDR_SIZE	44u

/* Socket types. */
#define VIO_VSOCK_TYPE_STREAM	 1
#define VIO_VSOCK_TYPE_SEQPACKET 2

/* Operations. */
#define VIO_VSOCK_OP_INVALID	    0
#define VIO_VSOCK_OP_REQUEST	    1
#define VIO_VSOCK_OP_RESPONSE	    2
#define VIO_VSOCK_OP_RST	    3
#define VIO_VSOCK_OP_SHUTDOWN	    4
#define VIO_VSOCK_OP_RW		    5
#define VIO_VSOCK_OP_CREDIT_UPDATE  6
#define VIO_VSOCK_OP_CREDIT_REQUEST 7

/* SHUTDOWN flags: the sender will receive no more, will send no more. */
#define VIO_VSOCK_SHUTDOWN_RCV	1u
#define VIO_VSOCK_SHUTDOWN_SEND 2u
#define VIO_VSOCK_SHUTDOWN_BOTH 3u

/* struct virtio_vsock_event. */
#define VIO_VSOCK_EVENT_TRANSPORT_RESET 0
#define VIO_VSOCK_EVENT_SIZE		4u

/* struct virtio_vsock_config: le64 guest_cid. */
#define VIO_VSOCK_CFG_GUEST_CID 0
#define VIO_VSOCK_CONFIG_SIZE	8

/* The largest payload one packet carries either way (Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE). */
#define VIO_VSOCK_MAX_PKT 65536u

/* Segments one packet may have; a longer chain is refused. */
#define VIO_VSOCK_SEGS 20u

/* RST replies to packets for no stream that may wait for an rx buffer; more are dropped. */
#define VIO_VSOCK_RST_QUEUE 8u

/* What connect returns to decide later with vio_vsock_host_accept. */
#define VIO_VSOCK_PENDING 1

/* Connection states (struct vio_vsock_conn.state). */
#define VIO_VSOCK_CONN_FREE	   0
#define VIO_VSOCK_CONN_CONNECTING  1 /* host to guest: REQUEST owed or sent, no answer yet */
#define VIO_VSOCK_CONN_ACCEPTING   2 /* guest to host: the provider has not decided yet */
#define VIO_VSOCK_CONN_ESTABLISHED 3
#define VIO_VSOCK_CONN_CLOSING	   4 /* an RST is owed to the guest; then the slot is free */

/*
 * The host side. conn is the connection's slot number (0 .. nconn - 1);
 * ports are the guest's and the host's. Hooks not marked optional are
 * required. After closed or a failed connected the slot may be reused.
 */
struct vio_vsock_ops {
	/*
	 * The guest connects to host port host_port from guest_port. Returns 0
	 * to accept, VIO_VSOCK_PENDING to answer later with
	 * vio_vsock_host_accept, or a negative VIO_E* to refuse (the guest
	 * gets an RST).
	 */
	int (*connect)(void *ctx, uint32_t conn, uint32_t host_port, uint32_t guest_port);
	/* Optional: the outcome of vio_vsock_host_connect, 0 or -VIO_ECONNRESET (refused). */
	void (*connected)(void *ctx, uint32_t conn, int result);
	/*
	 * Stream data from the guest: returns the bytes taken (0 .. len), the
	 * rest is offered again after vio_vsock_host_writable; negative resets
	 * the stream.
	 */
	int (*send)(void *ctx, uint32_t conn, const uint8_t *data, uint32_t len);
	/*
	 * Fills up to len bytes of data for the guest: returns the bytes (0
	 * when there are none now; call vio_vsock_host_readable when there
	 * are); negative resets the stream.
	 */
	int (*recv)(void *ctx, uint32_t conn, uint8_t *buf, uint32_t len);
	/* Optional: the guest shut down one or both directions (VIO_VSOCK_SHUTDOWN_* it added). */
	void (*shutdown)(void *ctx, uint32_t conn, uint32_t flags);
	/*
	 * A connection the provider accepted (or answered VIO_VSOCK_PENDING
	 * for) ended: 0 after a clean
	 * shutdown, -VIO_ECONNRESET the guest reset it, -VIO_EPROTO the guest
	 * broke the protocol on it, -VIO_ENODEV the device or transport was
	 * reset, or the provider's own error from send or recv. Not called
	 * after vio_vsock_host_reset.
	 */
	void (*closed)(void *ctx, uint32_t conn, int reason);
};

/* One stream; the device owns it. Counters wrap at 2^32 as the spec's do. */
struct vio_vsock_conn {
	uint8_t state;	   /* VIO_VSOCK_CONN_* */
	uint8_t owed;	   /* control packets owed to the guest (device-private bits) */
	uint8_t peer_shut; /* SHUTDOWN flags the guest sent */
	uint8_t peer_told; /* of those, what the provider was told (SEND waits for the data) */
	uint8_t host_shut; /* SHUTDOWN flags the host asked for */
	uint8_t shut_sent; /* SHUTDOWN flags already sent to the guest */
	bool readable;	   /* the provider said it has data */
	bool provider;	   /* the provider knows this connection (closed is owed) */
	uint32_t guest_port;
	uint32_t host_port;
	/* guest to host */
	uint32_t rx_cnt;      /* payload bytes received from the guest */
	uint32_t fwd_cnt;     /* of those, taken by the provider */
	uint32_t adv_fwd_cnt; /* fwd_cnt as last told to the guest */
	/* host to guest */
	uint32_t tx_cnt;	 /* payload bytes sent to the guest */
	uint32_t peer_buf_alloc; /* the guest's buffer space */
	uint32_t peer_fwd_cnt;	 /* of tx_cnt, bytes the guest consumed */
};

struct vio_vsock_stats {
	uint64_t rx_bytes;    /* payload to the guest */
	uint64_t tx_bytes;    /* payload from the guest */
	uint32_t resets;      /* streams reset for a protocol violation */
	uint32_t dropped;     /* tx packets dropped (wrong CID, short or bad buffer) */
	uint32_t rst_replies; /* RSTs sent for packets of no stream */
	uint32_t rst_lost;    /* RST replies dropped: no room to queue them */
	uint32_t bad_rx_bufs; /* rx or event buffers of the wrong shape, returned empty */
};

struct vio_vsock_rst {
	uint32_t guest_port;
	uint32_t host_port;
	uint16_t type;
};

struct vio_vsock {
	struct vio_device dev;
	uint8_t config[VIO_VSOCK_CONFIG_SIZE];
	const struct vio_vsock_ops *ops;
	void *ctx;
	uint64_t guest_cid;
	struct vio_vsock_conn *conns;
	uint32_t nconn;
	uint8_t *bufs;	    /* nconn * buf_size bytes: guest data the provider has not taken */
	uint32_t buf_size;  /* per connection; a power of two; advertised as buf_alloc */
	uint32_t rr;	    /* where the next rx round starts */
	uint32_t next_port; /* next host port tried for vio_vsock_host_connect */
	struct vio_vsock_rst rst[VIO_VSOCK_RST_QUEUE];
	uint32_t nrst;
	bool event_owed; /* a TRANSPORT_RESET waits for an event buffer */
	bool busy;	 /* inside the device: host calls only set flags */
	bool again;	 /* a host call came in while busy */
	bool rx_held;	 /* rx_req holds a popped rx buffer not used yet */
	struct vio_req rx_req;
	struct vio_iov rx_iov[VIO_VSOCK_SEGS];
	struct vio_req req;
	struct vio_iov iov[VIO_VSOCK_SEGS];
	struct vio_vsock_stats stats;
};

/*
 * Prepares vs with guest CID guest_cid (3 .. 0xfffffffe), nconn connection
 * slots in conns and nconn * buf_size bytes in bufs (buf_size a power of
 * two, 64 .. 1 MiB), over queues (three entries, each up to queue_size
 * buffers). features may hold VIO_VSOCK_F_STREAM, INDIRECT_DESC, EVENT_IDX
 * and RING_PACKED; VERSION_1 is always offered. Attach vs->dev to a
 * transport afterwards. Returns 0 or -VIO_EINVAL.
 */
int vio_vsock_init(struct vio_vsock *vs, const struct vio_vsock_ops *ops, void *ctx,
		   uint64_t guest_cid, struct vio_vsock_conn *conns, uint32_t nconn, uint8_t *bufs,
		   uint32_t buf_size, struct vio_queue *queues, uint16_t queue_size,
		   uint64_t features);

/*
 * The host connects to guest port guest_port from host port host_port (0:
 * the device picks a free one). The device sends a REQUEST and later calls
 * ops->connected. Returns the slot, or -VIO_EAGAIN (the driver is not
 * running), -VIO_EBUSY (that pair of ports is in use), -VIO_ENOSPC (no free
 * slot), -VIO_EINVAL.
 */
int vio_vsock_host_connect(struct vio_vsock *vs, uint32_t guest_port, uint32_t host_port);

/* Answers a connect that returned VIO_VSOCK_PENDING: 0 accepts, negative refuses. */
int vio_vsock_host_accept(struct vio_vsock *vs, uint32_t conn, int result);

/* The provider has data for the guest on conn: the device will call recv when it may send. */
void vio_vsock_host_readable(struct vio_vsock *vs, uint32_t conn);

/* The provider can take more of conn's data: the device offers what it holds again. */
void vio_vsock_host_writable(struct vio_vsock *vs, uint32_t conn);

/*
 * The host will send no more (VIO_VSOCK_SHUTDOWN_SEND, sent after the data
 * recv still gives) or receive no more (RCV) on conn. With both the guest
 * is expected to answer with an RST, which ends the connection with
 * closed(0). Returns 0 or -VIO_EINVAL.
 */
int vio_vsock_host_shutdown(struct vio_vsock *vs, uint32_t conn, uint32_t flags);

/* The host aborts conn: the guest gets an RST; no ops->closed follows. Returns 0 or -VIO_EINVAL. */
int vio_vsock_host_reset(struct vio_vsock *vs, uint32_t conn);

/*
 * The host side lost every connection (a restarted backend, a migration):
 * each is closed with -VIO_ENODEV and the guest gets a TRANSPORT_RESET
 * event, after which it reads guest_cid again. A guest_cid other than 0
 * changes the CID first (same range as for init). Returns 0 or -VIO_EINVAL.
 */
int vio_vsock_transport_reset(struct vio_vsock *vs, uint64_t guest_cid);

/* Bytes of conn's guest data waiting for the provider. */
uint32_t vio_vsock_buffered(const struct vio_vsock *vs, uint32_t conn);

#endif
