/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport i2c: virtio-i2c on Linux i2c-dev adapters (the listed addresses
 * only), or on a simulated bus with a 24c02 EEPROM, optionally backed by a
 * file, and an LM75 whose temperature the control socket sets.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vioport.h"
#include "vioport/i2c.h"
#include "vioport/linux_i2c.h"
#include "vioport/sim_i2c.h"

#define I2C_BOUNCE 4096u

/* An i2c group's options (g->conf). */
struct vp_i2c_conf {
	const char *device_list;
	const char *eeprom_file;
	bool sim; /* the list is 'sim': the simulated bus, else host adapters */
};

/* One i2c instance (in->state): the simulated bus or host adapters. */
struct vp_i2c {
	struct vp_instance *in;
	struct vio_i2c i2c;
	struct vio_queue queue;
	uint8_t bounce[I2C_BOUNCE];
	struct vio_sim_i2c_bus bus;
	struct vio_sim_24c02 eeprom;
	struct vio_sim_lm75 lm75;
	uint8_t eeprom_mem[VIO_SIM_24C02_SIZE];
	uint8_t eeprom_saved[VIO_SIM_24C02_SIZE]; /* what the backing file holds */
	int eeprom_fd;
	struct vio_host_i2c hi2c;
	bool hi2c_open;
};

/* Writes the EEPROM back when a transfer changed it, so a crash loses nothing. */
static void eeprom_sync(struct vp_i2c *c)
{
	if (c->eeprom_fd < 0 || memcmp(c->eeprom_mem, c->eeprom_saved, VIO_SIM_24C02_SIZE) == 0)
		return;
	if (pwrite(c->eeprom_fd, c->eeprom_mem, VIO_SIM_24C02_SIZE, 0) !=
	    (ssize_t) VIO_SIM_24C02_SIZE) {
		vp_say(VIO_LOG_ERR, c->in->name, "cannot write the EEPROM file: %s",
		       strerror(errno));
		return;
	}
	memcpy(c->eeprom_saved, c->eeprom_mem, VIO_SIM_24C02_SIZE);
}

/* The simulated bus, then the EEPROM's write-back; runs under the device lock. */
static int sim_xfer(void *ctx, const struct vio_i2c_msg *msgs, unsigned n)
{
	struct vp_i2c *c = ctx;
	int rc = vio_sim_i2c_xfer(&c->bus, msgs, n);

	eeprom_sync(c);
	return rc;
}

static const struct vio_i2c_ops sim_ops = {.xfer = sim_xfer};

/*
 * Loads the EEPROM file; a short or new file reads as erased (0xff) bytes.
 * The descriptor is kept, and so ever written to, only once the file passed
 * every check: a file refused here must be left exactly as it was.
 */
static int open_eeprom(struct vp_i2c *c, const char *file)
{
	const char *name = c->in->name;
	struct stat st;
	ssize_t got;
	int fd, rc;

	fd = open(file, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		vp_say(VIO_LOG_ERR, name, "cannot open the EEPROM file '%s': %s", file,
		       strerror(errno));
		goto fail;
	}
	/* A bigger file is something else: refuse rather than overwrite its start. */
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t) VIO_SIM_24C02_SIZE) {
		vp_say(VIO_LOG_ERR, name,
		       "the EEPROM file '%s' must be a regular file of at most %u bytes", file,
		       VIO_SIM_24C02_SIZE);
		rc = -EINVAL;
		goto fail;
	}
	memset(c->eeprom_mem, 0xff, sizeof(c->eeprom_mem));
	got = pread(fd, c->eeprom_mem, VIO_SIM_24C02_SIZE, 0);
	if (got < 0) {
		rc = -errno;
		vp_say(VIO_LOG_ERR, name, "cannot read the EEPROM file '%s': %s", file,
		       strerror(errno));
		goto fail;
	}
	c->eeprom_fd = fd;
	/* Force the first sync to give the file its full size. */
	memcpy(c->eeprom_saved, c->eeprom_mem, sizeof(c->eeprom_saved));
	if (got != (ssize_t) VIO_SIM_24C02_SIZE)
		c->eeprom_saved[0] ^= 0xff;
	eeprom_sync(c);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	return rc;
}

