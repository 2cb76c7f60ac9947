/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's devices: each instance's device model, its provider (a file or
 * block device, the kernel's entropy, a Linux GPIO chip or i2c-dev adapters,
 * or a simulation) and its vhost-user server on the event loop.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vioport.h"

void vp_lock(struct vp_instance *in)
{
	if (in->ep != NULL)
		vio_vmsg_endpoint_lock(&in->ep->ep);
	else
		vio_vu_server_lock(&in->server);
}

void vp_unlock(struct vp_instance *in)
{
	if (in->ep != NULL)
		vio_vmsg_endpoint_unlock(&in->ep->ep);
	else
		vio_vu_server_unlock(&in->server);
}

/*
 * The type and features are the names of QEMU's docs/interop/vhost-user.json
 * (VHostUserBackendType; block's --read-only and --blk-file). gpio and i2c
 * have no type there yet: their own names are printed, and no backend
 * description is installed for them.
 */
void vp_print_capabilities(enum vp_kind k)
{
	if (k == KIND_BLK)
		printf("{\n  \"type\": \"block\",\n  \"features\": [\n"
		       "    \"read-only\",\n    \"blk-file\"\n  ]\n}\n");
	else
		printf("{\n  \"type\": \"%s\",\n  \"features\": []\n}\n", k == KIND_RNG	   ? "rng"
									  : k == KIND_GPIO ? "gpio"
											   : "i2c");
}

static void server_log(void *ctx, int level, const char *msg)
{
	struct vp_instance *in = ctx;

	vp_say(level, in->name, "%s", msg);
}

/* blk: the provider's completions arrive on its event fd. */
static void disk_event(struct vio_loop_watch *w, uint32_t revents)
{
	struct vp_instance *in = w->ctx;

	vp_lock(in);
	if (revents & VIO_LOOP_READ)
		vio_host_blk_poll(&in->disk); /* the loop read the event fd on its ring */
	else
		vio_host_blk_reap(&in->disk);
	vp_unlock(in);
}

/* blk: adaptive polling of the completion ring, on the loop that reaps it. */
static bool disk_poll(struct vio_loop_poller *p)
{
	struct vp_instance *in = p->ctx;
	unsigned n;

	if (!vio_host_blk_ready(&in->disk))
		return false;
	vp_lock(in);
	n = vio_host_blk_poll(&in->disk);
	vp_unlock(in);
	return n > 0;
}

/*
 * blk: after the device took a kick's requests, send them to the kernel at
 * once, and complete what finished inside the submission (reads the page
 * cache holds) on this thread: no wake-up of the loop that reaps, no read of
 * the event fd.
 */
static void blk_queue_notify(struct vio_device *dev, uint16_t q)
{
	struct vio_blk *blk = dev->priv;
	struct vp_instance *in =
	    (struct vp_instance *) ((char *) blk - offsetof(struct vp_instance, blk));

	/* parts wake a driver on another CPU early; one sharing this CPU would only preempt us */
	in->blk.submit_batch = vio_loop_producer_shares_cpu() ? 0 : (uint16_t) in->batch;
	in->blk_ops->queue_notify(dev, q);
	vio_host_blk_submit(&in->disk);
	vio_host_blk_poll(&in->disk);
}

/* blk: before memory goes away, every request in the kernel must have finished. */
static void blk_quiesce(void *ctx, struct vio_device *dev)
{
	struct vp_instance *in = ctx;

	(void) dev;
	vp_lock(in);
	if (in->nbd_open)
		vp_nbd_quiesce(in);
	else
		vio_host_blk_drain(&in->disk);
	vp_unlock(in);
}

