// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * The bindings and the module's parameters.
 *
 * PCI: QEMU's ivshmem function (1af4:1110, ivshmem-plain or ivshmem-doorbell)
 * whose shared-memory BAR (BAR 2) holds the window. The window is
 * window_size bytes at window_offset in the BAR (by default the whole BAR).
 *
 * Device tree (kernels with CONFIG_OF): a node compatible with
 * "vioport,vmsg-window" whose memory-region names a reserved-memory
 * carve-out; the window is the whole carve-out, and optional mailbox
 * channels (mboxes) carry the doorbells (docs/linux-module.md,
 * docs/bindings/vioport,vmsg-window.yaml).
 *
 * Doorbells: the device-to-driver FIFO is always polled (an adaptive
 * hrtimer). With ivshmem-doorbell (an MSI-X BAR 1), the module also takes
 * MSI-X vector 0 as the device side's doorbell, which runs the poller at
 * once, and rings the device side after each message it sends by writing
 * doorbell_peer << 16 | 0 to the Doorbell register (BAR 0, offset 12): one
 * posted MMIO write, never a wait. With the device-tree binding, a mailbox
 * message received runs the poller the same way, and each ring is a
 * mailbox message sent without blocking (vmsg_mbox_ring).
 */
#include <linux/io.h>
#include <linux/mailbox_client.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/of_address.h>
#include <linux/of_reserved_mem.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/version.h>

#include "vmsg_priv.h"

#define IVSHMEM_VENDOR	0x1af4
#define IVSHMEM_DEVICE	0x1110
#define IVSHMEM_SHM_BAR 2
#define IVSHMEM_REG_BAR 0
#define IVSHMEM_MSI_BAR 1
/* ivshmem registers in BAR 0. */
#define IVSHMEM_IVPOSITION 8
#define IVSHMEM_DOORBELL   12

static unsigned int doorbell_peer;
module_param(doorbell_peer, uint, 0444);
MODULE_PARM_DESC(doorbell_peer,
		 "ivshmem-doorbell: the peer ID of the device side, whose vector 0 is rung");

static unsigned long window_offset;
module_param(window_offset, ulong, 0444);
MODULE_PARM_DESC(window_offset, "Offset of the window in the shared-memory BAR (page aligned)");

static unsigned long window_size;
module_param(window_size, ulong, 0444);
MODULE_PARM_DESC(window_size, "Bytes of the window (0: the rest of the BAR; below 4 GiB)");

unsigned int vmsg_fifo_size = VIO_VMSG_SHM_FIFO_DEFAULT;
module_param_named(fifo_size, vmsg_fifo_size, uint, 0444);
MODULE_PARM_DESC(fifo_size, "Bytes of each message FIFO (a multiple of 64, at least 256)");

unsigned int vmsg_poll_min_us = 50;
module_param_named(poll_min_us, vmsg_poll_min_us, uint, 0444);
MODULE_PARM_DESC(poll_min_us, "Poll interval after activity, in microseconds");

unsigned int vmsg_poll_max_us = 2000;
module_param_named(poll_max_us, vmsg_poll_max_us, uint, 0444);
MODULE_PARM_DESC(poll_max_us, "Longest poll interval when idle, in microseconds");

unsigned int vmsg_timeout_ms = 2000;
module_param_named(timeout_ms, vmsg_timeout_ms, uint, 0644);
MODULE_PARM_DESC(timeout_ms, "How long a request waits for its answer before the device breaks");

unsigned int vmsg_vq_size_max = 256;
module_param_named(vq_size_max, vmsg_vq_size_max, uint, 0444);
MODULE_PARM_DESC(vq_size_max, "Largest virtqueue set up (the device's maximum if lower)");

bool vmsg_recover = true;
module_param_named(recover, vmsg_recover, bool, 0644);
MODULE_PARM_DESC(
    recover,
    "After a failure of the bus, remove the devices, format the window again and re-add them");

#if IS_ENABLED(CONFIG_OF) && IS_ENABLED(CONFIG_MAILBOX)
#define VMSG_MBOX 1
#else
#define VMSG_MBOX 0
#endif

struct vmsg_pci;

/* One mailbox channel of the device-tree binding, and its client. */
struct vmsg_mbox {
	struct mbox_client cl;
	struct mbox_chan *chan; /* NULL: none */
	struct vmsg_pci *vp;
	atomic_t unsent; /* messages queued in the mailbox core whose sending has not begun */
	atomic_t full;	 /* messages the core refused (its queue full, or an error) */
};

