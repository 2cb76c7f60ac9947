/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-blk provider over an NBD export (POSIX layer, libnbd; see
 * docs/nbd.md).
 *
 * The disk lives on an NBD server (qemu-nbd, nbdkit, rbd-nbd, a SAN):
 *
 *   nbd://HOST[:PORT][/EXPORT]          TCP, port 10809 by default
 *   nbd+unix:///[EXPORT]?socket=PATH    a UNIX socket
 *
 * The address is resolved once, by vio_host_nbd_open, and every connection
 * after that (the first one and each reconnection) goes to that socket
 * address: no name resolution, no file opened, so it works in the sandbox.
 *
 * Operations are libnbd's asynchronous commands on the driver's own buffers:
 * IN and OUT one NBD read or write per run of host-contiguous data segments
 * (each split at the export's maximum request size), FLUSH to NBD_CMD_FLUSH,
 * DISCARD to NBD_CMD_TRIM, WRITE_ZEROES to NBD_CMD_WRITE_ZEROES (with
 * NO_HOLE unless the driver allows unmapping). Writes carry FUA while the
 * driver wants writethrough. An operation answers VIO_BLK_PENDING and
 * completes with vio_blk_complete when the server replied.
 *
 * The connection's socket is watched on an event loop (vio_host_nbd_attach)
 * whose events follow libnbd's direction. When the connection is lost every
 * request in flight completes with VIO_BLK_S_IOERR, new requests fail at
 * once, and a timer on the loop reconnects with a bounded backoff; once the
 * server answers again requests are served again. Nothing blocks the loop.
 *
 * Threading: like vio_host_blk, calls for one instance must not overlap. The
 * operations may come from any thread holding the caller's lock; the watch
 * and the timer run on the loop's thread and take that lock through the
 * hooks given to vio_host_nbd_attach. After a batch of operations from
 * another thread call vio_host_nbd_kick.
 */
#ifndef VIOPORT_HOST_NBD_H
#define VIOPORT_HOST_NBD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "vioport/blk.h"
#include "vioport/posix_loop.h"

/* Longest export name and UNIX socket path kept, NUL included. */
#define VIO_HOST_NBD_NAME_MAX 256u
/* Default TCP port of NBD. */
#define VIO_HOST_NBD_PORT 10809u
/* Largest request sent when the server does not say (the NBD spec's safe default). */
#define VIO_HOST_NBD_DEFAULT_MAX_REQ (32u << 20)
/* Reconnection delays: the first, and the bound of the doubling. */
#define VIO_HOST_NBD_BACKOFF_MIN_MS 50u
#define VIO_HOST_NBD_BACKOFF_MAX_MS 2000u
/* Default of options->timeout_ms. */
#define VIO_HOST_NBD_TIMEOUT_MS 30000u
/* How long a connection attempt (socket and handshake) may take. */
#define VIO_HOST_NBD_CONNECT_MS 5000u

/* A parsed and resolved NBD URI. */
struct vio_host_nbd_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	bool unix_socket;
	uint16_t port; /* TCP port; 0 for a UNIX socket */
	char export_name[VIO_HOST_NBD_NAME_MAX];
	char desc[2 * VIO_HOST_NBD_NAME_MAX + 16]; /* for messages: "host:port/export" */
};

struct vio_host_nbd_options {
	bool read_only;	      /* offer VIO_BLK_F_RO whatever the export allows */
	uint16_t queue_depth; /* requests in flight at most: give the device's slot count */
	/*
	 * With requests in flight and no answer from the server for this long,
	 * the connection is dropped (the requests fail) and made again. 0: the
	 * default; UINT32_MAX: never.
	 */
	uint32_t timeout_ms;
};

/* Counters, for tests, logs and benchmarks. */
struct vio_host_nbd_stats {
	uint64_t reads, writes, flushes, trims, zeroes;
	uint64_t commands;   /* NBD commands issued (a request may need several) */
	uint64_t errors;     /* requests completed with VIO_BLK_S_IOERR */
	uint64_t lost;	     /* connections lost */
	uint64_t reconnects; /* connections made again after a loss */
	uint64_t refused;    /* requests failed at once while disconnected */
	uint64_t timeouts;   /* connections dropped for not answering */
};

struct nbd_handle;
struct vio_host_nbd_op;

/* State of the connection. */
enum vio_host_nbd_state {
	VIO_HOST_NBD_DOWN,	 /* no connection: the timer will try again */
	VIO_HOST_NBD_CONNECTING, /* connecting or negotiating */
	VIO_HOST_NBD_READY,	 /* serving */
};