static int open_disk(struct vp_instance *in, const char *image)
{
	const struct vp_group *o = in->opt;
	struct vio_host_blk_options ho = {
	    .read_only = o->read_only,
	    .direct = o->direct,
	    .sync = o->sync,
	    .queue_depth = (uint16_t) (o->num_queues * BLK_SLOTS_PER_QUEUE),
	};
	int rc = vio_host_blk_open(&in->disk, image, &ho);

	if (rc < 0) {
		vp_say(VIO_VU_LOG_ERR, in->name, "cannot open image '%s': %s%s", image,
		       strerror(-rc), rc == -EROFS ? " (try --read-only)" : "");
		return rc;
	}
	in->disk_open = true;
	if (!o->sync && !vio_host_blk_async(&in->disk))
		vp_say(VIO_VU_LOG_INFO, in->name,
		       "io_uring unavailable (%s); requests run synchronously",
		       strerror(-in->disk.async_err));
	return 0;
}

static int setup_blk(struct vp_instance *in, const char *image)
{
	const struct vp_group *o = in->opt;
	struct vio_blk_params p;
	int rc;

	rc = open_disk(in, image);
	if (rc < 0)
		return rc;
	memset(&p, 0, sizeof(p));
	p.features = VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) |
		     VIO_BIT(VIO_F_RING_PACKED) | VIO_BIT(VIO_BLK_F_SEG_MAX);
	if (o->num_queues > 1)
		p.features |= VIO_BIT(VIO_BLK_F_MQ);
	p.num_queues = (uint16_t) o->num_queues;
	p.queue_size = QUEUE_SIZE;
	p.seg_max = VIO_BLK_SLOT_SEGS - 2;
	p.submit_batch = (uint16_t) in->batch;
	vio_host_blk_params(&in->disk, &p);
	if (o->serial != NULL)
		memcpy(p.serial, o->serial, strlen(o->serial)); /* checked to fit; p was zeroed */
	else
		vio_host_blk_default_serial(&in->disk, p.serial);
	rc = vio_blk_init(&in->blk, &p, &vio_host_blk_ops, &in->disk, in->queues, in->slots,
			  (uint16_t) (o->num_queues * BLK_SLOTS_PER_QUEUE));
	if (rc < 0) {
		vp_say(VIO_VU_LOG_ERR, in->name, "cannot set up the blk device (%d)", rc);
		return -EINVAL;
	}
	in->blk_ops = in->blk.dev.ops;
	in->ops = *in->blk_ops;
	in->ops.queue_notify = blk_queue_notify;
	in->blk.dev.ops = &in->ops;
	in->dev = &in->blk.dev;
	vp_say(VIO_VU_LOG_INFO, in->name, "image '%s': %llu sectors%s%s, %u queue%s, %s", image,
	       (unsigned long long) p.capacity, o->read_only ? ", read-only" : "",
	       o->direct ? ", O_DIRECT" : "", o->num_queues, o->num_queues == 1 ? "" : "s",
	       vio_host_blk_async(&in->disk) ? "io_uring" : "synchronous");
	return 0;
}

static int setup_rng(struct vp_instance *in)
{
	vio_host_rng_init(&in->entropy);
	if (vio_rng_init(&in->rng, &vio_host_rng_ops, &in->entropy, &in->rng_queue, QUEUE_SIZE,
			 VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) |
			     VIO_BIT(VIO_F_RING_PACKED)) < 0)
		return -EINVAL;
	in->dev = &in->rng.dev;
	return 0;
}

/* gpio: the features every chip offers; interrupts need a provider that can arm lines. */
#define GPIO_FEATURES                                                                              \
	(VIO_BIT(VIO_GPIO_F_IRQ) | VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) |       \
	 VIO_BIT(VIO_F_RING_PACKED))

/* gpio: a host chip's line changed; runs on the loop with the device locked. */
static void host_gpio_event(void *ctx, uint16_t line, uint8_t events)
{
	struct vp_instance *in = ctx;

	vio_gpio_line_event(&in->gpio, line, events);
}

/* gpio: a host chip's line requests have events to read. */
static void host_gpio_ready(struct vio_loop_watch *w, uint32_t revents)
{
	struct vp_instance *in = w->ctx;
	int rc;

	(void) revents;
	vp_lock(in);
	rc = vio_host_gpio_dispatch(&in->hchip);
	vp_unlock(in);
	if (rc < 0)
		vp_say(VIO_VU_LOG_WARN, in->name, "reading line events of %s failed: %s",
		       in->hchip.path, strerror(-rc));
}

