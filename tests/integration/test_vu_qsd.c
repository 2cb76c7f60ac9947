/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The frontend against qemu-storage-daemon's vhost-user-blk export: proves the
 * frontend speaks the vhost-user QEMU's own backends speak, so the same cases
 * failing against vioport's daemon point at the daemon. Skipped when
 * qemu-storage-daemon is not installed ($QSD_BIN overrides the PATH search).
 */
#include <stdio.h>
#include <string.h>

#include "blk_cases.h"

#define IMAGE_BYTES (16u << 20)

static int group_setup(void **state)
{
	const char *qsd = it_qsd_bin();
	char blockdev[2 * IT_PATH], export[2 * IT_PATH];
	char *argv[] = {NULL, "--blockdev", blockdev, "--export", export, NULL};

	(void) state;
	bc_t.name = "qemu-storage-daemon";
	bc_t.image_bytes = IMAGE_BYTES;
	bc_t.queues = 2;
	if (qsd == NULL) {
		bc_t.skip = "qemu-storage-daemon not found: its cases are skipped";
		return 0;
	}
	if (it_tmpdir(bc_t.dir, "qsd") < 0)
		return -1;
	if (it_path(bc_t.image, bc_t.dir, "disk.img") < 0 ||
	    it_path(bc_t.proc.sock, bc_t.dir, "blk.sock") < 0 ||
	    it_path(bc_t.proc.log, bc_t.dir, "qsd.log") < 0 ||
	    it_make_image(bc_t.image, IMAGE_BYTES) < 0)
		return -1;
	snprintf(blockdev, sizeof(blockdev),
		 "driver=file,node-name=f0,filename=%s,cache.direct=off,discard=unmap", bc_t.image);
	snprintf(export, sizeof(export),
		 "type=vhost-user-blk,id=e0,node-name=f0,addr.type=unix,addr.path=%s,writable=on,"
		 "num-queues=%u",
		 bc_t.proc.sock, bc_t.queues);
	argv[0] = (char *) qsd;
	if (it_start(&bc_t.proc, argv, 10000) < 0) {
		bc_t.skip = "qemu-storage-daemon did not start: its cases are skipped";
		return 0;
	}
	return 0;
}

static int group_teardown(void **state)
{
	(void) state;
	if (bc_t.dir[0] == '\0')
		return 0;
	it_stop(&bc_t.proc, 5000, NULL);
	it_rmtree(bc_t.dir);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {BC_CASES};

	return cmocka_run_group_tests_name("vhost-user-blk: qemu-storage-daemon", tests,
					   group_setup, group_teardown);
}
