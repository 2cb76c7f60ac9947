/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport-drv, private header: the command table's row, what a command runs
 * with (the options and the session, opened when a command first needs it),
 * and the helpers the command files share.
 *
 * A command is one row of the table in main.c; validation of the argument
 * count, dispatch and --help are all derived from it. A device's commands
 * live in cmd_<device>.c, with its struct drv_kind (name, ID, queues, the
 * config summary `list` prints).
 */
#ifndef VIOPORT_DRV_APP_H
#define VIOPORT_DRV_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vioport/vmsg_drv.h"
#include "vioport/vmsg_drv_dev.h"
#include "vioport/vmsg_posix.h"

#define EXIT_USAGE	2
#define DEFAULT_SIZE	65536u
#define DEFAULT_TIMEOUT 5000
#define MAP_WORDS	2048u
#define MAX_VQS		3u /* the most queues of any kind the commands drive (vsock) */

struct options {
	const char *shm;
	uint32_t size;
	uint64_t offset; /* where the window starts in the file */
	const char *doorbell;
	int timeout_ms;
};

struct session {
	struct vio_vmsg_posix_drv p;
	struct vio_vmsg_drv drv;
	struct vio_vmsg_drv_dev dev;
	struct vio_vmsg_drv_vq vqs[MAX_VQS];
	uint32_t map[MAP_WORDS];
};

/* A device kind the commands know. */
struct drv_kind {
	const char *name;
	uint32_t id;   /* VIO_ID_* */
	uint16_t nvqs; /* queues the driver sets up (fewer when the device has fewer) */
	/* Prints the config summary of a `list` line (negotiated, not set up); NULL: none. */
	void (*summary)(struct vio_vmsg_drv_dev *d);
};

struct drv_ctx;

/* One row of the command table. */
struct drv_cmd {
	const char *name; /* the command word */
	/*
	 * The operation word when the command has several rows (read, write), else
	 * NULL; it stands in args, and its place there is where it is looked for.
	 */
	const char *op;
	const char *args; /* the usage line after the name; NULL for none */
	const char *help; /* for --help; '\n' starts a continuation line */
	int min_args;	  /* words after the name, op included */
	int max_args;
	/* argv[0 .. argc) are the words after the name; returns the exit status. */
	int (*run)(struct drv_ctx *c, int argc, char **argv);
	const struct drv_kind *kind; /* the device kind the command drives, or NULL */
	bool device_side;	     /* runs the device side: --shm-offset does not apply */
};

/* What a command runs with. */
struct drv_ctx {
	const struct options *o;
	const struct drv_cmd *cmd; /* the row being run */
	struct session *s;	   /* NULL until drv_session opens it */
};

/* The command table (main.c), ended by a row with a NULL name. */
extern const struct drv_cmd drv_cmds[];

/*
 * Finds the row for the words after the program's options (argv[0] the
 * command) in table and runs it: the usage errors of the table (unknown
 * command or operation, argument count out of range) are printed with the
 * row's usage line and give EXIT_USAGE.
 */
int drv_dispatch(const struct drv_cmd *table, struct drv_ctx *c, int argc, char **argv);

/* Prints --help, the commands' lines derived from table. */
void drv_usage_text(const struct drv_cmd *table, FILE *f);

/* --- shared helpers (session.c) --------------------------------------------------------- */

/* Prints "vioport-drv: " fmt (with arg) and the --help hint; returns EXIT_USAGE. */
int usage_error(const char *fmt, const char *arg);
/* Prints what failed with rc's errno text; returns 1. */
int fail(const char *what, int rc);
/* Parses an unsigned number (0x allowed) no larger than max; false when it is not one. */
bool parse_u64(const char *s, uint64_t max, uint64_t *v);
/* Parses hex bytes ("0a1b", "0a 1b", "0x0a,0x1b") into buf; the count or -1. */
int parse_hex(const char *s, uint8_t *buf, int cap);
/* Prints n bytes as hex and ASCII, 16 a line, offsets from base. */
void hexdump(const uint8_t *p, size_t n, uint64_t base);

/* The options of the commands that stream (console, input, vsock), after their words. */
#define OPT_WRITE 0x01u /* --write TEXT: send TEXT instead of stdin */
#define OPT_BYTES 0x02u /* --bytes N: stop once N bytes arrived */
#define OPT_WAIT  0x04u /* --wait MS: how long to go on receiving */
#define OPT_COUNT 0x08u /* --count N: stop after N events */
#define OPT_PORT  0x10u /* --port N: the local port */
#define OPT_LED	  0x20u /* --led CODE=VALUE: a status event */

