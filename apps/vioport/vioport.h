/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport: VirtIO device backends as vhost-user daemons.
 *
 *   vioport blk --socket-path PATH --image FILE [--read-only] [--num-queues N]
 *               [--serial S] [--direct] [--sync]
 *   vioport rng --socket-path PATH
 *   vioport gpio --socket-path PATH --device-list LIST [--control PATH]
 *   vioport i2c --socket-path PATH --device-list LIST [--eeprom-file FILE] [--control PATH]
 *   vioport DEVICE [OPTIONS] + DEVICE [OPTIONS] ...
 *   vioport --config FILE
 *   vioport DEVICE --transport vmsg --shm PATH [--shm-size N] [--doorbell poll|eventfd:SOCK]
 *
 * One process serves one device per socket (--socket-count N gives N sockets
 * PATH0 .. PATHN-1, as rust-vmm's vhost-device programs do), and several
 * groups of devices of any kind, given on the command line separated by '+'
 * or as sections of a configuration file, all on one event loop; with
 * --num-queues > 1 each blk queue's kicks run on a thread of their own. See
 * docs/vioport.1.
 *
 * This header is private to the program: the option model, the served
 * instances, and the control socket, shared by its files.
 */
#ifndef VIOPORT_APP_H
#define VIOPORT_APP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vioport/blk.h"
#include "vioport/gpio.h"
#include "vioport/i2c.h"
#include "vioport/linux_blk.h"
#include "vioport/linux_gpio.h"
#include "vioport/linux_i2c.h"
#include "vioport/linux_nbd.h"
#include "vioport/linux_rng.h"
#include "vioport/posix_loop.h"
#include "vioport/rng.h"
#include "vioport/sandbox.h"
#include "vioport/sim_gpio.h"
#include "vioport/sim_i2c.h"
#include "vioport/systemd.h"
#include "vioport/vhost_user.h"
#include "vioport/vmsg_posix.h"

#ifndef VIOPORT_VERSION
#error "VIOPORT_VERSION comes from meson.build (project version)"
#endif

#define EXIT_USAGE	    2
#define MAX_DEVICES	    64 /* devices in one process, all groups together */
#define MAX_GROUPS	    16
#define QUEUE_SIZE	    256u
#define MAX_BLK_QUEUES	    16u
#define BLK_SLOTS_PER_QUEUE 128u
#define MAX_SIM_GPIO_LINES  256u
#define GPIO_CHIP_NAME	    64
#define I2C_BOUNCE	    4096u
#define CTL_CLIENTS	    8
#define CTL_LINE	    256
/* --poll-us: the default bound of a queue thread's adaptive polling, and the largest */
#define VP_POLL_US_DEFAULT 50u
#define VP_POLL_US_MAX	   1000000u
/* --batch: requests a blk queue sends to the kernel per submission within one run */
#define VP_BATCH_DEFAULT 8u
#define VP_BATCH_MAX	 1024u

enum vp_kind { KIND_NONE, KIND_BLK, KIND_RNG, KIND_GPIO, KIND_I2C };

/* How a group's devices reach their driver. */
enum vp_transport { TRANSPORT_VHOST_USER, TRANSPORT_VMSG };

/* Window size of a virtio-msg bus when --shm-size is not given and the file is new. */
#define VMSG_DEFAULT_SIZE (4u << 20)

/* One group: devices of one kind with their options (a command-line group or a config section). */
struct vp_group {
	enum vp_kind kind;
	char where[96]; /* "the command line" or "FILE:LINE", for messages */
	const char *socket_path;
	int fd;
	unsigned socket_count;
	const char *images[MAX_DEVICES];
	unsigned nimages;
	bool read_only;
	bool direct;
	bool sync;
	unsigned num_queues;
	const char *serial;
	unsigned
	    nbd_timeout; /* blk on NBD: seconds without an answer before reconnecting, 0: never */
	bool nbd_timeout_set;
	const char *device_list;
	const char *eeprom_file;
	/* gpio, per socket: lines of a simulated chip, or 0 and the host chip's name */
	uint16_t gpio_lines[MAX_DEVICES];
	char gpio_chip[MAX_DEVICES][GPIO_CHIP_NAME];
	bool i2c_sim; /* i2c: the simulated bus, else host adapters from device_list */
	/* transport: vhost-user on sockets, or virtio-msg on a shared window */
	enum vp_transport transport;
	const char *shm;      /* vmsg: the window file */
	uint32_t shm_size;    /* vmsg: bytes to create it with, 0: default or the file's */
	const char *doorbell; /* vmsg: "poll" (NULL), "eventfd:SOCKET" or "ivshmem:SOCKET" */
};

/* A virtio-msg bus the process serves: one window, its devices, its thread. */
struct vp_endpoint {
	struct vio_vmsg_endpoint ep;
	const struct vp_group *first; /* the group that named it first: its size and doorbell */
	unsigned ndevices;
	bool ready; /* initialised */
	bool started;
	struct vp_instance *inst[MAX_DEVICES];
};

/* The whole run: options that apply to every group, and the groups. */
struct vp_options {
	int log_level;
	bool log_time; /* --log-time: each log line starts with the UTC time */
	bool print_caps;
	const char *control;
	const char *config;
	struct vp_group groups[MAX_GROUPS];
	unsigned ngroups;
	char *config_text; /* the configuration file's contents, which option strings point into */
	const char *user;  /* --user: the user to become once set up */
	unsigned poll_us;  /* --poll-us: bound of adaptive polling, 0: none */
	unsigned batch;	   /* --batch: blk requests per submission, 0: a whole run */
	struct vio_sandbox sandbox; /* --sandbox, and the user looked up by vp_check_args */
	unsigned activated;	    /* sockets systemd passed (LISTEN_FDS), taken by groups */
};

/* One served device: the device model, its provider and its vhost-user server. */
struct vp_instance {
	const struct vp_group *opt;
	unsigned poll_us;	/* --poll-us, the whole process's */
	unsigned batch;		/* --batch, the whole process's */
	struct vp_endpoint *ep; /* vmsg: the bus it is on; NULL for vhost-user */
	int dev_num;		/* vmsg: its device number on the bus */
	unsigned index;		/* among the devices of its kind: blk0, blk1, gpio0, ... */
	unsigned slot;		/* among the sockets of its group: which image or chip it serves */
	char name[16];
	char path[108];
	struct vio_vu_server server;
	bool server_ready;
	struct vio_device *dev;
	/* blk */
	struct vio_blk blk;
	struct vio_queue queues[MAX_BLK_QUEUES];
	struct vio_blk_req slots[MAX_BLK_QUEUES * BLK_SLOTS_PER_QUEUE];
	struct vio_host_blk disk;
	bool disk_open;
	struct vio_device_ops ops; /* the blk ops, with a queue_notify that submits */
	const struct vio_device_ops *blk_ops;
	struct vio_loop_watch disk_w;
	struct vio_loop_poller disk_p; /* adaptive polling of its completions */
	struct vio_host_nbd nbd;       /* the disk when --image names an NBD export */
	bool nbd_open;
	/* rng */
	struct vio_rng rng;
	struct vio_queue rng_queue;
	struct vio_host_rng entropy;
	/* gpio: a simulated chip or a host chip */
	struct vio_gpio gpio;
	struct vio_queue gpio_queues[2];
	struct vio_gpio_line *gpio_lines; /* one per line of the chip */
	struct vio_sim_gpio chip;
	struct vio_sim_gpio_line chip_lines[MAX_SIM_GPIO_LINES];
	struct vio_host_gpio hchip;
	bool hchip_open;
	struct vio_loop_watch hchip_w;
	/* i2c: the simulated bus or host adapters */
	struct vio_i2c i2c;
	struct vio_queue i2c_queue;
	uint8_t i2c_bounce[I2C_BOUNCE];
	struct vio_sim_i2c_bus bus;
	struct vio_sim_24c02 eeprom;
	struct vio_sim_lm75 lm75;
	uint8_t eeprom_mem[VIO_SIM_24C02_SIZE];
	uint8_t eeprom_saved[VIO_SIM_24C02_SIZE]; /* what the backing file holds */
	int eeprom_fd;
	struct vio_host_i2c hi2c;
	bool hi2c_open;
};

/* A connection to the control socket: one command per line, one reply line each. */
struct vp_ctl_client {
	struct vp_control *ctl;
	int fd;
	struct vio_loop_watch w;
	char buf[CTL_LINE];
	size_t len;
	bool overlong; /* the line being read went past CTL_LINE: answer it with an error */
};

/* The control socket of the simulations, served on the main loop. */
struct vp_control {
	int fd;
	char path[108];
	struct vio_loop_watch w;
	struct vio_loop *loop;
	struct vp_instance *inst;
	unsigned ninst;
	struct vp_ctl_client clients[CTL_CLIENTS];
};

/* log.c: the run's log level, --log-time, and whether standard error is the journal. */
void vp_log_setup(int level, bool time, bool journal);
/*
 * log.c: one log line at level for who, when the run's log level lets it through; with a
 * "<N>" syslog priority first when standard error is the journal, the time with --log-time.
 */
void vp_say(int level, const char *who, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* args.c: a usage error (the message, then a hint); returns EXIT_USAGE. */
int vp_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* args.c: the help text, whole (KIND_NONE) or for one kind of device. */
void vp_usage(FILE *f, enum vp_kind kind);
/* args.c: parses a whole decimal number in [lo, hi]. */
bool vp_parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out);
/* args.c: fills o from argv (and the configuration file it names); -1 to go on, else an exit
 * status. */
int vp_parse_args(struct vp_options *o, int argc, char **argv);
/* args.c: checks every group and the run as a whole; -1 to go on, else an exit status. */
int vp_check_args(struct vp_options *o);
/* args.c: the short name of a device kind. */
const char *vp_kind_name(enum vp_kind k);

/* devices.c: the JSON of QEMU's backend conventions for kind k. */
void vp_print_capabilities(enum vp_kind k);
/* devices.c: sets up instance in (its group and names set) and starts serving it; 0 or -errno. */
int vp_start_instance(struct vp_instance *in, struct vio_loop *loop);
/* devices.c: locks the device of in against its transport's thread (vhost-user or vmsg). */
void vp_lock(struct vp_instance *in);
/* devices.c: unlocks what vp_lock locked. */
void vp_unlock(struct vp_instance *in);
/* devices.c: stops serving in and releases what it holds; safe on a partly started one. */
void vp_stop_instance(struct vp_instance *in);

/* nbd.c: whether an --image names an NBD export rather than a file. */
bool vp_nbd_image(const char *image);
/* nbd.c: sets up a blk instance on the NBD export image, watched on loop; 0 or -errno. */
int vp_setup_nbd(struct vp_instance *in, const char *image, struct vio_loop *loop);
/* nbd.c: completes every request in flight on the export (bounded), the device locked. */
void vp_nbd_quiesce(struct vp_instance *in);
/* nbd.c: disconnects and releases the export; safe when none is open. */
void vp_nbd_stop(struct vp_instance *in);

/* vmsg.c: sets up the virtio-msg buses the groups name (shared by path); 0 or -errno. */
int vp_vmsg_init(struct vp_endpoint *eps, unsigned *neps, struct vp_instance *inst, unsigned n);
/* vmsg.c: adds a set-up vmsg instance's device to its bus; 0 or -errno. */
int vp_vmsg_add(struct vp_instance *in);
/* vmsg.c: starts serving every bus; 0 or -errno. */
int vp_vmsg_start(struct vp_endpoint *eps, unsigned neps);
/* vmsg.c: stops every bus and unmaps its window. */
void vp_vmsg_fini(struct vp_endpoint *eps, unsigned neps);

/* sandbox.c: enters the sandbox once every socket, image, window and device is open, before
 * any thread starts; 0 or -errno after logging why. */
int vp_sandbox_enter(struct vp_options *o, const struct vp_instance *inst, unsigned n);

/* control.c: listens at path for commands on the simulations of inst; 0 or -errno. */
int vp_ctl_start(struct vp_control *ctl, const char *path, struct vio_loop *loop,
		 struct vp_instance *inst, unsigned ninst);
/* control.c: closes every client and the listener, and removes the socket file. */
void vp_ctl_stop(struct vp_control *ctl);

#endif
