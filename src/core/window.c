/* SPDX-License-Identifier: BSD-3-Clause */
/* Address windows: bounds-checked translation of driver bus addresses. */
#include "vioport/window.h"
#include "vioport/errno.h"

#include <string.h>

void vio_winmap_init(struct vio_winmap *m, struct vio_window *storage, uint32_t cap)
{
	m->win = storage;
	m->count = 0;
	m->cap = cap;
}

/* Last bus address of a range, or false if the range is empty or wraps. */
static bool range_last(uint64_t addr, uint64_t len, uint64_t *last)
{
	if (len == 0 || addr + (len - 1) < addr)
		return false;
	*last = addr + (len - 1);
	return true;
}

int vio_winmap_add(struct vio_winmap *m, uint64_t bus_addr, uint64_t len, void *local,
		   uint32_t access)
{
	uint64_t last;

	if (!range_last(bus_addr, len, &last) || local == NULL || access == 0 ||
	    (access & ~VIO_ACCESS_RW) != 0)
		return -VIO_EINVAL;
	for (uint32_t i = 0; i < m->count; i++) {
		const struct vio_window *w = &m->win[i];
		uint64_t wlast = w->bus_addr + (w->len - 1);

		if (bus_addr <= wlast && w->bus_addr <= last)
			return -VIO_EBUSY;
	}
	if (m->count >= m->cap)
		return -VIO_ENOSPC;
	m->win[m->count].bus_addr = bus_addr;
	m->win[m->count].len = len;
	m->win[m->count].local = local;
	m->win[m->count].access = access;
	m->count++;
	return 0;
}

int vio_winmap_remove(struct vio_winmap *m, uint64_t bus_addr, uint64_t len)
{
	for (uint32_t i = 0; i < m->count; i++) {
		if (m->win[i].bus_addr == bus_addr && m->win[i].len == len) {
			m->win[i] = m->win[m->count - 1];
			m->count--;
			return 0;
		}
	}
	return -VIO_ENOENT;
}

void vio_winmap_clear(struct vio_winmap *m)
{
	m->count = 0;
}

void *vio_winmap_xlate(const struct vio_winmap *m, uint64_t addr, uint64_t len, uint32_t access,
		       uint64_t *contig)
{
	if (len == 0)
		return NULL;
	for (uint32_t i = 0; i < m->count; i++) {
		const struct vio_window *w = &m->win[i];
		/* Unsigned wrap makes one compare cover addr < bus_addr too. */
		uint64_t off = addr - w->bus_addr;

		if (off < w->len) {
			uint64_t room = w->len - off;

			if ((w->access & access) != access)
				return NULL;
			*contig = len < room ? len : room;
			return w->local + off;
		}
	}
	return NULL;
}

void *vio_winmap_xlate_whole(const struct vio_winmap *m, uint64_t addr, uint64_t len,
			     uint32_t access)
{
	uint64_t contig = 0;
	void *p = vio_winmap_xlate(m, addr, len, access, &contig);

	return (p != NULL && contig == len) ? p : NULL;
}