/* gpio: a simulated chip of the listed size, or the listed host chip. */
static int setup_gpio(struct vp_instance *in)
{
	const struct vp_group *o = in->opt;
	const struct vio_gpio_ops *ops = &vio_sim_gpio_ops;
	void *ctx = &in->chip;
	uint16_t nlines = o->gpio_lines[in->slot];
	char err[160];
	int rc;

	if (nlines == 0) {
		rc = vio_host_gpio_open(&in->hchip, o->gpio_chip[in->slot], err, sizeof(err));
		if (rc < 0) {
			vp_say(VIO_VU_LOG_ERR, in->name, "%s", err);
			return rc;
		}
		in->hchip_open = true;
		vio_host_gpio_set_event_cb(&in->hchip, host_gpio_event, in);
		nlines = in->hchip.nlines;
		ops = &vio_host_gpio_ops;
		ctx = &in->hchip;
	} else {
		vio_sim_gpio_init(&in->chip, in->chip_lines, nlines, NULL);
	}
	in->gpio_lines = calloc(nlines, sizeof(*in->gpio_lines));
	if (in->gpio_lines == NULL) {
		vp_say(VIO_VU_LOG_ERR, in->name, "out of memory");
		return -ENOMEM;
	}
	if (vio_gpio_init(&in->gpio, ops, ctx, nlines, in->gpio_lines, in->gpio_queues, QUEUE_SIZE,
			  GPIO_FEATURES) < 0) {
		vp_say(VIO_VU_LOG_ERR, in->name, "cannot set up the gpio device");
		return -EINVAL;
	}
	in->dev = &in->gpio.dev;
	if (in->hchip_open) {
		vp_say(VIO_VU_LOG_INFO, in->name, "%s (%s), %u lines", in->hchip.path,
		       in->hchip.label, nlines);
	} else {
		vio_sim_gpio_attach(&in->chip, &in->gpio);
		vp_say(VIO_VU_LOG_INFO, in->name, "simulated chip, %u lines", nlines);
	}
	return 0;
}

/* i2c: writes the EEPROM back when a transfer changed it, so a crash loses nothing. */
static void eeprom_sync(struct vp_instance *in)
{
	if (in->eeprom_fd < 0 || memcmp(in->eeprom_mem, in->eeprom_saved, VIO_SIM_24C02_SIZE) == 0)
		return;
	if (pwrite(in->eeprom_fd, in->eeprom_mem, VIO_SIM_24C02_SIZE, 0) !=
	    (ssize_t) VIO_SIM_24C02_SIZE) {
		vp_say(VIO_VU_LOG_ERR, in->name, "cannot write the EEPROM file: %s",
		       strerror(errno));
		return;
	}
	memcpy(in->eeprom_saved, in->eeprom_mem, VIO_SIM_24C02_SIZE);
}

/* i2c: the simulated bus, then the EEPROM's write-back; runs under the server lock. */
static int i2c_xfer(void *ctx, const struct vio_i2c_msg *msgs, unsigned n)
{
	struct vp_instance *in = ctx;
	int rc = vio_sim_i2c_xfer(&in->bus, msgs, n);

	eeprom_sync(in);
	return rc;
}

static const struct vio_i2c_ops i2c_ops = {.xfer = i2c_xfer};

/*
 * i2c: loads the EEPROM file; a short or new file reads as erased (0xff) bytes.
 * The descriptor is kept, and so ever written to, only once the file passed
 * every check: a file refused here must be left exactly as it was.
 */
