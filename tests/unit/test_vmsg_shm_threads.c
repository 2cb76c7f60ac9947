/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-msg shared-memory bus under real concurrency: a driver thread and a
 * device thread each stream a million messages to the other through the two
 * FIFOs while receiving, and every message must arrive whole and in order.
 * A slot read before its contents were published, or reused before it was
 * read, shows up as a wrong sequence number or a torn payload.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/vmsg_shm.h"

#define WIN_SIZE 16384u
#define COUNT	 1000000u

static _Alignas(64) uint8_t win[WIN_SIZE];
static int quit; /* set by the side that fails, so the other does not wait forever */

struct side {
	struct vio_vmsg_shm shm;
	uint32_t sent, got;
	int error; /* first failure, 0 if none */
	uint32_t error_at;
};

static uint32_t msg_len(uint32_t seq)
{
	return 12 + seq % 53; /* 12 .. 64 */
}

static void fill(uint8_t *m, uint32_t seq)
{
	uint32_t len = msg_len(seq);

	memset(m, 0, 8);
	vio_put_le16(m + 6, (uint16_t) len);
	vio_put_le32(m + 8, seq);
	for (uint32_t i = 12; i < len; i++)
		m[i] = (uint8_t) (seq ^ (i * 0x9Du));
}

static void *run(void *arg)
{
	struct side *s = arg;
	uint8_t out[64], in[64], want[64];
	unsigned idle = 0;

	while ((s->sent < COUNT || s->got < COUNT) && !__atomic_load_n(&quit, __ATOMIC_RELAXED)) {
		bool moved = false;

		if (s->sent < COUNT) {
			int r;

			fill(out, s->sent);
			r = vio_vmsg_shm_send(&s->shm, out, msg_len(s->sent));
			if (r == 0) {
				s->sent++;
				moved = true;
			} else if (r != -VIO_ENOSPC) {
				s->error = r;
				s->error_at = s->sent;
			}
		}
		if (s->got < COUNT) {
			int r = vio_vmsg_shm_recv(&s->shm, in, sizeof(in));

			if (r > 0) {
				fill(want, s->got);
				if ((uint32_t) r != msg_len(s->got) ||
				    memcmp(in, want, (size_t) r)) {
					s->error = -VIO_EPROTO;
					s->error_at = s->got;
				}
				s->got++;
				moved = true;
			} else if (r < 0) {
				s->error = r;
				s->error_at = s->got;
			}
		}
		/* On two cores a stalled peer needs the CPU to drain its FIFO. */
		if (s->error != 0)
			__atomic_store_n(&quit, 1, __ATOMIC_RELAXED);
		if (!moved && ++idle % 64 == 0)
			sched_yield();
	}
	return NULL;
}

static void million_messages_each_way(void **state)
{
	struct side drv, dev;
	pthread_t t;

	(void) state;
	memset(&drv, 0, sizeof(drv));
	memset(&dev, 0, sizeof(dev));
	assert_int_equal(vio_vmsg_shm_format(&drv.shm, win, WIN_SIZE, 0, 1), 0);
	assert_int_equal(vio_vmsg_shm_attach(&dev.shm, win, WIN_SIZE), 0);
	assert_int_equal(pthread_create(&t, NULL, run, &dev), 0);
	run(&drv);
	assert_int_equal(pthread_join(t, NULL), 0);
	if (drv.error != 0 || dev.error != 0)
		fail_msg("driver error %d at %u, device error %d at %u", drv.error, drv.error_at,
			 dev.error, dev.error_at);
	assert_int_equal(drv.got, COUNT);
	assert_int_equal(dev.got, COUNT);
	assert_false(vio_vmsg_shm_stopped(&drv.shm));
	assert_false(vio_vmsg_shm_stopped(&dev.shm));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(million_messages_each_way),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
