/* SPDX-License-Identifier: BSD-3-Clause */
/* virtio-vsock: stream connections, credit flow control, a provider behind the host end. */
#include "vioport/vsock.h"
#include "vioport/byteorder.h"
#include "vioport/errno.h"

#include <string.h>

#define VSOCK_FEATURES                                                                             \
	(VIO_BIT(VIO_VSOCK_F_STREAM) | VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) |   \
	 VIO_BIT(VIO_F_RING_PACKED) | VIO_BIT(VIO_F_VERSION_1))

/* What a connection owes (struct vio_vsock_conn.owed). */
#define OWE_RST	     0x01u /* CLOSING: the RST that ends it */
#define OWE_REQUEST  0x02u
#define OWE_RESPONSE 0x04u
#define OWE_CREDIT   0x08u /* a CREDIT_UPDATE */
#define OWE_DRAIN    0x10u /* not a packet: offer buffered data to the provider again */

/*
 * Passes of the run loop one call makes while host calls keep arriving from
 * inside it. Each pass moves data when the provider calls only on changes
 * (data where there was none, room after a refusal); the bound only stops a
 * provider that calls on every operation from spinning the device.
 */
#define VSOCK_MAX_PASSES 1024

/* Host ports vio_vsock_host_connect picks from. */
#define VSOCK_PORT_FIRST 1024u
#define VSOCK_PORT_LAST	 0x7fffffffu

static void vsock_run(struct vio_vsock *vs);

static int vsock_find(const struct vio_vsock *vs, uint32_t guest_port, uint32_t host_port)
{
	for (uint32_t i = 0; i < vs->nconn; i++) {
		const struct vio_vsock_conn *c = &vs->conns[i];

		if (c->state != VIO_VSOCK_CONN_FREE && c->guest_port == guest_port &&
		    c->host_port == host_port)
			return (int) i;
	}
	return -1;
}

static int vsock_free_slot(const struct vio_vsock *vs)
{
	for (uint32_t i = 0; i < vs->nconn; i++) {
		if (vs->conns[i].state == VIO_VSOCK_CONN_FREE)
			return (int) i;
	}
	return -1;
}

