/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-blk cases run against any vhost-user-blk backend through the
 * frontend: the same list checks vioport's daemon and qemu-storage-daemon.
 * The program fills bc_t (and starts the backend) in its group setup.
 */
#ifndef VIOPORT_BLK_CASES_H
#define VIOPORT_BLK_CASES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "itest.h"
#include "vioport/vhost_user_blk_client.h"

struct bc_target {
	const char *name;
	char dir[IT_PATH];
	char image[IT_PATH];
	uint64_t image_bytes;
	uint16_t queues;    /* queues the backend serves */
	const char *serial; /* expected GET_ID answer; NULL: not checked */
	struct it_proc proc;
	const char *skip; /* why every case skips; NULL to run */
	/* Reads the disk's bytes behind the backend's back when it is not the file image (an
	 * NBD export): 0 or -errno. NULL: bc_file_contents reads image. */
	int (*read_back)(uint64_t offset, void *buf, size_t len);
};

extern struct bc_target bc_t;
/* Clients of the running case, closed by bc_teardown whatever happened. */
extern struct vio_vu_blk bc_b, bc_b2;

/* Skips the running case when the target is unavailable. */
#define BC_BEGIN()                                                                                 \
	do {                                                                                       \
		if (bc_t.skip != NULL) {                                                           \
			print_message("# %s\n", bc_t.skip);                                        \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

/* Fails with the frontend's own account of what went wrong. */
#define BC_OK(expr, b)                                                                             \
	do {                                                                                       \
		int r_ = (expr);                                                                   \
		if (r_ != 0)                                                                       \
			fail_msg("%s: %d (%s)", #expr, r_, vio_vu_fe_error(&(b)->fe));             \
	} while (0)

/* Opens bc_b (or another client) on the target with p (NULL: defaults), failing the case else. */
void bc_open(struct vio_vu_blk *b, const struct vio_vu_fe_params *p);

int bc_teardown(void **state);

void bc_handshake(void **state);
void bc_read_image(void **state);
void bc_write_read(void **state);
void bc_large_io(void **state);
void bc_file_contents(void **state);
void bc_flush(void **state);
void bc_get_id(void **state);
void bc_discard_write_zeroes(void **state);
void bc_out_of_range(void **state);
void bc_unsupported(void **state);
void bc_many_inflight(void **state);
void bc_multiqueue(void **state);
void bc_reconnect(void **state);
void bc_stop_restart(void **state);
void bc_no_event_idx(void **state);
void bc_indirect(void **state);
void bc_regions(void **state);
void bc_add_mem_reg(void **state);
void bc_kick_before_enable(void **state);
void bc_qemu_status_order(void **state);
void bc_reset_device(void **state);

#define BC_CASE(f) cmocka_unit_test_teardown(f, bc_teardown)
#define BC_CASES                                                                                   \
	BC_CASE(bc_handshake), BC_CASE(bc_read_image), BC_CASE(bc_write_read),                     \
	    BC_CASE(bc_large_io), BC_CASE(bc_file_contents), BC_CASE(bc_flush),                    \
	    BC_CASE(bc_get_id), BC_CASE(bc_discard_write_zeroes), BC_CASE(bc_out_of_range),        \
	    BC_CASE(bc_unsupported), BC_CASE(bc_many_inflight), BC_CASE(bc_multiqueue),            \
	    BC_CASE(bc_reconnect), BC_CASE(bc_stop_restart), BC_CASE(bc_no_event_idx),             \
	    BC_CASE(bc_indirect), BC_CASE(bc_regions), BC_CASE(bc_add_mem_reg),                    \
	    BC_CASE(bc_kick_before_enable), BC_CASE(bc_qemu_status_order),                         \
	    BC_CASE(bc_reset_device)

#endif
