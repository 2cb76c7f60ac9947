// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * DMA inside the window. Each virtio device hangs below a child device whose
 * dma_map_ops take every address the device side will see from the window's
 * area: coherent allocations (the rings) come from a pool over the area, and
 * every streaming mapping (request headers, data, indirect tables) is bounced
 * through a buffer from the same pool. A DMA address is the buffer's byte
 * offset in the window, which is what virtio-msg carries on the wire
 * (docs/vmsg.md), so no guest address ever reaches the device side.
 *
 * The bounce records live in kernel memory, one per pool granule, indexed by
 * the buffer's offset: the device side may rewrite any byte of the window but
 * cannot move where an unmap copies back to. Their arithmetic and checks are
 * vmsg_bounce.c's, which the unit tests run in user space. Every operation
 * here may run in atomic context (virtio_ring maps under spinlocks and from
 * interrupt paths): the pool is lock-free and nothing sleeps.
 */
#include <linux/dma-map-ops.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#include "vmsg_priv.h"

static struct vmsg_bus *bus_of(struct device *dev)
{
	return container_of(dev, struct vmsg_dmadev, dev)->bus;
}

/* The window offset of a pool address. */
static dma_addr_t off_of(const struct vmsg_bus *bus, unsigned long va)
{
	return (dma_addr_t) (va - (unsigned long) bus->win);
}

/* Copies between the caller's buffer at orig (any pages) and a bounce buffer. */
static void copy_orig(phys_addr_t orig, u8 *bounce, size_t size, bool to_bounce)
{
	while (size > 0) {
		struct page *pg = pfn_to_page(PHYS_PFN(orig));
		size_t off = offset_in_page(orig);
		size_t n = min_t(size_t, size, PAGE_SIZE - off);
		u8 *p = kmap_local_page(pg);

		if (to_bounce)
			memcpy(bounce, p + off, n);
		else
			memcpy(p + off, bounce, n);
		kunmap_local(p);
		orig += n;
		bounce += n;
		size -= n;
	}
}

static void *vmsg_dma_alloc(struct device *dev, size_t size, dma_addr_t *dma, gfp_t gfp,
			    unsigned long attrs)
{
	struct vmsg_bus *bus = bus_of(dev);
	struct genpool_data_align align = {.align = PAGE_SIZE};
	unsigned long va;

	if (size == 0 || size > bus->shm.area_size)
		return NULL;
	va = gen_pool_alloc_algo(bus->pool, size, gen_pool_first_fit_align, &align);
	if (va == 0)
		return NULL;
	memset((void *) va, 0, size);
	*dma = off_of(bus, va);
	return (void *) va;
}

static void vmsg_dma_free(struct device *dev, size_t size, void *vaddr, dma_addr_t dma,
			  unsigned long attrs)
{
	struct vmsg_bus *bus = bus_of(dev);

	if (WARN_ON_ONCE(vaddr == NULL || off_of(bus, (unsigned long) vaddr) != dma))
		return;
	gen_pool_free(bus->pool, (unsigned long) vaddr, size);
}

static dma_addr_t map_phys(struct vmsg_bus *bus, phys_addr_t orig, size_t size,
			   enum dma_data_direction dir)
{
	struct vmsg_bounce *b;
	unsigned long va;
	dma_addr_t dma;

	if (size == 0)
		return DMA_MAPPING_ERROR;
	if (size > bus->bounces.limit) {
		dev_warn_ratelimited(bus->dev, "a mapping of %zu bytes is larger than %u\n", size,
				     bus->bounces.limit);
		return DMA_MAPPING_ERROR;
	}
	va = gen_pool_alloc(bus->pool, size);
	if (va == 0) {
		dev_warn_ratelimited(
		    bus->dev, "the window's area is full: a mapping of %zu bytes waits\n", size);
		return DMA_MAPPING_ERROR;
	}
	dma = off_of(bus, va);
	if (vmsg_bounce_map(&bus->bounces, dma, orig, size, dir) < 0) {
		/* The pool and the records disagree: a bug here, never the device side's doing. */
		WARN_ONCE(1, "vioport_vmsg: no free bounce record at %#llx\n",
			  (unsigned long long) dma);
		gen_pool_free(bus->pool, va, size);
		return DMA_MAPPING_ERROR;
	}
	b = vmsg_bounce_at(&bus->bounces, dma);
	/*
	 * The device reads what goes to it; a buffer it only writes starts
	 * zeroed, so it neither sees the buffer's old contents nor an earlier
	 * user's, and bytes it does not write come back as zeros.
	 */
	if (vmsg_bounce_to_device(b))
		copy_orig(orig, (u8 *) va, size, true);
	else
		memset((void *) va, 0, size);
	return dma;
}

