/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-msg on POSIX: window files, mapped shared by the two sides. */
#include "vioport/vmsg_window.h"
#include "vioport/internal/errmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_existing(const char *path, char *err, size_t errlen, int *fdp)
{
	/* O_NONBLOCK: a FIFO or a device node must not block the open; checked right after. */
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	if (fd < 0) {
		int e = errno;

		if (e == EISDIR)
			vio_errmsg(err, errlen, "%s: not a regular file", path);
		else if (e != ENOENT)
			vio_errmsg(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	*fdp = fd;
	return 0;
}

static int window_open(struct vio_vmsg_window *w, const char *path, uint64_t offset, uint32_t size,
		       bool exact, char *err, size_t errlen);

/*
 * Checks that an existing file of file_size bytes holds the window at offset:
 * exact, with a nonzero *size, means exactly *size bytes; otherwise at least
 * offset + *size. A zero *size becomes what the file holds past offset.
 */
static int window_fits(const char *path, uint64_t file_size, uint64_t offset, uint32_t *size,
		       bool exact, char *err, size_t errlen)
{
	uint64_t room;

	if (file_size == 0) {
		vio_errmsg(err, errlen, "%s is empty", path);
		return -EINVAL;
	}
	if (offset >= file_size) {
		vio_errmsg(err, errlen, "%s is %llu bytes: window offset %llu is past its end",
			   path, (unsigned long long) file_size, (unsigned long long) offset);
		return -EINVAL;
	}
	room = file_size - offset;
	if (exact && *size != 0 && room != *size) {
		vio_errmsg(err, errlen, "%s is %llu bytes, expected %u", path,
			   (unsigned long long) room, *size);
		return -EINVAL;
	}
	if (*size != 0 && room < *size) {
		vio_errmsg(err, errlen,
			   "%s is %llu bytes: a window of %u bytes at offset %llu does not fit",
			   path, (unsigned long long) file_size, *size,
			   (unsigned long long) offset);
		return -EINVAL;
	}
	if (*size == 0 && room > UINT32_MAX) {
		vio_errmsg(err, errlen,
			   "%s holds %llu bytes past offset %llu, more than a window "
			   "may have (%u): give a size",
			   path, (unsigned long long) room, (unsigned long long) offset,
			   UINT32_MAX);
		return -EFBIG;
	}
	if (*size == 0)
		*size = (uint32_t) room;
	return 0;
}

int vio_vmsg_window_open(struct vio_vmsg_window *w, const char *path, uint32_t size, char *err,
			 size_t errlen)
{
	return window_open(w, path, 0, size, true, err, errlen);
}

int vio_vmsg_window_open_at(struct vio_vmsg_window *w, const char *path, uint64_t offset,
			    uint32_t size, char *err, size_t errlen)
{
	return window_open(w, path, offset, size, false, err, errlen);
}

/* Opens and maps the window; exact: the file is the window, no more, no less. */
static int window_open(struct vio_vmsg_window *w, const char *path, uint64_t offset, uint32_t size,
		       bool exact, char *err, size_t errlen)
{
	long page = sysconf(_SC_PAGESIZE);
	struct stat st;
	bool created = false;
	int fd = -1, r;
	void *base;

	*w = (struct vio_vmsg_window){.fd = -1};
	if (path == NULL || path[0] == '\0' || strlen(path) >= sizeof(w->path)) {
		vio_errmsg(err, errlen, "window path is empty or longer than %zu bytes",
			   sizeof(w->path) - 1);
		return -EINVAL;
	}
	/* mmap maps whole pages: a window must start on one. */
	if (page <= 0 || offset % (uint64_t) page != 0 ||
	    offset > (uint64_t) INT64_MAX - UINT32_MAX) {
		vio_errmsg(err, errlen,
			   "%s: window offset %llu is not a multiple of the page size (%ld)", path,
			   (unsigned long long) offset, page);
		return -EINVAL;
	}
	for (int attempt = 0; fd < 0; attempt++) {
		r = open_existing(path, err, errlen, &fd);
		if (r == 0)
			break;
		if (r != -ENOENT)
			return r;
		if (size == 0) {
			vio_errmsg(err, errlen, "%s does not exist (give a size to create it)",
				   path);
			return -ENOENT;
		}
		fd = open(path, O_RDWR | O_CLOEXEC | O_CREAT | O_EXCL, 0600);
		if (fd >= 0) {
			created = true;
			break;
		}
		/* Someone else created it between the two opens: open theirs once more. */
		if (errno != EEXIST || attempt > 0) {
			r = -errno;
			vio_errmsg(err, errlen, "%s: cannot create: %s", path, strerror(errno));
			return r;
		}
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		vio_errmsg(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		vio_errmsg(err, errlen, "%s: not a regular file", path);
		r = -EINVAL;
		goto fail;
	}
	if (created && ftruncate(fd, (off_t) (offset + size)) < 0) {
		r = -errno;
		vio_errmsg(err, errlen, "%s: cannot size it to %u bytes: %s", path, size,
			   strerror(errno));
		unlink(path);
		goto fail;
	}
	if (!created) {
		if (st.st_size == 0) {
			vio_errmsg(err, errlen, "%s is empty", path);
			r = -EINVAL;
			goto fail;
		}
		r = window_fits(path, (uint64_t) st.st_size, offset, &size, exact, err, errlen);
		if (r < 0)
			goto fail;
	}
	/* Blocking I/O is never used on it, but a regular file ignores O_NONBLOCK anyway. */
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t) offset);
	if (base == MAP_FAILED) {
		r = -errno;
		vio_errmsg(err, errlen, "%s: cannot map %u bytes: %s", path, size, strerror(errno));
		if (created)
			unlink(path);
		goto fail;
	}
	w->fd = fd;
	w->base = base;
	w->size = size;
	w->offset = offset;
	snprintf(w->path, sizeof(w->path), "%s", path);
	return 0;
fail:
	close(fd);
	return r;
}

void vio_vmsg_window_close(struct vio_vmsg_window *w)
{
	/* fd is ours only while mapped: a zeroed window's fd 0 is not. */
	if (w->base != NULL) {
		munmap(w->base, w->size);
		close(w->fd);
	}
	w->base = NULL;
	w->fd = -1;
	w->size = 0;
}
