/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user engine: guest memory and the inflight region.
 *
 * Each region the frontend shares is mapped from its handle and becomes a
 * window of the device's winmap, keyed by guest-physical address; the same
 * region table translates the frontend's virtual addresses (ring addresses in
 * SET_VRING_ADDR) to guest-physical ones. A region (and the inflight
 * area) must lie inside the object behind its handle: on POSIX, touching a
 * mapping past the end of a file raises SIGBUS. A file the frontend shrinks
 * later is the glue's to survive (src/os/posix/memguard.c on POSIX).
 */
#include "engine_internal.h"

#include <string.h>

/* A region as the frontend describes it. */
struct wire_region {
	uint64_t gpa, size, uaddr, offset;
};

static struct wire_region wire_region(const struct vio_vu_region *w)
{
	struct wire_region r = {w->guest_phys_addr, w->memory_size, w->userspace_addr,
				w->mmap_offset};

	return r;
}

/* Checks a region's numbers: non-zero size, no address range that wraps. */
static int region_check(struct vio_vu_engine *e, const struct wire_region *r)
{
	if (r->size == 0 || r->gpa + (r->size - 1) < r->gpa ||
	    r->uaddr + (r->size - 1) < r->uaddr || r->offset + (r->size - 1) < r->offset ||
	    r->size > SIZE_MAX / 2) {
		vu_log(e, VIO_LOG_WARN,
		       "memory region gpa 0x%llx size 0x%llx uaddr 0x%llx offset 0x%llx: bad range",
		       (unsigned long long) r->gpa, (unsigned long long) r->size,
		       (unsigned long long) r->uaddr, (unsigned long long) r->offset);
		return -VIO_EINVAL;
	}
	return 0;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a <= b + (blen - 1) && b <= a + (alen - 1);
}

/* Maps [offset, offset + size) of h; the object behind h must hold all of it. */
static int map_range(struct vio_vu_engine *e, int h, uint64_t offset, uint64_t size,
		     struct vio_vu_mapping *out)
{
	uint64_t obj, align, start, lead, len;
	void *p;
	int rc = e->ops->describe(e->ctx, h, &obj, &align);

	if (rc < 0)
		return rc;
	if (offset > obj || size > obj - offset) {
		vu_log(e, VIO_LOG_WARN,
		       "refused: 0x%llx bytes at offset 0x%llx run past the end of their file "
		       "(0x%llx bytes); mapping them would fault",
		       (unsigned long long) size, (unsigned long long) offset,
		       (unsigned long long) obj);
		return -VIO_EINVAL;
	}
	start = offset & ~(align - 1);
	lead = offset - start;
	/* whole (huge) pages: unmapping a hugetlbfs mapping wants an aligned length */
	if (size > SIZE_MAX / 2 - lead - align)
		return -VIO_EINVAL;
	len = (size + lead + align - 1) & ~(align - 1);
	rc = e->ops->map(e->ctx, h, start, len, &p);
	if (rc < 0) {
		vu_log(e, VIO_LOG_WARN, "cannot map memory region: %s", vu_errstr(e, -rc));
		return rc;
	}
	out->map = p;
	out->map_len = (size_t) len;
	out->local = (uint8_t *) p + lead;
	return 0;
}

static int region_map(struct vio_vu_engine *e, const struct vio_vu_region *w, int fd,
		      struct vio_vu_mapping *out)
{
	struct wire_region r = wire_region(w);
	int rc = region_check(e, &r);

	if (rc < 0)
		return rc;
	memset(out, 0, sizeof(*out));
	rc = map_range(e, fd, r.offset, r.size, out);
	if (rc < 0)
		return rc;
	out->gpa = r.gpa;
	out->size = r.size;
	out->uaddr = r.uaddr;
	vu_log(e, VIO_LOG_DEBUG, "region gpa 0x%llx size 0x%llx uaddr 0x%llx offset 0x%llx",
	       (unsigned long long) r.gpa, (unsigned long long) r.size,
	       (unsigned long long) r.uaddr, (unsigned long long) r.offset);
	return 0;
}

