/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-vsock streams on UNIX sockets, in the hybrid form of Firecracker and
 * vhost-device-vsock. A provider of struct vio_vsock_ops (vioport/vsock.h)
 * watched on a POSIX loop.
 *
 * - The guest connects to host port P: the provider connects to the UNIX
 *   socket "PATH_P" (PATH the base path given at open). Nobody listening
 *   there is a refused connection (the guest gets an RST).
 * - A host program connects to PATH and writes "CONNECT <port>\n": the
 *   device asks the guest for a connection to its port <port>; once the
 *   guest accepts, the program reads "OK <host port>\n" and the stream
 *   begins; a refusal closes its connection. A line that is not that, or
 *   longer than 32 bytes, closes it too.
 *
 * Then the bytes pass both ways under the device's credit flow control: a
 * socket whose reader is slow fills, and the guest's data waits in the
 * device's buffer, which stops the guest; the host's data is read only as
 * far as the guest has room. A socket's end of stream is the host's
 * SHUTDOWN(SEND); the guest's shutdowns are shutdown(2) on the socket; a
 * reset on either side closes it.
 *
 * Threading: the device calls the operations from its queue threads with its
 * lock held (lock/unlock given to vio_host_vsock_attach). Every descriptor
 * is opened, watched and closed on the loop's thread: the operations record
 * what they need and post it there.
 */
#ifndef VIOPORT_LINUX_VSOCK_H
#define VIOPORT_LINUX_VSOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "vioport/posix_loop.h"
#include "vioport/vsock.h"

#define VIO_HOST_VSOCK_PATH	 108 /* sun_path's size */
#define VIO_HOST_VSOCK_LINE	 32  /* longest CONNECT line */
#define VIO_HOST_VSOCK_NEWCOMERS 8   /* host connections still sending their CONNECT line */

struct vio_host_vsock;

/* The host end of one of the device's connection slots. */
struct vio_host_vsock_conn {
	struct vio_host_vsock *hv;
	uint32_t slot;
	int fd; /* -1: none */
	/* set by the device's calls, done on the loop's thread */
	bool want_connect; /* the guest connects to host_port */
	bool want_close;   /* the device is done with the stream */
	bool want_answer;  /* a host-initiated connection's outcome arrived */
	int answer;	   /* its result */
	uint32_t host_port;
	/* the stream */
	bool streaming; /* connected both ways: the socket is watched */
	bool rx_wait;	/* the device found nothing to read: watch for more */
	bool tx_wait;	/* the socket had no room: watch for some */
	bool eof;	/* the socket's end of stream reached the guest as SHUTDOWN(SEND) */
	bool hup;	/* the socket hung up: nothing more to watch */
	uint32_t watched;
	struct vio_loop_watch w;
	struct vio_loop_work sync;
};

/* A host connection still sending its CONNECT line. */
struct vio_host_vsock_newcomer {
	struct vio_host_vsock *hv;
	int fd; /* -1: free */
	uint32_t len;
	char line[VIO_HOST_VSOCK_LINE];
	struct vio_loop_watch w;
};

struct vio_host_vsock_stats {
	uint64_t guest_connects; /* to host sockets, made */
	uint64_t guest_refused;	 /* to host sockets, nobody there */
	uint64_t host_connects;	 /* from host programs, accepted by the guest */
	uint64_t host_refused;	 /* from host programs: bad line, no slot, guest refused */
};

struct vio_host_vsock {
	char path[VIO_HOST_VSOCK_PATH];
	int listen_fd;
	struct vio_loop_watch lw;
	struct vio_loop *loop;
	struct vio_vsock *dev;
	void (*lock)(void *ctx);
	void (*unlock)(void *ctx);
	void *ctx;
	struct vio_host_vsock_conn *conns; /* one per device slot */
	uint32_t nconn;
	struct vio_host_vsock_newcomer newcomers[VIO_HOST_VSOCK_NEWCOMERS];
	struct vio_host_vsock_stats stats;
};

/* The provider operations; the device's ctx is the struct vio_host_vsock. */
extern const struct vio_vsock_ops vio_host_vsock_ops;

/*
 * Prepares the provider for a device with nconn slots (conns: nconn entries)
 * and listens at path (a socket file left there is replaced; any other file
 * is refused with -EEXIST). 0 or -errno.
 */
int vio_host_vsock_open(struct vio_host_vsock *hv, const char *path,
			struct vio_host_vsock_conn *conns, uint32_t nconn);

/* Starts serving dev on loop, taking lock(ctx) (may be NULL) around device calls. 0 or -errno. */
int vio_host_vsock_attach(struct vio_host_vsock *hv, struct vio_vsock *dev, struct vio_loop *loop,
			  void (*lock)(void *ctx), void (*unlock)(void *ctx), void *ctx);

/* Closes every socket and the listener; the loop must not be running. */
void vio_host_vsock_close(struct vio_host_vsock *hv);

#endif
