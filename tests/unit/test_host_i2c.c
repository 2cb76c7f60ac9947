/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * i2c-dev provider: the device-list parser and each of its errors, open
 * failures on nodes that are missing or are not adapters, the address check
 * of xfer, and the choice of SMBus command for each message shape.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/i2c.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h> /* after the headers it needs */

#include "vioport/linux_i2c.h"

#define SMBUS_ALL                                                                                  \
	(I2C_FUNC_SMBUS_QUICK | I2C_FUNC_SMBUS_BYTE | I2C_FUNC_SMBUS_BYTE_DATA |                   \
	 I2C_FUNC_SMBUS_WORD_DATA | I2C_FUNC_SMBUS_I2C_BLOCK)

static void assert_empty(const struct vio_host_i2c *h)
{
	assert_int_equal(h->nadapters, 0);
	for (unsigned a = 0; a < 128; a++)
		assert_int_equal(h->map[a], -1);
	for (unsigned i = 0; i < VIO_HOST_I2C_MAX_ADAPTERS; i++)
		assert_int_equal(h->adapters[i].fd, -1);
}

static void test_parse_one(void **state)
{
	struct vio_host_i2c h;
	char err[128] = "";

	(void) state;
	assert_int_equal(vio_host_i2c_parse(&h, "1:0x50", err, sizeof(err)), 0);
	assert_int_equal(h.nadapters, 1);
	assert_int_equal(h.adapters[0].bus, 1);
	assert_int_equal(h.adapters[0].fd, -1);
	assert_string_equal(h.dev_dir, "/dev");
	for (unsigned a = 0; a < 128; a++)
		assert_int_equal(h.map[a], a == 0x50 ? 0 : -1);
	assert_int_equal(h.xfers, 0);
	assert_int_equal(h.errors, 0);
	vio_host_i2c_close(&h);
}

static void test_parse_several(void **state)
{
	struct vio_host_i2c h;
	char err[128] = "";
	unsigned listed = 0;

	(void) state;
	assert_int_equal(
	    vio_host_i2c_parse(&h, "1:80:0x48,3:0X20:127:0x7e,0x0a:1", err, sizeof(err)), 0);
	assert_int_equal(h.nadapters, 3);
	assert_int_equal(h.adapters[0].bus, 1);
	assert_int_equal(h.adapters[1].bus, 3);
	assert_int_equal(h.adapters[2].bus, 10);
	assert_int_equal(h.map[80], 0);
	assert_int_equal(h.map[0x48], 0);
	assert_int_equal(h.map[0x20], 1);
	assert_int_equal(h.map[127], 1);
	assert_int_equal(h.map[0x7e], 1);
	assert_int_equal(h.map[1], 2);
	for (unsigned a = 0; a < 128; a++)
		listed += h.map[a] >= 0;
	assert_int_equal(listed, 6);
	vio_host_i2c_close(&h);
}

/* Decimal with leading zeros stays decimal, not octal; hex digits in either case. */
static void test_parse_number_forms(void **state)
{
	struct vio_host_i2c h;

	(void) state;
	assert_int_equal(vio_host_i2c_parse(&h, "007:010:0x1F:0x1a", NULL, 0), 0);
	assert_int_equal(h.adapters[0].bus, 7);
	assert_int_equal(h.map[10], 0);
	assert_int_equal(h.map[8], -1);
	assert_int_equal(h.map[0x1f], 0);
	assert_int_equal(h.map[0x1a], 0);
	assert_int_equal(vio_host_i2c_parse(&h, "2147483647:0x7f", NULL, 0), 0);
	assert_int_equal(h.adapters[0].bus, 2147483647u);
}