static void region_unmap(struct vio_vu_engine *e, struct vio_vu_mapping *r)
{
	if (r->map != NULL)
		e->ops->unmap(e->ctx, r->map, r->map_len);
	memset(r, 0, sizeof(*r));
}

/* Says whether [uaddr, uaddr + size) overlaps a mapped region's frontend addresses. */
static bool uaddr_taken(const struct vio_vu_engine *e, uint64_t uaddr, uint64_t size)
{
	for (uint32_t i = 0; i < e->nregions; i++)
		if (ranges_overlap(uaddr, size, e->regions[i].uaddr, e->regions[i].size))
			return true;
	return false;
}

void vu_mem_unmap_all(struct vio_vu_engine *e)
{
	vio_winmap_clear(&e->map);
	for (uint32_t i = 0; i < e->nregions; i++)
		region_unmap(e, &e->regions[i]);
	e->nregions = 0;
}

/* Checks a whole table: sizes, and no two regions overlapping in either address space. */
static int table_check(struct vio_vu_engine *e, const struct vio_vu_mem_table *t)
{
	for (uint32_t i = 0; i < t->nregions; i++) {
		const struct vio_vu_region *a = &t->regions[i];
		struct wire_region r = wire_region(a);

		if (region_check(e, &r) < 0)
			return -VIO_EINVAL;
		for (uint32_t j = 0; j < i; j++) {
			const struct vio_vu_region *b = &t->regions[j];

			if (ranges_overlap(a->guest_phys_addr, a->memory_size, b->guest_phys_addr,
					   b->memory_size) ||
			    ranges_overlap(a->userspace_addr, a->memory_size, b->userspace_addr,
					   b->memory_size)) {
				vu_log(e, VIO_LOG_WARN, "memory regions %u and %u overlap",
				       (unsigned) j, (unsigned) i);
				return -VIO_EINVAL;
			}
		}
	}
	return 0;
}

int vu_mem_map_table(struct vio_vu_engine *e, struct vio_vu_msg *m,
		     struct vio_vu_mapping fresh[VIO_VU_MAX_REGIONS])
{
	const struct vio_vu_mem_table *t = &m->p.mem;
	uint32_t n = t->nregions;
	int rc;

	if (n == 0 || n > VIO_VU_MAX_REGIONS ||
	    m->hdr.size != 8u + n * (uint32_t) sizeof(struct vio_vu_region) || m->nfds != n) {
		vu_log(e, VIO_LOG_WARN, "SET_MEM_TABLE: %u regions, %u bytes, %u fds", (unsigned) n,
		       (unsigned) m->hdr.size, (unsigned) m->nfds);
		return -VIO_EINVAL;
	}
	rc = table_check(e, t);
	for (uint32_t i = 0; rc == 0 && i < n; i++) {
		rc = region_map(e, &t->regions[i], m->fds[i], &fresh[i]);
		if (rc < 0)
			while (i-- > 0)
				region_unmap(e, &fresh[i]);
	}
	return rc < 0 ? rc : (int) n;
}

int vu_mem_install(struct vio_vu_engine *e, const struct vio_vu_mapping *fresh, uint32_t n)
{
	int rc = 0;

	vu_mem_unmap_all(e);
	for (uint32_t i = 0; i < n; i++) {
		e->regions[i] = fresh[i];
		rc = vio_winmap_add(&e->map, fresh[i].gpa, fresh[i].size, fresh[i].local,
				    VIO_ACCESS_RW);
		if (rc < 0)
			break;
	}
	e->nregions = n;
	if (rc < 0)
		vu_mem_unmap_all(e);
	return rc;
}

