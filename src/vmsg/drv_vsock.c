/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-msg driver side: one virtio-vsock stream as the guest end
 * (vmsg_drv_dev.h), with the spec's credit flow control in both directions.
 *
 * Packets to the device are synchronous requests on the tx queue (the device
 * takes them at once: data beyond what its host end takes waits in the
 * device's own buffer, inside the credit it advertised). Packets from the
 * device arrive in receive buffers the caller posts and takes back; the
 * caller hands each to vio_vmsg_drv_vsock_rx, which keeps the stream's state
 * and answers what the protocol asks (RESPONSE, RST, CREDIT_UPDATE).
 */
#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/vmsg_drv_dev.h"
#include "vioport/vsock.h"

#include <string.h>

int vio_vmsg_drv_vsock_init(struct vio_vmsg_drv_vsock *vs, struct vio_vmsg_drv_dev *d,
			    uint32_t buf_alloc)
{
	uint8_t cfg[VIO_VSOCK_CONFIG_SIZE];
	int rc;

	memset(vs, 0, sizeof(*vs));
	if (buf_alloc == 0)
		return -VIO_EINVAL;
	vs->d = d;
	vs->buf_alloc = buf_alloc;
	rc = vio_vmsg_drv_read_config(d, VIO_VSOCK_CFG_GUEST_CID, cfg, sizeof(cfg));
	if (rc < 0)
		return rc;
	vs->cid = vio_get_le64(cfg);
	/* The device's CID is ours: one outside the guests' range cannot be used. */
	if (vs->cid < VIO_VSOCK_MIN_GUEST_CID || vs->cid > 0xfffffffeu)
		return -VIO_EPROTO;
	return 0;
}

int vio_vmsg_drv_vsock_rx_post(struct vio_vmsg_drv_dev *d, void *buf, uint32_t cap)
{
	struct vio_vmsg_drv_seg in = {buf, cap};

	if (buf == NULL || cap < VIO_VSOCK_HDR_SIZE)
		return -VIO_EINVAL;
	return vio_vmsg_drv_submit(d, VIO_VSOCK_RXQ, NULL, 0, &in, 1, buf);
}

/* Sends one packet of vs's stream with op, flags and len bytes of data (RW only). */
static int send_pkt(struct vio_vmsg_drv_vsock *vs, uint16_t op, uint32_t flags, const void *data,
		    uint32_t len)
{
	uint8_t h[VIO_VSOCK_HDR_SIZE];
	struct vio_vmsg_drv_seg out[2] = {{h, sizeof(h)}, {(void *) (uintptr_t) data, len}};
	uint32_t wrote;
	int rc;

	memset(h, 0, sizeof(h));
	vio_put_le64(h + VIO_VSOCK_HDR_SRC_CID, vs->cid);
	vio_put_le64(h + VIO_VSOCK_HDR_DST_CID, VIO_VSOCK_HOST_CID);
	vio_put_le32(h + VIO_VSOCK_HDR_SRC_PORT, vs->local_port);
	vio_put_le32(h + VIO_VSOCK_HDR_DST_PORT, vs->peer_port);
	vio_put_le32(h + VIO_VSOCK_HDR_LEN, len);
	vio_put_le16(h + VIO_VSOCK_HDR_TYPE, VIO_VSOCK_TYPE_STREAM);
	vio_put_le16(h + VIO_VSOCK_HDR_OP, op);
	vio_put_le32(h + VIO_VSOCK_HDR_FLAGS, flags);
	vio_put_le32(h + VIO_VSOCK_HDR_BUF_ALLOC, vs->buf_alloc);
	vio_put_le32(h + VIO_VSOCK_HDR_FWD_CNT, vs->fwd_cnt);
	rc = vio_vmsg_drv_request(vs->d, VIO_VSOCK_TXQ, out, len > 0 ? 2u : 1u, NULL, 0, &wrote);
	if (rc < 0)
		return rc;
	/* Every packet tells the peer our credit. */
	vs->adv_fwd_cnt = vs->fwd_cnt;
	if (op == VIO_VSOCK_OP_RW)
		vs->tx_cnt += len;
	return 0;
}

int vio_vmsg_drv_vsock_connect(struct vio_vmsg_drv_vsock *vs, uint32_t local_port,
			       uint32_t host_port)
{
	if (vs->state != VIO_VMSG_DRV_VSOCK_IDLE)
		return -VIO_EINVAL;
	vs->local_port = local_port;
	vs->peer_port = host_port;
	vs->state = VIO_VMSG_DRV_VSOCK_CONNECTING;
	return send_pkt(vs, VIO_VSOCK_OP_REQUEST, 0, NULL, 0);
}

int vio_vmsg_drv_vsock_listen(struct vio_vmsg_drv_vsock *vs, uint32_t port)
{
	if (vs->state != VIO_VMSG_DRV_VSOCK_IDLE)
		return -VIO_EINVAL;
	vs->local_port = port;
	vs->state = VIO_VMSG_DRV_VSOCK_LISTENING;
	return 0;
}

uint32_t vio_vmsg_drv_vsock_credit(const struct vio_vmsg_drv_vsock *vs)
{
	uint32_t in_flight = vs->tx_cnt - vs->peer_fwd_cnt;

	if (vs->state != VIO_VMSG_DRV_VSOCK_ESTABLISHED || (vs->shut & VIO_VSOCK_SHUTDOWN_SEND) ||
	    (vs->peer_shut & VIO_VSOCK_SHUTDOWN_RCV))
		return 0;
	/* A peer that shrank its buffer below what is in flight gives no credit, not a wrap. */
	return in_flight < vs->peer_buf_alloc ? vs->peer_buf_alloc - in_flight : 0;
}

int vio_vmsg_drv_vsock_write(struct vio_vmsg_drv_vsock *vs, const void *data, uint32_t len)
{
	uint32_t n = vio_vmsg_drv_vsock_credit(vs);
	int rc;

	if (vs->state != VIO_VMSG_DRV_VSOCK_ESTABLISHED || (vs->shut & VIO_VSOCK_SHUTDOWN_SEND))
		return -VIO_ECONNRESET;
	if (len == 0)
		return 0;
	if (n == 0) {
		/* Ask once per stall: the peer's next CREDIT_UPDATE lets the caller go on. */
		if (!vs->credit_asked) {
			vs->credit_asked = true;
			rc = send_pkt(vs, VIO_VSOCK_OP_CREDIT_REQUEST, 0, NULL, 0);
			if (rc < 0)
				return rc;
		}
		return 0;
	}
	if (n > len)
		n = len;
	if (n > VIO_VMSG_DRV_VSOCK_PKT)
		n = VIO_VMSG_DRV_VSOCK_PKT;
	rc = send_pkt(vs, VIO_VSOCK_OP_RW, 0, data, n);
	return rc < 0 ? rc : (int) n;
}

int vio_vmsg_drv_vsock_drained(struct vio_vmsg_drv_vsock *vs)
{
	int rc;

	if (vs->peer_fwd_cnt == vs->tx_cnt)
		return 1;
	/* The host's fwd_cnt moves as its end takes the bytes: ask for it, once per answer. */
	if (vs->credit_asked || vs->state != VIO_VMSG_DRV_VSOCK_ESTABLISHED)
		return 0;
	vs->credit_asked = true;
	rc = send_pkt(vs, VIO_VSOCK_OP_CREDIT_REQUEST, 0, NULL, 0);
	return rc < 0 ? rc : 0;
}

int vio_vmsg_drv_vsock_consumed(struct vio_vmsg_drv_vsock *vs, uint32_t n)
{
	vs->fwd_cnt += n;
	/*
	 * The peer sends only within the credit it last heard of: tell it once
	 * half the buffer was consumed, as Linux's transport does.
	 */
	if (vs->state == VIO_VMSG_DRV_VSOCK_ESTABLISHED &&
	    vs->fwd_cnt - vs->adv_fwd_cnt >= vs->buf_alloc / 2u)
		return send_pkt(vs, VIO_VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
	return 0;
}

int vio_vmsg_drv_vsock_shutdown(struct vio_vmsg_drv_vsock *vs, uint32_t flags)
{
	flags &= VIO_VSOCK_SHUTDOWN_BOTH;
	if (vs->state != VIO_VMSG_DRV_VSOCK_ESTABLISHED || flags == 0)
		return -VIO_EINVAL;
	vs->shut |= (uint8_t) flags;
	return send_pkt(vs, VIO_VSOCK_OP_SHUTDOWN, vs->shut, NULL, 0);
}

int vio_vmsg_drv_vsock_reset(struct vio_vmsg_drv_vsock *vs)
{
	int rc = 0;

	if (vs->state == VIO_VMSG_DRV_VSOCK_ESTABLISHED ||
	    vs->state == VIO_VMSG_DRV_VSOCK_CONNECTING)
		rc = send_pkt(vs, VIO_VSOCK_OP_RST, 0, NULL, 0);
	vs->state = VIO_VMSG_DRV_VSOCK_CLOSED;
	return rc;
}

/* An RST for a packet of no stream of ours, from the packet's own ports. */
static int reply_rst(struct vio_vmsg_drv_vsock *vs, uint32_t to_port, uint32_t from_port)
{
	struct vio_vmsg_drv_vsock other = *vs;

	other.local_port = from_port;
	other.peer_port = to_port;
	return send_pkt(&other, VIO_VSOCK_OP_RST, 0, NULL, 0);
}

int vio_vmsg_drv_vsock_rx(struct vio_vmsg_drv_vsock *vs, const uint8_t *pkt, uint32_t len,
			  const uint8_t **data, uint32_t *dlen)
{
	uint32_t src_port, dst_port, plen;
	uint16_t op;
	bool ours;
	int rc;

	*data = NULL;
	*dlen = 0;
	if (len < VIO_VSOCK_HDR_SIZE)
		return -VIO_EPROTO;
	plen = vio_get_le32(pkt + VIO_VSOCK_HDR_LEN);
	if (plen > len - VIO_VSOCK_HDR_SIZE ||
	    vio_get_le64(pkt + VIO_VSOCK_HDR_SRC_CID) != VIO_VSOCK_HOST_CID ||
	    vio_get_le64(pkt + VIO_VSOCK_HDR_DST_CID) != vs->cid ||
	    vio_get_le16(pkt + VIO_VSOCK_HDR_TYPE) != VIO_VSOCK_TYPE_STREAM)
		return -VIO_EPROTO;
	src_port = vio_get_le32(pkt + VIO_VSOCK_HDR_SRC_PORT);
	dst_port = vio_get_le32(pkt + VIO_VSOCK_HDR_DST_PORT);
	op = vio_get_le16(pkt + VIO_VSOCK_HDR_OP);
	ours = dst_port == vs->local_port &&
	       (vs->state == VIO_VMSG_DRV_VSOCK_LISTENING || src_port == vs->peer_port);
	if (!ours || vs->state == VIO_VMSG_DRV_VSOCK_IDLE ||
	    vs->state == VIO_VMSG_DRV_VSOCK_CLOSED ||
	    (vs->state == VIO_VMSG_DRV_VSOCK_LISTENING && op != VIO_VSOCK_OP_REQUEST)) {
		/* Not a stream of ours: refuse it, but never answer an RST with one. */
		if (op != VIO_VSOCK_OP_RST && (rc = reply_rst(vs, src_port, dst_port)) < 0)
			return rc;
		return VIO_VMSG_DRV_VSOCK_OTHER;
	}
	/* Every packet of the stream carries the peer's credit. */
	vs->peer_buf_alloc = vio_get_le32(pkt + VIO_VSOCK_HDR_BUF_ALLOC);
	vs->peer_fwd_cnt = vio_get_le32(pkt + VIO_VSOCK_HDR_FWD_CNT);
	switch (op) {
	case VIO_VSOCK_OP_REQUEST:
		if (vs->state != VIO_VMSG_DRV_VSOCK_LISTENING)
			break;
		vs->peer_port = src_port;
		vs->state = VIO_VMSG_DRV_VSOCK_ESTABLISHED;
		rc = send_pkt(vs, VIO_VSOCK_OP_RESPONSE, 0, NULL, 0);
		return rc < 0 ? rc : VIO_VMSG_DRV_VSOCK_ACCEPTED;
	case VIO_VSOCK_OP_RESPONSE:
		if (vs->state != VIO_VMSG_DRV_VSOCK_CONNECTING)
			break;
		vs->state = VIO_VMSG_DRV_VSOCK_ESTABLISHED;
		return VIO_VMSG_DRV_VSOCK_CONNECTED;
	case VIO_VSOCK_OP_RST:
		vs->state = VIO_VMSG_DRV_VSOCK_CLOSED;
		return VIO_VMSG_DRV_VSOCK_RESET;
	case VIO_VSOCK_OP_SHUTDOWN:
		vs->peer_shut |=
		    (uint8_t) (vio_get_le32(pkt + VIO_VSOCK_HDR_FLAGS) & VIO_VSOCK_SHUTDOWN_BOTH);
		return VIO_VMSG_DRV_VSOCK_SHUTDOWN;
	case VIO_VSOCK_OP_RW:
		if (vs->state != VIO_VMSG_DRV_VSOCK_ESTABLISHED)
			break;
		/* Data beyond the credit we gave breaks the stream, as the device would. */
		if (plen > vs->buf_alloc - (vs->rx_cnt - vs->fwd_cnt))
			break;
		vs->rx_cnt += plen;
		*data = pkt + VIO_VSOCK_HDR_SIZE;
		*dlen = plen;
		return VIO_VMSG_DRV_VSOCK_DATA;
	case VIO_VSOCK_OP_CREDIT_REQUEST:
		if (vs->state != VIO_VMSG_DRV_VSOCK_ESTABLISHED)
			break;
		rc = send_pkt(vs, VIO_VSOCK_OP_CREDIT_UPDATE, 0, NULL, 0);
		return rc < 0 ? rc : VIO_VMSG_DRV_VSOCK_CREDIT;
	case VIO_VSOCK_OP_CREDIT_UPDATE:
		vs->credit_asked = false;
		return VIO_VMSG_DRV_VSOCK_CREDIT;
	default:
		break;
	}
	/* Out of protocol on our stream: reset it. */
	rc = vio_vmsg_drv_vsock_reset(vs);
	return rc < 0 ? rc : -VIO_EPROTO;
}
