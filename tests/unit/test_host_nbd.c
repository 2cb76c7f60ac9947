/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The NBD provider's logic that needs no server: URIs (and their errors),
 * what an export's properties turn into on the device, requests refused at
 * once while disconnected, the default serial, and the sandbox's allowance of
 * outgoing connections. Its I/O runs against real servers in
 * tests/integration (test_vu_nbd, test_vu_nbd_qemu, test_nbd_faults).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "vioport/internal/sandbox.h"
#include "vioport/linux_nbd.h"

static struct vio_host_nbd_addr a;
static char err[256];

static void uri_unix(void **state)
{
	const struct sockaddr_un *sun = (const struct sockaddr_un *) &a.ss;

	(void) state;
	assert_true(vio_host_nbd_is_uri("nbd+unix:///?socket=/run/x.sock"));
	assert_false(vio_host_nbd_is_uri("/var/disk.img"));
	assert_int_equal(
	    vio_host_nbd_parse("nbd+unix:///disk%201?socket=/run/x.sock", &a, err, sizeof(err)), 0);
	assert_true(a.unix_socket);
	assert_int_equal(a.port, 0);
	assert_int_equal(sun->sun_family, AF_UNIX);
	assert_string_equal(sun->sun_path, "/run/x.sock");
	assert_string_equal(a.export_name, "disk 1");
	assert_int_equal(vio_host_nbd_parse("nbd+unix:///?socket=rel.sock", &a, err, sizeof(err)),
			 0);
	assert_string_equal(a.export_name, "");
}

static void uri_tcp(void **state)
{
	const struct sockaddr_in *in = (const struct sockaddr_in *) &a.ss;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) &a.ss;

	(void) state;
	assert_int_equal(vio_host_nbd_parse("nbd://127.0.0.1/exp", &a, err, sizeof(err)), 0);
	assert_false(a.unix_socket);
	assert_int_equal(in->sin_family, AF_INET);
	assert_int_equal(ntohs(in->sin_port), VIO_HOST_NBD_PORT);
	assert_int_equal(a.port, VIO_HOST_NBD_PORT);
	assert_string_equal(a.export_name, "exp");
	assert_int_equal(vio_host_nbd_parse("nbd://127.0.0.1:10900", &a, err, sizeof(err)), 0);
	assert_int_equal(ntohs(in->sin_port), 10900);
	assert_string_equal(a.export_name, "");
	assert_int_equal(vio_host_nbd_parse("nbd://[::1]:7000/a/b", &a, err, sizeof(err)), 0);
	assert_int_equal(in6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(in6->sin6_port), 7000);
	assert_string_equal(a.export_name, "a/b");
}

static void uri_errors(void **state)
{
	static const char *const bad[] = {
	    "nbds://host/x",		      /* TLS */
	    "nbds+unix:///?socket=/s",	      /* TLS */
	    "nbd+unix:///x",		      /* no socket */
	    "nbd+unix://host/x?socket=/s",    /* a host with unix */
	    "nbd+unix:///x?socket=/s&tls=on", /* other parameters */
	    "nbd+unix:///x?socket=",	      /* empty path */
	    "nbd://host:0/x",		      /* port 0 */
	    "nbd://host:70000/x",	      /* port too big */
	    "nbd://host:12ab/x",	      /* port not a number */
	    "nbd://127.0.0.1/x?tls=on",	      /* a query */
	    "nbd:///x",			      /* no host */
	    "nbd://[::1/x",		      /* unclosed bracket */
	    "nbd://127.0.0.1/a%2",	      /* truncated escape */
	    "nbd://127.0.0.1/a%zz",	      /* bad escape */
	    "nbd://127.0.0.1/a%00b",	      /* NUL in the name */
	    "http://127.0.0.1/x",	      /* not NBD */
	};

	(void) state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (vio_host_nbd_parse(bad[i], &a, err, sizeof(err)) >= 0)
			fail_msg("'%s' accepted", bad[i]);
		assert_true(err[0] != '\0');
	}
}