int vu_mem_add(struct vio_vu_engine *e, struct vio_vu_msg *m)
{
	const struct vio_vu_region *w = &m->p.reg.region;
	struct wire_region wr = wire_region(w);
	struct vio_vu_mapping r;
	int rc = region_check(e, &wr);

	if (rc < 0)
		return rc;
	if (e->nregions >= VIO_VU_MAX_MEM_SLOTS) {
		vu_log(e, VIO_LOG_WARN, "ADD_MEM_REG: all %u slots are used", VIO_VU_MAX_MEM_SLOTS);
		return -VIO_ENOSPC;
	}
	if (uaddr_taken(e, wr.uaddr, wr.size)) {
		vu_log(e, VIO_LOG_WARN, "ADD_MEM_REG: region overlaps another one");
		return -VIO_EBUSY;
	}
	rc = region_map(e, w, m->fds[0], &r);
	if (rc < 0)
		return rc;
	rc = vio_winmap_add(&e->map, r.gpa, r.size, r.local, VIO_ACCESS_RW);
	if (rc < 0) {
		vu_log(e, VIO_LOG_WARN, "ADD_MEM_REG: region overlaps another one");
		region_unmap(e, &r);
		return rc;
	}
	e->regions[e->nregions++] = r;
	return 0;
}

int vu_mem_find(struct vio_vu_engine *e, const struct vio_vu_msg *m)
{
	const struct vio_vu_region *w = &m->p.reg.region;

	for (uint32_t i = 0; i < e->nregions; i++) {
		const struct vio_vu_mapping *r = &e->regions[i];

		if (r->gpa == w->guest_phys_addr && r->size == w->memory_size &&
		    r->uaddr == w->userspace_addr)
			return (int) i;
	}
	vu_log(e, VIO_LOG_WARN, "REM_MEM_REG: no region at gpa 0x%llx size 0x%llx",
	       (unsigned long long) w->guest_phys_addr, (unsigned long long) w->memory_size);
	return -VIO_ENOENT;
}

void vu_mem_drop(struct vio_vu_engine *e, uint32_t i)
{
	vio_winmap_remove(&e->map, e->regions[i].gpa, e->regions[i].size);
	region_unmap(e, &e->regions[i]);
	e->regions[i] = e->regions[--e->nregions];
	memset(&e->regions[e->nregions], 0, sizeof(e->regions[0]));
}

int vu_ua_to_gpa(const struct vio_vu_engine *e, uint64_t ua, uint64_t *gpa)
{
	for (uint32_t i = 0; i < e->nregions; i++) {
		const struct vio_vu_mapping *r = &e->regions[i];
		uint64_t off = ua - r->uaddr; /* wraps for ua below the region */

		if (off < r->size) {
			*gpa = r->gpa + off;
			return 0;
		}
	}
	return -VIO_EFAULT;
}

/*
 * The inflight region: per queue a share of VIO_IFL_QUEUE_BYTES(queue_size)
 * bytes, room for the split or the packed layout of the vhost-user spec,
 * which the device model formats and records in (src/core/virtq.c,
 * docs/inflight.md).
 */
static uint64_t inflight_queue_bytes(uint16_t queue_size)
{
	return VIO_IFL_QUEUE_BYTES(queue_size);
}

/*
 * The share of a region sized for the split layout alone, as libvhost-user
 * and earlier vioport versions hand it out: a frontend may bring one back
 * after an upgrade by restart. Split rings record in it; packed ones do not fit.
 */
static uint64_t inflight_split_bytes(uint16_t queue_size)
{
	return (VIO_IFL_SPLIT_BYTES(queue_size) + 63u) & ~(uint64_t) 63u;
}

/* Queue q's share of the region, or NULL when it has none. */
static void *inflight_share(const struct vio_vu_engine *e, uint16_t q, uint64_t *len)
{
	*len = e->inflight_stride;
	if (e->inflight_base == NULL || q >= e->inflight_nq)
		return NULL;
	return e->inflight_base + *len * q;
}

void vu_inflight_give(struct vio_vu_engine *e, uint16_t q)
{
	uint64_t len;
	void *p = inflight_share(e, q, &len);

	vio_device_queue_set_inflight(e->dev, q, p, p != NULL ? len : 0);
}

void vu_inflight_forget(struct vio_vu_engine *e)
{
	for (uint16_t q = 0; q < e->nq; q++) {
		uint64_t len;
		void *p = inflight_share(e, q, &len);

		if (p != NULL)
			vio_vq_inflight_forget(p, len);
	}
}