struct vmsg_pci {
	struct vmsg_bus bus;
	void *map;
	void __iomem *regs; /* ivshmem-doorbell: BAR 0; NULL with ivshmem-plain */
	int irq;	    /* MSI-X vector 0's interrupt, or -1 */
#if VMSG_MBOX
	/* Device tree: tx rings the device side, rx is rung by it; one channel may be both. */
	struct vmsg_mbox tx, rx;
	bool rx_ack; /* answer each message received on rx (vioport,mbox-rx-ack) */
#endif
};

/* The device side's doorbell: any context, one posted write. */
static void vmsg_pci_ring(void *ctx)
{
	struct vmsg_pci *vp = ctx;

	iowrite32(doorbell_peer << 16, vp->regs + IVSHMEM_DOORBELL);
}

static irqreturn_t vmsg_pci_irq(int irq, void *ctx)
{
	struct vmsg_pci *vp = ctx;

	vmsg_bus_kick(&vp->bus);
	return IRQ_HANDLED;
}

/*
 * ivshmem-doorbell: BAR 1 is its MSI-X table. Takes vector 0 and maps the
 * registers; without them (ivshmem-plain, or no vector) the bus polls only.
 */
static int vmsg_pci_doorbell(struct pci_dev *pdev, struct vmsg_pci *vp)
{
	int rc;

	vp->irq = -1;
	if (pci_resource_len(pdev, IVSHMEM_MSI_BAR) == 0)
		return 0;
	if (doorbell_peer > U16_MAX) {
		dev_err(&pdev->dev, "doorbell_peer %u is not a peer ID (0 to 65535)\n",
			doorbell_peer);
		return -EINVAL;
	}
	vp->regs = pcim_iomap(pdev, IVSHMEM_REG_BAR, 0);
	if (vp->regs == NULL)
		return -ENOMEM;
	/* An MSI-X message is a memory write by the function: it must be a bus master. */
	pci_set_master(pdev);
	rc = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_MSIX);
	if (rc < 0) {
		dev_warn(&pdev->dev, "no MSI-X vector (%d): polling only\n", rc);
		vp->regs = NULL;
		return 0;
	}
	vp->irq = pci_irq_vector(pdev, 0);
	return 0;
}

static int vmsg_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	resource_size_t start, len;
	struct vmsg_pci *vp;
	u64 size;
	int rc;

	if (vmsg_poll_min_us == 0 || vmsg_poll_max_us < vmsg_poll_min_us) {
		dev_err(&pdev->dev, "poll_min_us must be above 0 and at most poll_max_us\n");
		return -EINVAL;
	}
	rc = pcim_enable_device(pdev);
	if (rc < 0)
		return rc;
	start = pci_resource_start(pdev, IVSHMEM_SHM_BAR);
	len = pci_resource_len(pdev, IVSHMEM_SHM_BAR);
	if (len == 0) {
		dev_err(&pdev->dev, "no shared-memory BAR\n");
		return -ENODEV;
	}
	if (window_offset >= len || !PAGE_ALIGNED(window_offset)) {
		dev_err(&pdev->dev,
			"window_offset %#lx outside the %pa bytes of BAR 2 or not page aligned\n",
			window_offset, &len);
		return -EINVAL;
	}
	size = window_size != 0 ? window_size : len - window_offset;
	if (size > len - window_offset || size > U32_MAX) {
		dev_err(
		    &pdev->dev,
		    "a window of %llu bytes at %#lx does not fit BAR 2 (%pa bytes) or 32 bits\n",
		    size, window_offset, &len);
		return -EINVAL;
	}
	if (!devm_request_mem_region(&pdev->dev, start + window_offset, size, KBUILD_MODNAME))
		return -EBUSY;

	vp = devm_kzalloc(&pdev->dev, sizeof(*vp), GFP_KERNEL);
	if (vp == NULL)
		return -ENOMEM;
	/* Shared RAM on the other side: ordinary cached memory, as coherent as the host's. */
	vp->map = devm_memremap(&pdev->dev, start + window_offset, size, MEMREMAP_WB);
	if (IS_ERR(vp->map))
		return PTR_ERR(vp->map);
	rc = vmsg_pci_doorbell(pdev, vp);
	if (rc < 0)
		return rc;
	rc = vmsg_bus_init(&vp->bus, &pdev->dev, vp->map, (u32) size);
	if (rc < 0)
		goto free_vectors;
	if (vp->irq >= 0) {
		rc = request_irq(vp->irq, vmsg_pci_irq, 0, KBUILD_MODNAME, vp);
		if (rc < 0) {
			vmsg_bus_fini(&vp->bus);
			goto free_vectors;
		}
		vp->bus.shm.bell.ring = vmsg_pci_ring;
		vp->bus.shm.bell.ctx = vp;
		dev_info(&pdev->dev,
			 "doorbells: MSI-X vector 0 (irq %d) from the device side; ringing peer %u "
			 "(this side is peer %u)\n",
			 vp->irq, doorbell_peer, ioread32(vp->regs + IVSHMEM_IVPOSITION));
	}
	pci_set_drvdata(pdev, vp);
	vmsg_bus_start(&vp->bus);
	return 0;
