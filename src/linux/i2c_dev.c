/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-i2c provider over Linux i2c-dev adapters: I2C_RDWR, or SMBus commands. */
#include "vioport/internal/errmsg.h"
#include "vioport/linux_i2c.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/i2c-dev.h>
#include <linux/i2c.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The kernel numbers adapters with an int. */
#define HI_MAX_BUS 0x7fffffffUL
/* Longest number token quoted back in an error message. */
#define HI_TOKEN_SHOWN 24

/* Every SMBus function bit the translation can use. */
#define HI_SMBUS_USED                                                                              \
	(I2C_FUNC_SMBUS_QUICK | I2C_FUNC_SMBUS_READ_BYTE | I2C_FUNC_SMBUS_WRITE_BYTE |             \
	 I2C_FUNC_SMBUS_READ_BYTE_DATA | I2C_FUNC_SMBUS_WRITE_BYTE_DATA |                          \
	 I2C_FUNC_SMBUS_READ_WORD_DATA | I2C_FUNC_SMBUS_WRITE_WORD_DATA |                          \
	 I2C_FUNC_SMBUS_READ_I2C_BLOCK | I2C_FUNC_SMBUS_WRITE_I2C_BLOCK)

/* Empties h: no adapter, no address, default node folder. */
static void hi_reset(struct vio_host_i2c *h)
{
	memset(h, 0, sizeof(*h));
	memset(h->map, -1, sizeof(h->map));
	for (unsigned i = 0; i < VIO_HOST_I2C_MAX_ADAPTERS; i++)
		h->adapters[i].fd = -1;
	snprintf(h->dev_dir, sizeof(h->dev_dir), "/dev");
}

static int hi_digit(char c, unsigned base)
{
	int v;

	if (c >= '0' && c <= '9')
		v = c - '0';
	else if (c >= 'a' && c <= 'f')
		v = c - 'a' + 10;
	else if (c >= 'A' && c <= 'F')
		v = c - 'A' + 10;
	else
		return -1;
	return v < (int) base ? v : -1;
}

/*
 * Reads the number in s[0 .. len): decimal, or hex after 0x. Signs, spaces and
 * empty digits are refused so that a typo never turns into a different address.
 */
static int hi_number(const char *s, size_t len, unsigned long max, unsigned long *out)
{
	unsigned base = 10;
	unsigned long v = 0;

	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
		len -= 2;
	}
	if (len == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int d = hi_digit(s[i], base);

		if (d < 0 || v > (max - (unsigned long) d) / base)
			return -1;
		v = v * base + (unsigned long) d;
	}
	*out = v;
	return 0;
}

/* Parses the token at *p (up to the next ':' or ',') and moves *p past it. */
static int hi_token(const char **p, const char *what, unsigned long max, unsigned long *out,
		    char *err, size_t errlen)
{
	const char *s = *p;
	size_t len = strcspn(s, ":,");

	*p = s + len;
	if (len == 0) {
		vio_errmsg(err, errlen,
			   "i2c device list: empty %s (expected <bus>:<addr>[:<addr>]...)", what);
		return -EINVAL;
	}
	if (hi_number(s, len, max, out) < 0) {
		vio_errmsg(err, errlen,
			   "i2c device list: bad %s \"%.*s%s\" (a decimal number, or hex after 0x)",
			   what, (int) (len < HI_TOKEN_SHOWN ? len : HI_TOKEN_SHOWN), s,
			   len > HI_TOKEN_SHOWN ? "..." : "");
		return -EINVAL;
	}
	return 0;
}

