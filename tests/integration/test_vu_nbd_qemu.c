/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's daemon serving virtio-blk from qemu-nbd's export of an image
 * file: the whole virtio-blk case list, the data written through vioport
 * found in the file itself. Skipped, saying why, without qemu-nbd or
 * without the daemon.
 */
#include <stdio.h>
#include <string.h>

#include "blk_cases.h"
#include "nbd_itest.h"

#define IMAGE_BYTES (16u << 20)
#define SERIAL	    "vioport-qnbd-0123"

static char bin[IT_PATH], uri[IT_PATH + 32];
static struct it_proc server;

static int group_setup(void **state)
{
	const char *b = it_vioport_bin();
	const char *q = nit_qemu_nbd_bin();
	char *argv[] = {bin, "blk",	 "--socket-path", bc_t.proc.sock, "--image",
			uri, "--serial", SERIAL,	  "--num-queues", "2",
			NULL};
	char *qargv[] = {
	    (char *) q,		 "--persistent", "--shared=4", "--format=raw", "--discard=unmap",
	    "--cache=writeback", "--socket",	 server.sock,  bc_t.image,     NULL};

	(void) state;
	bc_t.name = "vioport on qemu-nbd";
	bc_t.image_bytes = IMAGE_BYTES;
	bc_t.queues = 2;
	bc_t.serial = SERIAL;
	if (b == NULL) {
		bc_t.skip = "no vioport daemon at $VIOPORT_BIN: qemu-nbd blk cases skipped";
		return 0;
	}
	if (q == NULL) {
		bc_t.skip = "qemu-nbd not found (Debian package qemu-utils): its cases skipped";
		return 0;
	}
	snprintf(bin, sizeof(bin), "%s", b);
	if (it_tmpdir(bc_t.dir, "qnbd") < 0 || it_path(server.sock, bc_t.dir, "nbd.sock") < 0 ||
	    it_path(server.log, bc_t.dir, "qemu-nbd.log") < 0 ||
	    it_path(bc_t.image, bc_t.dir, "disk.img") < 0 ||
	    it_path(bc_t.proc.sock, bc_t.dir, "blk.sock") < 0 ||
	    it_path(bc_t.proc.log, bc_t.dir, "vioport.log") < 0 ||
	    it_make_image(bc_t.image, IMAGE_BYTES) < 0)
		return -1;
	qargv[7] = server.sock;
	qargv[8] = bc_t.image;
	nit_unix_uri(uri, sizeof(uri), server.sock);
	/* qemu-nbd --shared=4: the probe of nit_wait_listening takes a slot only briefly. */
	if (it_start(&server, qargv, 10000) < 0 || nit_wait_listening(server.sock, 10000) < 0) {
		bc_t.skip = "qemu-nbd did not start: its cases skipped";
		return 0;
	}
	if (it_start(&bc_t.proc, argv, 10000) < 0)
		bc_t.skip = "the vioport daemon did not start: qemu-nbd blk cases skipped";
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

	return cmocka_run_group_tests_name("vhost-user-blk: vioport on a qemu-nbd export", tests,
					   group_setup, group_teardown);
}
