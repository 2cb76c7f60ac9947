/* SPDX-License-Identifier: BSD-3-Clause */
/* The vhost-user frontend's guest memory: one memfd it offers the backend, allocated in pages. */
#include "fe_internal.h"

/* ------------------------------------------------------------ guest memory */

int fe_mem_create(struct vio_vu_fe *fe)
{
	uint64_t unit = (uint64_t) PAGE * fe->params.nregions;
	uint64_t size = (fe->params.mem_size + unit - 1) / unit * unit;
	void *p;

	fe->mem_fd = memfd_create("vioport-guest", MFD_CLOEXEC);
	if (fe->mem_fd < 0)
		return fe_fail(fe, -errno, "memfd_create: %s", strerror(errno));
	if (ftruncate(fe->mem_fd, (off_t) size) < 0)
		return fe_fail(fe, -errno, "ftruncate guest memory: %s", strerror(errno));
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fe->mem_fd, 0);
	if (p == MAP_FAILED)
		return fe_fail(fe, -errno, "mmap guest memory: %s", strerror(errno));
	fe->mem = p;
	fe->mem_size = size;
	fe->gpa_base = fe->params.gpa_base;
	fe->nregions = fe->params.nregions;
	fe->heap_units = size / VIO_VU_FE_GRANULE;
	fe->heap_map = calloc((fe->heap_units + 63) / 64, sizeof(uint64_t));
	if (fe->heap_map == NULL)
		return fe_fail(fe, -ENOMEM, "out of memory");
	return 0;
}

static bool unit_used(const uint64_t *map, uint64_t i)
{
	return (map[i / 64] >> (i % 64)) & 1u;
}

/* First used granule in [from, to), or to. Whole free words are skipped at once. */
static uint64_t first_used(const uint64_t *map, uint64_t from, uint64_t to)
{
	uint64_t i = from;

	while (i < to) {
		if (i % 64 == 0 && map[i / 64] == 0) {
			i += 64;
			continue;
		}
		if (unit_used(map, i))
			return i;
		i++;
	}
	return to;
}

static void mark_units(uint64_t *map, uint64_t from, uint64_t n, bool used)
{
	for (uint64_t i = from; i < from + n; i++) {
		if (used)
			map[i / 64] |= 1ull << (i % 64);
		else
			map[i / 64] &= ~(1ull << (i % 64));
	}
}

void *vio_vu_fe_alloc(struct vio_vu_fe *fe, uint64_t len, uint64_t align, uint64_t *gpa)
{
	uint64_t n, step, start = 0;

	if (fe->heap_map == NULL || len == 0 || len > fe->mem_size || (align & (align - 1)) != 0 ||
	    align > PAGE)
		return NULL;
	n = (len + VIO_VU_FE_GRANULE - 1) / VIO_VU_FE_GRANULE;
	step = align <= VIO_VU_FE_GRANULE ? 1 : align / VIO_VU_FE_GRANULE;
	while (start + n <= fe->heap_units) {
		uint64_t u = first_used(fe->heap_map, start, start + n);

		if (u == start + n) {
			uint8_t *p = fe->mem + start * VIO_VU_FE_GRANULE;

			mark_units(fe->heap_map, start, n, true);
			memset(p, 0, n * VIO_VU_FE_GRANULE);
			*gpa = fe->gpa_base + start * VIO_VU_FE_GRANULE;
			return p;
		}
		start = (u + step) / step * step;
	}
	return NULL;
}

void vio_vu_fe_free(struct vio_vu_fe *fe, uint64_t gpa, uint64_t len)
{
	uint64_t off = gpa - fe->gpa_base;

	if (fe->heap_map == NULL || len == 0 || gpa < fe->gpa_base || off >= fe->mem_size ||
	    len > fe->mem_size - off || off % VIO_VU_FE_GRANULE != 0)
		return;
	mark_units(fe->heap_map, off / VIO_VU_FE_GRANULE,
		   (len + VIO_VU_FE_GRANULE - 1) / VIO_VU_FE_GRANULE, false);
}

void *vio_vu_fe_ptr(const struct vio_vu_fe *fe, uint64_t gpa, uint64_t len)
{
	uint64_t off = gpa - fe->gpa_base;

	if (fe->mem == NULL || gpa < fe->gpa_base || off > fe->mem_size || len > fe->mem_size - off)
		return NULL;
	return fe->mem + off;
}

static void region_of(const struct vio_vu_fe *fe, unsigned i, struct vio_vu_region *r)
{
	uint64_t chunk = fe->mem_size / fe->nregions;

	r->guest_phys_addr = fe->gpa_base + i * chunk;
	r->memory_size = chunk;
	r->userspace_addr = (uint64_t) (uintptr_t) fe->mem + i * chunk;
	/* Every region maps the same memfd at its own offset. */
	r->mmap_offset = i * chunk;
}

int fe_send_memory(struct vio_vu_fe *fe)
{
	int fds[VIO_VU_MAX_REGIONS];
	int r;

	for (unsigned i = 0; i < fe->nregions; i++)
		fds[i] = fe->mem_fd;
	if (fe->params.add_mem_reg && vio_vu_fe_has_protocol(fe, VIO_VU_PF_CONFIGURE_MEM_SLOTS)) {
		/* Like QEMU: regions the backend has stay; a reset does not drop them. */
		if (fe->regions_added)
			return 0;
		for (unsigned i = 0; i < fe->nregions; i++) {
			struct vio_vu_mem_reg m = {0};

			region_of(fe, i, &m.region);
			r = vio_vu_fe_request(fe, VIO_VU_ADD_MEM_REG, &m, sizeof(m), &fds[i], 1,
					      NULL, 0, NULL);
			if (r < 0)
				return r;
		}
		fe->regions_added = true;
		return 0;
	} else {
		struct vio_vu_mem_table t = {.nregions = fe->nregions};

		for (unsigned i = 0; i < fe->nregions; i++)
			region_of(fe, i, &t.regions[i]);
		/* Only the regions in use travel, as QEMU sends them. */
		return vio_vu_fe_request(
		    fe, VIO_VU_SET_MEM_TABLE, &t,
		    (uint32_t) (8 + fe->nregions * sizeof(struct vio_vu_region)), fds, fe->nregions,
		    NULL, 0, NULL);
	}
}