/* Parses one "<bus>:<addr>[:<addr>]..." entry at *p into a new adapter. */
static int hi_entry(struct vio_host_i2c *h, const char **p, char *err, size_t errlen)
{
	unsigned long bus, addr;
	unsigned idx;

	if (hi_token(p, "bus number", HI_MAX_BUS, &bus, err, errlen) < 0)
		return -EINVAL;
	for (unsigned i = 0; i < h->nadapters; i++) {
		if (h->adapters[i].bus == bus) {
			vio_errmsg(err, errlen, "i2c device list: bus %lu is listed twice", bus);
			return -EINVAL;
		}
	}
	if (h->nadapters == VIO_HOST_I2C_MAX_ADAPTERS) {
		vio_errmsg(err, errlen, "i2c device list: more than %u buses",
			   VIO_HOST_I2C_MAX_ADAPTERS);
		return -EINVAL;
	}
	if (**p != ':') {
		vio_errmsg(err, errlen,
			   "i2c device list: bus %lu has no address (expected %lu:<addr>)", bus,
			   bus);
		return -EINVAL;
	}
	idx = h->nadapters++;
	h->adapters[idx].bus = (unsigned) bus;
	while (**p == ':') {
		(*p)++;
		if (hi_token(p, "address", ~0UL, &addr, err, errlen) < 0)
			return -EINVAL;
		if (addr == 0 || addr > 0x7f) {
			vio_errmsg(err, errlen,
				   "i2c device list: address %lu (0x%lx) on bus %lu is not a 7-bit "
				   "device address (1..127, 0 is the general call)",
				   addr, addr, bus);
			return -EINVAL;
		}
		if (h->map[addr] >= 0) {
			vio_errmsg(
			    err, errlen,
			    "i2c device list: address 0x%02lx is listed twice (bus %u and bus %lu)",
			    addr, h->adapters[h->map[addr]].bus, bus);
			return -EINVAL;
		}
		h->map[addr] = (int8_t) idx;
	}
	return 0;
}

int vio_host_i2c_parse(struct vio_host_i2c *h, const char *list, char *err, size_t errlen)
{
	const char *p = list;

	hi_reset(h);
	if (list == NULL || *list == '\0') {
		vio_errmsg(err, errlen,
			   "i2c device list is empty (expected <bus>:<addr>[:<addr>]...[,...])");
		return -EINVAL;
	}
	for (;;) {
		if (hi_entry(h, &p, err, errlen) < 0) {
			hi_reset(h); /* a half-parsed list must not be served */
			return -EINVAL;
		}
		if (*p == '\0')
			return 0;
		p++; /* the ',' before the next entry */
	}
}

void vio_host_i2c_close(struct vio_host_i2c *h)
{
	for (unsigned i = 0; i < h->nadapters && i < VIO_HOST_I2C_MAX_ADAPTERS; i++) {
		if (h->adapters[i].fd >= 0)
			close(h->adapters[i].fd);
		h->adapters[i].fd = -1;
	}
}

static int hi_open_one(struct vio_host_i2c *h, struct vio_host_i2c_adapter *a, char *err,
		       size_t errlen)
{
	char path[sizeof(h->dev_dir) + 32];
	unsigned long funcs = 0;
	int fd, n, e;

	n = snprintf(path, sizeof(path), "%.*s/i2c-%u", (int) sizeof(h->dev_dir), h->dev_dir,
		     a->bus);
	if (n < 0 || (size_t) n >= sizeof(path)) {
		vio_errmsg(err, errlen, "i2c bus %u: node path too long", a->bus);
		return -ENAMETOOLONG;
	}
	fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		e = errno;
		vio_errmsg(err, errlen, "i2c bus %u: cannot open %s: %s%s", a->bus, path,
			   strerror(e), e == ENOENT ? " (is the i2c-dev module loaded?)" : "");
		return -e;
	}
	if (ioctl(fd, I2C_FUNCS, &funcs) < 0) {
		e = errno;
		close(fd);
		vio_errmsg(err, errlen, "i2c bus %u: %s is not an i2c-dev adapter (I2C_FUNCS: %s)",
			   a->bus, path, strerror(e));
		return -e;
	}
	if (!(funcs & I2C_FUNC_I2C) && !(funcs & HI_SMBUS_USED)) {
		close(fd);
		vio_errmsg(err, errlen,
			   "i2c bus %u: %s can do neither plain I2C transfers (I2C_FUNC_I2C) nor "
			   "any SMBus command (functionality 0x%lx)",
			   a->bus, path, funcs);
		return -EOPNOTSUPP;
	}
	a->fd = fd;
	a->funcs = funcs;
	a->smbus = !(funcs & I2C_FUNC_I2C);
	return 0;
}