/* Makes base (nq shares of stride bytes) the region, after the old one. */
static void inflight_use(struct vio_vu_engine *e, void *map, size_t map_len, uint8_t *base,
			 uint16_t nq, uint64_t stride)
{
	vu_inflight_unmap(e);
	e->inflight = map;
	e->inflight_len = map_len;
	e->inflight_base = base;
	e->inflight_nq = nq;
	e->inflight_stride = stride;
}

void vu_inflight_unmap(struct vio_vu_engine *e)
{
	/* the device model lets go first: nothing records in it from here on */
	for (uint16_t q = 0; q < e->nq && e->dev != NULL; q++)
		vio_device_queue_set_inflight(e->dev, q, NULL, 0);
	if (e->inflight != NULL)
		e->ops->unmap(e->ctx, e->inflight, e->inflight_len);
	e->inflight = NULL;
	e->inflight_len = 0;
	e->inflight_base = NULL;
	e->inflight_nq = 0;
	e->inflight_stride = 0;
}

static int inflight_args(struct vio_vu_engine *e, const struct vio_vu_inflight *in, uint64_t *bytes)
{
	if (in->num_queues == 0 || in->num_queues > e->nq || in->queue_size == 0 ||
	    in->queue_size > VIO_VQ_MAX_SIZE) {
		vu_log(e, VIO_LOG_WARN, "inflight region for %u queues of %u entries",
		       in->num_queues, in->queue_size);
		return -VIO_EINVAL;
	}
	*bytes = inflight_queue_bytes(in->queue_size) * in->num_queues;
	return 0;
}

/*
 * The reply always carries the description; without memory for the region
 * it says size 0 and carries no handle, which a frontend takes as "no
 * inflight tracking" rather than as a broken backend.
 */
int vu_inflight_get(struct vio_vu_engine *e, struct vio_vu_msg *m, struct vu_reply *r)
{
	struct vio_vu_inflight *in = &m->p.inflight;
	uint64_t bytes;
	void *p = NULL;
	int fd, rc = inflight_args(e, in, &bytes);

	if (rc < 0)
		return rc;
	r->p.inflight = *in;
	r->p.inflight.mmap_offset = 0;
	r->p.inflight.mmap_size = 0;
	r->size = sizeof(r->p.inflight);
	fd = e->ops->alloc_shared(e->ctx, bytes, &p);
	if (fd < 0) {
		vu_log(e, VIO_LOG_WARN, "no inflight region: %s", vu_errstr(e, -fd));
		return 0;
	}
	/* a fresh object reads as zeros: every share blank, nothing in flight */
	inflight_use(e, p, (size_t) bytes, p, in->num_queues, inflight_queue_bytes(in->queue_size));
	r->p.inflight.mmap_size = bytes;
	r->fd = fd;
	return 0;
}

int vu_inflight_set(struct vio_vu_engine *e, struct vio_vu_msg *m)
{
	const struct vio_vu_inflight *in = &m->p.inflight;
	uint64_t bytes, stride;
	struct vio_vu_mapping mp;
	int rc = inflight_args(e, in, &bytes);

	if (rc < 0)
		return rc;
	stride = inflight_queue_bytes(in->queue_size);
	if (in->mmap_size < bytes) {
		stride = inflight_split_bytes(in->queue_size);
		bytes = stride * in->num_queues;
	}
	if (in->mmap_size < bytes || in->mmap_size > SIZE_MAX / 2 ||
	    in->mmap_offset + in->mmap_size < in->mmap_offset) {
		vu_log(e, VIO_LOG_WARN, "SET_INFLIGHT_FD: size 0x%llx, need 0x%llx",
		       (unsigned long long) in->mmap_size, (unsigned long long) bytes);
		return -VIO_EINVAL;
	}
	rc = map_range(e, m->fds[0], in->mmap_offset, in->mmap_size, &mp);
	if (rc < 0)
		return rc;
	/* kept by the frontend across our restart: what it records is taken over at ring start */
	inflight_use(e, mp.map, mp.map_len, mp.local, in->num_queues, stride);
	return 0;
}