static dma_addr_t vmsg_dma_map_page(struct device *dev, struct page *page, unsigned long offset,
				    size_t size, enum dma_data_direction dir, unsigned long attrs)
{
	return map_phys(bus_of(dev), page_to_phys(page) + offset, size, dir);
}

static void unmap_one(struct vmsg_bus *bus, dma_addr_t dma, size_t size,
		      enum dma_data_direction dir)
{
	struct vmsg_bounce *b = vmsg_bounce_unmap(&bus->bounces, dma, size);

	if (b == NULL) {
		dev_warn_ratelimited(bus->dev, "unmap of %zu bytes at %#llx that is not mapped\n",
				     size, (unsigned long long) dma);
		return;
	}
	if (dir != DMA_NONE && vmsg_bounce_from_device(b))
		copy_orig(b->orig, bus->win + dma, size, false);
	vmsg_bounce_clear(b);
	gen_pool_free(bus->pool, (unsigned long) (bus->win + dma), size);
}

static void vmsg_dma_unmap_page(struct device *dev, dma_addr_t dma, size_t size,
				enum dma_data_direction dir, unsigned long attrs)
{
	unmap_one(bus_of(dev), dma, size, dir);
}

static int vmsg_dma_map_sg(struct device *dev, struct scatterlist *sgl, int nents,
			   enum dma_data_direction dir, unsigned long attrs)
{
	struct vmsg_bus *bus = bus_of(dev);
	struct scatterlist *sg, *s;
	int i, j;

	for_each_sg(sgl, sg, nents, i)
	{
		sg->dma_address = map_phys(bus, sg_phys(sg), sg->length, dir);
		if (sg->dma_address == DMA_MAPPING_ERROR)
			goto undo;
		sg_dma_len(sg) = sg->length;
	}
	return nents;
undo:
	for_each_sg(sgl, s, i, j) unmap_one(bus, s->dma_address, sg_dma_len(s), DMA_NONE);
	return -ENOMEM;
}

static void vmsg_dma_unmap_sg(struct device *dev, struct scatterlist *sgl, int nents,
			      enum dma_data_direction dir, unsigned long attrs)
{
	struct vmsg_bus *bus = bus_of(dev);
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i) unmap_one(bus, sg->dma_address, sg_dma_len(sg), dir);
}

/* Syncs a whole mapping or any part of one. */
static void sync_one(struct vmsg_bus *bus, dma_addr_t dma, size_t size, bool for_cpu)
{
	u64 skip;
	struct vmsg_bounce *b = vmsg_bounce_sync(&bus->bounces, dma, size, &skip);

	if (b == NULL) {
		dev_warn_ratelimited(bus->dev, "sync of %zu bytes at %#llx that is not mapped\n",
				     size, (unsigned long long) dma);
		return;
	}
	if (for_cpu && vmsg_bounce_from_device(b))
		copy_orig(b->orig + skip, bus->win + dma, size, false);
	else if (!for_cpu && vmsg_bounce_to_device(b))
		copy_orig(b->orig + skip, bus->win + dma, size, true);
}

static void vmsg_dma_sync_for_cpu(struct device *dev, dma_addr_t dma, size_t size,
				  enum dma_data_direction dir)
{
	sync_one(bus_of(dev), dma, size, true);
}

static void vmsg_dma_sync_for_device(struct device *dev, dma_addr_t dma, size_t size,
				     enum dma_data_direction dir)
{
	sync_one(bus_of(dev), dma, size, false);
}

static void vmsg_dma_sync_sg_for_cpu(struct device *dev, struct scatterlist *sgl, int nents,
				     enum dma_data_direction dir)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i) sync_one(bus_of(dev), sg->dma_address, sg_dma_len(sg), true);
}

static void vmsg_dma_sync_sg_for_device(struct device *dev, struct scatterlist *sgl, int nents,
					enum dma_data_direction dir)
{
	struct scatterlist *sg;
	int i;

	for_each_sg(sgl, sg, nents, i)
	    sync_one(bus_of(dev), sg->dma_address, sg_dma_len(sg), false);
}

static int vmsg_dma_supported(struct device *dev, u64 mask)
{
	return 1;
}

/* One mapping takes at most a sixteenth of the area, so that several requests fit. */
static size_t vmsg_dma_max_mapping_size(struct device *dev)
{
	return bus_of(dev)->bounces.limit;
}