/* Bytes the guest can still take on c: its buf_alloc less what is in flight. */
static uint32_t vsock_credit(const struct vio_vsock_conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

/*
 * Ends connection id: with an RST owed to the guest (send_rst) or at once,
 * then tells the provider (connected for one still connecting, closed for one
 * it knew). The state changes first, so the provider may call back in.
 */
static void vsock_end(struct vio_vsock *vs, uint32_t id, int reason, bool send_rst)
{
	struct vio_vsock_conn *c = &vs->conns[id];
	uint8_t was = c->state;
	bool known = c->provider;

	if (send_rst) {
		uint32_t g = c->guest_port, h = c->host_port;

		memset(c, 0, sizeof(*c));
		c->state = VIO_VSOCK_CONN_CLOSING;
		c->owed = OWE_RST;
		c->guest_port = g;
		c->host_port = h;
	} else {
		memset(c, 0, sizeof(*c));
	}
	if (!known)
		return;
	if (was == VIO_VSOCK_CONN_CONNECTING) {
		if (vs->ops->connected != NULL)
			vs->ops->connected(vs->ctx, id, reason < 0 ? reason : -VIO_ECONNRESET);
	} else if (vs->ops->closed != NULL) {
		vs->ops->closed(vs->ctx, id, reason);
	}
}

/* The guest broke the protocol on stream id: it is reset, nothing else is touched. */
static void vsock_violation(struct vio_vsock *vs, uint32_t id)
{
	vs->stats.resets++;
	vsock_end(vs, id, -VIO_EPROTO, true);
}

/* Queues an RST for a packet of no stream; when the queue is full the reply is lost. */
static void vsock_rst_reply(struct vio_vsock *vs, uint32_t guest_port, uint32_t host_port,
			    uint16_t type)
{
	if (vs->nrst == VIO_VSOCK_RST_QUEUE) {
		vs->stats.rst_lost++;
		return;
	}
	vs->rst[vs->nrst].guest_port = guest_port;
	vs->rst[vs->nrst].host_port = host_port;
	vs->rst[vs->nrst].type = type;
	vs->nrst++;
}

/*
 * Tells the provider the guest's shutdowns it has not heard of yet. SEND
 * waits until every byte the guest sent before it went to the host end: the
 * provider shuts the host socket's writing side on it, and bytes still held
 * here would then have nowhere to go.
 */
static void vsock_tell_shutdown(struct vio_vsock *vs, uint32_t id)
{
	struct vio_vsock_conn *c = &vs->conns[id];
	uint8_t tell = (uint8_t) (c->peer_shut & ~c->peer_told);

	if ((tell & VIO_VSOCK_SHUTDOWN_SEND) && c->rx_cnt != c->fwd_cnt)
		tell &= (uint8_t) ~VIO_VSOCK_SHUTDOWN_SEND;
	if (tell == 0)
		return;
	c->peer_told |= tell;
	if (vs->ops->shutdown != NULL)
		vs->ops->shutdown(vs->ctx, id, tell);
}

/*
 * Offers c's buffered guest data to the provider until it takes less than
 * offered; then owes the guest a credit update when its view of the free
 * space fell under half, tells the provider the guest's shutdowns (SEND once
 * everything before it went out), and finishes a close the guest asked for
 * once everything went out.
 */
static void vsock_drain(struct vio_vsock *vs, uint32_t id)
{
	struct vio_vsock_conn *c = &vs->conns[id];
	uint8_t *buf = vs->bufs + (uint64_t) id * vs->buf_size;

	while (c->state == VIO_VSOCK_CONN_ESTABLISHED && c->rx_cnt != c->fwd_cnt) {
		uint32_t held = c->rx_cnt - c->fwd_cnt;
		uint32_t off = c->fwd_cnt & (vs->buf_size - 1);
		uint32_t n = held < vs->buf_size - off ? held : vs->buf_size - off;
		int got = vs->ops->send(vs->ctx, id, buf + off, n);

		if (c->state != VIO_VSOCK_CONN_ESTABLISHED)
			return; /* the provider reset it from inside send */
		if (got < 0) {
			vsock_end(vs, id, got, true);
			return;
		}
		if ((uint32_t) got > n)
			got = (int) n; /* a provider that overstates is not believed */
		c->fwd_cnt += (uint32_t) got;
		if ((uint32_t) got < n)
			break;
	}
	if (c->state != VIO_VSOCK_CONN_ESTABLISHED)
		return;
	if (c->fwd_cnt != c->adv_fwd_cnt && c->rx_cnt - c->adv_fwd_cnt > vs->buf_size / 2)
		c->owed |= OWE_CREDIT;
	vsock_tell_shutdown(vs, id);
	if (c->state != VIO_VSOCK_CONN_ESTABLISHED)
		return; /* the provider reset it from inside shutdown */
	if (c->peer_shut == VIO_VSOCK_SHUTDOWN_BOTH && c->rx_cnt == c->fwd_cnt)
		vsock_end(vs, id, 0, true); /* as Linux: the full shutdown is answered with RST */
}

/* Copies an RW packet's payload (after the header) into c's buffer, then drains. */
static void vsock_take_data(struct vio_vsock *vs, uint32_t id, const struct vio_req *r,
			    uint32_t len)
{
	struct vio_vsock_conn *c = &vs->conns[id];
	uint8_t *buf = vs->bufs + (uint64_t) id * vs->buf_size;
	uint32_t done = 0;

	while (done < len) {
		uint32_t off = (c->rx_cnt + done) & (vs->buf_size - 1);
		uint32_t n = len - done < vs->buf_size - off ? len - done : vs->buf_size - off;

		vio_iov_to_buf(r->iov, r->nread, VIO_VSOCK_HDR_SIZE + done, buf + off, n);
		done += n;
	}
	c->rx_cnt += len;
	vs->stats.tx_bytes += len;
	vsock_drain(vs, id);
}

/* A guest REQUEST for a new stream: a slot, then the provider's decision. */
static void vsock_guest_connect(struct vio_vsock *vs, uint32_t guest_port, uint32_t host_port,
				uint32_t buf_alloc, uint32_t fwd_cnt)
{
	int slot = vsock_free_slot(vs);
	struct vio_vsock_conn *c;
	int rc;

	if (slot < 0) {
		vsock_rst_reply(vs, guest_port, host_port, VIO_VSOCK_TYPE_STREAM);
		return;
	}
	c = &vs->conns[slot];
	memset(c, 0, sizeof(*c));
	c->state = VIO_VSOCK_CONN_ACCEPTING;
	c->guest_port = guest_port;
	c->host_port = host_port;
	c->peer_buf_alloc = buf_alloc;
	c->peer_fwd_cnt = fwd_cnt;
	c->tx_cnt = fwd_cnt; /* nothing sent yet: the guest's count is the base */
	rc = vs->ops->connect(vs->ctx, (uint32_t) slot, host_port, guest_port);
	if (c->state != VIO_VSOCK_CONN_ACCEPTING || c->provider)
		return; /* decided from inside connect */
	if (rc == VIO_VSOCK_PENDING) {
		c->provider = true;
	} else if (rc < 0) {
		vsock_end(vs, (uint32_t) slot, rc, true);
	} else {
		c->state = VIO_VSOCK_CONN_ESTABLISHED;
		c->provider = true;
		c->owed |= OWE_RESPONSE;
	}
}

/* The guest reset stream id; a reply to the host's full shutdown is a clean close. */
static void vsock_guest_rst(struct vio_vsock *vs, uint32_t id)
{
	const struct vio_vsock_conn *c = &vs->conns[id];
	int reason = -VIO_ECONNRESET;

	if (c->state == VIO_VSOCK_CONN_ESTABLISHED && c->shut_sent == VIO_VSOCK_SHUTDOWN_BOTH)
		reason = 0;
	vsock_end(vs, id, reason, false);
}

/* One packet on an existing stream, its header already checked for shape and type. */
static void vsock_stream_packet(struct vio_vsock *vs, uint32_t id, const struct vio_req *r,
				uint16_t op, uint32_t flags, uint32_t len)
{
	struct vio_vsock_conn *c = &vs->conns[id];

	switch (op) {
	case VIO_VSOCK_OP_RESPONSE:
		if (c->state != VIO_VSOCK_CONN_CONNECTING || (c->owed & OWE_REQUEST))
			break;
		c->state = VIO_VSOCK_CONN_ESTABLISHED;
		if (vs->ops->connected != NULL)
			vs->ops->connected(vs->ctx, id, 0);
		return;
	case VIO_VSOCK_OP_SHUTDOWN: {
		uint8_t added;

		if (c->state != VIO_VSOCK_CONN_ESTABLISHED)
			break;
		added = (uint8_t) (flags & VIO_VSOCK_SHUTDOWN_BOTH & ~c->peer_shut);
		c->peer_shut |= added;
		/* the drain tells the provider, SEND once the data before it went out */
		vsock_drain(vs, id);
		return;
	}
	case VIO_VSOCK_OP_RW:
		if (c->state != VIO_VSOCK_CONN_ESTABLISHED ||
		    (c->peer_shut & VIO_VSOCK_SHUTDOWN_SEND) ||
		    (c->shut_sent & VIO_VSOCK_SHUTDOWN_RCV))
			break; /* data after the guest's or the host's shutdown of that direction */
		if (len > vs->buf_size - (c->rx_cnt - c->fwd_cnt))
			break; /* beyond the credit the device gave */
		vsock_take_data(vs, id, r, len);
		return;
	case VIO_VSOCK_OP_CREDIT_UPDATE:
		if (c->state != VIO_VSOCK_CONN_ESTABLISHED)
			break;
		return; /* the credit fields were taken already */
	case VIO_VSOCK_OP_CREDIT_REQUEST:
		if (c->state != VIO_VSOCK_CONN_ESTABLISHED)
			break; /* nothing to ask about before the stream is up */
		c->owed |= OWE_CREDIT;
		return;
	default:
		break; /* REQUEST on a live stream, INVALID, unknown ops */
	}
	vsock_violation(vs, id);
}

/* One tx packet: addressing, shape, then the stream it belongs to. */
static void vsock_packet(struct vio_vsock *vs, const struct vio_req *r)
{
	uint8_t h[VIO_VSOCK_HDR_SIZE];
	uint32_t gport, hport, len, flags, buf_alloc, fwd_cnt;
	uint16_t type, op;
	struct vio_vsock_conn *c;
	bool bad;
	int id;

	if (r->read_len < VIO_VSOCK_HDR_SIZE ||
	    vio_iov_to_buf(r->iov, r->nread, 0, h, sizeof(h)) != sizeof(h)) {
		vs->stats.dropped++; /* no header: nothing to answer */
		return;
	}
	if (vio_get_le64(h + VIO_VSOCK_HDR_SRC_CID) != vs->guest_cid ||
	    vio_get_le64(h + VIO_VSOCK_HDR_DST_CID) != VIO_VSOCK_HOST_CID) {
		vs->stats.dropped++; /* not from this guest or not for the host */
		return;
	}
	gport = vio_get_le32(h + VIO_VSOCK_HDR_SRC_PORT);
	hport = vio_get_le32(h + VIO_VSOCK_HDR_DST_PORT);
	len = vio_get_le32(h + VIO_VSOCK_HDR_LEN);
	type = vio_get_le16(h + VIO_VSOCK_HDR_TYPE);
	op = vio_get_le16(h + VIO_VSOCK_HDR_OP);
	flags = vio_get_le32(h + VIO_VSOCK_HDR_FLAGS);
	buf_alloc = vio_get_le32(h + VIO_VSOCK_HDR_BUF_ALLOC);
	fwd_cnt = vio_get_le32(h + VIO_VSOCK_HDR_FWD_CNT);
	/* the payload must be exactly what the buffer holds after the header, and all of it */
	bad = r->nwrite != 0 || (r->flags & VIO_REQ_F_OVERFLOW) ||
	      r->read_len - VIO_VSOCK_HDR_SIZE != len || len > VIO_VSOCK_MAX_PKT ||
	      (op != VIO_VSOCK_OP_RW && len != 0) || type != VIO_VSOCK_TYPE_STREAM;

	id = vsock_find(vs, gport, hport);
	if (id < 0) {
		if (op == VIO_VSOCK_OP_RST)
			return; /* never answer an RST with one */
		if (bad || op != VIO_VSOCK_OP_REQUEST)
			vsock_rst_reply(vs, gport, hport, type);
		else
			vsock_guest_connect(vs, gport, hport, buf_alloc, fwd_cnt);
		return;
	}
	c = &vs->conns[id];
	if (c->state == VIO_VSOCK_CONN_CLOSING)
		return; /* its RST is on the way */
	if (bad) {
		vsock_violation(vs, (uint32_t) id);
		return;
	}
	if (op == VIO_VSOCK_OP_RST) {
		vsock_guest_rst(vs, (uint32_t) id);
		return;
	}
	/* fwd_cnt only moves forward, and never past what the device sent */
	if (fwd_cnt - c->peer_fwd_cnt > c->tx_cnt - c->peer_fwd_cnt) {
		vsock_violation(vs, (uint32_t) id);
		return;
	}
	c->peer_buf_alloc = buf_alloc;
	c->peer_fwd_cnt = fwd_cnt;
	vsock_stream_packet(vs, (uint32_t) id, r, op, flags, len);
}

static void vsock_run_tx(struct vio_vsock *vs)
{
	struct vio_device *dev = &vs->dev;
	bool pushed = false;

	while (vio_device_queue_live(dev, VIO_VSOCK_TXQ)) {
		vs->req.iov = vs->iov;
		vs->req.cap = VIO_VSOCK_SEGS;
		if (vio_device_pop(dev, VIO_VSOCK_TXQ, &vs->req) != 1)
			break;
		vsock_packet(vs, &vs->req);
		/* tx buffers are device-readable: nothing written */
		vio_vq_push(&dev->queues[VIO_VSOCK_TXQ].vq, vs->req.id, vs->req.ndesc, 0);
		pushed = true;
	}
	if (pushed)
		vio_device_flush(dev, VIO_VSOCK_TXQ);
}

/* The guest may be sent data on c now, if the provider has some. */
static bool vsock_may_send_data(const struct vio_vsock_conn *c)
{
	return c->state == VIO_VSOCK_CONN_ESTABLISHED && c->readable &&
	       !(c->shut_sent & VIO_VSOCK_SHUTDOWN_SEND) &&
	       !(c->peer_shut & VIO_VSOCK_SHUTDOWN_RCV) && vsock_credit(c) != 0;
}

/* The host's SHUTDOWN flags that may go out now: SEND only after the data before it. */
static uint8_t vsock_shut_due(const struct vio_vsock_conn *c)
{
	uint8_t due = (uint8_t) (c->host_shut & ~c->shut_sent);

	if (c->state != VIO_VSOCK_CONN_ESTABLISHED)
		return 0;
	if ((due & VIO_VSOCK_SHUTDOWN_SEND) && c->readable &&
	    !(c->peer_shut & VIO_VSOCK_SHUTDOWN_RCV))
		due &= (uint8_t) ~VIO_VSOCK_SHUTDOWN_SEND;
	return due;
}

static bool vsock_has_work(const struct vio_vsock_conn *c)
{
	if (c->state == VIO_VSOCK_CONN_FREE)
		return false;
	if (c->state == VIO_VSOCK_CONN_CLOSING)
		return (c->owed & OWE_RST) != 0;
	return (c->owed & (OWE_REQUEST | OWE_RESPONSE | OWE_CREDIT)) != 0 ||
	       vsock_may_send_data(c) || vsock_shut_due(c) != 0;
}

/* Writes the header of a packet to the guest into the held rx buffer. */
static void vsock_put_hdr(struct vio_vsock *vs, uint32_t guest_port, uint32_t host_port,
			  uint16_t type, uint16_t op, uint32_t flags, uint32_t len,
			  uint32_t fwd_cnt)
{
	uint8_t h[VIO_VSOCK_HDR_SIZE];

	memset(h, 0, sizeof(h));
	vio_put_le64(h + VIO_VSOCK_HDR_SRC_CID, VIO_VSOCK_HOST_CID);
	vio_put_le64(h + VIO_VSOCK_HDR_DST_CID, vs->guest_cid);
	vio_put_le32(h + VIO_VSOCK_HDR_SRC_PORT, host_port);
	vio_put_le32(h + VIO_VSOCK_HDR_DST_PORT, guest_port);
	vio_put_le32(h + VIO_VSOCK_HDR_LEN, len);
	vio_put_le16(h + VIO_VSOCK_HDR_TYPE, type);
	vio_put_le16(h + VIO_VSOCK_HDR_OP, op);
	vio_put_le32(h + VIO_VSOCK_HDR_FLAGS, flags);
	vio_put_le32(h + VIO_VSOCK_HDR_BUF_ALLOC, vs->buf_size);
	vio_put_le32(h + VIO_VSOCK_HDR_FWD_CNT, fwd_cnt);
	vio_iov_from_buf(vs->rx_req.iov, vs->rx_req.nwrite, 0, h, sizeof(h));
}

/*
 * Pulls up to max bytes of c's data from the provider into the rx buffer
 * after the header. Returns the bytes, 0 for none (the readable mark is then
 * cleared), or -1 when the stream ended meanwhile.
 */
static int vsock_pull(struct vio_vsock *vs, uint32_t id, uint32_t max)
{
	struct vio_vsock_conn *c = &vs->conns[id];
	uint32_t skip = VIO_VSOCK_HDR_SIZE, total = 0;

	for (uint16_t i = 0; i < vs->rx_req.nwrite && total < max; i++) {
		const struct vio_iov *v = &vs->rx_req.iov[i];
		uint32_t room, want;
		int got;

		if (v->len <= skip) {
			skip -= v->len;
			continue;
		}
		room = v->len - skip;
		want = room < max - total ? room : max - total;
		got = vs->ops->recv(vs->ctx, id, v->base + skip, want);
		skip = 0;
		if (c->state != VIO_VSOCK_CONN_ESTABLISHED)
			return -1; /* reset from inside recv */
		if (got < 0) {
			vsock_end(vs, id, got, true);
			return -1;
		}
		if ((uint32_t) got > want)
			got = (int) want;
		total += (uint32_t) got;
		if ((uint32_t) got < want)
			break;
	}
	if (total == 0)
		c->readable = false;
	return (int) total;
}

/* Fills the held rx buffer with c's most urgent packet; returns its length, 0 for none. */
static uint32_t vsock_emit(struct vio_vsock *vs, uint32_t id)
{
	struct vio_vsock_conn *c = &vs->conns[id];
	uint32_t g = c->guest_port, h = c->host_port, flags = 0, len = 0;
	uint16_t op;

	if (c->state == VIO_VSOCK_CONN_CLOSING) {
		vsock_put_hdr(vs, g, h, VIO_VSOCK_TYPE_STREAM, VIO_VSOCK_OP_RST, 0, 0, 0);
		memset(c, 0, sizeof(*c));
		return VIO_VSOCK_HDR_SIZE;
	}
	if (c->owed & OWE_REQUEST) {
		c->owed &= (uint8_t) ~OWE_REQUEST;
		op = VIO_VSOCK_OP_REQUEST;
	} else if (c->owed & OWE_RESPONSE) {
		c->owed &= (uint8_t) ~OWE_RESPONSE;
		op = VIO_VSOCK_OP_RESPONSE;
	} else {
		op = VIO_VSOCK_OP_INVALID;
		if (vsock_may_send_data(c)) {
			uint32_t max = vs->rx_req.write_len - VIO_VSOCK_HDR_SIZE;
			uint32_t credit = vsock_credit(c);
			int got;

			max = max < credit ? max : credit;
			max = max < VIO_VSOCK_MAX_PKT ? max : VIO_VSOCK_MAX_PKT;
			got = max == 0 ? 0 : vsock_pull(vs, id, max);
			if (got < 0)
				return 0;
			if (got > 0) {
				op = VIO_VSOCK_OP_RW;
				len = (uint32_t) got;
				c->tx_cnt += len;
				vs->stats.rx_bytes += len;
			}
		}
		if (op == VIO_VSOCK_OP_INVALID && vsock_shut_due(c) != 0) {
			flags = vsock_shut_due(c);
			c->shut_sent |= (uint8_t) flags;
			op = VIO_VSOCK_OP_SHUTDOWN;
		}
		if (op == VIO_VSOCK_OP_INVALID && (c->owed & OWE_CREDIT))
			op = VIO_VSOCK_OP_CREDIT_UPDATE;
		if (op == VIO_VSOCK_OP_INVALID)
			return 0;
	}
	/* every packet carries the credit: no separate update is owed after it */
	c->owed &= (uint8_t) ~OWE_CREDIT;
	c->adv_fwd_cnt = c->fwd_cnt;
	vsock_put_hdr(vs, g, h, VIO_VSOCK_TYPE_STREAM, op, flags, len, c->fwd_cnt);
	return VIO_VSOCK_HDR_SIZE + len;
}

/* Makes sure an rx buffer of the right shape is held; false when the driver has none. */
static bool vsock_rx_buffer(struct vio_vsock *vs, bool *pushed)
{
	struct vio_device *dev = &vs->dev;

	while (!vs->rx_held) {
		vs->rx_req.iov = vs->rx_iov;
		vs->rx_req.cap = VIO_VSOCK_SEGS;
		if (vio_device_pop(dev, VIO_VSOCK_RXQ, &vs->rx_req) != 1)
			return false;
		/* a header and at least one byte of data, so any packet fits */
		if (vs->rx_req.nread != 0 || vs->rx_req.write_len <= VIO_VSOCK_HDR_SIZE ||
		    (vs->rx_req.flags & VIO_REQ_F_OVERFLOW)) {
			vs->stats.bad_rx_bufs++;
			vio_vq_push(&dev->queues[VIO_VSOCK_RXQ].vq, vs->rx_req.id, vs->rx_req.ndesc,
				    0);
			*pushed = true;
			continue;
		}
		vs->rx_held = true;
	}
	return true;
}

static void vsock_run_rx(struct vio_vsock *vs)
{
	struct vio_device *dev = &vs->dev;
	bool pushed = false;

	while (vio_device_queue_live(dev, VIO_VSOCK_RXQ)) {
		uint32_t len = 0, id = 0;
		bool found = false;

		if (vs->nrst == 0) {
			for (uint32_t k = 0; k < vs->nconn && !found; k++) {
				id = (vs->rr + k) % vs->nconn;
				found = vsock_has_work(&vs->conns[id]);
			}
			if (!found)
				break;
		}
		if (!vsock_rx_buffer(vs, &pushed))
			break;
		if (vs->nrst != 0) {
			const struct vio_vsock_rst *q = &vs->rst[0];

			vsock_put_hdr(vs, q->guest_port, q->host_port, q->type, VIO_VSOCK_OP_RST, 0,
				      0, 0);
			len = VIO_VSOCK_HDR_SIZE;
			vs->stats.rst_replies++;
			vs->nrst--;
			memmove(&vs->rst[0], &vs->rst[1], vs->nrst * sizeof(vs->rst[0]));
		} else {
			len = vsock_emit(vs, id);
			vs->rr = (id + 1) % vs->nconn;
		}
		if (len == 0 || !vs->rx_held)
			continue; /* nothing after all, or a reset took the buffer away */
		vio_vq_push(&dev->queues[VIO_VSOCK_RXQ].vq, vs->rx_req.id, vs->rx_req.ndesc, len);
		vs->rx_held = false;
		pushed = true;
	}
	if (pushed)
		vio_device_flush(dev, VIO_VSOCK_RXQ);
}

static void vsock_run_event(struct vio_vsock *vs)
{
	struct vio_device *dev = &vs->dev;
	bool pushed = false;

	while (vs->event_owed && vio_device_queue_live(dev, VIO_VSOCK_EVENTQ)) {
		uint8_t ev[VIO_VSOCK_EVENT_SIZE];
		uint32_t len = 0;

		vs->req.iov = vs->iov;
		vs->req.cap = VIO_VSOCK_SEGS;
		if (vio_device_pop(dev, VIO_VSOCK_EVENTQ, &vs->req) != 1)
			break;
		if (vs->req.nread == 0 && vs->req.write_len >= VIO_VSOCK_EVENT_SIZE &&
		    !(vs->req.flags & VIO_REQ_F_OVERFLOW)) {
			vio_put_le32(ev, VIO_VSOCK_EVENT_TRANSPORT_RESET);
			len = vio_iov_from_buf(vs->req.iov, vs->req.nwrite, 0, ev, sizeof(ev));
			vs->event_owed = false;
		} else {
			vs->stats.bad_rx_bufs++;
		}
		vio_vq_push(&dev->queues[VIO_VSOCK_EVENTQ].vq, vs->req.id, vs->req.ndesc, len);
		pushed = true;
	}
	if (pushed)
		vio_device_flush(dev, VIO_VSOCK_EVENTQ);
}

/*
 * Runs everything that may have become possible: buffered data the provider
 * can take now, the tx queue, the rx queue, the event queue. A call from
 * inside (a provider calling back) only asks the running one to pass again.
 */
static void vsock_run(struct vio_vsock *vs)
{
	if (vs->busy) {
		vs->again = true;
		return;
	}
	vs->busy = true;
	for (unsigned pass = 0; pass < VSOCK_MAX_PASSES; pass++) {
		vs->again = false;
		for (uint32_t i = 0; i < vs->nconn; i++) {
			if (vs->conns[i].owed & OWE_DRAIN) {
				vs->conns[i].owed &= (uint8_t) ~OWE_DRAIN;
				vsock_drain(vs, i);
			}
		}
		vsock_run_tx(vs);
		vsock_run_rx(vs);
		vsock_run_event(vs);
		if (!vs->again)
			break;
	}
	vs->busy = false;
}

static void vsock_queue_notify(struct vio_device *dev, uint16_t q)
{
	if (q <= VIO_VSOCK_EVENTQ)
		vsock_run(dev->priv);
}

/* Every connection ends with reason, without an RST: the guest forgets them itself. */
static void vsock_drop_all(struct vio_vsock *vs, int reason)
{
	for (uint32_t i = 0; i < vs->nconn; i++) {
		if (vs->conns[i].state != VIO_VSOCK_CONN_FREE)
			vsock_end(vs, i, reason, false);
	}
	vs->nrst = 0;
}

static void vsock_reset(struct vio_device *dev)
{
	struct vio_vsock *vs = dev->priv;

	vs->rx_held = false; /* it belongs to the old ring */
	vs->event_owed = false;
	vsock_drop_all(vs, -VIO_ENODEV);
}

static void vsock_queue_reset(struct vio_device *dev, uint16_t q)
{
	struct vio_vsock *vs = dev->priv;

	if (q == VIO_VSOCK_RXQ)
		vs->rx_held = false;
}

static const struct vio_device_ops vsock_dev_ops = {
    .reset = vsock_reset,
    .queue_reset = vsock_queue_reset,
    .queue_notify = vsock_queue_notify,
};

static bool vsock_cid_ok(uint64_t cid)
{
	return cid >= VIO_VSOCK_MIN_GUEST_CID && cid < 0xffffffffull;
}

int vio_vsock_init(struct vio_vsock *vs, const struct vio_vsock_ops *ops, void *ctx,
		   uint64_t guest_cid, struct vio_vsock_conn *conns, uint32_t nconn, uint8_t *bufs,
		   uint32_t buf_size, struct vio_queue *queues, uint16_t queue_size,
		   uint64_t features)
{
	if (vs == NULL || ops == NULL || ops->connect == NULL || ops->send == NULL ||
	    ops->recv == NULL || !vsock_cid_ok(guest_cid) || conns == NULL || nconn == 0 ||
	    nconn > 65536u || bufs == NULL || buf_size < 64u || buf_size > (1u << 20) ||
	    (buf_size & (buf_size - 1)) != 0 || queues == NULL || queue_size == 0 ||
	    queue_size > VIO_VQ_MAX_SIZE || (features & ~VSOCK_FEATURES) != 0)
		return -VIO_EINVAL;
	memset(vs, 0, sizeof(*vs));
	memset(conns, 0, (size_t) nconn * sizeof(*conns));
	vs->ops = ops;
	vs->ctx = ctx;
	vs->guest_cid = guest_cid;
	vs->conns = conns;
	vs->nconn = nconn;
	vs->bufs = bufs;
	vs->buf_size = buf_size;
	vs->next_port = VSOCK_PORT_FIRST;
	vio_put_le64(vs->config + VIO_VSOCK_CFG_GUEST_CID, guest_cid);
	vio_device_init(&vs->dev, &vsock_dev_ops, vs, VIO_ID_VSOCK, features, queues, 3, queue_size,
			vs->config, sizeof(vs->config));
	return 0;
}

static struct vio_vsock_conn *vsock_conn(struct vio_vsock *vs, uint32_t id)
{
	if (vs == NULL || id >= vs->nconn || vs->conns[id].state == VIO_VSOCK_CONN_FREE ||
	    vs->conns[id].state == VIO_VSOCK_CONN_CLOSING)
		return NULL;
	return &vs->conns[id];
}

int vio_vsock_host_connect(struct vio_vsock *vs, uint32_t guest_port, uint32_t host_port)
{
	struct vio_vsock_conn *c;
	int slot;

	if (vs == NULL)
		return -VIO_EINVAL;
	if (!vio_device_queue_live(&vs->dev, VIO_VSOCK_RXQ))
		return -VIO_EAGAIN;
	if (host_port == 0) {
		/* at most nconn ports are taken: nconn + 1 tries find a free one */
		for (uint32_t k = 0; k <= vs->nconn && host_port == 0; k++) {
			uint32_t p = vs->next_port;

			vs->next_port = p == VSOCK_PORT_LAST ? VSOCK_PORT_FIRST : p + 1;
			if (vsock_find(vs, guest_port, p) < 0)
				host_port = p;
		}
	} else if (vsock_find(vs, guest_port, host_port) >= 0) {
		return -VIO_EBUSY;
	}
	slot = vsock_free_slot(vs);
	if (slot < 0)
		return -VIO_ENOSPC;
	c = &vs->conns[slot];
	memset(c, 0, sizeof(*c));
	c->state = VIO_VSOCK_CONN_CONNECTING;
	c->owed = OWE_REQUEST;
	c->provider = true;
	c->guest_port = guest_port;
	c->host_port = host_port;
	vsock_run(vs);
	return slot;
}

int vio_vsock_host_accept(struct vio_vsock *vs, uint32_t conn, int result)
{
	struct vio_vsock_conn *c = vsock_conn(vs, conn);

	if (c == NULL || c->state != VIO_VSOCK_CONN_ACCEPTING)
		return -VIO_EINVAL;
	if (result < 0) {
		c->provider = false; /* the provider refused it: no closed for it */
		vsock_end(vs, conn, result, true);
	} else {
		c->state = VIO_VSOCK_CONN_ESTABLISHED;
		c->provider = true;
		c->owed |= OWE_RESPONSE;
	}
	vsock_run(vs);
	return 0;
}

void vio_vsock_host_readable(struct vio_vsock *vs, uint32_t conn)
{
	struct vio_vsock_conn *c = vsock_conn(vs, conn);

	if (c == NULL)
		return;
	c->readable = true;
	vsock_run(vs);
}

void vio_vsock_host_writable(struct vio_vsock *vs, uint32_t conn)
{
	struct vio_vsock_conn *c = vsock_conn(vs, conn);

	if (c == NULL)
		return;
	c->owed |= OWE_DRAIN;
	vsock_run(vs);
}

int vio_vsock_host_shutdown(struct vio_vsock *vs, uint32_t conn, uint32_t flags)
{
	struct vio_vsock_conn *c = vsock_conn(vs, conn);

	if (c == NULL || c->state != VIO_VSOCK_CONN_ESTABLISHED || flags == 0 ||
	    (flags & ~VIO_VSOCK_SHUTDOWN_BOTH) != 0)
		return -VIO_EINVAL;
	c->host_shut |= (uint8_t) flags;
	vsock_run(vs);
	return 0;
}

int vio_vsock_host_reset(struct vio_vsock *vs, uint32_t conn)
{
	struct vio_vsock_conn *c = vsock_conn(vs, conn);

	if (c == NULL)
		return -VIO_EINVAL;
	c->provider = false;
	vsock_end(vs, conn, 0, true);
	vsock_run(vs);
	return 0;
}

int vio_vsock_transport_reset(struct vio_vsock *vs, uint64_t guest_cid)
{
	if (vs == NULL || (guest_cid != 0 && !vsock_cid_ok(guest_cid)))
		return -VIO_EINVAL;
	vsock_drop_all(vs, -VIO_ENODEV);
	if (guest_cid != 0 && guest_cid != vs->guest_cid) {
		vs->guest_cid = guest_cid;
		vio_put_le64(vs->config + VIO_VSOCK_CFG_GUEST_CID, guest_cid);
		vio_device_config_changed(&vs->dev);
	}
	if (vs->dev.status & VIO_STATUS_DRIVER_OK)
		vs->event_owed = true;
	vsock_run(vs);
	return 0;
}

uint32_t vio_vsock_buffered(const struct vio_vsock *vs, uint32_t conn)
{
	if (vs == NULL || conn >= vs->nconn || vs->conns[conn].state != VIO_VSOCK_CONN_ESTABLISHED)
		return 0;
	return vs->conns[conn].rx_cnt - vs->conns[conn].fwd_cnt;
}