static void test_parse_max_adapters(void **state)
{
	struct vio_host_i2c h;
	char list[512] = "", err[128] = "";
	size_t off = 0;

	(void) state;
	for (unsigned i = 0; i < VIO_HOST_I2C_MAX_ADAPTERS; i++)
		off += (size_t) snprintf(list + off, sizeof(list) - off, "%s%u:%u", i ? "," : "", i,
					 i + 1);
	assert_int_equal(vio_host_i2c_parse(&h, list, err, sizeof(err)), 0);
	assert_int_equal(h.nadapters, VIO_HOST_I2C_MAX_ADAPTERS);
	assert_int_equal(h.map[VIO_HOST_I2C_MAX_ADAPTERS], VIO_HOST_I2C_MAX_ADAPTERS - 1);

	/* one more bus is refused, and nothing of the list is kept */
	snprintf(list + off, sizeof(list) - off, ",99:100");
	assert_int_equal(vio_host_i2c_parse(&h, list, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "more than 16 buses"));
	assert_empty(&h);
}

struct bad_list {
	const char *list;
	const char *why; /* expected in the message */
};

static const struct bad_list bad_lists[] = {
    {"", "empty"},
    {"1", "bus 1 has no address"},
    {"1:", "empty address"},
    {":5", "empty bus number"},
    {"1:5,", "empty bus number"},
    {",1:5", "empty bus number"},
    {"1:5,,2:6", "empty bus number"},
    {"1::5", "empty address"},
    {"1:5:", "empty address"},
    {"1:5,2", "bus 2 has no address"},
    {"1:0", "general call"},
    {"1:0x00", "general call"},
    {"1:128", "not a 7-bit"},
    {"1:0x80", "not a 7-bit"},
    {"1:65536", "not a 7-bit"},
    {"1:99999999999999999999999", "bad address"},
    {"99999999999999999999:5", "bad bus number"},
    {"2147483648:5", "bad bus number"},
    {"1:0x", "bad address \"0x\""},
    {"0x:5", "bad bus number"},
    {"x:5", "bad bus number \"x\""},
    {"1:5x", "bad address \"5x\""},
    {"1:0x1g", "bad address"},
    {"1:-5", "bad address"},
    {"-1:5", "bad bus number"},
    {"+1:5", "bad bus number"},
    {"1:+5", "bad address"},
    {"1: 5", "bad address \" 5\""},
    {" 1:5", "bad bus number"},
    {"1:5 ", "bad address \"5 \""},
    {"1 :5", "bad bus number \"1 \""},
    {"1:5, 2:6", "bad bus number \" 2\""},
    {"1:5\n", "bad address"},
    {"1;5", "bad bus number"},
    {"1:5.0", "bad address"},
    {"1:5,2:5", "address 0x05 is listed twice (bus 1 and bus 2)"},
    {"1:5:0x05", "address 0x05 is listed twice (bus 1 and bus 1)"},
    {"1:5,2:6,3:0x50:6", "address 0x06 is listed twice"},
    {"1:5,1:6", "bus 1 is listed twice"},
    {"1:5,0x1:6", "bus 1 is listed twice"},
    {"1:5,2:6,01:7", "bus 1 is listed twice"},
};

static void test_parse_errors(void **state)
{
	(void) state;
	for (size_t i = 0; i < sizeof(bad_lists) / sizeof(bad_lists[0]); i++) {
		struct vio_host_i2c h;
		char err[160] = "";

		assert_int_equal(vio_host_i2c_parse(&h, bad_lists[i].list, err, sizeof(err)),
				 -EINVAL);
		if (strstr(err, bad_lists[i].why) == NULL)
			fail_msg("list \"%s\": message \"%s\" lacks \"%s\"", bad_lists[i].list, err,
				 bad_lists[i].why);
		assert_empty(&h);
		vio_host_i2c_close(&h); /* safe on a failed parse */
	}
}

