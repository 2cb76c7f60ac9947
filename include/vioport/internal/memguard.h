/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guard of shared mappings a peer can shrink (POSIX).
 *
 * A process that maps a file another process controls (a vhost-user
 * frontend's guest memory, a virtio-msg window file) is at that process's
 * mercy: once the file is truncated, touching the mapping past the new end
 * raises SIGBUS, whose default action ends the whole process with every
 * device it serves. A mapping added here is guarded instead: a bus error
 * inside it replaces the whole mapping with private zero-filled memory (one
 * mmap with MAP_FIXED from the signal handler), marks the mapping faulted,
 * writes 1 to the eventfd given with it, and returns, so the access is
 * retried and succeeds. The owner of the mapping (the thread that owns the
 * connection, woken by the eventfd) then finds the fault with
 * vio_memguard_faulted() and ends the session that mapping belongs to.
 *
 * A SIGBUS outside every guarded mapping, one sent by kill(), or one the
 * replacement cannot cure goes to the handler that was installed before
 * (the default action: the process ends, as without the guard), so real
 * bugs stay visible. See docs/memory-faults.md for why this mechanism.
 *
 * Rules for callers:
 * - add a mapping after mmap and remove it before munmap; remove waits for
 *   a handler running on that mapping to finish;
 * - notify_fd stays open while its mapping is guarded;
 * - a thread that may touch guarded memory must not block SIGBUS (the
 *   kernel kills the process on a blocked synchronous fault);
 * - the handler is installed by vio_memguard_install() or any add, which
 *   installs it again when something replaced it; the handler found in place
 *   is the one bus errors that are not the guard's go to. An application
 *   with a SIGBUS handler of its own installs it before the first add.
 *
 * The table is process-wide and lock-free for the handler; add and remove
 * take a mutex among themselves. The per-access fast path costs nothing.
 */
#ifndef VIOPORT_MEMGUARD_H
#define VIOPORT_MEMGUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most mappings guarded at once in one process. */
#define VIO_MEMGUARD_MAX 4096

/* A fault a guarded mapping took. */
struct vio_memguard_fault {
	void *map;	/* the mapping, as added */
	size_t len;	/* its length */
	uintptr_t addr; /* the first address that faulted */
};

/* Installs the SIGBUS handler unless it is in place already; 0 or a negative errno. */
int vio_memguard_install(void);

/*
 * Guards [map, map + len) for owner (a cookie vio_memguard_faulted matches;
 * not NULL), writing 1 to notify_fd (an eventfd; -1: none) when it faults.
 * Returns 0, -EINVAL for an empty range or no owner, -EEXIST when the range
 * overlaps a guarded one, -ENOSPC with VIO_MEMGUARD_MAX mappings guarded,
 * or the error of installing the handler.
 */
int vio_memguard_add(void *map, size_t len, const void *owner, int notify_fd);

/* Stops guarding the mapping that starts at map (nothing when none does). Call before munmap. */
void vio_memguard_remove(void *map);

/* Says whether a guarded mapping of owner faulted; the first one found goes to *f (may be NULL). */
bool vio_memguard_faulted(const void *owner, struct vio_memguard_fault *f);

/* Mappings guarded now, in the whole process. */
unsigned vio_memguard_count(void);

#endif