static const struct dma_map_ops vmsg_dma_ops = {
    .alloc = vmsg_dma_alloc,
    .free = vmsg_dma_free,
    .map_page = vmsg_dma_map_page,
    .unmap_page = vmsg_dma_unmap_page,
    .map_sg = vmsg_dma_map_sg,
    .unmap_sg = vmsg_dma_unmap_sg,
    .sync_single_for_cpu = vmsg_dma_sync_for_cpu,
    .sync_single_for_device = vmsg_dma_sync_for_device,
    .sync_sg_for_cpu = vmsg_dma_sync_sg_for_cpu,
    .sync_sg_for_device = vmsg_dma_sync_sg_for_device,
    .dma_supported = vmsg_dma_supported,
    .max_mapping_size = vmsg_dma_max_mapping_size,
};

int vmsg_pool_init(struct vmsg_bus *bus)
{
	struct vmsg_bounces *bs = &bus->bounces;
	int rc;

	bs->n = vmsg_bounce_granules(bus->shm.area_size);
	bs->off = bus->shm.area_off;
	bs->limit = max_t(u32, PAGE_SIZE, rounddown(bus->shm.area_size / 16, PAGE_SIZE));
	bs->rec = kvcalloc(bs->n, sizeof(*bs->rec), GFP_KERNEL);
	if (bs->rec == NULL)
		return -ENOMEM;
	bus->pool = gen_pool_create(VMSG_POOL_ORDER, -1);
	if (bus->pool == NULL) {
		kvfree(bs->rec);
		bs->rec = NULL;
		return -ENOMEM;
	}
	/* The pool's "physical" addresses are window offsets: the bus addresses. */
	rc = gen_pool_add_virt(bus->pool, (unsigned long) (bus->win + bs->off), bs->off,
			       (size_t) bs->n << VMSG_POOL_ORDER, -1);
	if (rc < 0) {
		vmsg_pool_fini(bus);
		return rc;
	}
	return 0;
}

/*
 * Frees the bounce buffers still mapped once every device is gone: a driver
 * that deletes its queues with buffers in them (virtio_rng does) never
 * unmaps those. Nothing is copied back. Returns how many there were.
 */
unsigned int vmsg_pool_release_bounces(struct vmsg_bus *bus)
{
	struct vmsg_bounces *bs = &bus->bounces;
	unsigned int n = 0;
	u32 i;

	for (i = 0; i < bs->n; i++) {
		struct vmsg_bounce *b = &bs->rec[i];

		if (b->size == 0)
			continue;
		gen_pool_free(bus->pool, (unsigned long) (bus->win + vmsg_bounce_addr(bs, i)),
			      b->size);
		vmsg_bounce_clear(b);
		n++;
	}
	return n;
}

void vmsg_pool_fini(struct vmsg_bus *bus)
{
	if (bus->pool != NULL)
		vmsg_pool_release_bounces(bus);
	if (bus->pool != NULL) {
		/* gen_pool_destroy BUGs on outstanding allocations: leak rather than crash. */
		if (gen_pool_avail(bus->pool) == gen_pool_size(bus->pool))
			gen_pool_destroy(bus->pool);
		else
			dev_err(bus->dev, "%zu bytes of the area still mapped: pool kept\n",
				gen_pool_size(bus->pool) - gen_pool_avail(bus->pool));
		bus->pool = NULL;
	}
	kvfree(bus->bounces.rec);
	bus->bounces.rec = NULL;
}

static void dmadev_release(struct device *dev)
{
	kfree(container_of(dev, struct vmsg_dmadev, dev));
}

struct vmsg_dmadev *vmsg_dmadev_create(struct vmsg_bus *bus, u16 dev_num)
{
	struct vmsg_dmadev *d = kzalloc(sizeof(*d), GFP_KERNEL);
	int rc;

	if (d == NULL)
		return ERR_PTR(-ENOMEM);
	d->bus = bus;
	device_initialize(&d->dev);
	d->dev.parent = bus->dev;
	d->dev.release = dmadev_release;
	/* Bus addresses are window offsets, and a window is below 4 GiB. */
	d->dev.coherent_dma_mask = DMA_BIT_MASK(32);
	d->dev.dma_mask = &d->dev.coherent_dma_mask;
	set_dma_ops(&d->dev, &vmsg_dma_ops);
	rc = dev_set_name(&d->dev, "%s.vmsg%u", dev_name(bus->dev), dev_num);
	if (rc == 0)
		rc = device_add(&d->dev);
	if (rc < 0) {
		put_device(&d->dev);
		return ERR_PTR(rc);
	}
	return d;
}

void vmsg_dmadev_destroy(struct vmsg_dmadev *d)
{
	device_unregister(&d->dev);
}