/* An NBD-backed disk. Callers read the fields and use the functions. */
struct vio_host_nbd {
	struct vio_host_nbd_addr addr;
	struct nbd_handle *h;
	enum vio_host_nbd_state state;
	bool read_only; /* offered read-only (asked, or the export is) */
	bool can_flush; /* the export has a write-back cache to flush */
	bool can_fua;	/* writes can be forced to stable storage one by one */
	bool can_trim;	/* NBD_CMD_TRIM */
	bool can_zero;	/* NBD_CMD_WRITE_ZEROES */
	bool writeback; /* the driver's cache mode: false sends writes with FUA */
	uint64_t size;	/* bytes, as the first connection found it */
	uint32_t min_block;
	uint32_t pref_block;
	uint32_t max_req; /* bytes of one read or write command */
	/* requests */
	struct vio_host_nbd_op *ops;
	struct vio_host_nbd_op *free_ops;
	struct vio_host_nbd_op *done; /* finished, to complete outside libnbd's callback */
	uint32_t depth;
	uint32_t busy;
	/* the loop */
	struct vio_loop *loop;
	struct vio_loop_watch w;
	struct vio_loop_timer t;
	struct vio_loop_work work;
	uint32_t watch_events;
	void (*lock)(void *ctx);
	void (*unlock)(void *ctx);
	void (*log)(void *ctx, int level, const char *msg); /* level VIO_LOG_* (vioport/log.h) */
	void *ctx;
	uint32_t backoff_ms;
	bool outage_logged;
	/* the watchdog of a connection that stopped answering */
	uint32_t timeout_ms;
	bool watching;	       /* the timer is armed as the watchdog */
	uint64_t answers;      /* replies received */
	uint64_t answers_seen; /* replies when the watchdog was armed */
	struct vio_host_nbd_stats stats;
};

/* Says whether s names an NBD export (nbd:// or nbd+unix://) rather than a file. */
bool vio_host_nbd_is_uri(const char *s);

/*
 * Parses uri and resolves its host (getaddrinfo: call before the sandbox).
 * Returns 0, or -EINVAL (malformed, or TLS / a transport not supported),
 * -ENAMETOOLONG, -ENOENT (the host does not resolve), with err filled.
 */
int vio_host_nbd_parse(const char *uri, struct vio_host_nbd_addr *a, char *err, size_t errlen);

/*
 * Parses uri, connects and negotiates (blocking, at most
 * VIO_HOST_NBD_CONNECT_MS) and reads what the export offers. Returns 0, or a
 * negative errno with err filled; on error n holds nothing to close.
 */
int vio_host_nbd_open(struct vio_host_nbd *n, const char *uri, const struct vio_host_nbd_options *o,
		      char *err, size_t errlen);

/*
 * Watches the connection on loop from now on; lock and unlock (both NULL, or
 * both given) serialise the watch and the timer with the operations, log (may
 * be NULL) reports outages. Returns 0 or a negative errno.
 */
int vio_host_nbd_attach(struct vio_host_nbd *n, struct vio_loop *loop, void (*lock)(void *ctx),
			void (*unlock)(void *ctx),
			void (*log)(void *ctx, int level, const char *msg), void *ctx);

/*
 * After operations issued off the loop's thread (the caller's lock held):
 * lets the loop look at the connection again when it has something to
 * write or something to finish. Cheap when it has not.
 */
void vio_host_nbd_kick(struct vio_host_nbd *n);

/*
 * Completes every request in flight, waiting at most timeout_ms for the
 * server and then failing the rest with VIO_BLK_S_IOERR (the connection is
 * dropped and made again later). On the loop's thread or with the loop
 * stopped, the caller's lock held.
 */
void vio_host_nbd_drain(struct vio_host_nbd *n, int timeout_ms);

/* Requests in flight. */
unsigned vio_host_nbd_inflight(const struct vio_host_nbd *n);

/* Stops watching, fails what is in flight, disconnects and frees everything. */
void vio_host_nbd_close(struct vio_host_nbd *n);

/*
 * Fills what the export determines in bp: capacity, BLK_SIZE and TOPOLOGY
 * (from the server's block sizes), FLUSH and CONFIG_WCE, DISCARD,
 * WRITE_ZEROES, RO; their feature bits are added to bp->features.
 */
void vio_host_nbd_params(const struct vio_host_nbd *n, struct vio_blk_params *bp);

/* Writes a serial derived from the address and export name (20 bytes, no NUL). */
void vio_host_nbd_default_serial(const struct vio_host_nbd *n, char serial[VIO_BLK_ID_BYTES]);

/* The blk provider table; its ctx is a struct vio_host_nbd opened with vio_host_nbd_open. */
extern const struct vio_blk_ops vio_host_nbd_ops;

#endif