int vio_host_i2c_open(struct vio_host_i2c *h, char *err, size_t errlen)
{
	if (h->nadapters == 0 || h->nadapters > VIO_HOST_I2C_MAX_ADAPTERS) {
		vio_errmsg(err, errlen, "i2c: no adapter to open (parse a device list first)");
		return -EINVAL;
	}
	for (unsigned i = 0; i < h->nadapters; i++) {
		int r;

		if (h->adapters[i].fd >= 0)
			continue;
		r = hi_open_one(h, &h->adapters[i], err, errlen);
		if (r < 0) {
			vio_host_i2c_close(h);
			return r;
		}
	}
	return 0;
}

/* The narrowest command the adapter has for a write of 1 then a read of rlen. */
static int hi_shape_wr(uint32_t rlen, unsigned long funcs)
{
	if (rlen == 1 && (funcs & I2C_FUNC_SMBUS_READ_BYTE_DATA))
		return VIO_HOST_I2C_SMBUS_READ_BYTE_DATA;
	if (rlen == 2 && (funcs & I2C_FUNC_SMBUS_READ_WORD_DATA))
		return VIO_HOST_I2C_SMBUS_READ_WORD_DATA;
	if (rlen >= 1 && rlen <= I2C_SMBUS_BLOCK_MAX && (funcs & I2C_FUNC_SMBUS_READ_I2C_BLOCK))
		return VIO_HOST_I2C_SMBUS_READ_I2C_BLOCK;
	return -EOPNOTSUPP;
}

/* The command for one message alone: -EINVAL when none has its shape. */
static int hi_shape_one(const struct vio_i2c_msg *m, unsigned long funcs)
{
	int cmd;
	unsigned long need;

	if (m->flags & VIO_I2C_MSG_RD) {
		if (m->len > 1)
			return -EINVAL; /* a read without a command byte has no SMBus form */
		cmd = m->len == 0 ? VIO_HOST_I2C_SMBUS_QUICK_READ : VIO_HOST_I2C_SMBUS_RECEIVE_BYTE;
		need = m->len == 0 ? I2C_FUNC_SMBUS_QUICK : I2C_FUNC_SMBUS_READ_BYTE;
		return (funcs & need) ? cmd : -EOPNOTSUPP;
	}
	switch (m->len) {
	case 0:
		return (funcs & I2C_FUNC_SMBUS_QUICK) ? VIO_HOST_I2C_SMBUS_QUICK_WRITE
						      : -EOPNOTSUPP;
	case 1:
		return (funcs & I2C_FUNC_SMBUS_WRITE_BYTE) ? VIO_HOST_I2C_SMBUS_SEND_BYTE
							   : -EOPNOTSUPP;
	case 2:
		if (funcs & I2C_FUNC_SMBUS_WRITE_BYTE_DATA)
			return VIO_HOST_I2C_SMBUS_WRITE_BYTE_DATA;
		break;
	case 3:
		if (funcs & I2C_FUNC_SMBUS_WRITE_WORD_DATA)
			return VIO_HOST_I2C_SMBUS_WRITE_WORD_DATA;
		break;
	default:
		if (m->len > I2C_SMBUS_BLOCK_MAX + 1u)
			return -EINVAL;
		break;
	}
	return (funcs & I2C_FUNC_SMBUS_WRITE_I2C_BLOCK) ? VIO_HOST_I2C_SMBUS_WRITE_I2C_BLOCK
							: -EOPNOTSUPP;
}

int vio_host_i2c_smbus_shape(const struct vio_i2c_msg *msgs, unsigned n, unsigned long funcs,
			     unsigned *used)
{
	int cmd;

	if (msgs == NULL || n == 0)
		return -EINVAL;
	if (n >= 2 && !(msgs[0].flags & VIO_I2C_MSG_RD) && msgs[0].len == 1 &&
	    (msgs[1].flags & VIO_I2C_MSG_RD) && msgs[1].addr == msgs[0].addr && msgs[1].len >= 1 &&
	    msgs[1].len <= I2C_SMBUS_BLOCK_MAX) {
		cmd = hi_shape_wr(msgs[1].len, funcs);
		if (cmd > 0) {
			if (used != NULL)
				*used = 2;
			return cmd;
		}
		/* no combined command: the write goes alone, the read on its own after */
	}
	cmd = hi_shape_one(&msgs[0], funcs);
	if (cmd > 0 && used != NULL)
		*used = 1;
	return cmd;
}

