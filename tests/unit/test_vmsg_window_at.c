/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Window files with an offset (vio_vmsg_window_open_at and the driver binding
 * over it): a window inside a larger file, as a firmware's window sits inside
 * the RAM file an emulator maps. Each refusal has its own case: an offset off
 * a page boundary, past the file's end, a window that does not fit; and the
 * mapping reaches exactly the bytes at the offset.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "vioport/vmsg_posix.h"

#define FILE_SIZE (1u << 20)
#define OFFSET	  (512u * 1024u)
#define WIN	  (64u * 1024u)

static char dir[64], path[96];

static int setup(void **state)
{
	int fd;

	(void) state;
	snprintf(dir, sizeof(dir), "/tmp/vmsg-win-at-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/ram", dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || ftruncate(fd, FILE_SIZE) < 0)
		return -1;
	/* A marker just before the window and one at its start. */
	if (pwrite(fd, "before", 6, OFFSET - 6) != 6 || pwrite(fd, "window", 6, OFFSET) != 6)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	unlink(path);
	snprintf(path, sizeof(path), "%s/new", dir);
	unlink(path);
	return rmdir(dir);
}

static void maps_the_bytes_at_the_offset(void **state)
{
	struct vio_vmsg_window w;
	char err[256];

	(void) state;
	snprintf(path, sizeof(path), "%s/ram", dir);
	assert_int_equal(vio_vmsg_window_open_at(&w, path, OFFSET, WIN, err, sizeof(err)), 0);
	assert_int_equal(w.size, WIN);
	assert_true(w.offset == OFFSET);
	assert_memory_equal(w.base, "window", 6);
	vio_vmsg_window_close(&w);
	/* Size 0: the rest of the file. */
	assert_int_equal(vio_vmsg_window_open_at(&w, path, OFFSET, 0, err, sizeof(err)), 0);
	assert_int_equal(w.size, FILE_SIZE - OFFSET);
	vio_vmsg_window_close(&w);
	/* Offset 0 with a smaller size: a window at the file's start, the file larger. */
	assert_int_equal(vio_vmsg_window_open_at(&w, path, 0, WIN, err, sizeof(err)), 0);
	assert_int_equal(w.size, WIN);
	vio_vmsg_window_close(&w);
	/* The plain open keeps its rule: the file is the window, exactly. */
	assert_int_equal(vio_vmsg_window_open(&w, path, WIN, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "expected"));
}

static void refuses_an_unaligned_offset(void **state)
{
	struct vio_vmsg_window w;
	char err[256];

	(void) state;
	snprintf(path, sizeof(path), "%s/ram", dir);
	assert_int_equal(vio_vmsg_window_open_at(&w, path, OFFSET + 100, WIN, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "page size"));
	assert_null(w.base);
}

static void refuses_an_offset_past_the_end(void **state)
{
	struct vio_vmsg_window w;
	char err[256];

	(void) state;
	snprintf(path, sizeof(path), "%s/ram", dir);
	assert_int_equal(vio_vmsg_window_open_at(&w, path, FILE_SIZE, 0, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "past its end"));
}

static void refuses_a_window_that_does_not_fit(void **state)
{
	struct vio_vmsg_window w;
	char err[256];

	(void) state;
	snprintf(path, sizeof(path), "%s/ram", dir);
	assert_int_equal(vio_vmsg_window_open_at(&w, path, OFFSET, FILE_SIZE, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "does not fit"));
}

static void creates_a_missing_file_with_room(void **state)
{
	struct vio_vmsg_window w;
	struct stat st;
	char err[256];

	(void) state;
	snprintf(path, sizeof(path), "%s/new", dir);
	assert_int_equal(vio_vmsg_window_open_at(&w, path, OFFSET, WIN, err, sizeof(err)), 0);
	vio_vmsg_window_close(&w);
	assert_int_equal(stat(path, &st), 0);
	assert_true((uint64_t) st.st_size == OFFSET + WIN);
}

/* The driver binding over an offset window: formats there, and waits for a device in vain. */
static void driver_formats_at_the_offset(void **state)
{
	struct vio_vmsg_posix_drv p;
	struct vio_vmsg_window w;
	char err[256];

	(void) state;
	snprintf(path, sizeof(path), "%s/ram", dir);
	assert_int_equal(
	    vio_vmsg_posix_drv_open_at(&p, path, OFFSET, WIN, "poll", 100, err, sizeof(err)),
	    -ETIMEDOUT);
	assert_non_null(strstr(err, "no device side"));
	/* The header went to the offset; the marker before it is untouched. */
	assert_int_equal(vio_vmsg_window_open_at(&w, path, OFFSET - 4096, 0, err, sizeof(err)), 0);
	assert_memory_equal(w.base + 4096 - 6, "before", 6);
	assert_memory_equal(w.base + 4096, "VIOM", 4);
	vio_vmsg_window_close(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(maps_the_bytes_at_the_offset),
	    cmocka_unit_test(refuses_an_unaligned_offset),
	    cmocka_unit_test(refuses_an_offset_past_the_end),
	    cmocka_unit_test(refuses_a_window_that_does_not_fit),
	    cmocka_unit_test(creates_a_missing_file_with_room),
	    cmocka_unit_test(driver_formats_at_the_offset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
