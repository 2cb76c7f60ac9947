/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NBD provider (src/linux/blk_nbd.c) on its own, attached to a loop, against
 * nbdkit's memory plugin: what its socket watch does when the loop reports a
 * readiness that is stale by the time the callback runs (a completion queued
 * before libnbd read the data in another call). The connection must stay
 * ready for new commands; libnbd told "readable" on an empty socket waits for
 * a reply that is not coming and holds back every later command.
 *
 * Skipped, saying why, without nbdkit.
 */
#include <errno.h>
#include <libnbd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "nbd_itest.h"
#include "vioport/linux_nbd.h"
#include "vioport/posix_loop.h"

static const char *skip_all;
static char dir[IT_PATH], uri[IT_PATH + 64];
static struct it_proc server;

static int group_setup(void **state)
{
	(void) state;
	if (nit_nbdkit_bin() == NULL) {
		skip_all = "nbdkit not found (Debian package nbdkit): provider cases skipped";
		return 0;
	}
	if (it_tmpdir(dir, "nbdio") < 0 || it_path(server.sock, dir, "nbd.sock") < 0 ||
	    it_path(server.log, dir, "nbdkit.log") < 0)
		return -1;
	nit_unix_uri(uri, sizeof(uri), server.sock);
	if (nit_nbdkit_start(&server, "memory 1M") < 0) {
		skip_all = "nbdkit did not start: provider cases skipped";
		return 0;
	}
	return nit_fill_pattern(uri, 1u << 20);
}

static int group_teardown(void **state)
{
	(void) state;
	it_finish(&server, dir);
	return 0;
}

/* nbd_connection_state gives "NAME: description". */
static bool ready(struct nbd_handle *h)
{
	return strncmp(nbd_connection_state(h), "READY:", 6) == 0;
}

static void stale_readiness(void **state)
{
	struct vio_host_nbd n;
	struct vio_loop loop;
	char err[256];
	uint8_t buf[4096];

	(void) state;
	if (skip_all != NULL) {
		print_message("# %s\n", skip_all);
		skip();
	}
	assert_int_equal(vio_loop_init(&loop), 0);
	assert_int_equal(vio_host_nbd_open(&n, uri, NULL, err, sizeof(err)), 0);
	assert_int_equal(vio_host_nbd_attach(&n, &loop, NULL, NULL, NULL, NULL), 0);
	assert_non_null(n.w.cb);

	/* Nothing in flight, nothing to read: the loop says "readable" all the same. */
	for (int i = 0; i < 3; i++) {
		n.w.cb(&n.w, VIO_LOOP_IN);
		if (!ready(n.h))
			fail_msg("after a stale readiness libnbd is in %s",
				 nbd_connection_state(n.h));
	}
	/* And the connection still carries commands, both ways. */
	assert_int_equal(nbd_pread(n.h, buf, sizeof(buf), 8192, 0), 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i] != it_pattern(8192 + i))
			fail_msg("byte %zu of the read differs", i);
	n.w.cb(&n.w, VIO_LOOP_IN);
	memset(buf, 0x5a, sizeof(buf));
	assert_int_equal(nbd_pwrite(n.h, buf, sizeof(buf), 0, 0), 0);
	assert_true(ready(n.h));
	vio_host_nbd_close(&n);
	vio_loop_fini(&loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(stale_readiness),
	};

	return cmocka_run_group_tests_name("the NBD provider against nbdkit", tests, group_setup,
					   group_teardown);
}
