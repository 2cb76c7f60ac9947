/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device cases written once, run on every transport.
 *
 * A case is a device kind and a list of steps. A request step is what a
 * driver puts on a queue (device-readable bytes out, the sizes of the
 * device-writable segments in) and what must come back (the used length, and
 * bytes at a place in the writable data, such as a status); a function step
 * drives the transport itself (config space, requests built at run time) and
 * checks with cmocka's asserts. Nothing in a case knows the transport: the
 * loopback (tests/unit/test_devcases.c, device and driver in one process),
 * vhost-user (the vioport daemon through lib/frontend) and virtio-msg (the
 * daemon with --transport vmsg through the driver library) each implement
 * struct dc_transport once, in devcase_{loopback,vu,vmsg}.c.
 *
 * Every transport serves the same simulated device state, so the expected
 * bytes hold everywhere: rng on any entropy, gpio on a simulated chip of
 * DC_GPIO_LINES lines with the default names, i2c on the simulated bus (a
 * 24c02 at 0x50 holding 0xff, an LM75 at 0x48 reading 25 C), blk on a
 * DC_BLK_BYTES disk holding dc_blk_pattern() with the serial DC_BLK_SERIAL.
 * Cases set whatever state they read (a line's direction, an EEPROM byte), so
 * they hold whether the device is fresh (loopback) or has served the cases
 * before (one daemon for a whole program).
 *
 * Writable segments start zeroed and come back whole, on every transport (the
 * virtio-msg driver zeroes its bounces), so bytes a device did not write read 0.
 */
#ifndef VIOPORT_TESTS_DEVCASE_H
#define VIOPORT_TESTS_DEVCASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DC_MAX_SEGS 4u
#define DC_USED_ANY (-1) /* dc_step.used: not checked */

#define DC_GPIO_LINES 8u
#define DC_BLK_BYTES  (1u << 20)
#define DC_BLK_SERIAL "devcase-disk"

/* Device kinds with a case set. */
enum dc_kind { DC_RNG, DC_GPIO, DC_I2C, DC_BLK, DC_CONSOLE, DC_NKINDS };

/* Bytes a case gives or expects. */
struct dc_bytes {
	const void *p;
	uint32_t len;
};

/* A driver buffer handed to a transport. */
struct dc_seg {
	void *buf;
	uint32_t len;
};

/*
 * A transport as the cases see it: one device of a kind brought up, queues
 * that take one request at a time, and its config space. Each op returns 0 (or
 * the length for complete) or -errno.
 */
struct dc_transport {
	const char *name;
	void *ctx;
	/* Brings up a device of kind with the features of want it offers (VERSION_1 added). */
	int (*open)(void *ctx, enum dc_kind kind, uint64_t want);
	/* Lets the device go (a daemon keeps it for the next open); harmless with none open. */
	void (*close)(void *ctx);
	/* Puts one request on queue q: out segments (read), then in segments (written). */
	int (*submit)(void *ctx, uint16_t q, const struct dc_seg *out, unsigned nout,
		      const struct dc_seg *in, unsigned nin);
	/* Tells the device that queue q has new requests. */
	int (*notify)(void *ctx, uint16_t q);
	/* Waits for queue q's request to be used; copies the in segments back; the used length. */
	int64_t (*complete)(void *ctx, uint16_t q);
	/* Reads len bytes of config space at off. */
	int (*config_read)(void *ctx, uint32_t off, void *buf, uint32_t len);
};

struct dc_step;

/* A step that drives the transport itself and asserts on what it sees. */
typedef void (*dc_step_fn)(const struct dc_transport *t, const struct dc_step *s);

struct dc_step {
	const char *what; /* named in a failure */
	dc_step_fn fn;	  /* set: this step is the function, the rest is its argument */
	uint16_t queue;
	struct dc_bytes out[DC_MAX_SEGS];
	unsigned nout;
	uint32_t in[DC_MAX_SEGS]; /* sizes of the writable segments */
	unsigned nin;
	int64_t used; /* the used length the device must report, or DC_USED_ANY */
	/* Bytes the writable data must hold at expect_at (negative: from its end). */
	struct dc_bytes expect;
	int32_t expect_at;
	uint32_t arg; /* for fn */
};

struct dc_case {
	const char *name;
	enum dc_kind kind;
	uint64_t features; /* asked for on open (the transport adds VERSION_1) */
	const struct dc_step *steps;
	unsigned nsteps;
};

/* A device's cases. */
struct dc_set {
	enum dc_kind kind;
	const char *device;
	const struct dc_case *cases;
	unsigned ncases;
};

/* The case sets, one per device (tests/lib/devcase_<device>.c). */
extern const struct dc_set dc_rng_set, dc_gpio_set, dc_i2c_set, dc_blk_set, dc_console_set;
/* All of them, DC_NKINDS entries in dc_kind order. */
extern const struct dc_set *const dc_sets[DC_NKINDS];

/* Queues and their count for a kind (gpio: requestq and eventq). */
uint16_t dc_kind_queues(enum dc_kind kind);

/* The byte the blk disk holds at offset: disk_pattern.h, as in it_make_image's images. */
uint8_t dc_blk_pattern(uint64_t offset);

/*
 * One request through t: submit, notify, complete. The in segments are
 * zeroed first. Returns the used length; fails the case on a transport error.
 */
int64_t dc_request(const struct dc_transport *t, uint16_t q, const struct dc_seg *out,
		   unsigned nout, const struct dc_seg *in, unsigned nin);

/*
 * Runs case c on t: open, every step, close. Fails through cmocka, which
 * leaves the device open: the program's case teardown closes it then.
 */
void dc_run_case(const struct dc_transport *t, const struct dc_case *c);

/*
 * Runs every case of every set on t as one cmocka group named group: one
 * cmocka test per case, named after it. group_setup/group_teardown (may be
 * NULL) start and stop what t needs; case_teardown (may be NULL) runs after
 * each case, also after a failure. While *skip is set, cases skip, saying why.
 * Returns the failures, as cmocka's group runner does.
 */
int dc_run_sets(const struct dc_transport *t, const char *group, int (*group_setup)(void **),
		int (*group_teardown)(void **), int (*case_teardown)(void **),
		const char *const *skip);

/* Byte lists for case tables. */
#define DC_B(...)                                                                                  \
	{                                                                                          \
		(const uint8_t[]){__VA_ARGS__}, (uint32_t) sizeof((const uint8_t[]){__VA_ARGS__})  \
	}
#define DC_LE16(v) (uint8_t)((v) &0xffu), (uint8_t) (((v) >> 8) & 0xffu)
#define DC_LE32(v) DC_LE16((v) &0xffffu), DC_LE16(((v) >> 16) & 0xffffu)
#define DC_LE64(v)                                                                                 \
	DC_LE32(0xffffffffull & (unsigned long long) (v)),                                         \
	    DC_LE32(((unsigned long long) (v) >> 32) & 0xffffffffull)
#define DC_NSTEPS(a) ((unsigned) (sizeof(a) / sizeof((a)[0])))
/* A case over a static array of steps. */
#define DC_CASE(n, k, f, steps)                                                                    \
	{                                                                                          \
		n, k, f, steps, DC_NSTEPS(steps)                                                   \
	}

#endif