static void uri_too_long(void **state)
{
	char uri[400], name[300];

	(void) state;
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	snprintf(uri, sizeof(uri), "nbd+unix:///%s?socket=/s", name);
	assert_int_equal(vio_host_nbd_parse(uri, &a, err, sizeof(err)), -ENAMETOOLONG);
	snprintf(uri, sizeof(uri), "nbd+unix:///?socket=/%s", name);
	assert_int_equal(vio_host_nbd_parse(uri, &a, err, sizeof(err)), -ENAMETOOLONG);
}

static void params_writable(void **state)
{
	struct vio_host_nbd n;
	struct vio_blk_params p;

	(void) state;
	memset(&n, 0, sizeof(n));
	memset(&p, 0, sizeof(p));
	n.size = (1ull << 30) + 100; /* a partial last sector is not offered */
	n.min_block = 4096;
	n.pref_block = 65536;
	n.max_req = 1u << 20;
	n.can_flush = n.can_fua = n.can_trim = n.can_zero = true;
	vio_host_nbd_params(&n, &p);
	assert_int_equal(p.capacity, (1ull << 30) / 512);
	assert_int_equal(p.blk_size, 4096);
	assert_int_equal(p.physical_block_exp, 4);
	/* No SIZE_MAX: SeaBIOS wraps it; long segments are split instead. */
	assert_false(p.features & VIO_BIT(VIO_BLK_F_SIZE_MAX));
	assert_true(p.features & VIO_BIT(VIO_BLK_F_FLUSH));
	assert_true(p.features & VIO_BIT(VIO_BLK_F_CONFIG_WCE));
	assert_true(p.writeback);
	assert_true(p.features & VIO_BIT(VIO_BLK_F_DISCARD));
	assert_int_equal(p.discard_sector_alignment, 8);
	assert_true(p.features & VIO_BIT(VIO_BLK_F_WRITE_ZEROES));
	/* One segment's length must fit NBD's 32-bit length. */
	assert_true((uint64_t) p.max_write_zeroes_sectors * 512 <= UINT32_MAX);
	assert_false(p.features & VIO_BIT(VIO_BLK_F_RO));

	/* Flush without FUA: no writethrough mode to offer. */
	memset(&p, 0, sizeof(p));
	n.can_fua = false;
	n.can_trim = n.can_zero = false;
	vio_host_nbd_params(&n, &p);
	assert_true(p.features & VIO_BIT(VIO_BLK_F_FLUSH));
	assert_false(p.features & VIO_BIT(VIO_BLK_F_CONFIG_WCE));
	assert_false(p.features & VIO_BIT(VIO_BLK_F_DISCARD));
	assert_false(p.features & VIO_BIT(VIO_BLK_F_WRITE_ZEROES));
}

static void params_read_only(void **state)
{
	struct vio_host_nbd n;
	struct vio_blk_params p;

	(void) state;
	memset(&n, 0, sizeof(n));
	memset(&p, 0, sizeof(p));
	n.size = 1u << 20;
	n.min_block = 1;
	n.pref_block = 512;
	n.max_req = 1u << 20;
	n.read_only = true;
	n.can_flush = n.can_fua = n.can_trim = n.can_zero = true;
	vio_host_nbd_params(&n, &p);
	assert_int_equal(p.blk_size, 512);
	assert_true(p.features & VIO_BIT(VIO_BLK_F_RO));
	assert_false(p.features & (VIO_BIT(VIO_BLK_F_FLUSH) | VIO_BIT(VIO_BLK_F_DISCARD) |
				   VIO_BIT(VIO_BLK_F_WRITE_ZEROES)));
}

