/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-msg on POSIX: doorbells (src/os/posix/vmsg_bell.c; the ivshmem
 * server, ivshmem_server.c). "poll": nothing is signalled; the waiting side
 * spins for a while, then sleeps in steps that grow to
 * VIO_VMSG_BELL_POLL_MAX_US. "eventfd:SOCKET": each side owns an eventfd that
 * the other side writes to ring it; the two are exchanged over the unix socket
 * SOCKET with SCM_RIGHTS (the device side listens, the driver side connects,
 * sends its eventfd and receives the device's). The device side serves one
 * driver connection at a time and takes the next once the old one closed. A
 * doorbell carries no data: a missed or spurious ring costs one wait, never a
 * message.
 */
#ifndef VIOPORT_VMSG_BELL_H
#define VIOPORT_VMSG_BELL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vioport/vmsg_shm.h"
#include "vioport/vmsg_window.h"

/* Polling doorbell: busy waits before the first sleep, and the longest sleep. */
#define VIO_VMSG_BELL_POLL_SPINS  20000u
#define VIO_VMSG_BELL_POLL_MAX_US 1000u
/*
 * eventfd doorbell: after the last message the waiting side keeps looking for
 * the next one this long before it blocks on its eventfd (a request's answer
 * usually comes within microseconds: this saves the two wake-ups of a round
 * trip, while an idle side still sleeps). "eventfd:SOCKET,spin=US" sets the
 * bound; 0 blocks at once. The look adapts under that bound: a look that ends
 * without a message halves the next one (down to none, so an idle side stops
 * spinning), a message found while looking, or a wake-up that came sooner
 * after blocking than the bound, sets it back to the bound at once. In a
 * stream of round trips every look pays and stays at the bound.
 */
#define VIO_VMSG_BELL_EVENTFD_SPIN_US 20u

/* Doorbell kinds. */
#define VIO_VMSG_BELL_POLL    0
#define VIO_VMSG_BELL_EVENTFD 1
#define VIO_VMSG_BELL_IVSHMEM 2 /* device side: the server of QEMU's ivshmem-doorbell */

struct vio_vmsg_bell {
	int kind; /* VIO_VMSG_BELL_* */
	char sock[VIO_VMSG_PATH_MAX];
	bool is_device;	      /* listens (device side) or connects (driver side) */
	int listen_fd;	      /* device side: the listening socket */
	int conn_fd;	      /* the connection to the peer, -1 while none */
	int own_efd;	      /* the peer rings this one */
	int peer_efd;	      /* we ring this one; -1 while no peer */
	uint32_t idle;	      /* poll: waits since the last activity; eventfd: 0 after activity */
	uint32_t spin_us;     /* eventfd: the bound of a look before blocking, after activity */
	uint32_t look_us;     /* eventfd: the current look, 0 .. spin_us */
	uint64_t spin_since;  /* eventfd: when the current look started */
	uint64_t block_since; /* eventfd: when the last block started */
	uint64_t looks_paid;  /* eventfd: looks that found a message, for diagnostics */
	uint64_t looks_lost;  /* eventfd: looks that ran out, for diagnostics */
	uint64_t rings;	      /* rings sent, for diagnostics */
	uint64_t wakeups;     /* rings received (eventfd), for diagnostics */
	int shm_fd;	      /* ivshmem: the window file, sent to the client; not owned */
};

/*
 * Device side, ivshmem doorbell (ivshmem_server.c): accepts one client (QEMU's
 * ivshmem-doorbell) on listen_fd and sends it the protocol's version, its ID,
 * shm_fd (the window file), this side's eventfd as peer 0's vector 0 and a new
 * eventfd as its own vector 0. 0 with the connection and that new eventfd (this
 * side rings the guest through it), or -errno.
 */
int vio_ivshmem_accept(int listen_fd, int shm_fd, int own_efd, int *conn_fd, int *client_efd);

/*
 * Parses "poll", "eventfd:SOCKET" or "ivshmem:SOCKET" (NULL or "" means "poll") into b, which it
 * prepares with no descriptor open. 0 or -EINVAL with a message in err.
 */
int vio_vmsg_bell_parse(struct vio_vmsg_bell *b, const char *spec, char *err, size_t errlen);

/*
 * Device side: listens on b's socket (eventfd; replaces a stale socket file,
 * refuses a path that is not a socket) and creates its own eventfd; nothing to
 * do for poll. 0 or -errno with a message in err.
 */
int vio_vmsg_bell_listen(struct vio_vmsg_bell *b, char *err, size_t errlen);

/*
 * Driver side: connects to b's socket, retrying until timeout_ms passed while
 * nobody listens, and exchanges eventfds; nothing to do for poll. 0, -ETIMEDOUT
 * or -errno with a message in err.
 */
int vio_vmsg_bell_connect(struct vio_vmsg_bell *b, int timeout_ms, char *err, size_t errlen);

/* Device side: whether a driver is connected (always true for poll). */
bool vio_vmsg_bell_connected(const struct vio_vmsg_bell *b);

/* Closes every descriptor (and the device side's socket file); b can be parsed again. */
void vio_vmsg_bell_close(struct vio_vmsg_bell *b);

/* Rings the peer: one eventfd write (poll: nothing). */
void vio_vmsg_bell_ring(struct vio_vmsg_bell *b);

/* The struct vio_vmsg_doorbell (vmsg_shm.h) that rings the peer through b. */
struct vio_vmsg_doorbell vio_vmsg_bell_doorbell(struct vio_vmsg_bell *b);

/* Tells the bell that the caller found work, so the next poll waits spin again. */
void vio_vmsg_bell_activity(struct vio_vmsg_bell *b);

/*
 * Waits until the peer rang or timeout_us passed (poll: one backoff step, at
 * most timeout_us). On the device side it also takes a new driver connection
 * and notices a closed one. Returns 1 when rung, 0 otherwise (a timeout, a
 * poll step, a connection change), or -errno.
 */
int vio_vmsg_bell_wait(struct vio_vmsg_bell *b, int64_t timeout_us);

/* A monotonic clock in microseconds. */
uint64_t vio_vmsg_now_us(void);

#endif