/* A failed parse after a good one leaves nothing of either. */
static void test_parse_error_resets(void **state)
{
	struct vio_host_i2c h;
	char err[8];

	(void) state;
	assert_int_equal(vio_host_i2c_parse(&h, "1:5", NULL, 0), 0);
	assert_int_equal(vio_host_i2c_parse(&h, NULL, NULL, 0), -EINVAL);
	assert_empty(&h);
	/* a short message buffer is cut, never overrun */
	memset(err, 'z', sizeof(err));
	assert_int_equal(vio_host_i2c_parse(&h, "1:5,1:6", err, sizeof(err)), -EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	/* a huge token is quoted shortened */
	char big[200], msg[128];

	memset(big, '9', sizeof(big));
	big[0] = '1';
	big[1] = ':';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(vio_host_i2c_parse(&h, big, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, "...\""));
}

struct tmpdir {
	char path[64];
};

static void tmp_make(struct tmpdir *t)
{
	snprintf(t->path, sizeof(t->path), "/tmp/vio-i2c-XXXXXX");
	assert_non_null(mkdtemp(t->path));
}

static void tmp_node(const struct tmpdir *t, const char *name, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", t->path, name);
}

static void tmp_remove(const struct tmpdir *t, const char *const *names, unsigned n)
{
	char p[128];

	for (unsigned i = 0; i < n; i++) {
		tmp_node(t, names[i], p, sizeof(p));
		unlink(p);
	}
	assert_int_equal(rmdir(t->path), 0);
}

static void test_open_missing_node(void **state)
{
	struct vio_host_i2c h;
	struct tmpdir t;
	char err[256] = "";

	(void) state;
	tmp_make(&t);
	assert_int_equal(vio_host_i2c_parse(&h, "3:0x50", err, sizeof(err)), 0);
	snprintf(h.dev_dir, sizeof(h.dev_dir), "%s", t.path);
	assert_int_equal(vio_host_i2c_open(&h, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "i2c bus 3: cannot open"));
	assert_non_null(strstr(err, "/i2c-3"));
	assert_non_null(strstr(err, t.path));
	assert_int_equal(h.adapters[0].fd, -1);
	vio_host_i2c_close(&h);
	tmp_remove(&t, NULL, 0);
}

/* Regular files and /dev/null open, but answer I2C_FUNCS with ENOTTY. */
static void test_open_not_an_adapter(void **state)
{
	static const char *const names[] = {"i2c-4", "i2c-5"};
	struct vio_host_i2c h;
	struct tmpdir t;
	char err[256] = "", p[128];
	int fd;

	(void) state;
	tmp_make(&t);
	tmp_node(&t, "i2c-4", p, sizeof(p));
	fd = open(p, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	tmp_node(&t, "i2c-5", p, sizeof(p));
	assert_int_equal(symlink("/dev/null", p), 0);

	assert_int_equal(vio_host_i2c_parse(&h, "4:0x50", err, sizeof(err)), 0);
	snprintf(h.dev_dir, sizeof(h.dev_dir), "%s", t.path);
	assert_int_equal(vio_host_i2c_open(&h, err, sizeof(err)), -ENOTTY);
	assert_non_null(strstr(err, "i2c bus 4:"));
	assert_non_null(strstr(err, "is not an i2c-dev adapter (I2C_FUNCS:"));
	assert_int_equal(h.adapters[0].fd, -1);

	assert_int_equal(vio_host_i2c_parse(&h, "5:0x50:0x51", err, sizeof(err)), 0);
	snprintf(h.dev_dir, sizeof(h.dev_dir), "%s", t.path);
	assert_int_equal(vio_host_i2c_open(&h, err, sizeof(err)), -ENOTTY);
	assert_non_null(strstr(err, "i2c bus 5:"));
	assert_non_null(strstr(err, "not an i2c-dev adapter"));
	assert_int_equal(h.adapters[0].fd, -1);

	/* the first adapter fails: the ones after it are never opened */
	assert_int_equal(vio_host_i2c_parse(&h, "6:1,5:2", err, sizeof(err)), 0);
	snprintf(h.dev_dir, sizeof(h.dev_dir), "%s", t.path);
	assert_int_equal(vio_host_i2c_open(&h, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "i2c bus 6:"));
	assert_int_equal(h.adapters[0].fd, -1);
	assert_int_equal(h.adapters[1].fd, -1);
	vio_host_i2c_close(&h);
	tmp_remove(&t, names, 2);
}

static void test_open_nothing_parsed(void **state)
{
	struct vio_host_i2c h;
	char err[128] = "";

	(void) state;
	assert_int_equal(vio_host_i2c_parse(&h, "", NULL, 0), -EINVAL);
	assert_int_equal(vio_host_i2c_open(&h, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "no adapter"));
	vio_host_i2c_close(&h);
	memset(&h, 0, sizeof(h)); /* a zeroed struct: its fd 0 is not one of ours */
	int before = fcntl(0, F_GETFD);

	vio_host_i2c_close(&h);
	if (before >= 0)
		assert_true(fcntl(0, F_GETFD) >= 0);
}

/*
 * Adapter 0 is /dev/null posing as an opened adapter: any ioctl on it fails
 * with ENOTTY, so last_err tells whether the provider reached the ioctl.
 */
static void null_adapter(struct vio_host_i2c *h, bool smbus)
{
	assert_int_equal(vio_host_i2c_parse(h, "1:0x50:0x51,2:0x48", NULL, 0), 0);
	h->adapters[0].fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(h->adapters[0].fd >= 0);
	h->adapters[0].funcs = smbus ? SMBUS_ALL : (I2C_FUNC_I2C | SMBUS_ALL);
	h->adapters[0].smbus = smbus;
}

static int xfer(struct vio_host_i2c *h, const struct vio_i2c_msg *m, unsigned n)
{
	return vio_host_i2c_ops.xfer(h, m, n);
}

static void test_xfer_address_check(void **state)
{
	struct vio_host_i2c h;
	uint8_t b[4] = {1, 2, 3, 4};
	struct vio_i2c_msg m[3] = {
	    {.addr = 0x52, .flags = 0, .len = 1, .buf = b},
	    {.addr = 0x50, .flags = VIO_I2C_MSG_RD, .len = 2, .buf = b},
	    {.addr = 0x50, .flags = 0, .len = 0, .buf = NULL},
	};

	(void) state;
	null_adapter(&h, false);

	/* unlisted first: fails at once, no ioctl */
	assert_int_equal(xfer(&h, m, 3), 0);
	assert_int_equal(h.last_err, -ENXIO);
	assert_int_equal(h.xfers, 1);
	assert_int_equal(h.errors, 1);

	/* a listed address reaches the (fake) adapter: its ioctl error shows */
	assert_int_equal(xfer(&h, &m[1], 2), 0);
	assert_int_equal(h.last_err, -ENOTTY);
	assert_int_equal(h.errors, 2);

	/* a listed then an unlisted address: the ioctl runs for the first only */
	m[0].addr = 0x50;
	m[1].addr = 0x47;
	h.last_err = 0;
	assert_int_equal(xfer(&h, m, 2), 0);
	assert_int_equal(h.last_err, -ENOTTY);

	/* an unlisted address in front of listed ones stops before any ioctl */
	m[0].addr = 0x7f;
	m[1].addr = 0x50;
	assert_int_equal(xfer(&h, m, 3), 0);
	assert_int_equal(h.last_err, -ENXIO);

	/* no 7-bit address: refused the same way */
	m[0].addr = 0x150;
	assert_int_equal(xfer(&h, m, 1), 0);
	assert_int_equal(h.last_err, -ENXIO);

	/* listed on an adapter that is not open */
	m[0].addr = 0x48;
	assert_int_equal(xfer(&h, m, 1), 0);
	assert_int_equal(h.last_err, -EBADF);

	/* nothing to do is not an error */
	h.last_err = 0;
	assert_int_equal(xfer(&h, m, 0), 0);
	assert_int_equal(h.last_err, 0);
	assert_int_equal(h.xfers, 7);
	assert_int_equal(h.errors, 6);

	vio_host_i2c_close(&h);
	assert_int_equal(h.adapters[0].fd, -1);
	vio_host_i2c_close(&h); /* twice is fine */
}

/* An SMBus adapter refuses shapes without a command before touching the adapter. */
static void test_xfer_smbus_shapes(void **state)
{
	struct vio_host_i2c h;
	uint8_t b[40] = {0};
	struct vio_i2c_msg m[2] = {
	    {.addr = 0x51, .flags = 0, .len = 40, .buf = b},
	    {.addr = 0x51, .flags = VIO_I2C_MSG_RD, .len = 1, .buf = b},
	};

	(void) state;
	null_adapter(&h, true);
	assert_int_equal(xfer(&h, m, 2), 0);
	assert_int_equal(h.last_err, -EINVAL);

	m[0].flags = VIO_I2C_MSG_RD;
	m[0].len = 5;
	assert_int_equal(xfer(&h, m, 1), 0);
	assert_int_equal(h.last_err, -EINVAL);

	h.adapters[0].funcs = I2C_FUNC_SMBUS_QUICK;
	m[0].len = 1;
	assert_int_equal(xfer(&h, m, 1), 0);
	assert_int_equal(h.last_err, -EOPNOTSUPP);

	/* a shape it has: the ioctl runs (and fails on /dev/null) */
	m[0].len = 0;
	assert_int_equal(xfer(&h, m, 1), 0);
	assert_int_equal(h.last_err, -ENOTTY);
	assert_int_equal(h.errors, 4);
	vio_host_i2c_close(&h);
}

struct shape_case {
	uint32_t wlen;	 /* first message: a write of wlen, or a read when wlen is ~0 */
	uint32_t rlen;	 /* second message: a read of rlen, none when ~0 */
	bool other_addr; /* the read goes to another address */
	unsigned long funcs;
	int want; /* command or negative errno */
	unsigned used;
};

#define NONE  UINT32_MAX
#define WBD   I2C_FUNC_SMBUS_WRITE_BYTE_DATA
#define RBD   I2C_FUNC_SMBUS_READ_BYTE_DATA
#define RWD   I2C_FUNC_SMBUS_READ_WORD_DATA
#define WWD   I2C_FUNC_SMBUS_WRITE_WORD_DATA
#define RIB   I2C_FUNC_SMBUS_READ_I2C_BLOCK
#define WIB   I2C_FUNC_SMBUS_WRITE_I2C_BLOCK
#define SEND  I2C_FUNC_SMBUS_WRITE_BYTE
#define RECV  I2C_FUNC_SMBUS_READ_BYTE
#define QUICK I2C_FUNC_SMBUS_QUICK

static const struct shape_case shapes[] = {
    /* every shape with every function present */
    {0, NONE, false, SMBUS_ALL, VIO_HOST_I2C_SMBUS_QUICK_WRITE, 1},
    {NONE, 0, false, SMBUS_ALL, VIO_HOST_I2C_SMBUS_QUICK_READ, 1},
    {NONE, 1, false, SMBUS_ALL, VIO_HOST_I2C_SMBUS_RECEIVE_BYTE, 1},
    {1, NONE, false, SMBUS_ALL, VIO_HOST_I2C_SMBUS_SEND_BYTE, 1},
    {2, NONE, false, SMBUS_ALL, VIO_HOST_I2C_SMBUS_WRITE_BYTE_DATA, 1},
    {3, NONE, false, SMBUS_ALL, VIO_HOST_I2C_SMBUS_WRITE_WORD_DATA, 1},
    {4, NONE, false, SMBUS_ALL, VIO_HOST_I2C_SMBUS_WRITE_I2C_BLOCK, 1},
    {33, NONE, false, SMBUS_ALL, VIO_HOST_I2C_SMBUS_WRITE_I2C_BLOCK, 1},
    {1, 1, false, SMBUS_ALL, VIO_HOST_I2C_SMBUS_READ_BYTE_DATA, 2},
    {1, 2, false, SMBUS_ALL, VIO_HOST_I2C_SMBUS_READ_WORD_DATA, 2},
    {1, 3, false, SMBUS_ALL, VIO_HOST_I2C_SMBUS_READ_I2C_BLOCK, 2},
    {1, 32, false, SMBUS_ALL, VIO_HOST_I2C_SMBUS_READ_I2C_BLOCK, 2},
    /* shapes without a command */
    {34, NONE, false, SMBUS_ALL, -EINVAL, 0},
    {NONE, 2, false, SMBUS_ALL, -EINVAL, 0},
    {NONE, 32, false, SMBUS_ALL, -EINVAL, 0},
    /* write then read that does not pair: the write alone */
    {1, 33, false, SMBUS_ALL, VIO_HOST_I2C_SMBUS_SEND_BYTE, 1},
    {1, 0, false, SMBUS_ALL, VIO_HOST_I2C_SMBUS_SEND_BYTE, 1},
    {1, 1, true, SMBUS_ALL, VIO_HOST_I2C_SMBUS_SEND_BYTE, 1},
    {2, 1, false, SMBUS_ALL, VIO_HOST_I2C_SMBUS_WRITE_BYTE_DATA, 1},
    /* a missing function: the next wider command, else not supported */
    {2, NONE, false, WIB, VIO_HOST_I2C_SMBUS_WRITE_I2C_BLOCK, 1},
    {3, NONE, false, WIB, VIO_HOST_I2C_SMBUS_WRITE_I2C_BLOCK, 1},
    {2, NONE, false, WWD | SEND, -EOPNOTSUPP, 0},
    {3, NONE, false, WBD, -EOPNOTSUPP, 0},
    {4, NONE, false, WBD | WWD, -EOPNOTSUPP, 0},
    {0, NONE, false, SMBUS_ALL & ~QUICK, -EOPNOTSUPP, 0},
    {NONE, 0, false, SMBUS_ALL & ~QUICK, -EOPNOTSUPP, 0},
    {NONE, 1, false, SMBUS_ALL & ~RECV, -EOPNOTSUPP, 0},
    {1, NONE, false, SMBUS_ALL & ~SEND, -EOPNOTSUPP, 0},
    {1, 1, false, RIB, VIO_HOST_I2C_SMBUS_READ_I2C_BLOCK, 2},
    {1, 2, false, RIB | RBD, VIO_HOST_I2C_SMBUS_READ_I2C_BLOCK, 2},
    {1, 1, false, RWD | SEND | RECV, VIO_HOST_I2C_SMBUS_SEND_BYTE, 1},
    {1, 3, false, RBD | RWD | SEND, VIO_HOST_I2C_SMBUS_SEND_BYTE, 1},
    {1, 2, false, RBD, -EOPNOTSUPP, 0},
    {5, NONE, false, 0, -EOPNOTSUPP, 0},
};

static void test_smbus_shape(void **state)
{
	uint8_t b[40] = {0};

	(void) state;
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		const struct shape_case *c = &shapes[i];
		struct vio_i2c_msg m[2];
		unsigned n = 0, used = 99;
		int r;

		if (c->wlen != NONE) {
			m[n++] = (struct vio_i2c_msg){.addr = 0x50, .len = c->wlen, .buf = b};
		}
		if (c->rlen != NONE) {
			m[n++] = (struct vio_i2c_msg){.addr = c->other_addr ? 0x51 : 0x50,
						      .flags = VIO_I2C_MSG_RD,
						      .len = c->rlen,
						      .buf = b};
		}
		r = vio_host_i2c_smbus_shape(m, n, c->funcs, &used);
		if (r != c->want || (r > 0 && used != c->used))
			fail_msg("case %zu (write %u, read %u): got %d used %u, want %d used %u", i,
				 c->wlen, c->rlen, r, used, c->want, c->used);
	}
}

static void test_smbus_shape_args(void **state)
{
	struct vio_i2c_msg m = {.addr = 0x50, .len = 0};

	(void) state;
	assert_int_equal(vio_host_i2c_smbus_shape(&m, 0, SMBUS_ALL, NULL), -EINVAL);
	assert_int_equal(vio_host_i2c_smbus_shape(NULL, 1, SMBUS_ALL, NULL), -EINVAL);
	assert_int_equal(vio_host_i2c_smbus_shape(&m, 1, SMBUS_ALL, NULL),
			 VIO_HOST_I2C_SMBUS_QUICK_WRITE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_one),		cmocka_unit_test(test_parse_several),
	    cmocka_unit_test(test_parse_number_forms),	cmocka_unit_test(test_parse_max_adapters),
	    cmocka_unit_test(test_parse_errors),	cmocka_unit_test(test_parse_error_resets),
	    cmocka_unit_test(test_open_missing_node),	cmocka_unit_test(test_open_not_an_adapter),
	    cmocka_unit_test(test_open_nothing_parsed), cmocka_unit_test(test_xfer_address_check),
	    cmocka_unit_test(test_xfer_smbus_shapes),	cmocka_unit_test(test_smbus_shape),
	    cmocka_unit_test(test_smbus_shape_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