struct cmd_opts {
	unsigned given; /* OPT_* seen */
	const char *write;
	uint64_t bytes, count, port;
	uint32_t wait_ms; /* --wait, else --timeout */
	uint16_t led_code;
	int32_t led_value;
};

/*
 * Parses argv[0 .. argc) as the options in allowed for command name; 0, or
 * EXIT_USAGE with the error printed.
 */
int cmd_opts_parse(const struct drv_ctx *c, const char *name, int argc, char **argv,
		   unsigned allowed, struct cmd_opts *co);

/* What a streaming command sends: --write's text, else stdin. */
struct input_src {
	const char *text; /* NULL: stdin */
	size_t len, off;
	bool eof;
};

/* Sets in up from co. */
void input_src_init(struct input_src *in, const struct cmd_opts *co);
/*
 * The next bytes to send, up to cap: their count, 0 when stdin has none
 * within poll_ms, -1 at the end (in->eof set).
 */
int input_next(struct input_src *in, uint8_t *buf, size_t cap, int poll_ms);

/* Milliseconds of a monotonic clock. */
uint64_t now_ms(void);

/* The name of device ID id among the table's kinds, "other" when none. */
const char *drv_kind_name(uint32_t id);
/* The table's kind for device ID id, or NULL. */
const struct drv_kind *drv_kind_of(uint32_t id);

/* Opens the session (formats the window, waits for the device side) unless open; 0 or 1. */
int drv_session(struct drv_ctx *c);
/* Closes the session if one is open. */
void drv_session_close(struct drv_ctx *c);
/* Opens device number arg of kind on the session, brings it up with want; 0 or the exit status. */
int device_up(struct drv_ctx *c, const char *arg, const struct drv_kind *kind, uint64_t want);

/* --- the commands ----------------------------------------------------------------------- */

/* cmd_bus.c: the bus itself. */
int cmd_list(struct drv_ctx *c, int argc, char **argv);
int cmd_ping(struct drv_ctx *c, int argc, char **argv);
int cmd_exit(struct drv_ctx *c, int argc, char **argv);

/* cmd_blk.c */
extern const struct drv_kind drv_kind_blk;
int cmd_blk_read(struct drv_ctx *c, int argc, char **argv);
int cmd_blk_write(struct drv_ctx *c, int argc, char **argv);

/* cmd_rng.c */
extern const struct drv_kind drv_kind_rng;
int cmd_rng(struct drv_ctx *c, int argc, char **argv);

/* cmd_gpio.c */
extern const struct drv_kind drv_kind_gpio;
int cmd_gpio_names(struct drv_ctx *c, int argc, char **argv);
int cmd_gpio_get(struct drv_ctx *c, int argc, char **argv);
int cmd_gpio_set(struct drv_ctx *c, int argc, char **argv);
int cmd_gpio_wait(struct drv_ctx *c, int argc, char **argv);

/* cmd_i2c.c */
extern const struct drv_kind drv_kind_i2c;
int cmd_i2c_write(struct drv_ctx *c, int argc, char **argv);
int cmd_i2c_read(struct drv_ctx *c, int argc, char **argv);
int cmd_i2c_writeread(struct drv_ctx *c, int argc, char **argv);

/* cmd_console.c */
extern const struct drv_kind drv_kind_console;
int cmd_console(struct drv_ctx *c, int argc, char **argv);

/* cmd_input.c */
extern const struct drv_kind drv_kind_input;
int cmd_input(struct drv_ctx *c, int argc, char **argv);

/* cmd_vsock.c */
extern const struct drv_kind drv_kind_vsock;
int cmd_vsock_connect(struct drv_ctx *c, int argc, char **argv);
int cmd_vsock_listen(struct drv_ctx *c, int argc, char **argv);

/* cmd_sim.c: the simulated device side. */
int cmd_sim(struct drv_ctx *c, int argc, char **argv);
/*
 * Serves the simulated devices until SIGINT/SIGTERM, or until quit_fd's peer
 * closes when quit_fd >= 0 (a byte is written to ready_fd once serving).
 */
int run_sim(const struct options *o, int ready_fd, int quit_fd, bool quiet);

/* cmd_bench.c */
int cmd_bench(struct drv_ctx *c, int argc, char **argv);

#endif