static int hi_smbus_ioctl(int fd, uint8_t rw, uint8_t command, uint32_t size,
			  union i2c_smbus_data *data)
{
	struct i2c_smbus_ioctl_data args = {
	    .read_write = rw,
	    .command = command,
	    .size = size,
	    .data = data,
	};

	return ioctl(fd, I2C_SMBUS, &args) < 0 ? -errno : 0;
}

/* Runs one SMBus command for msgs[0] (and msgs[1]); 0 or -errno. */
static int hi_smbus_run(int fd, int cmd, const struct vio_i2c_msg *msgs)
{
	union i2c_smbus_data d;
	const uint8_t *w = msgs[0].buf;
	uint32_t wl = msgs[0].len;
	int r;

	memset(&d, 0, sizeof(d));
	if (ioctl(fd, I2C_SLAVE, (unsigned long) msgs[0].addr) < 0)
		return -errno;
	switch (cmd) {
	case VIO_HOST_I2C_SMBUS_QUICK_WRITE:
		return hi_smbus_ioctl(fd, I2C_SMBUS_WRITE, 0, I2C_SMBUS_QUICK, NULL);
	case VIO_HOST_I2C_SMBUS_QUICK_READ:
		return hi_smbus_ioctl(fd, I2C_SMBUS_READ, 0, I2C_SMBUS_QUICK, NULL);
	case VIO_HOST_I2C_SMBUS_SEND_BYTE:
		/* the data byte travels in the command field */
		return hi_smbus_ioctl(fd, I2C_SMBUS_WRITE, w[0], I2C_SMBUS_BYTE, NULL);
	case VIO_HOST_I2C_SMBUS_RECEIVE_BYTE:
		r = hi_smbus_ioctl(fd, I2C_SMBUS_READ, 0, I2C_SMBUS_BYTE, &d);
		if (r == 0)
			msgs[0].buf[0] = d.byte;
		return r;
	case VIO_HOST_I2C_SMBUS_WRITE_BYTE_DATA:
		d.byte = w[1];
		return hi_smbus_ioctl(fd, I2C_SMBUS_WRITE, w[0], I2C_SMBUS_BYTE_DATA, &d);
	case VIO_HOST_I2C_SMBUS_WRITE_WORD_DATA:
		/* SMBus sends the low byte first, as the message has them */
		d.word = (uint16_t) (w[1] | (uint16_t) w[2] << 8);
		return hi_smbus_ioctl(fd, I2C_SMBUS_WRITE, w[0], I2C_SMBUS_WORD_DATA, &d);
	case VIO_HOST_I2C_SMBUS_WRITE_I2C_BLOCK:
		d.block[0] = (uint8_t) (wl - 1);
		memcpy(&d.block[1], &w[1], wl - 1);
		return hi_smbus_ioctl(fd, I2C_SMBUS_WRITE, w[0], I2C_SMBUS_I2C_BLOCK_DATA, &d);
	case VIO_HOST_I2C_SMBUS_READ_BYTE_DATA:
		r = hi_smbus_ioctl(fd, I2C_SMBUS_READ, w[0], I2C_SMBUS_BYTE_DATA, &d);
		if (r == 0)
			msgs[1].buf[0] = d.byte;
		return r;
	case VIO_HOST_I2C_SMBUS_READ_WORD_DATA:
		r = hi_smbus_ioctl(fd, I2C_SMBUS_READ, w[0], I2C_SMBUS_WORD_DATA, &d);
		if (r == 0) {
			msgs[1].buf[0] = (uint8_t) (d.word & 0xffu);
			msgs[1].buf[1] = (uint8_t) (d.word >> 8);
		}
		return r;
	case VIO_HOST_I2C_SMBUS_READ_I2C_BLOCK:
		d.block[0] = (uint8_t) msgs[1].len; /* how many bytes to read */
		r = hi_smbus_ioctl(fd, I2C_SMBUS_READ, w[0], I2C_SMBUS_I2C_BLOCK_DATA, &d);
		if (r == 0 && d.block[0] < msgs[1].len)
			r = -EIO; /* the adapter gave fewer bytes: refuse a short read */
		if (r == 0)
			memcpy(msgs[1].buf, &d.block[1], msgs[1].len);
		return r;
	default:
		return -EINVAL;
	}
}

