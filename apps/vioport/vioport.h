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
 * This header is private to the program: the option model, the kinds of
 * device (kinds.c and one kind_NAME.c each, see docs/adding-a-device.md), the
 * served instances, and the control socket, shared by its files. Every file
 * logs through log.c, which calls none of the others: the files depend on
 * each other without a cycle.
 */
#ifndef VIOPORT_APP_H
#define VIOPORT_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vioport/internal/sandbox.h"
#include "vioport/internal/systemd.h"
#include "vioport/posix_loop.h"
#include "vioport/vhost_user.h"
#include "vioport/vmsg_posix.h"

#ifndef VIOPORT_VERSION
#error "VIOPORT_VERSION comes from meson.build (project version)"
#endif

#define EXIT_USAGE  2  /* the exit status of a usage error (main.c) */
#define MAX_DEVICES 64 /* devices in one process, all groups together */
#define MAX_GROUPS  16
#define QUEUE_SIZE  256u
#define CTL_CLIENTS 8
#define CTL_LINE    256
/* options of a group given before its device on the command line, applied once it is named */
#define MAX_PENDING (MAX_DEVICES + 16)
/* --poll-us: the default bound of a queue thread's adaptive polling, and the largest */
#define VP_POLL_US_DEFAULT 50u
#define VP_POLL_US_MAX	   1000000u
/* --batch: requests a blk queue sends to the kernel per submission within one run */
#define VP_BATCH_DEFAULT 8u
#define VP_BATCH_MAX	 1024u

struct vp_kind;
struct vp_instance;
struct vp_options;
struct vp_group;

/* How an option is stored. */
enum vp_opt_type {
	VP_OPT_FLAG,   /* a bool at offset in the target: set */
	VP_OPT_STRING, /* a const char * at offset: the argument */
	VP_OPT_UINT,   /* an unsigned at offset: the argument, a number in [lo, hi] */
	VP_OPT_FN,     /* apply does it */
};

/* Where an option is being applied, for apply functions and their messages. */
struct vp_optctx {
	struct vp_options *o;
	struct vp_group *g; /* the group it is given in; NULL before any (process options only) */
	void *target;	    /* o, g or g->conf: the process's, a group's or its kind's option */
	const char *where;  /* "FILE:LINE" in a configuration file, NULL on the command line */
	bool in_config;
};

/*
 * One option, described once: --help, the command line, the configuration
 * file's keys and the refusals of options a kind does not take all come from
 * these. Options of the whole process and of every group are in options.c;
 * each kind lists its own (struct vp_kind's options), applied to its conf.
 */
struct vp_option {
	const char *name;  /* --name on the command line, "name = ..." in a file */
	const char *alias; /* another long name, or NULL */
	char letter;	   /* -x on the command line, or 0 */
	const char *arg;   /* the argument's name in --help; NULL: a flag */
	enum vp_opt_type type;
	size_t offset;	 /* VP_OPT_FLAG, VP_OPT_STRING, VP_OPT_UINT: where in the target */
	unsigned lo, hi; /* VP_OPT_UINT: the range */
	/* VP_OPT_FN: applies arg (NULL for a flag); 0, or -EINVAL after vp_usage_error */
	int (*apply)(const struct vp_optctx *c, const char *arg);
	/* --help's text: a printf format taking help_n; lines after the first are indented */
	const char *help;
	unsigned help_n[3];
};

/* How a group's devices reach their driver. */
enum vp_transport { TRANSPORT_VHOST_USER, TRANSPORT_VMSG };

/* Window size of a virtio-msg bus when --shm-size is not given and the file is new. */
#define VMSG_DEFAULT_SIZE (4u << 20)