static void refused_while_down(void **state)
{
	struct vio_host_nbd n;
	struct vio_blk_req req;
	uint8_t buf[512];
	struct vio_iov iov = {.base = buf, .len = sizeof(buf)};

	(void) state;
	memset(&n, 0, sizeof(n));
	memset(&req, 0, sizeof(req));
	n.state = VIO_HOST_NBD_DOWN;
	n.can_flush = n.can_trim = n.can_zero = true;
	assert_int_equal(vio_host_nbd_ops.read(&n, 0, &iov, 1, &req), VIO_BLK_S_IOERR);
	assert_int_equal(vio_host_nbd_ops.write(&n, 0, &iov, 1, &req), VIO_BLK_S_IOERR);
	assert_int_equal(vio_host_nbd_ops.flush(&n, &req), VIO_BLK_S_IOERR);
	assert_int_equal(vio_host_nbd_ops.discard(&n, 0, 8, &req), VIO_BLK_S_IOERR);
	assert_int_equal(vio_host_nbd_ops.write_zeroes(&n, 0, 8, true, &req), VIO_BLK_S_IOERR);
	assert_int_equal(n.stats.refused, 5);
	assert_int_equal(vio_host_nbd_inflight(&n), 0);
	/* Connecting counts as down. */
	n.state = VIO_HOST_NBD_CONNECTING;
	assert_int_equal(vio_host_nbd_ops.read(&n, 0, &iov, 1, &req), VIO_BLK_S_IOERR);
	/* Without the operation on the export: unsupported, not an I/O error. */
	n.state = VIO_HOST_NBD_READY;
	n.can_trim = n.can_zero = false;
	assert_int_equal(vio_host_nbd_ops.discard(&n, 0, 8, &req), VIO_BLK_S_UNSUPP);
	assert_int_equal(vio_host_nbd_ops.write_zeroes(&n, 0, 8, false, &req), VIO_BLK_S_UNSUPP);
}

static void serial(void **state)
{
	struct vio_host_nbd n1, n2;
	char s1[VIO_BLK_ID_BYTES], s2[VIO_BLK_ID_BYTES];

	(void) state;
	memset(&n1, 0, sizeof(n1));
	memset(&n2, 0, sizeof(n2));
	assert_int_equal(vio_host_nbd_parse("nbd+unix:///a?socket=/s", &n1.addr, err, sizeof(err)),
			 0);
	assert_int_equal(vio_host_nbd_parse("nbd+unix:///b?socket=/s", &n2.addr, err, sizeof(err)),
			 0);
	vio_host_nbd_default_serial(&n1, s1);
	vio_host_nbd_default_serial(&n2, s2);
	assert_memory_equal(s1, "nbd-", 4);
	assert_memory_not_equal(s1, s2, sizeof(s1));
}

static void sandbox_connect(void **state)
{
	static struct vio_sandbox sb;

	(void) state;
	vio_sandbox_init(&sb, VIO_SANDBOX_ON, "test");
	assert_false(sb.connect_unix || sb.connect_inet);
	assert_int_equal(vio_sandbox_allow_connect(&sb, AF_UNIX, 0, err, sizeof(err)), 0);
	assert_true(sb.connect_unix);
	assert_false(sb.connect_inet);
	assert_int_equal(sb.nports, 0);
	assert_int_equal(vio_sandbox_allow_connect(&sb, AF_INET, 10809, err, sizeof(err)), 0);
	assert_int_equal(vio_sandbox_allow_connect(&sb, AF_INET6, 10809, err, sizeof(err)), 0);
	assert_true(sb.connect_inet);
	assert_int_equal(sb.nports, 1);
	for (uint16_t p = 1; p < VIO_SANDBOX_PORTS; p++)
		assert_int_equal(vio_sandbox_allow_connect(&sb, AF_INET, p, err, sizeof(err)), 0);
	assert_int_equal(vio_sandbox_allow_connect(&sb, AF_INET, 9999, err, sizeof(err)), -ENOSPC);
	assert_int_equal(vio_sandbox_allow_connect(&sb, AF_PACKET, 0, err, sizeof(err)),
			 -EAFNOSUPPORT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(uri_unix),		  cmocka_unit_test(uri_tcp),
	    cmocka_unit_test(uri_errors),	  cmocka_unit_test(uri_too_long),
	    cmocka_unit_test(params_writable),	  cmocka_unit_test(params_read_only),
	    cmocka_unit_test(refused_while_down), cmocka_unit_test(serial),
	    cmocka_unit_test(sandbox_connect),
	};

	return cmocka_run_group_tests_name("host nbd provider", tests, NULL, NULL);
}