free_vectors:
	if (vp->irq >= 0)
		pci_free_irq_vectors(pdev);
	return rc;
}

static void vmsg_pci_remove(struct pci_dev *pdev)
{
	struct vmsg_pci *vp = pci_get_drvdata(pdev);

	/* The interrupt goes first: it runs poller passes, which the bus then stops. */
	if (vp->irq >= 0)
		free_irq(vp->irq, vp);
	vmsg_bus_fini(&vp->bus);
	if (vp->irq >= 0)
		pci_free_irq_vectors(pdev);
}

static const struct pci_device_id vmsg_pci_ids[] = {
    {PCI_DEVICE(IVSHMEM_VENDOR, IVSHMEM_DEVICE)},
    {},
};
MODULE_DEVICE_TABLE(pci, vmsg_pci_ids);

static struct pci_driver vmsg_pci_driver = {
    .name = KBUILD_MODNAME,
    .id_table = vmsg_pci_ids,
    .probe = vmsg_pci_probe,
    .remove = vmsg_pci_remove,
};

#ifdef CONFIG_OF
#if VMSG_MBOX
/*
 * Sends one message (no payload: a doorbell) on m's channel, never waiting:
 * any context, with the FIFO's spinlock held. The client does not block
 * (tx_block false) and does not know when a message is done (knows_txdone
 * false: the device side sends no acknowledgement; the controller's own
 * TX-done interrupt or polling completes each message).
 *
 * A doorbell still queued in the mailbox core, whose sending has not begun
 * (unsent, counted down in tx_prepare, which the core calls right before the
 * controller sends), goes out after everything published so far, so a new
 * one would add nothing: it is left out. When the core's queue is full
 * (-ENOBUFS) the same holds, since the queue only holds messages whose
 * sending has not begun; either way the device side's polling remains.
 */
static void vmsg_mbox_send(struct vmsg_mbox *m)
{
	int rc;

	/* The messages published before this ring are visible before unsent is read. */
	smp_mb();
	if (atomic_read(&m->unsent) > 0)
		return;
	atomic_inc(&m->unsent);
	rc = mbox_send_message(m->chan, NULL);
	if (rc < 0) {
		atomic_dec(&m->unsent);
		if (atomic_inc_return(&m->full) == 1 || rc != -ENOBUFS)
			dev_warn_ratelimited(m->vp->bus.dev,
					     "mailbox message not sent (%d): polling takes over\n",
					     rc);
	}
}

static void vmsg_mbox_tx_prepare(struct mbox_client *cl, void *msg)
{
	atomic_dec(&container_of(cl, struct vmsg_mbox, cl)->unsent);
	/* The sending that follows is ordered after the count. */
	smp_mb__after_atomic();
}

/* The device side's doorbell on tx: the bus's vio_vmsg_doorbell. */
static void vmsg_mbox_ring(void *ctx)
{
	vmsg_mbox_send(&((struct vmsg_pci *) ctx)->tx);
}

/*
 * The device side rang: a poller pass now, in the controller's (atomic)
 * context, as the ivshmem-doorbell interrupt does (vmsg_bus_kick: before the
 * bus starts, nothing but a count). The message's contents are not looked at.
 */
static void vmsg_mbox_rx(struct mbox_client *cl, void *msg)
{
	struct vmsg_mbox *m = container_of(cl, struct vmsg_mbox, cl);
	struct vmsg_pci *vp = m->vp;

	vmsg_bus_kick(&vp->bus);
	if (vp->rx_ack)
		vmsg_mbox_send(m);
}

static void vmsg_mbox_client(struct vmsg_mbox *m, struct vmsg_pci *vp, struct device *dev, bool rx)
{
	m->vp = vp;
	m->cl.dev = dev;
	m->cl.tx_block = false;
	m->cl.knows_txdone = false;
	m->cl.tx_prepare = vmsg_mbox_tx_prepare;
	if (rx)
		m->cl.rx_callback = vmsg_mbox_rx;
	atomic_set(&m->unsent, 0);
	atomic_set(&m->full, 0);
}

