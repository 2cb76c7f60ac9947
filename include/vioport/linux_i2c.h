/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Linux i2c-dev provider for the virtio-i2c device (POSIX layer, not
 * freestanding).
 *
 * A device list names adapters and the 7-bit addresses served on each, in the
 * form vhost-device-i2c takes: "<bus>:<addr>[:<addr>]...[,<bus>:<addr>...]",
 * numbers in decimal or in hex with a 0x prefix; for example "1:0x50:0x48,3:32".
 * Bus N is the node i2c-N in dev_dir ("/dev" unless changed between parse and
 * open). Every listed address forms one virtio-i2c device: an address appears
 * once in the whole list, a bus once, the general-call address 0 never.
 *
 * Transfers:
 * - A message to an address that is not listed fails like a NACK (-ENXIO in
 *   last_err): that message and the rest of the transaction, without any
 *   ioctl; the messages before it still run.
 * - An adapter with I2C_FUNC_I2C gets consecutive messages for it in one
 *   I2C_RDWR ioctl (repeated starts kept; at most I2C_RDWR_IOCTL_MAX_MSGS per
 *   ioctl). The kernel does not say which message of a failed ioctl failed, so
 *   a failed ioctl counts none of its messages as done.
 * - An SMBus-only adapter gets each message, or a one-byte write followed by a
 *   read of the same address, as the SMBus command of the same shape (see
 *   vio_host_i2c_smbus_shape); a shape without an SMBus command, or one the
 *   adapter lacks, fails that message (-EINVAL or -EOPNOTSUPP in last_err).
 *   When the adapter lacks the write-then-read command, the write and the
 *   read go as separate commands (a stop between them instead of a repeated
 *   start), as i2c-tools does.
 * The xfer result is the number of messages done from the start; the errno of
 * the first failure is kept in last_err (NACK: -ENXIO or -EREMOTEIO, timeout:
 * -ETIMEDOUT, a kernel driver owns the address: -EBUSY).
 *
 * Threading: none inside; one instance per device, called from its thread.
 */
#ifndef VIOPORT_HOST_I2C_H
#define VIOPORT_HOST_I2C_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vioport/i2c.h"

#define VIO_HOST_I2C_MAX_ADAPTERS 16

struct vio_host_i2c_adapter {
	unsigned bus;	     /* N of /dev/i2c-N */
	int fd;		     /* -1 until opened */
	unsigned long funcs; /* I2C_FUNCS answer */
	bool smbus;	     /* no I2C_FUNC_I2C: transfers are translated to SMBus commands */
};

struct vio_host_i2c {
	struct vio_host_i2c_adapter adapters[VIO_HOST_I2C_MAX_ADAPTERS];
	unsigned nadapters;
	int8_t map[128];  /* adapter index serving each 7-bit address, -1 for none */
	char dev_dir[64]; /* where i2c-N nodes are, "/dev" by default */
	uint64_t xfers;	  /* xfer calls */
	uint64_t errors;  /* xfer calls that did not complete every message */
	int last_err;	  /* negative errno of the last failed message, 0 if none yet */
};

/* Parses a device list into h (nothing opened); returns 0 or -EINVAL with a message in err. */
int vio_host_i2c_parse(struct vio_host_i2c *h, const char *list, char *err, size_t errlen);

/* Opens every listed adapter and checks what it can do; 0 or -errno with a message in err. */
int vio_host_i2c_open(struct vio_host_i2c *h, char *err, size_t errlen);

/* Closes the adapters; safe on a parsed-only or failed struct. */
void vio_host_i2c_close(struct vio_host_i2c *h);

/* The i2c provider table over a struct vio_host_i2c context. */
extern const struct vio_i2c_ops vio_host_i2c_ops;

/* SMBus commands that carry an I2C message shape. */
enum vio_host_i2c_smbus_cmd {
	VIO_HOST_I2C_SMBUS_QUICK_WRITE = 1, /* write of 0 bytes */
	VIO_HOST_I2C_SMBUS_QUICK_READ,	    /* read of 0 bytes */
	VIO_HOST_I2C_SMBUS_SEND_BYTE,	    /* write of 1 byte */
	VIO_HOST_I2C_SMBUS_RECEIVE_BYTE,    /* read of 1 byte */
	VIO_HOST_I2C_SMBUS_WRITE_BYTE_DATA, /* write of 2 bytes: command, data */
	VIO_HOST_I2C_SMBUS_WRITE_WORD_DATA, /* write of 3 bytes: command, low, high */
	VIO_HOST_I2C_SMBUS_WRITE_I2C_BLOCK, /* write of 2..33 bytes: command, data */
	VIO_HOST_I2C_SMBUS_READ_BYTE_DATA,  /* write of 1 (command), read of 1 */
	VIO_HOST_I2C_SMBUS_READ_WORD_DATA,  /* write of 1 (command), read of 2: low, high */
	VIO_HOST_I2C_SMBUS_READ_I2C_BLOCK,  /* write of 1 (command), read of 1..32 */
};

/*
 * Picks the SMBus command that carries msgs[0], or msgs[0] and msgs[1] (a
 * one-byte write then a read of the same address), on an adapter whose
 * I2C_FUNCS answer is funcs: returns the command (> 0) and sets *used to the
 * messages it covers (1 or 2). The narrowest command wins (byte data before
 * word data before I2C block). Returns -EINVAL for n == 0 or a message no
 * SMBus command can carry, -EOPNOTSUPP when funcs lacks every command that
 * could.
 */
int vio_host_i2c_smbus_shape(const struct vio_i2c_msg *msgs, unsigned n, unsigned long funcs,
			     unsigned *used);

#endif
