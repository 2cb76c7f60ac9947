/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Address windows: the only driver memory a device can reach.
 *
 * A window maps a range of bus addresses (guest physical addresses for
 * vhost-user, offsets inside a shared window for virtio-msg) to local memory
 * with an access mode. Translation checks that a range lies inside one window
 * with the right access and returns a pointer together with the contiguous
 * length; a buffer crossing two adjacent windows comes back as two segments.
 */
#ifndef VIOPORT_WINDOW_H
#define VIOPORT_WINDOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIO_ACCESS_READ	 1u /* the device may read (driver-to-device data) */
#define VIO_ACCESS_WRITE 2u /* the device may write (device-to-driver data) */
#define VIO_ACCESS_RW	 (VIO_ACCESS_READ | VIO_ACCESS_WRITE)

struct vio_window {
	uint64_t bus_addr; /* first bus address of the window */
	uint64_t len;	   /* bytes, > 0 */
	uint8_t *local;	   /* where bus_addr is mapped here */
	uint32_t access;   /* VIO_ACCESS_* */
};

/* A table of non-overlapping windows; storage comes from the caller. */
struct vio_winmap {
	struct vio_window *win;
	uint32_t count;
	uint32_t cap;
};

/* Prepares an empty table over caller storage for cap windows. */
void vio_winmap_init(struct vio_winmap *m, struct vio_window *storage, uint32_t cap);

/*
 * Adds a window. Returns 0, -VIO_EINVAL for a zero length, an address range that
 * wraps or a bad access mode, -VIO_EBUSY if it overlaps an existing window,
 * -VIO_ENOSPC when the table is full.
 */
int vio_winmap_add(struct vio_winmap *m, uint64_t bus_addr, uint64_t len, void *local,
		   uint32_t access);

/* Removes the window that starts at bus_addr with length len; returns 0 or -VIO_ENOENT. */
int vio_winmap_remove(struct vio_winmap *m, uint64_t bus_addr, uint64_t len);

/* Removes every window. */
void vio_winmap_clear(struct vio_winmap *m);

/*
 * Translates the start of [addr, addr + len). On success returns a pointer and
 * stores in *contig how many bytes (1..len) are contiguous there; the caller
 * continues at addr + *contig for the rest. Returns NULL when addr is in no
 * window with the requested access, or when len is 0.
 */
void *vio_winmap_xlate(const struct vio_winmap *m, uint64_t addr, uint64_t len, uint32_t access,
		       uint64_t *contig);

/*
 * Translates [addr, addr + len) that must lie entirely inside one window, as the
 * rings themselves must. Returns NULL otherwise (also for len 0).
 */
void *vio_winmap_xlate_whole(const struct vio_winmap *m, uint64_t addr, uint64_t len,
			     uint32_t access);

#endif