/* The device model over a provider, whatever the bus behind it. */
static int init_i2c(struct vp_i2c *c, const struct vio_i2c_ops *ops, void *ctx)
{
	int rc = vio_i2c_init(&c->i2c, ops, ctx, &c->queue, QUEUE_SIZE,
			      VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) |
				  VIO_BIT(VIO_F_RING_PACKED),
			      c->bounce, sizeof(c->bounce));

	if (rc == 0)
		c->in->dev = &c->i2c.dev;
	return rc;
}

/* The simulated bus with its 24c02 and LM75. */
static int setup_sim(struct vp_i2c *c)
{
	const struct vp_i2c_conf *o = c->in->opt->conf;
	int rc;

	memset(c->eeprom_mem, 0xff, sizeof(c->eeprom_mem));
	if (o->eeprom_file != NULL) {
		rc = open_eeprom(c, o->eeprom_file);
		if (rc < 0)
			return rc;
	}
	vio_sim_i2c_init(&c->bus);
	vio_sim_24c02_init(&c->eeprom, VIO_SIM_24C02_ADDR, c->eeprom_mem);
	vio_sim_lm75_init(&c->lm75, VIO_SIM_LM75_ADDR);
	if (vio_sim_i2c_attach(&c->bus, &c->eeprom.dev) < 0 ||
	    vio_sim_i2c_attach(&c->bus, &c->lm75.dev) < 0 || init_i2c(c, &sim_ops, c) < 0) {
		vp_say(VIO_LOG_ERR, c->in->name, "cannot set up the i2c device");
		return -EINVAL;
	}
	vp_say(VIO_LOG_INFO, c->in->name, "simulated bus: 24c02 at 0x%02x%s%s, LM75 at 0x%02x",
	       VIO_SIM_24C02_ADDR, o->eeprom_file ? " on " : "",
	       o->eeprom_file ? o->eeprom_file : "", VIO_SIM_LM75_ADDR);
	return 0;
}

/* The listed addresses of host adapters, through i2c-dev. */
static int setup_host(struct vp_i2c *c)
{
	const struct vp_i2c_conf *o = c->in->opt->conf;
	const char *name = c->in->name;
	char err[160];
	int rc;

	rc = vio_host_i2c_parse(&c->hi2c, o->device_list, err, sizeof(err));
	if (rc == 0) {
		c->hi2c_open = true;
		rc = vio_host_i2c_open(&c->hi2c, err, sizeof(err));
	}
	if (rc < 0) {
		vp_say(VIO_LOG_ERR, name, "%s", err);
		return rc;
	}
	if (init_i2c(c, &vio_host_i2c_ops, &c->hi2c) < 0) {
		vp_say(VIO_LOG_ERR, name, "cannot set up the i2c device");
		return -EINVAL;
	}
	for (unsigned i = 0; i < c->hi2c.nadapters; i++) {
		const struct vio_host_i2c_adapter *a = &c->hi2c.adapters[i];

		vp_say(VIO_LOG_INFO, name, "%s/i2c-%u: %s", c->hi2c.dev_dir, a->bus,
		       a->smbus ? "SMBus commands" : "I2C transfers");
	}
	return 0;
}

static int i2c_setup(struct vp_instance *in, struct vio_loop *loop)
{
	const struct vp_i2c_conf *o = in->opt->conf;
	struct vp_i2c *c = in->state;

	(void) loop;
	c->in = in;
	c->eeprom_fd = -1;
	return o->sim ? setup_sim(c) : setup_host(c);
}

static void i2c_stop(struct vp_instance *in)
{
	struct vp_i2c *c = in->state;

	if (c->eeprom_fd >= 0) {
		eeprom_sync(c);
		close(c->eeprom_fd);
		c->eeprom_fd = -1;
	}
	if (c->hi2c_open)
		vio_host_i2c_close(&c->hi2c);
	c->hi2c_open = false;
}

