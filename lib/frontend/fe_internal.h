/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What the parts of the vhost-user frontend share (lib/frontend/fe_*.c); not
 * a public interface. fe_io.c: socket I/O and requests; fe_mem.c: the guest
 * memory the frontend offers; fe_setup.c: connection, negotiation, set-up,
 * config, status and the backend channel; fe_queue.c: the queues.
 */
#ifndef VIOPORT_FE_INTERNAL_H
#define VIOPORT_FE_INTERNAL_H

#include "vioport/internal/fdpass.h"
#include "vioport/vhost_user_frontend.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vioport/byteorder.h"
#include "vioport/virtio.h"

#define DEFAULT_MEM	(8ull << 20)
#define DEFAULT_GPA	(1ull << 30)
#define DEFAULT_QSIZE	128u
#define DEFAULT_TIMEOUT 5000
#define PAGE		4096u
/* An inflight area larger than this is not a sane answer for any queue layout. */
#define MAX_INFLIGHT (256ull << 20)
/* Marks a struct that went through connect/adopt. */
#define FE_MAGIC 0x76756665u

/* What arrived besides the bytes. */
struct rx_fds {
	int *fds;
	unsigned cap, n;
	bool dropped; /* more descriptors than cap, or the kernel truncated them */
};

/* Records the reason of a failure (vio_vu_fe_error) and returns err. */
__attribute__((format(printf, 3, 4))) int fe_fail(struct vio_vu_fe *fe, int err, const char *fmt,
						  ...);

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t fe_now_ms(void);

/* Milliseconds left until deadline, 0 when past, clamped to an int. */
int fe_remaining(int64_t deadline);

/* Closes the descriptors of fds that are open (>= 0). */
void fe_close_fds(int *fds, unsigned n);

/*
 * Sends a then b (either may be empty) with nfds descriptors on the first
 * byte, without blocking past deadline; 0 or -errno.
 */
int fe_send_msg(int fd, const void *a, size_t alen, const void *b, size_t blen, const int *fds,
		unsigned nfds, int64_t deadline);

/* Reads one message (header, then up to cap bytes of payload) and its descriptors; 0 or -errno. */
int fe_read_msg(int fd, struct vio_vu_hdr *hdr, void *payload, size_t cap, struct rx_fds *rx,
		int64_t deadline);

/* Marks the connection broken with err (kept for vio_vu_fe_error); returns err. */
int fe_broken(struct vio_vu_fe *fe, int err);

/* Creates the guest memory (a memfd, mapped) the frontend offers; 0 or -errno. */
int fe_mem_create(struct vio_vu_fe *fe);

/* Tells the backend about the guest memory (SET_MEM_TABLE or ADD_MEM_REG); 0 or -errno. */
int fe_send_memory(struct vio_vu_fe *fe);

/* Reads an eventfd until it is empty. */
void fe_drain_eventfd(int fd);

#endif
