/* SPDX-License-Identifier: BSD-3-Clause */
/* vioport-drv: the bus commands, list, ping and exit. */
#include <stdio.h>
#include <string.h>

#include "vioport-drv.h"
#include "vioport/byteorder.h"
#include "vioport/vmsg_ctl.h"

int cmd_list(struct drv_ctx *c, int argc, char **argv)
{
	uint8_t bitmap[VIO_VMSG_DEV_MAX * 8 / 8 + 32] = {0};
	struct session *s;
	int n;

	if ((n = drv_session(c)) != 0)
		return n;
	s = c->s;
	n = vio_vmsg_drv_get_devices(&s->drv, bitmap, sizeof(bitmap));
	if (n < 0)
		return fail("GET_DEVICES", n);
	printf("%d device%s\n", n, n == 1 ? "" : "s");
	for (unsigned num = 0; num < sizeof(bitmap) * 8; num++) {
		struct vio_vmsg_drv_dev *d = &s->dev;
		const struct drv_kind *kind;
		int r;

		if (!(bitmap[num / 8] & (1u << (num % 8))))
			continue;
		r = vio_vmsg_drv_dev_init(d, &s->drv, (uint16_t) num, NULL, 0);
		if (r < 0) {
			printf("%u: no device info (%s)\n", num, strerror(-r));
			continue;
		}
		/* Negotiation reads the offered features; nothing is set up. */
		r = vio_vmsg_drv_dev_negotiate(d, ~0ull);
		printf("%u: %-5s id %u, vendor 0x%08x, %u queue%s, features 0x%016llx", num,
		       drv_kind_name(d->info.device_id), d->info.device_id, d->info.vendor_id,
		       d->info.max_virtqueues, d->info.max_virtqueues == 1 ? "" : "s",
		       (unsigned long long) d->device_features);
		kind = drv_kind_of(d->info.device_id);
		if (r == 0 && kind != NULL && kind->summary != NULL)
			kind->summary(d);
		printf("\n");
		vio_vmsg_drv_dev_fini(d);
	}
	return 0;
}

int cmd_ping(struct drv_ctx *c, int argc, char **argv)
{
	uint64_t t0;
	int r;

	if ((r = drv_session(c)) != 0)
		return r;
	t0 = vio_vmsg_now_us();
	r = vio_vmsg_drv_ping(&c->s->drv, 0x56494F4Du);
	if (r < 0)
		return fail("ping", r);
	printf("ping: answered in %llu us\n", (unsigned long long) (vio_vmsg_now_us() - t0));
	return 0;
}

/*
 * Asks the device side to end its program with status through the window's
 * control words (vmsg_ctl.h): status first, then the request, release-ordered.
 */
int cmd_exit(struct drv_ctx *c, int argc, char **argv)
{
	uint32_t *arg, *req;
	uint64_t status;
	int r;

	if (!parse_u64(argv[0], 255, &status))
		return usage_error("%s", "exit: expected STATUS (0..255)");
	if ((r = drv_session(c)) != 0)
		return r;
	arg = (uint32_t *) (void *) (c->s->p.win.base + VIO_VMSG_SHM_OFF_CTL_ARG);
	req = (uint32_t *) (void *) (c->s->p.win.base + VIO_VMSG_SHM_OFF_CTL_REQ);
	__atomic_store_n(arg, vio_le32((uint32_t) status), __ATOMIC_RELAXED);
	__atomic_store_n(req, vio_le32(VIO_VMSG_CTL_EXIT), __ATOMIC_RELEASE);
	printf("exit: asked the device side to end with status %u\n", (unsigned) status);
	return 0;
}