static int open_eeprom(struct vp_instance *in, const char *file)
{
	struct stat st;
	ssize_t got;
	int fd, rc;

	fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		vp_say(VIO_VU_LOG_ERR, in->name, "cannot open the EEPROM file '%s': %s", file,
		       strerror(errno));
		goto fail;
	}
	/* A bigger file is something else: refuse rather than overwrite its start. */
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t) VIO_SIM_24C02_SIZE) {
		vp_say(VIO_VU_LOG_ERR, in->name,
		       "the EEPROM file '%s' must be a regular file of at most %u bytes", file,
		       VIO_SIM_24C02_SIZE);
		rc = -EINVAL;
		goto fail;
	}
	memset(in->eeprom_mem, 0xff, sizeof(in->eeprom_mem));
	got = pread(fd, in->eeprom_mem, VIO_SIM_24C02_SIZE, 0);
	if (got < 0) {
		rc = -errno;
		vp_say(VIO_VU_LOG_ERR, in->name, "cannot read the EEPROM file '%s': %s", file,
		       strerror(errno));
		goto fail;
	}
	in->eeprom_fd = fd;
	/* Force the first sync to give the file its full size. */
	memcpy(in->eeprom_saved, in->eeprom_mem, sizeof(in->eeprom_saved));
	if (got != (ssize_t) VIO_SIM_24C02_SIZE)
		in->eeprom_saved[0] ^= 0xff;
	eeprom_sync(in);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* i2c: the device model over a provider, whatever the bus behind it. */
static int init_i2c(struct vp_instance *in, const struct vio_i2c_ops *ops, void *ctx)
{
	int rc = vio_i2c_init(&in->i2c, ops, ctx, &in->i2c_queue, QUEUE_SIZE,
			      VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) |
				  VIO_BIT(VIO_F_RING_PACKED),
			      in->i2c_bounce, sizeof(in->i2c_bounce));

	if (rc == 0)
		in->dev = &in->i2c.dev;
	return rc;
}

/* i2c: the simulated bus with its 24c02 and LM75. */
static int setup_sim_i2c(struct vp_instance *in)
{
	const struct vp_group *o = in->opt;
	int rc;

	memset(in->eeprom_mem, 0xff, sizeof(in->eeprom_mem));
	if (o->eeprom_file != NULL) {
		rc = open_eeprom(in, o->eeprom_file);
		if (rc < 0)
			return rc;
	}
	vio_sim_i2c_init(&in->bus);
	vio_sim_24c02_init(&in->eeprom, VIO_SIM_24C02_ADDR, in->eeprom_mem);
	vio_sim_lm75_init(&in->lm75, VIO_SIM_LM75_ADDR);
	if (vio_sim_i2c_attach(&in->bus, &in->eeprom.dev) < 0 ||
	    vio_sim_i2c_attach(&in->bus, &in->lm75.dev) < 0 || init_i2c(in, &i2c_ops, in) < 0) {
		vp_say(VIO_VU_LOG_ERR, in->name, "cannot set up the i2c device");
		return -EINVAL;
	}
	vp_say(VIO_VU_LOG_INFO, in->name, "simulated bus: 24c02 at 0x%02x%s%s, LM75 at 0x%02x",
	       VIO_SIM_24C02_ADDR, o->eeprom_file ? " on " : "",
	       o->eeprom_file ? o->eeprom_file : "", VIO_SIM_LM75_ADDR);
	return 0;
}

/* i2c: the listed addresses of host adapters, through i2c-dev. */
static int setup_host_i2c(struct vp_instance *in)
{
	char err[160];
	int rc;

	rc = vio_host_i2c_parse(&in->hi2c, in->opt->device_list, err, sizeof(err));
	if (rc == 0) {
		in->hi2c_open = true;
		rc = vio_host_i2c_open(&in->hi2c, err, sizeof(err));
	}
	if (rc < 0) {
		vp_say(VIO_VU_LOG_ERR, in->name, "%s", err);
		return rc;
	}
	if (init_i2c(in, &vio_host_i2c_ops, &in->hi2c) < 0) {
		vp_say(VIO_VU_LOG_ERR, in->name, "cannot set up the i2c device");
		return -EINVAL;
	}
	for (unsigned i = 0; i < in->hi2c.nadapters; i++) {
		const struct vio_host_i2c_adapter *a = &in->hi2c.adapters[i];

		vp_say(VIO_VU_LOG_INFO, in->name, "%s/i2c-%u: %s", in->hi2c.dev_dir, a->bus,
		       a->smbus ? "SMBus commands" : "I2C transfers");
	}
	return 0;
}

