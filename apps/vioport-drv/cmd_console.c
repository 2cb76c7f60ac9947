/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport-drv: the console command. Port 0 of a virtio-console device: what
 * stdin (or --write) gives goes to the transmit queue, what the host sends
 * is printed as it arrives, until --bytes came or --wait ran out after the
 * input ended.
 */
#include <stdio.h>
#include <string.h>

#include "vioport-drv.h"
#include "vioport/console.h"
#include "vioport/errno.h"
#include "vioport/virtio.h"

#define RX_BUFS	 8u
#define RX_SIZE	 1024u
#define TX_BUFS	 4u
#define TX_SIZE	 1024u
#define SLICE_MS 10

static void console_summary(struct vio_vmsg_drv_dev *d)
{
	uint16_t cols, rows;
	uint32_t ports;

	if (vio_vmsg_drv_console_config(d, &cols, &rows, &ports) < 0)
		return;
	if (d->features & VIO_BIT(VIO_CONSOLE_F_SIZE))
		printf("  size %ux%u", cols, rows);
	if (d->features & VIO_BIT(VIO_CONSOLE_F_MULTIPORT))
		printf("  %u ports", ports);
}

/* Port 0's receive and transmit queues; multiport is not negotiated. */
const struct drv_kind drv_kind_console = {"console", VIO_ID_CONSOLE, 2, console_summary};

/* The state of one run: buffers, counts, and when it ends. */
struct con_run {
	struct vio_vmsg_drv_dev *d;
	uint8_t rx[RX_BUFS][RX_SIZE];
	uint8_t tx[TX_BUFS][TX_SIZE];
	bool tx_busy[TX_BUFS];
	unsigned tx_inflight;
	uint64_t got;
};

/* Prints what came back on the receive queue and posts the buffers again; 0 or negative. */
static int drain_rx(struct con_run *r, const struct cmd_opts *co)
{
	void *buf;
	uint32_t len;
	int rc;

	while ((rc = vio_vmsg_drv_console_rx_take(r->d, &buf, &len)) == 1) {
		/* A device claiming more than the buffer is out of protocol: print no more. */
		if (len > RX_SIZE)
			return -VIO_EPROTO;
		/* With --bytes the output stops at the count, as head -c does. */
		if ((co->given & OPT_BYTES) && len > co->bytes - r->got)
			len = (uint32_t) (co->bytes - r->got);
		fwrite(buf, 1, len, stdout);
		r->got += len;
		rc = vio_vmsg_drv_console_rx_post(r->d, buf, RX_SIZE);
		if (rc < 0)
			return rc;
	}
	fflush(stdout);
	return rc;
}

/* Frees the transmit buffers the device gave back; 0 or negative. */
static int drain_tx(struct con_run *r)
{
	void *buf;
	int rc;

	while ((rc = vio_vmsg_drv_console_tx_take(r->d, &buf)) == 1)
		for (unsigned i = 0; i < TX_BUFS; i++)
			if (buf == r->tx[i] && r->tx_busy[i]) {
				r->tx_busy[i] = false;
				r->tx_inflight--;
			}
	return rc;
}

/* Sends the next piece of input when a transmit buffer is free; 0 or negative. */
static int feed(struct con_run *r, struct input_src *in)
{
	for (unsigned i = 0; i < TX_BUFS && !in->eof; i++) {
		int n, rc;

		if (r->tx_busy[i])
			continue;
		/* Waits for stdin only while nothing is in flight, so output keeps flowing. */
		n = input_next(in, r->tx[i], TX_SIZE, r->tx_inflight == 0 ? SLICE_MS : 0);
		if (n <= 0)
			return 0;
		rc = vio_vmsg_drv_console_tx_post(r->d, r->tx[i], (uint32_t) n);
		if (rc < 0)
			return rc;
		r->tx_busy[i] = true;
		r->tx_inflight++;
	}
	return 0;
}

/* console DEV [--write TEXT] [--bytes N] [--wait MS] */
int cmd_console(struct drv_ctx *c, int argc, char **argv)
{
	static struct con_run run;
	struct con_run *r = &run;
	struct cmd_opts co;
	struct input_src in;
	uint64_t end = 0;
	int rc;

	if ((rc = cmd_opts_parse(c, "console", argc - 1, argv + 1, OPT_WRITE | OPT_BYTES | OPT_WAIT,
				 &co)) != 0)
		return rc;
	if ((rc = device_up(c, argv[0], &drv_kind_console, 0)) != 0)
		return rc;
	memset(r, 0, sizeof(*r));
	r->d = &c->s->dev;
	input_src_init(&in, &co);
	for (unsigned i = 0; i < RX_BUFS; i++)
		if ((rc = vio_vmsg_drv_console_rx_post(r->d, r->rx[i], RX_SIZE)) < 0)
			return fail("receive buffers", rc);
	for (;;) {
		if ((rc = drain_rx(r, &co)) < 0)
			return fail("receiving", rc);
		if ((rc = drain_tx(r)) < 0 || (rc = feed(r, &in)) < 0)
			return fail("sending", rc);
		/* Done once the host took all the input and the count came back. */
		if ((co.given & OPT_BYTES) && r->got >= co.bytes && in.eof && r->tx_inflight == 0)
			return 0;
		/* --wait counts from the end of the input. */
		if (in.eof && end == 0)
			end = now_ms() + co.wait_ms;
		if (end != 0 && now_ms() >= end)
			break;
		if (in.text != NULL || in.eof || r->tx_inflight > 0)
			vio_vmsg_drv_wait(&c->s->drv, SLICE_MS * 1000u);
	}
	if (r->tx_inflight > 0) {
		fprintf(stderr,
			"vioport-drv: console: the host did not take all the input within "
			"%u ms\n",
			co.wait_ms);
		return 1;
	}
	if (co.given & OPT_BYTES) {
		fprintf(stderr, "vioport-drv: console: %llu of %llu bytes arrived within %u ms\n",
			(unsigned long long) r->got, (unsigned long long) co.bytes, co.wait_ms);
		return 1;
	}
	return 0;
}
