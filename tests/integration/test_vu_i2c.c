/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's daemon serving the simulated I2C bus (`vioport i2c --device-list
 * sim --eeprom-file FILE --control PATH`), driven through the frontend with
 * requests built by hand: probes, EEPROM contents loaded from the file,
 * written, read back, dumped on the control socket and kept in the file, the
 * LM75's temperature set on the control socket and read, and a clean exit.
 * The daemon is $VIOPORT_BIN; without it every case skips, saying so.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "vioport/i2c.h"
#include "vioport/vhost_user_frontend.h"
#include "vioport/virtio.h"

#define WAIT_MS	    5000
#define EEPROM	    0x50
#define LM75	    0x48
#define EEPROM_SIZE 256
#define FEATURES                                                                                   \
	(VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_F_EVENT_IDX) |                                     \
	 VIO_BIT(VIO_I2C_F_ZERO_LENGTH_REQUEST))

static struct {
	char dir[IT_PATH];
	char ctl[IT_PATH];
	char eeprom[IT_PATH];
	struct it_proc proc;
	const char *skip;
} T;

static struct vio_vu_fe fe;

#define BEGIN() IT_SKIP_IF(T.skip)

/* The EEPROM file the daemon starts with: a marker at 0x80, erased bytes elsewhere. */
static int make_eeprom(const char *path)
{
	uint8_t b[EEPROM_SIZE];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return -1;
	memset(b, 0xff, sizeof(b));
	memcpy(b + 0x80, "vioport", 7);
	if (write(fd, b, sizeof(b)) != (ssize_t) sizeof(b)) {
		close(fd);
		return -1;
	}
	return close(fd);
}

static int group_setup(void **state)
{
	const char *b = it_vioport_bin();
	static char bin[IT_PATH];
	char *argv[] = {bin,   "i2c",		"--socket-path", T.proc.sock, "--device-list",
			"sim", "--eeprom-file", T.eeprom,	 "--control", T.ctl,
			NULL};

	(void) state;
	if (b == NULL) {
		T.skip = "no vioport daemon at $VIOPORT_BIN (build apps/vioport first): vioport "
			 "i2c cases skipped";
		return 0;
	}
	snprintf(bin, sizeof(bin), "%s", b);
	if (it_tmpdir(T.dir, "i2c") < 0 || it_path(T.proc.sock, T.dir, "i2c.sock") < 0 ||
	    it_path(T.ctl, T.dir, "ctl.sock") < 0 || it_path(T.eeprom, T.dir, "eeprom.bin") < 0 ||
	    it_path(T.proc.log, T.dir, "vioport.log") < 0 || make_eeprom(T.eeprom) < 0)
		return -1;
	if (it_start(&T.proc, argv, 10000) < 0)
		T.skip = "the vioport daemon did not start: vioport i2c cases skipped";
	return 0;
}

static int group_teardown(void **state)
{
	(void) state;
	it_finish(&T.proc, T.dir);
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	vio_vu_fe_close(&fe);
	return it_daemon_lives(&T.proc, &T.skip);
}

static void start(void)
{
	struct vio_vu_fe_params p = {.features = FEATURES};
	int r = vio_vu_fe_start(&fe, T.proc.sock, &p);

	if (r != 0)
		fail_msg("start: %d (%s)", r, vio_vu_fe_error(&fe));
}

/* One message of a transaction as the test describes it. */
struct msg {
	uint16_t addr;
	bool rd;
	uint8_t *buf; /* len bytes: sent for a write, filled for a read */
	uint32_t len;
	uint8_t status; /* filled */
};

/*
 * Sends msgs[0 .. n) as one transaction (FAIL_NEXT on all but the last):
 * out_hdr, the buffer if any, the status byte per request.
 */
static void i2c_txn(struct msg *m, unsigned n)
{
	uint64_t hgpa[4], dgpa[4], sgpa[4];
	uint8_t *h[4], *d[4], *s[4];

	assert_true(n <= 4);
	for (unsigned i = 0; i < n; i++) {
		struct vio_buf out[2], in[2];
		unsigned nout = 1, nin = 0;
		uint32_t flags =
		    (i + 1 < n ? VIO_I2C_FLAGS_FAIL_NEXT : 0) | (m[i].rd ? VIO_I2C_FLAGS_M_RD : 0);

		h[i] = vio_vu_fe_alloc(&fe, VIO_I2C_OUT_HDR, 64, &hgpa[i]);
		s[i] = vio_vu_fe_alloc(&fe, 1, 64, &sgpa[i]);
		assert_non_null(h[i]);
		assert_non_null(s[i]);
		d[i] = NULL;
		h[i][0] = (uint8_t) (m[i].addr << 1);
		h[i][1] = (uint8_t) (m[i].addr >> 7);
		h[i][4] = (uint8_t) flags;
		*s[i] = 0xee;
		out[0] = (struct vio_buf){hgpa[i], VIO_I2C_OUT_HDR};
		if (m[i].len > 0) {
			d[i] = vio_vu_fe_alloc(&fe, m[i].len, 64, &dgpa[i]);
			assert_non_null(d[i]);
			if (m[i].rd) {
				memset(d[i], 0xee, m[i].len);
				in[nin++] = (struct vio_buf){dgpa[i], m[i].len};
			} else {
				memcpy(d[i], m[i].buf, m[i].len);
				out[nout++] = (struct vio_buf){dgpa[i], m[i].len};
			}
		}
		in[nin++] = (struct vio_buf){sgpa[i], 1};
		assert_int_equal(
		    vio_vu_fe_add(&fe, 0, out, nout, in, nin, (void *) (uintptr_t) (i + 1)), 0);
	}
	assert_true(vio_vu_fe_kick(&fe, 0) >= 0);
	for (unsigned k = 0; k < n; k++) {
		void *tok;
		uint32_t len;

		assert_int_equal(vio_vu_fe_wait_used(&fe, 0, &tok, &len, WAIT_MS), 1);
		assert_true((uintptr_t) tok >= 1 && (uintptr_t) tok <= n);
	}
	for (unsigned i = 0; i < n; i++) {
		m[i].status = *s[i];
		if (m[i].rd && d[i] != NULL)
			memcpy(m[i].buf, d[i], m[i].len);
		vio_vu_fe_free(&fe, hgpa[i], VIO_I2C_OUT_HDR);
		vio_vu_fe_free(&fe, sgpa[i], 1);
		if (d[i] != NULL)
			vio_vu_fe_free(&fe, dgpa[i], m[i].len);
	}
}

/* A zero-length message: ACK where a device answers. */
static uint8_t probe(uint16_t addr)
{
	struct msg m = {.addr = addr};

	i2c_txn(&m, 1);
	return m.status;
}

/* Reads len bytes at a register or EEPROM offset: pointer write, repeated start, read. */
static void read_at(uint16_t addr, uint8_t reg, uint8_t *buf, uint32_t len)
{
	struct msg m[2] = {{.addr = addr, .buf = &reg, .len = 1},
			   {.addr = addr, .rd = true, .buf = buf, .len = len}};

	i2c_txn(m, 2);
	assert_int_equal(m[0].status, VIO_I2C_MSG_OK);
	assert_int_equal(m[1].status, VIO_I2C_MSG_OK);
}

/* One control command that must succeed; its reply, "ok" stripped, goes to out. */
static void control(const char *cmd, char *out, size_t cap)
{
	it_control_ok(T.ctl, cmd, out, cap);
}

static void i2c_probe(void **state)
{
	(void) state;
	BEGIN();
	start();
	assert_true(vio_vu_fe_has(&fe, VIO_I2C_F_ZERO_LENGTH_REQUEST));
	assert_int_equal(probe(LM75), VIO_I2C_MSG_OK);
	assert_int_equal(probe(EEPROM), VIO_I2C_MSG_OK);
	assert_int_equal(probe(0x10), VIO_I2C_MSG_ERR);
}

static void i2c_eeprom(void **state)
{
	uint8_t wr[1 + 8] = {0x10, 1, 2, 3, 4, 5, 6, 7, 8}, rd[8], file[EEPROM_SIZE];
	struct msg m = {.addr = EEPROM, .buf = wr, .len = sizeof(wr)};
	char dump[1024];
	int fd;

	(void) state;
	BEGIN();
	start();
	/* What the file held at start. */
	read_at(EEPROM, 0x80, rd, 7);
	assert_memory_equal(rd, "vioport", 7);
	/* A page write, read back. */
	i2c_txn(&m, 1);
	assert_int_equal(m.status, VIO_I2C_MSG_OK);
	read_at(EEPROM, 0x10, rd, 8);
	assert_memory_equal(rd, wr + 1, 8);
	/* The control socket sees the same bytes. */
	control("i2c eeprom-dump", dump, sizeof(dump));
	assert_int_equal(strlen(dump), 2 * EEPROM_SIZE);
	assert_memory_equal(dump + 2 * 0x10, "0102030405060708", 16);
	assert_memory_equal(dump + 2 * 0x80, "76696f706f7274", 14);
	assert_memory_equal(dump, "ffff", 4);
	/* And so does the backing file, written when the EEPROM changed. */
	fd = open(T.eeprom, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, file, sizeof(file)), EEPROM_SIZE);
	close(fd);
	assert_memory_equal(file + 0x10, wr + 1, 8);
	assert_memory_equal(file + 0x80, "vioport", 7);
}

static void i2c_lm75(void **state)
{
	uint8_t t[2];
	char reply[256];

	(void) state;
	BEGIN();
	start();
	control("i2c temp 42500", NULL, 0);
	read_at(LM75, 0, t, 2);
	/* 42.5 °C: 85 half degrees in bits 15..7 */
	assert_int_equal(t[0] << 8 | t[1], 85 << 7);
	control("i2c temp -10000", NULL, 0);
	read_at(LM75, 0, t, 2);
	assert_int_equal((int16_t) (t[0] << 8 | t[1]), -20 * 128);
	assert_int_equal(it_control(T.ctl, "i2c temp warm", reply, sizeof(reply), WAIT_MS), 0);
	assert_int_equal(strncmp(reply, "error", 5), 0);
	assert_int_equal(it_control(T.ctl, "gpio list", reply, sizeof(reply), WAIT_MS), 0);
	assert_int_equal(strncmp(reply, "error", 5), 0);
}

/* Runs the daemon on a file that cannot be an EEPROM: it must refuse, and leave the file alone. */
static void i2c_eeprom_file_refused(void **state)
{
	const char *b = it_vioport_bin();
	char bin[IT_PATH], file[IT_PATH], back[EEPROM_SIZE + 44];
	uint8_t orig[EEPROM_SIZE + 44];
	struct it_proc p;
	char *argv[] = {
	    bin,  "i2c", "--socket-path", p.sock, "--device-list", "sim", "--eeprom-file",
	    file, NULL};
	char log[1024];
	bool alive;
	ssize_t n;
	int fd;

	(void) state;
	BEGIN();
	snprintf(bin, sizeof(bin), "%s", b);
	memset(&p, 0, sizeof(p));
	assert_int_equal(it_path(p.sock, T.dir, "refused.sock"), 0);
	assert_int_equal(it_path(p.log, T.dir, "refused.log"), 0);
	assert_int_equal(it_path(file, T.dir, "big.bin"), 0);
	it_fill(orig, sizeof(orig), 7);
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, orig, sizeof(orig)), (ssize_t) sizeof(orig));
	close(fd);
	assert_int_equal(it_spawn(&p, argv, -1, -1), 0);
	for (int i = 0; i < 500 && it_alive(&p); i++)
		usleep(10000);
	/* It stopped by itself, saying why (the exit status was printed by it_alive). */
	alive = it_alive(&p);
	it_stop(&p, 1000, NULL);
	assert_false(alive);
	fd = open(p.log, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, log, sizeof(log) - 1);
	close(fd);
	assert_true(n > 0);
	log[n] = '\0';
	assert_non_null(strstr(log, "must be a regular file of at most 256 bytes"));
	fd = open(file, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, back, sizeof(back)), (ssize_t) sizeof(back));
	close(fd);
	assert_memory_equal(back, orig, sizeof(orig));
}

static void i2c_clean_exit(void **state)
{
	(void) state;
	BEGIN();
	start();
	it_expect_clean_stop(&T.proc, &T.skip);
	/* The daemon removes its control socket. */
	assert_int_equal(access(T.ctl, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(i2c_probe, teardown),
	    cmocka_unit_test_teardown(i2c_eeprom, teardown),
	    cmocka_unit_test_teardown(i2c_lm75, teardown),
	    cmocka_unit_test_teardown(i2c_eeprom_file_refused, teardown),
	    cmocka_unit_test_teardown(i2c_clean_exit, teardown),
	};

	return cmocka_run_group_tests_name("vhost-user-i2c: vioport daemon", tests, group_setup,
					   group_teardown);
}
