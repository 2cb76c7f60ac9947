/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-msg on POSIX: window files (src/os/posix/vmsg_window.c). Any regular
 * file both processes can map: a file under /dev/shm is memory, one elsewhere
 * works too (and is written back). The peer is untrusted; what it can still do
 * to the mapping itself is shrink the file, which makes the next access past
 * the new end fault (SIGBUS). Give the two processes the file but not the
 * right to truncate it when that matters.
 */
#ifndef VIOPORT_VMSG_WINDOW_H
#define VIOPORT_VMSG_WINDOW_H

#include <stddef.h>
#include <stdint.h>

/* Longest socket or window path kept (sun_path's size on Linux). */
#define VIO_VMSG_PATH_MAX 108

/* A window file mapped shared (for example under /dev/shm). */
struct vio_vmsg_window {
	int fd;
	uint8_t *base;
	uint32_t size;
	uint64_t offset; /* where the window starts in the file */
	char path[VIO_VMSG_PATH_MAX];
};

/*
 * Opens path and maps it shared; creates it with size bytes when it is missing
 * and size is not 0; with size 0 uses the file's size. Refuses a file that is
 * not regular, is empty, is larger than 4 GiB - 1, or whose size differs from
 * a nonzero size. 0 or -errno with a message in err.
 */
int vio_vmsg_window_open(struct vio_vmsg_window *w, const char *path, uint32_t size, char *err,
			 size_t errlen);

/*
 * As vio_vmsg_window_open for a window that starts offset bytes into the file
 * (a firmware's RAM file holding its window somewhere inside): offset must be
 * a multiple of the page size (mmap maps whole pages); the file must hold at
 * least offset + size bytes and may hold more (size 0: the window is the rest
 * of the file); a missing file is created with offset + size bytes.
 */
int vio_vmsg_window_open_at(struct vio_vmsg_window *w, const char *path, uint64_t offset,
			    uint32_t size, char *err, size_t errlen);

/* Unmaps and closes (the file stays); safe on a zeroed or closed window. */
void vio_vmsg_window_close(struct vio_vmsg_window *w);

#endif