static int start_server(struct vp_instance *in, struct vio_loop *loop)
{
	const struct vp_group *o = in->opt;
	bool blk = o->kind == KIND_BLK;
	struct vio_vu_server_config cfg = {
	    .dev = in->dev,
	    .loop = loop,
	    .queue_workers = blk && o->num_queues > 1,
	    .poll = in->poll_us > 0,
	    .poll_us = in->poll_us,
	    .ctx = in,
	    .quiesce = blk ? blk_quiesce : NULL,
	    .log = server_log,
	};
	int rc = vio_vu_server_init(&in->server, &cfg);

	if (rc < 0) {
		vp_say(VIO_VU_LOG_ERR, in->name, "cannot start the vhost-user server: %s",
		       strerror(-rc));
		return rc;
	}
	in->server_ready = true;
	if (o->fd >= 0) {
		rc = vio_vu_server_adopt_fd(&in->server, o->fd);
		if (rc < 0)
			vp_say(VIO_VU_LOG_ERR, in->name, "cannot serve on fd %d: %s", o->fd,
			       strerror(-rc));
		return rc;
	}
	rc = vio_vu_server_listen(&in->server, in->path);
	/* The server reports a socket in use or a path that is not a socket itself. */
	if (rc < 0 && rc != -EADDRINUSE && rc != -EEXIST)
		vp_say(VIO_VU_LOG_ERR, in->name, "cannot listen on '%s': %s", in->path,
		       strerror(-rc));
	return rc;
}

int vp_start_instance(struct vp_instance *in, struct vio_loop *loop)
{
	const struct vp_group *o = in->opt;
	int rc;

	switch (o->kind) {
	case KIND_BLK:
		rc = vp_nbd_image(o->images[in->slot]) ? vp_setup_nbd(in, o->images[in->slot], loop)
						       : setup_blk(in, o->images[in->slot]);
		break;
	case KIND_GPIO:
		rc = setup_gpio(in);
		break;
	case KIND_I2C:
		rc = o->i2c_sim ? setup_sim_i2c(in) : setup_host_i2c(in);
		break;
	default:
		rc = setup_rng(in);
	}
	if (rc == 0)
		rc = in->ep != NULL ? vp_vmsg_add(in) : start_server(in, loop);
	/* Disk completions arrive on the loop whatever the transport. */
	if (rc == 0 && o->kind == KIND_BLK && in->disk_open)
		rc = vio_loop_add_counter(loop, &in->disk_w, vio_host_blk_event_fd(&in->disk),
					  disk_event, in);
	if (rc == 0 && o->kind == KIND_BLK && in->poll_us > 0 && vio_host_blk_async(&in->disk))
		rc = vio_loop_poller_add(loop, &in->disk_p, disk_poll, NULL, in);
	if (rc == 0 && in->hchip_open) {
		rc = vio_loop_add(loop, &in->hchip_w, vio_host_gpio_event_fd(&in->hchip),
				  VIO_LOOP_IN, host_gpio_ready, in);
		if (rc < 0)
			vp_say(VIO_VU_LOG_ERR, in->name, "cannot watch the chip's lines: %s",
			       strerror(-rc));
	}
	return rc;
}

void vp_stop_instance(struct vp_instance *in)
{
	if (in->hchip_w.loop != NULL)
		vio_loop_remove(&in->hchip_w);
	if (in->disk_w.loop != NULL)
		vio_loop_remove(&in->disk_w);
	vio_loop_poller_remove(&in->disk_p);
	if (in->server_ready)
		vio_vu_server_fini(&in->server);
	if (in->disk_open)
		vio_host_blk_close(&in->disk);
	vp_nbd_stop(in);
	if (in->eeprom_fd >= 0) {
		eeprom_sync(in);
		close(in->eeprom_fd);
		in->eeprom_fd = -1;
	}
	if (in->hchip_open)
		vio_host_gpio_close(&in->hchip);
	in->hchip_open = false;
	if (in->hi2c_open)
		vio_host_i2c_close(&in->hi2c);
	in->hi2c_open = false;
	free(in->gpio_lines);
	in->gpio_lines = NULL;
}