/* One group: devices of one kind with their options (a command-line group or a config section). */
struct vp_group {
	const struct vp_kind *kind; /* NULL until the group names its device */
	char where[96];		    /* "the command line" or "FILE:LINE", for messages */
	const char *socket_path;
	int fd;
	unsigned socket_count;
	void *conf; /* the kind's options: kind->conf_size bytes, from vp_group_set_kind */
	/* the kind's options given before the kind (on the command line), in order */
	const struct vp_option *pending[MAX_PENDING];
	const char *pending_arg[MAX_PENDING];
	unsigned npending;
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
	bool done; /* --help or --version answered: nothing more to do */
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

/* One served device: its kind's state, and its vhost-user server or its place on a bus. */
struct vp_instance {
	const struct vp_group *opt;
	const struct vp_kind *kind; /* opt->kind */
	unsigned poll_us;	    /* --poll-us, the whole process's */
	unsigned batch;		    /* --batch, the whole process's */
	struct vp_endpoint *ep;	    /* vmsg: the bus it is on; NULL for vhost-user */
	int dev_num;		    /* vmsg: its device number on the bus */
	unsigned index;		    /* among the devices of its kind: blk0, blk1, gpio0, ... */
	unsigned slot; /* among the sockets of its group: which image or chip it serves */
	char name[16];
	char path[108];
	struct vio_vu_server server;
	bool server_ready;
	struct vio_device *dev; /* set by the kind's setup */
	void *state;		/* the kind's: state_size bytes, zeroed, from vp_start_instance */
};

/*
 * A kind of device the daemon serves: everything that differs between blk,
 * rng, gpio and i2c, so that the rest of the program never asks which kind
 * it holds. One const instance per kind_*.c file, listed in kinds.c.
 */
struct vp_kind {
	const char *name;		 /* on the command line, in sections, in instance names */
	const char *alias;		 /* another accepted name, or NULL */
	const char *summary;		 /* its line in --help's list of devices */
	const char *caps_json;		 /* what --print-capabilities prints */
	const char *ctl_help;		 /* its control-socket commands for --help, or NULL */
	const struct vp_option *options; /* its own options, ended by one without a name */
	size_t conf_size;		 /* of g->conf, where they are stored */
	size_t state_size;		 /* of in->state */
	/* Checks a group of this kind once its options are all given (not with
	 * --print-capabilities), and fills in the defaults of g->conf; may set the group's
	 * socket count. 0, or -EINVAL after vp_usage_error(where, ...). NULL: nothing to do. */
	int (*check)(struct vp_group *g, const char *where);
	/* Sets up the device model and its provider, and sets in->dev; 0 or -errno after
	 * logging why. Whatever it got is released by stop, even when it failed. */
	int (*setup)(struct vp_instance *in, struct vio_loop *loop);
	/* Once the transport serves in->dev: the provider's watches on loop; NULL: none. */
	int (*serve)(struct vp_instance *in, struct vio_loop *loop);
	/* Whether each queue's kicks get a thread of their own (vhost-user); NULL: no. */
	bool (*queue_workers)(const struct vp_instance *in);
	/* Before guest memory goes away or the device resets, with the device locked:
	 * whatever the provider still has in flight finishes; NULL: nothing in flight. */
	void (*quiesce)(struct vp_instance *in);
	/* What the sandboxed daemon still needs for in (network connections); NULL: nothing. */
	int (*sandbox)(const struct vp_instance *in, struct vio_sandbox *sb, char *err,
		       size_t errlen);
	/* One control-socket command "NAME[N] ARGS" for in: writes one reply line without its
	 * newline ("ok ..." or "error ...") to reply. NULL: the kind takes none. */
	void (*ctl)(struct vp_instance *in, char *args, FILE *reply);
	/* Releases what setup and serve got; runs after the transport stopped. */
	void (*stop)(struct vp_instance *in);
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

/* log.c: a usage error: "vioport: WHERE: message" (where may be NULL), then a hint; returns
 * -EINVAL. */
int vp_usage_error(const char *where, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* parse.c: parses a whole decimal number in [lo, hi]. */
bool vp_parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out);
/* parse.c: parses a whole signed decimal number in [lo, hi]; false for NULL. */
bool vp_parse_long(const char *s, long lo, long hi, long *out);
/* parse.c: the next blank-separated word of *p, NUL-terminated in place, or NULL. */
char *vp_word(char **p);

/* kinds.c: every kind, in the order --help lists them, and how many. */
extern const struct vp_kind *const vp_kinds[];
extern const unsigned vp_nkinds;
/* kinds.c: the kind called name (or its alias), or NULL. */
const struct vp_kind *vp_kind_find(const char *name);
/* kinds.c: checks that options of one name agree across kinds; 0 or -EINVAL, said on stderr. */
int vp_kinds_check(void);
/* kinds.c: "blk, rng, gpio or i2c" (only those with control commands if ctl_only) in buf. */
const char *vp_kind_list(char *buf, size_t len, bool ctl_only);
/* kinds.c: the JSON of QEMU's backend conventions for kind k. */
void vp_print_capabilities(const struct vp_kind *k);

/* options.c: the options of the whole process, and those every group takes. */
extern const struct vp_option vp_process_options[];
extern const struct vp_option vp_group_options[];
/* options.c: the option called name (or its alias) in table, or NULL. */
const struct vp_option *vp_option_in(const struct vp_option *table, const char *name);
/* options.c: the option called name in any table (the process's, groups', any kind's). */
const struct vp_option *vp_option_any(const char *name);
/* options.c: applies option name with arg (NULL for a flag) to the run or to group g (NULL:
 * none yet), from where (NULL: the command line); 0 or -errno (-EINVAL: reported). */
int vp_option_apply(struct vp_options *o, struct vp_group *g, const char *name, const char *arg,
		    const char *where, bool in_config);
/* options.c: starts a group called where, as o->groups[o->ngroups++]; 0 or -EINVAL (a
 * message from origin, NULL: the command line). */
int vp_group_new(struct vp_options *o, const char *where, const char *origin, struct vp_group **g);
/* options.c: gives g its kind, and applies the kind's options given before it; 0 or -errno. */
int vp_group_set_kind(struct vp_options *o, struct vp_group *g, const struct vp_kind *k,
		      const char *where);
/* options.c: the defaults of the whole run. */
void vp_options_init(struct vp_options *o);
/* options.c: frees what o holds (the groups' options, the configuration file's text). */
void vp_options_free(struct vp_options *o);
/* options.c: the help text, whole (kind NULL) or for one kind of device. */
void vp_usage(FILE *f, const struct vp_kind *kind);

/* config.c: reads the configuration file path into o's groups (and process options); 0 or
 * -errno (-EINVAL: a usage error, reported). */
int vp_read_config(struct vp_options *o, const char *path);

/* cmdline.c: fills o from argv (and the configuration file it names); 0 or -errno (-EINVAL: a
 * usage error), reported; o->done after --help or --version. */
int vp_parse_args(struct vp_options *o, int argc, char **argv);

/* check.c: checks every group and the run as a whole; 0 or -EINVAL after reporting. */
int vp_check_args(struct vp_options *o);

/* devices.c: sets up instance in (its group and names set) and starts serving it; 0 or -errno. */
int vp_start_instance(struct vp_instance *in, struct vio_loop *loop);
/* devices.c: locks the device of in against its transport's thread (vhost-user or vmsg). */
void vp_lock(struct vp_instance *in);
/* devices.c: unlocks what vp_lock locked. */
void vp_unlock(struct vp_instance *in);
/* devices.c: stops serving in and releases what it holds; safe on a partly started one. */
void vp_stop_instance(struct vp_instance *in);

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
