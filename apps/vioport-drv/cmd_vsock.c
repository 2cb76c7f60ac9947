/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport-drv: the vsock commands. One stream as the guest (the device's CID):
 * `connect` reaches a host port (with the daemon's --uds-path, the listener
 * at PATH_PORT), `listen` waits for the host to connect to a guest port (a
 * host program's "CONNECT PORT" on PATH). Then stdin (or --write) goes to the
 * host within the credit it gives, our side is shut down for sending at the
 * end of the input, and what the host sends is printed until --bytes came,
 * the host ended its side, or --wait ran out after the input ended.
 */
#include <stdio.h>
#include <string.h>

#include "vioport-drv.h"
#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/virtio.h"
#include "vioport/vsock.h"

#define RX_BUFS	   8u
#define RX_SIZE	   (VIO_VSOCK_HDR_SIZE + 4096u)
#define BUF_ALLOC  65536u /* our receive credit: we print at once, so it is never used up */
#define SLICE_MS   10
#define LOCAL_PORT 49152u /* connect's source port unless --port */
#define CLOSE_MS   1000u  /* how long the host gets to answer our SHUTDOWN with an RST */

static void vsock_summary(struct vio_vmsg_drv_dev *d)
{
	uint8_t cfg[VIO_VSOCK_CONFIG_SIZE];

	if (vio_vmsg_drv_read_config(d, VIO_VSOCK_CFG_GUEST_CID, cfg, sizeof(cfg)) == 0)
		printf("  guest CID %llu", (unsigned long long) vio_get_le64(cfg));
}

/* The rx and tx queues; the event queue (transport resets) is not set up. */
const struct drv_kind drv_kind_vsock = {"vsock", VIO_ID_VSOCK, 2, vsock_summary};

struct vs_run {
	struct vio_vmsg_drv_vsock vs;
	uint8_t rx[RX_BUFS][RX_SIZE];
	uint8_t out[VIO_VMSG_DRV_VSOCK_PKT];
	uint32_t out_len, out_off; /* input read but not sent yet */
	uint64_t got;
};

/* Handles the packets the device wrote, printing data; 0 or negative. */
static int drain_rx(struct vs_run *r, const struct cmd_opts *co)
{
	struct vio_vmsg_drv_dev *d = r->vs.d;
	const uint8_t *data;
	uint32_t len, dlen;
	void *buf;
	int rc;

	while ((rc = vio_vmsg_drv_get_used(d, VIO_VSOCK_RXQ, &buf, &len)) == 1) {
		if (len > RX_SIZE)
			return -VIO_EPROTO;
		rc = vio_vmsg_drv_vsock_rx(&r->vs, buf, len, &data, &dlen);
		if (rc == VIO_VMSG_DRV_VSOCK_DATA) {
			uint32_t show = dlen;

			if ((co->given & OPT_BYTES) && show > co->bytes - r->got)
				show = (uint32_t) (co->bytes - r->got);
			fwrite(data, 1, show, stdout);
			r->got += show;
			rc = vio_vmsg_drv_vsock_consumed(&r->vs, dlen);
		}
		if (rc == -VIO_EPROTO)
			fprintf(stderr, "vioport-drv: vsock: the host broke the protocol; stream "
					"reset\n");
		if (rc < 0)
			return rc;
		if ((rc = vio_vmsg_drv_vsock_rx_post(d, buf, RX_SIZE)) < 0)
			return rc;
	}
	fflush(stdout);
	return rc;
}

/* Sends what the input has within the host's credit; 0 or negative. */
static int feed(struct vs_run *r, struct input_src *in)
{
	while (r->vs.state == VIO_VMSG_DRV_VSOCK_ESTABLISHED) {
		int n;

		if (r->out_off == r->out_len) {
			if (in->eof)
				break;
			n = input_next(in, r->out, sizeof(r->out), SLICE_MS);
			if (n <= 0)
				break;
			r->out_len = (uint32_t) n;
			r->out_off = 0;
		}
		n = vio_vmsg_drv_vsock_write(&r->vs, r->out + r->out_off, r->out_len - r->out_off);
		if (n <= 0)
			return n;
		r->out_off += (uint32_t) n;
	}
	return 0;
}

/* Waits for the stream to leave state, up to ms; 0, or negative. */
static int wait_state(struct drv_ctx *c, struct vs_run *r, const struct cmd_opts *co, uint8_t state,
		      uint32_t ms)
{
	uint64_t end = now_ms() + ms;
	int rc;

	while (r->vs.state == state) {
		if ((rc = drain_rx(r, co)) < 0)
			return rc;
		if (r->vs.state != state)
			break;
		if (now_ms() >= end)
			return -VIO_ETIMEDOUT;
		vio_vmsg_drv_wait(&c->s->drv, SLICE_MS * 1000u);
	}
	return 0;
}

/* The data phase on an established stream, then the close; the exit status. */
static int stream(struct drv_ctx *c, struct vs_run *r, const struct cmd_opts *co)
{
	struct input_src in;
	uint64_t end = 0;
	int rc, status = 0;

	input_src_init(&in, co);
	for (;;) {
		bool sent_all;

		if ((rc = drain_rx(r, co)) < 0)
			return fail("vsock receive", rc);
		if (r->vs.state != VIO_VMSG_DRV_VSOCK_ESTABLISHED)
			break;
		if ((rc = feed(r, &in)) < 0)
			return fail("vsock send", rc);
		/* The end of the input is our end of stream, once the host took every byte. */
		if (in.eof && r->out_off == r->out_len && !(r->vs.shut & VIO_VSOCK_SHUTDOWN_SEND) &&
		    (rc = vio_vmsg_drv_vsock_drained(&r->vs)) != 0) {
			if (rc > 0)
				rc = vio_vmsg_drv_vsock_shutdown(&r->vs, VIO_VSOCK_SHUTDOWN_SEND);
			if (rc < 0)
				return fail("vsock shutdown", rc);
		}
		sent_all = (in.eof && r->out_off == r->out_len) ||
			   (r->vs.peer_shut & VIO_VSOCK_SHUTDOWN_RCV);
		/*
		 * Done once the input is out and the count came, or the host will send
		 * no more (what it sent is all there is); not before: a host may answer
		 * and shut its side before it read ours.
		 */
		if (sent_all && (((co->given & OPT_BYTES) && r->got >= co->bytes) ||
				 (r->vs.peer_shut & VIO_VSOCK_SHUTDOWN_SEND)))
			break;
		if (sent_all && end == 0)
			end = now_ms() + co->wait_ms;
		if (end != 0 && now_ms() >= end)
			break;
		/* Reading stdin polls already; otherwise wait for the device. */
		if (in.text != NULL || in.eof || r->out_off < r->out_len)
			vio_vmsg_drv_wait(&c->s->drv, SLICE_MS * 1000u);
	}
	if ((co->given & OPT_BYTES) && r->got < co->bytes) {
		fprintf(stderr, "vioport-drv: vsock: %llu of %llu bytes arrived\n",
			(unsigned long long) r->got, (unsigned long long) co->bytes);
		status = 1;
	}
	if (r->vs.state == VIO_VMSG_DRV_VSOCK_CLOSED) {
		if (!(r->vs.peer_shut & VIO_VSOCK_SHUTDOWN_SEND))
			fprintf(stderr, "vioport-drv: vsock: the host reset the stream\n");
		return status;
	}
	/*
	 * A clean close: SHUTDOWN both ways, the host answers with an RST. Not
	 * before the host took what we sent: the device passes a SHUTDOWN on at
	 * once, ahead of bytes it still holds.
	 */
	for (uint64_t until = now_ms() + CLOSE_MS;
	     r->vs.state == VIO_VMSG_DRV_VSOCK_ESTABLISHED && now_ms() < until;) {
		if ((rc = vio_vmsg_drv_vsock_drained(&r->vs)) != 0)
			break;
		if ((rc = drain_rx(r, co)) < 0)
			break;
		vio_vmsg_drv_wait(&c->s->drv, SLICE_MS * 1000u);
	}
	if (r->vs.state != VIO_VMSG_DRV_VSOCK_ESTABLISHED)
		return status;
	rc = vio_vmsg_drv_vsock_shutdown(&r->vs, VIO_VSOCK_SHUTDOWN_BOTH);
	if (rc == 0 && wait_state(c, r, co, VIO_VMSG_DRV_VSOCK_ESTABLISHED, CLOSE_MS) == 0)
		return status;
	vio_vmsg_drv_vsock_reset(&r->vs);
	return status;
}

/* Brings the device up and sets the stream and its receive buffers up; 0 or the exit status. */
static int vsock_up(struct drv_ctx *c, const char *dev, struct vs_run *r)
{
	int rc;

	if ((rc = device_up(c, dev, &drv_kind_vsock, VIO_BIT(VIO_VSOCK_F_STREAM))) != 0)
		return rc;
	memset(r, 0, sizeof(*r));
	if ((rc = vio_vmsg_drv_vsock_init(&r->vs, &c->s->dev, BUF_ALLOC)) < 0)
		return fail("reading the guest CID", rc);
	for (unsigned i = 0; i < RX_BUFS; i++)
		if ((rc = vio_vmsg_drv_vsock_rx_post(&c->s->dev, r->rx[i], RX_SIZE)) < 0)
			return fail("receive buffers", rc);
	return 0;
}

static bool parse_port(const char *s, uint32_t *port)
{
	uint64_t v;

	if (!parse_u64(s, UINT32_MAX - 1u, &v))
		return false;
	*port = (uint32_t) v;
	return true;
}

/* vsock DEV connect PORT [--port LOCAL] [--write TEXT] [--bytes N] [--wait MS] */
int cmd_vsock_connect(struct drv_ctx *c, int argc, char **argv)
{
	static struct vs_run run;
	struct cmd_opts co;
	uint32_t port;
	int rc;

	if (!parse_port(argv[2], &port))
		return usage_error("vsock: bad port '%s'", argv[2]);
	if ((rc = cmd_opts_parse(c, "vsock", argc - 3, argv + 3,
				 OPT_PORT | OPT_WRITE | OPT_BYTES | OPT_WAIT, &co)) != 0)
		return rc;
	if ((co.given & OPT_PORT) && co.port >= UINT32_MAX)
		return usage_error("%s", "vsock: bad --port");
	if ((rc = vsock_up(c, argv[0], &run)) != 0)
		return rc;
	rc = vio_vmsg_drv_vsock_connect(
	    &run.vs, (co.given & OPT_PORT) ? (uint32_t) co.port : LOCAL_PORT, port);
	if (rc == 0)
		rc = wait_state(c, &run, &co, VIO_VMSG_DRV_VSOCK_CONNECTING, co.wait_ms);
	if (rc == -VIO_ETIMEDOUT) {
		fprintf(stderr, "vioport-drv: vsock: no answer to the connection within %u ms\n",
			co.wait_ms);
		vio_vmsg_drv_vsock_reset(&run.vs);
		return 1;
	}
	if (rc < 0)
		return fail("vsock connect", rc);
	if (run.vs.state != VIO_VMSG_DRV_VSOCK_ESTABLISHED) {
		fprintf(stderr, "vioport-drv: vsock: host port %u refused the connection\n", port);
		return 1;
	}
	fprintf(stderr, "vioport-drv: vsock: connected from %llu:%u to host port %u\n",
		(unsigned long long) run.vs.cid, run.vs.local_port, port);
	return stream(c, &run, &co);
}

/* vsock DEV listen PORT [--write TEXT] [--bytes N] [--wait MS] */
int cmd_vsock_listen(struct drv_ctx *c, int argc, char **argv)
{
	static struct vs_run run;
	struct cmd_opts co;
	uint32_t port;
	int rc;

	if (!parse_port(argv[2], &port))
		return usage_error("vsock: bad port '%s'", argv[2]);
	if ((rc = cmd_opts_parse(c, "vsock", argc - 3, argv + 3, OPT_WRITE | OPT_BYTES | OPT_WAIT,
				 &co)) != 0)
		return rc;
	if ((rc = vsock_up(c, argv[0], &run)) != 0)
		return rc;
	vio_vmsg_drv_vsock_listen(&run.vs, port);
	/* On stderr, so a script waiting to connect can tell the guest side is there. */
	fprintf(stderr, "vioport-drv: vsock: listening on %llu:%u\n",
		(unsigned long long) run.vs.cid, port);
	rc = wait_state(c, &run, &co, VIO_VMSG_DRV_VSOCK_LISTENING, co.wait_ms);
	if (rc == -VIO_ETIMEDOUT) {
		fprintf(stderr, "vioport-drv: vsock: no connection to port %u within %u ms\n", port,
			co.wait_ms);
		return 1;
	}
	if (rc < 0)
		return fail("vsock listen", rc);
	fprintf(stderr, "vioport-drv: vsock: host port %u connected\n", run.vs.peer_port);
	return stream(c, &run, &co);
}