/* Runs msgs[0 .. n) (all on adapter a) as SMBus commands; returns how many were done. */
static unsigned hi_xfer_smbus(struct vio_host_i2c *h, const struct vio_host_i2c_adapter *a,
			      const struct vio_i2c_msg *msgs, unsigned n)
{
	unsigned done = 0;

	while (done < n) {
		unsigned used = 0;
		int cmd = vio_host_i2c_smbus_shape(&msgs[done], n - done, a->funcs, &used);
		int r = cmd > 0 ? hi_smbus_run(a->fd, cmd, &msgs[done]) : cmd;

		if (r < 0) {
			h->last_err = r;
			break;
		}
		done += used;
	}
	return done;
}

/* Runs msgs[0 .. n) (all on adapter a) through I2C_RDWR; returns how many were done. */
static unsigned hi_xfer_rdwr(struct vio_host_i2c *h, const struct vio_host_i2c_adapter *a,
			     const struct vio_i2c_msg *msgs, unsigned n)
{
	struct i2c_msg km[I2C_RDWR_IOCTL_MAX_MSGS];
	unsigned done = 0;

	while (done < n) {
		struct i2c_rdwr_ioctl_data data = {.msgs = km, .nmsgs = 0};
		int r;

		while (done + data.nmsgs < n && data.nmsgs < I2C_RDWR_IOCTL_MAX_MSGS) {
			const struct vio_i2c_msg *m = &msgs[done + data.nmsgs];

			if (m->len > UINT16_MAX)
				break; /* i2c_msg cannot say it: fails below, after the rest */
			km[data.nmsgs].addr = m->addr;
			km[data.nmsgs].flags = (m->flags & VIO_I2C_MSG_RD) ? I2C_M_RD : 0;
			km[data.nmsgs].len = (uint16_t) m->len;
			km[data.nmsgs].buf = (void *) m->buf;
			data.nmsgs++;
		}
		if (data.nmsgs == 0) {
			h->last_err = -EMSGSIZE;
			break;
		}
		r = ioctl(a->fd, I2C_RDWR, &data);
		if (r < 0) {
			h->last_err = -errno;
			break;
		}
		if ((unsigned) r < data.nmsgs) {
			/* the kernel claims a partial transfer: trust the prefix it names */
			done += (unsigned) r;
			h->last_err = -EIO;
			break;
		}
		done += data.nmsgs;
	}
	return done;
}

static int hi_xfer(void *ctx, const struct vio_i2c_msg *msgs, unsigned n)
{
	struct vio_host_i2c *h = ctx;
	unsigned lim = n, done = 0;

	h->xfers++;
	/* an unlisted address fails like a NACK: nothing from it on reaches a bus */
	for (unsigned i = 0; i < n; i++) {
		if (msgs[i].addr > 0x7f || h->map[msgs[i].addr] < 0 ||
		    (unsigned) h->map[msgs[i].addr] >= h->nadapters) {
			lim = i;
			break;
		}
	}
	while (done < lim) {
		const struct vio_host_i2c_adapter *a = &h->adapters[h->map[msgs[done].addr]];
		unsigned run = 1, got;

		/* consecutive messages on one adapter go together, keeping repeated starts */
		while (done + run < lim && h->map[msgs[done + run].addr] == h->map[msgs[done].addr])
			run++;
		if (a->fd < 0) {
			h->last_err = -EBADF;
			break;
		}
		got = a->smbus ? hi_xfer_smbus(h, a, &msgs[done], run)
			       : hi_xfer_rdwr(h, a, &msgs[done], run);
		done += got;
		if (got < run)
			break;
	}
	if (done == lim && lim < n)
		h->last_err = -ENXIO;
	if (done < n)
		h->errors++;
	return (int) done;
}

const struct vio_i2c_ops vio_host_i2c_ops = {
    .xfer = hi_xfer,
};