/* Requests channel name (or index 0 if name is NULL) for m; absent is not an error. */
static int vmsg_mbox_request(struct vmsg_mbox *m, const char *name)
{
	struct mbox_chan *chan;

	chan = name != NULL ? mbox_request_channel_byname(&m->cl, name)
			    : mbox_request_channel(&m->cl, 0);
	if (IS_ERR(chan))
		return dev_err_probe(m->cl.dev, PTR_ERR(chan), "mailbox channel %s\n",
				     name != NULL ? name : "0");
	m->chan = chan;
	return 0;
}

/* Frees the channels that run poller passes (rx), unhooking a tx that is the same one. */
static void vmsg_mbox_stop_rx(struct vmsg_pci *vp)
{
	unsigned long flags;

	if (vp->rx.chan != NULL) {
		mbox_free_channel(vp->rx.chan);
		vp->rx.chan = NULL;
	}
	if (vp->tx.chan != NULL && vp->tx.cl.rx_callback != NULL) {
		spin_lock_irqsave(&vp->bus.fifo_lock, flags);
		vp->bus.shm.bell.ring = NULL;
		spin_unlock_irqrestore(&vp->bus.fifo_lock, flags);
		mbox_free_channel(vp->tx.chan);
		vp->tx.chan = NULL;
	}
}

static void vmsg_mbox_free(struct vmsg_pci *vp)
{
	vmsg_mbox_stop_rx(vp);
	if (vp->tx.chan != NULL) {
		mbox_free_channel(vp->tx.chan);
		vp->tx.chan = NULL;
	}
}

/*
 * The node's mailbox channels: with mbox-names, "tx" (this side rings the
 * device side) and "rx" (the device side rings this side), either or both;
 * without, the one channel of mboxes, both ways. No mboxes: polling only.
 * -EPROBE_DEFER (the controller not there yet) defers the probe.
 */
static int vmsg_mbox_init(struct vmsg_pci *vp, struct device *dev)
{
	struct device_node *np = dev->of_node;
	int n, rc;

	vp->rx_ack = of_property_read_bool(np, "vioport,mbox-rx-ack");
	if (of_find_property(np, "mboxes", NULL) == NULL)
		return 0;
	n = of_property_count_strings(np, "mbox-names");
	if (n == -EINVAL) { /* no mbox-names: one channel both ways */
		vmsg_mbox_client(&vp->tx, vp, dev, true);
		return vmsg_mbox_request(&vp->tx, NULL);
	}
	if (n < 0 || (of_property_match_string(np, "mbox-names", "tx") < 0 &&
		      of_property_match_string(np, "mbox-names", "rx") < 0)) {
		dev_err(dev, "mbox-names must name \"tx\", \"rx\" or both\n");
		return -EINVAL;
	}
	vmsg_mbox_client(&vp->tx, vp, dev, false);
	vmsg_mbox_client(&vp->rx, vp, dev, true);
	if (of_property_match_string(np, "mbox-names", "tx") >= 0) {
		rc = vmsg_mbox_request(&vp->tx, "tx");
		if (rc < 0)
			return rc;
	}
	if (of_property_match_string(np, "mbox-names", "rx") >= 0) {
		rc = vmsg_mbox_request(&vp->rx, "rx");
		if (rc < 0) {
			vmsg_mbox_free(vp);
			return rc;
		}
	}
	return 0;
}

/* Hooks the tx channel up as the bus's doorbell (after vmsg_bus_init, before the start). */
static void vmsg_mbox_start(struct vmsg_pci *vp, struct device *dev)
{
	if (vp->tx.chan != NULL) {
		vp->bus.shm.bell.ring = vmsg_mbox_ring;
		vp->bus.shm.bell.ctx = vp;
	}
	if (vp->tx.chan != NULL && vp->tx.cl.rx_callback != NULL)
		dev_info(dev, "doorbells: one mailbox channel, both ways\n");
	else if (vp->tx.chan != NULL || vp->rx.chan != NULL)
		dev_info(dev, "doorbells: mailbox channels%s%s\n",
			 vp->tx.chan != NULL ? " tx (to the device side)" : "",
			 vp->rx.chan != NULL ? " rx (from the device side)" : "");
	else
		dev_info(dev, "doorbells: none (no mboxes), polling only\n");
}
#else
/* A kernel without the mailbox framework: the binding polls only. */
static int vmsg_mbox_init(struct vmsg_pci *vp, struct device *dev)
{
	if (of_find_property(dev->of_node, "mboxes", NULL) != NULL)
		dev_warn(dev, "mboxes ignored: this kernel has no CONFIG_MAILBOX; polling only\n");
	return 0;
}