/* i2c[N] temp MILLICELSIUS, eeprom-dump: on the simulated bus. */
static void i2c_ctl(struct vp_instance *in, char *args, FILE *reply)
{
	const struct vp_i2c_conf *o = in->opt->conf;
	struct vp_i2c *c = in->state;
	const char *verb = vp_word(&args), *a1 = vp_word(&args);
	char hex[2 * VIO_SIM_24C02_SIZE + 1];
	long mc;

	if (!o->sim) {
		fprintf(reply, "error %s serves host adapters, not the simulated bus", in->name);
		return;
	}
	if (verb != NULL && strcmp(verb, "temp") == 0) {
		if (!vp_parse_long(a1, -1000000, 1000000, &mc) || vp_word(&args) != NULL) {
			fprintf(reply, "error i2c temp MILLICELSIUS");
			return;
		}
		vp_lock(in);
		vio_sim_lm75_set_temp_mc(&c->lm75, (int32_t) mc);
		vp_unlock(in);
		fprintf(reply, "ok");
		return;
	}
	if (verb != NULL && strcmp(verb, "eeprom-dump") == 0 && a1 == NULL) {
		vp_lock(in);
		for (unsigned i = 0; i < VIO_SIM_24C02_SIZE; i++)
			snprintf(hex + 2 * i, 3, "%02x", c->eeprom.mem[i]);
		vp_unlock(in);
		fprintf(reply, "ok %s", hex);
		return;
	}
	fprintf(reply, "error i2c takes temp MILLICELSIUS or eeprom-dump");
}

/* The device list: 'sim', or host adapters (parsed for real at start). */
static int i2c_check(struct vp_group *g, const char *where)
{
	struct vp_i2c_conf *c = g->conf;
	struct vio_host_i2c probe;
	char err[160];

	if (c->device_list == NULL)
		return vp_usage_error(where, "i2c needs --device-list");
	if (strcmp(c->device_list, "sim") == 0) {
		c->sim = true;
		if (g->socket_count != 1)
			return vp_usage_error(where,
					      "the simulated i2c bus is served on one socket");
		return 0;
	}
	if (c->eeprom_file != NULL)
		return vp_usage_error(where,
				      "--eeprom-file is for the simulated bus (--device-list sim)");
	if (vio_host_i2c_parse(&probe, c->device_list, err, sizeof(err)) < 0)
		return vp_usage_error(where,
				      "--device-list for i2c is 'sim' or "
				      "'BUS:ADDR[:ADDR],...': %s",
				      err);
	return 0;
}

static const struct vp_option i2c_options[] = {
    {.name = "device-list",
     .letter = 'l',
     .arg = "LIST",
     .type = VP_OPT_STRING,
     .offset = offsetof(struct vp_i2c_conf, device_list),
     .help = "BUS:ADDR[:ADDR][,BUS:ADDR[:ADDR]]...: the listed\n"
	     "addresses (decimal, or hex with 0x) of /dev/i2c-BUS;\n"
	     "or 'sim': a simulated bus with a 24c02 EEPROM at 0x50\n"
	     "and an LM75 at 0x48"},
    {.name = "eeprom-file",
     .arg = "FILE",
     .type = VP_OPT_STRING,
     .offset = offsetof(struct vp_i2c_conf, eeprom_file),
     .help = "the simulated EEPROM's 256 bytes: loaded at start,\n"
	     "written back on each change"},
    {.name = NULL},
};

const struct vp_kind vp_kind_i2c = {
    .name = "i2c",
    .summary = "virtio-i2c on Linux i2c-dev adapters or a simulated bus",
    .caps_json = "{\n  \"type\": \"i2c\",\n  \"features\": []\n}\n",
    .ctl_help = "i2c[N] temp MILLICELSIUS, i2c[N] eeprom-dump",
    .options = i2c_options,
    .conf_size = sizeof(struct vp_i2c_conf),
    .state_size = sizeof(struct vp_i2c),
    .check = i2c_check,
    .setup = i2c_setup,
    .ctl = i2c_ctl,
    .stop = i2c_stop,
};
