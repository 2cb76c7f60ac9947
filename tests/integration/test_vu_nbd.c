/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's daemon serving virtio-blk from an NBD export (`vioport blk
 * --image nbd+unix:///?socket=PATH`), driven through the frontend: the whole
 * virtio-blk case list against nbdkit's memory plugin, the image's pattern
 * written into the export beforehand and the data a case writes read back
 * from the export through libnbd. Skipped, saying why, without nbdkit or
 * without the daemon.
 */
#include <stdio.h>
#include <string.h>

#include "blk_cases.h"
#include "nbd_itest.h"

#define IMAGE_BYTES (16u << 20)
#define SERIAL	    "vioport-nbd-0123"

static char bin[IT_PATH], uri[IT_PATH + 32];
static struct it_proc server;

static int read_back(uint64_t offset, void *buf, size_t len)
{
	return nit_read(uri, offset, buf, len);
}

static int group_setup(void **state)
{
	const char *b = it_vioport_bin();
	char *argv[] = {bin, "blk",	 "--socket-path", bc_t.proc.sock, "--image",
			uri, "--serial", SERIAL,	  "--num-queues", "2",
			NULL};

	(void) state;
	bc_t.name = "vioport on nbdkit memory";
	bc_t.image_bytes = IMAGE_BYTES;
	bc_t.queues = 2;
	bc_t.serial = SERIAL;
	bc_t.read_back = read_back;
	if (b == NULL) {
		bc_t.skip = "no vioport daemon at $VIOPORT_BIN: NBD blk cases skipped";
		return 0;
	}
	if (nit_nbdkit_bin() == NULL) {
		bc_t.skip = "nbdkit not found (Debian package nbdkit): NBD blk cases skipped";
		return 0;
	}
	snprintf(bin, sizeof(bin), "%s", b);
	if (it_tmpdir(bc_t.dir, "nbd") < 0 || it_path(server.sock, bc_t.dir, "nbd.sock") < 0 ||
	    it_path(server.log, bc_t.dir, "nbdkit.log") < 0 ||
	    it_path(bc_t.proc.sock, bc_t.dir, "blk.sock") < 0 ||
	    it_path(bc_t.proc.log, bc_t.dir, "vioport.log") < 0)
		return -1;
	nit_unix_uri(uri, sizeof(uri), server.sock);
	if (nit_nbdkit_start(&server, "memory 16M") < 0) {
		bc_t.skip = "nbdkit did not start: NBD blk cases skipped";
		return 0;
	}
	if (nit_fill_pattern(uri, IMAGE_BYTES) < 0)
		return -1;
	if (it_start(&bc_t.proc, argv, 10000) < 0)
		bc_t.skip = "the vioport daemon did not start: NBD blk cases skipped";
	return 0;
}

static int group_teardown(void **state)
{
	(void) state;
	if (bc_t.dir[0] == '\0')
		return 0;
	it_stop(&bc_t.proc, 5000, NULL);
	it_stop(&server, 5000, NULL);
	it_rmtree(bc_t.dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {BC_CASES};

	return cmocka_run_group_tests_name("vhost-user-blk: vioport on an nbdkit memory export",
					   tests, group_setup, group_teardown);
}