static void vmsg_mbox_start(struct vmsg_pci *vp, struct device *dev)
{
}

static void vmsg_mbox_stop_rx(struct vmsg_pci *vp)
{
}

static void vmsg_mbox_free(struct vmsg_pci *vp)
{
}
#endif

/* The window is the reserved-memory region the node's memory-region names. */
static int vmsg_of_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct device_node *mem;
	struct reserved_mem *rmem;
	struct vmsg_pci *vp;
	int rc;

	if (vmsg_poll_min_us == 0 || vmsg_poll_max_us < vmsg_poll_min_us) {
		dev_err(dev, "poll_min_us must be above 0 and at most poll_max_us\n");
		return -EINVAL;
	}
	mem = of_parse_phandle(dev->of_node, "memory-region", 0);
	if (mem == NULL) {
		dev_err(dev, "no memory-region: the node must name the window's carve-out\n");
		return -EINVAL;
	}
	rmem = of_reserved_mem_lookup(mem);
	of_node_put(mem);
	if (rmem == NULL || rmem->size == 0 || rmem->size > U32_MAX) {
		dev_err(dev,
			"memory-region is not a reserved-memory region of 1 byte to 4 GiB - 1\n");
		return -EINVAL;
	}
	vp = devm_kzalloc(dev, sizeof(*vp), GFP_KERNEL);
	if (vp == NULL)
		return -ENOMEM;
	vp->irq = -1;
	/*
	 * The module does no cache maintenance on the window: cached only when
	 * the node says the other side snoops this one's caches (dma-coherent),
	 * uncached otherwise (an R5 or M-core beside the application cores).
	 */
	vp->map = devm_memremap(dev, rmem->base, rmem->size,
				of_dma_is_coherent(dev->of_node) ? MEMREMAP_WB : MEMREMAP_WC);
	if (IS_ERR(vp->map))
		return PTR_ERR(vp->map);
	/* The channels first: a controller not probed yet defers us before the window is touched.
	 */
	rc = vmsg_mbox_init(vp, dev);
	if (rc < 0)
		return rc;
	rc = vmsg_bus_init(&vp->bus, dev, vp->map, (u32) rmem->size);
	if (rc < 0) {
		vmsg_mbox_free(vp);
		return rc;
	}
	vmsg_mbox_start(vp, dev);
	platform_set_drvdata(pdev, vp);
	vmsg_bus_start(&vp->bus);
	return 0;
}

static void vmsg_of_stop(struct platform_device *pdev)
{
	struct vmsg_pci *vp = platform_get_drvdata(pdev);

	/* As with the PCI interrupt: what runs poller passes goes before the bus stops. */
	vmsg_mbox_stop_rx(vp);
	vmsg_bus_fini(&vp->bus);
	vmsg_mbox_free(vp);
}

/* platform_driver's remove returns void from Linux 6.11 on. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
static void vmsg_of_remove(struct platform_device *pdev)
{
	vmsg_of_stop(pdev);
}
#else
static int vmsg_of_remove(struct platform_device *pdev)
{
	vmsg_of_stop(pdev);
	return 0;
}
#endif

static const struct of_device_id vmsg_of_ids[] = {
    {.compatible = "vioport,vmsg-window"},
    {},
};
MODULE_DEVICE_TABLE(of, vmsg_of_ids);

static struct platform_driver vmsg_of_driver = {
    .driver =
	{
	    .name = KBUILD_MODNAME,
	    .of_match_table = vmsg_of_ids,
	},
    .probe = vmsg_of_probe,
    .remove = vmsg_of_remove,
};
#endif

static int __init vmsg_init(void)
{
	int rc = pci_register_driver(&vmsg_pci_driver);

#ifdef CONFIG_OF
	if (rc == 0) {
		rc = platform_driver_register(&vmsg_of_driver);
		if (rc < 0)
			pci_unregister_driver(&vmsg_pci_driver);
	}
#endif
	return rc;
}
module_init(vmsg_init);

static void __exit vmsg_exit(void)
{
#ifdef CONFIG_OF
	platform_driver_unregister(&vmsg_of_driver);
#endif
	pci_unregister_driver(&vmsg_pci_driver);
}
module_exit(vmsg_exit);

MODULE_DESCRIPTION("virtio-msg over a shared-memory window (vioport), driver side");
MODULE_LICENSE("Dual BSD/GPL");
