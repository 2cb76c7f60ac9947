/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-msg on POSIX: the driver side, opening and formatting a window. */
#include "vioport/internal/errmsg.h"
#include "vioport/vmsg_posix.h"

#include <errno.h>
#include <string.h>

#include "vmsg_posix_internal.h"

/* Longest wait of a re-formatting driver for a device still serving the window to leave it. */
#define DEVICE_LEAVE_MS 1000

static void drv_wait(void *os_ctx, uint32_t timeout_us)
{
	struct vio_vmsg_posix_drv *p = os_ctx;
	uint32_t head;

	/* The peer moved its head since the last wait: a fresh exchange, so spin again. */
	head = vmsg_window_word(p->shm.rx.base, 0);
	if (head != p->seen_head) {
		p->seen_head = head;
		vio_vmsg_bell_activity(&p->bell);
	}
	vio_vmsg_bell_wait(&p->bell, timeout_us);
}

static uint64_t drv_now(void *os_ctx)
{
	(void) os_ctx;
	return vio_vmsg_now_us();
}

/* Formats with the generation after the window's current one and waits for the device. */
static int drv_format(struct vio_vmsg_posix_drv *p, int timeout_ms, char *err, size_t errlen)
{
	uint64_t deadline =
	    vio_vmsg_now_us() + (uint64_t) (timeout_ms < 0 ? 0 : timeout_ms) * 1000u;
	uint32_t gen = vmsg_window_word(p->win.base, VIO_VMSG_SHM_OFF_DRV_GEN) + 1;
	int leave_ms = timeout_ms < DEVICE_LEAVE_MS ? timeout_ms : DEVICE_LEAVE_MS;
	uint64_t leave_by = vio_vmsg_now_us() + (uint64_t) (leave_ms < 0 ? 0 : leave_ms) * 1000u;

	if (gen == 0)
		gen = 1;
	p->shm.bell = vio_vmsg_bell_doorbell(&p->bell);
	p->shm.cache = NULL;
	/*
	 * A device still serving the window leaves its FIFOs first (it answers the
	 * RESET with its own), so nothing of the old session lands in the new one;
	 * one that died never answers, hence the bound.
	 */
	for (bool rung = false;; rung = true) {
		int r = vio_vmsg_shm_driver_leave(&p->shm, p->win.base, p->win.size);

		if (r != 0 || vio_vmsg_now_us() >= leave_by)
			break;
		if (!rung)
			vio_vmsg_bell_ring(&p->bell);
		vmsg_sleep_us(100);
	}
	if (vio_vmsg_shm_format(&p->shm, p->win.base, p->win.size, 0, gen) < 0) {
		vio_errmsg(err, errlen, "%s: cannot format a window of %u bytes (too small?)",
			   p->win.path, p->win.size);
		return -EINVAL;
	}
	/* A device that left for the re-format attaches at once instead of at its next look. */
	vio_vmsg_bell_ring(&p->bell);
	p->generation = gen;
	p->seen_head = 0;
	p->binding = (struct vio_vmsg_drv_shm){
	    .shm = &p->shm, .wait = drv_wait, .now_us = drv_now, .os_ctx = p};
	/* The format zeroed the device's words: READY now means this generation was seen. */
	while (vio_vmsg_shm_peer_state(&p->shm) != VIO_VMSG_SHM_STATE_READY) {
		if (vio_vmsg_now_us() >= deadline) {
			vio_errmsg(err, errlen, "no device side attached to %s within %d ms",
				   p->win.path, timeout_ms);
			return -ETIMEDOUT;
		}
		vmsg_sleep_us(200);
	}
	/* Its first attach after a format is not a restart; take its generation now. */
	vio_vmsg_shm_peer_restarted(&p->shm);
	return 0;
}

int vio_vmsg_posix_drv_open(struct vio_vmsg_posix_drv *p, const char *path, uint32_t size,
			    const char *doorbell, int timeout_ms, char *err, size_t errlen)
{
	return vio_vmsg_posix_drv_open_at(p, path, 0, size, doorbell, timeout_ms, err, errlen);
}

int vio_vmsg_posix_drv_open_at(struct vio_vmsg_posix_drv *p, const char *path, uint64_t offset,
			       uint32_t size, const char *doorbell, int timeout_ms, char *err,
			       size_t errlen)
{
	uint64_t start = vio_vmsg_now_us();
	int r, left;

	memset(p, 0, sizeof(*p));
	p->win.fd = -1;
	r = vio_vmsg_bell_parse(&p->bell, doorbell, err, errlen);
	if (r < 0)
		return r;
	r = vio_vmsg_window_open_at(&p->win, path, offset, size, err, errlen);
	if (r < 0)
		return r;
	/* Connected before the format, so the device's first answers can ring us. */
	r = vio_vmsg_bell_connect(&p->bell, timeout_ms, err, errlen);
	if (r < 0)
		goto fail;
	left = timeout_ms - (int) ((vio_vmsg_now_us() - start) / 1000u);
	r = drv_format(p, left < 0 ? 0 : left, err, errlen);
	if (r == -ETIMEDOUT)
		vio_errmsg(err, errlen, "no device side attached to %s within %d ms", path,
			   timeout_ms);
	if (r < 0)
		goto fail;
	return 0;
fail:
	vio_vmsg_bell_close(&p->bell);
	vio_vmsg_window_close(&p->win);
	return r;
}

int vio_vmsg_posix_drv_reformat(struct vio_vmsg_posix_drv *p, int timeout_ms, char *err,
				size_t errlen)
{
	return drv_format(p, timeout_ms, err, errlen);
}

void vio_vmsg_posix_drv_close(struct vio_vmsg_posix_drv *p)
{
	if (p->win.base != NULL && p->shm.base != NULL)
		vio_vmsg_shm_detach(&p->shm);
	vio_vmsg_bell_close(&p->bell);
	vio_vmsg_window_close(&p->win);
}
