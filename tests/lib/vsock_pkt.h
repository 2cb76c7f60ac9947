/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A virtio-vsock packet header as the guest driver sees it, read and written
 * field by field: shared by the unit tests' guest over the loopback transport
 * (tests/unit/vsock_guest.c) and the integration test's guest over vhost-user
 * (tests/integration/test_vu_vsock.c).
 */
#ifndef VIOPORT_TESTS_VSOCK_PKT_H
#define VIOPORT_TESTS_VSOCK_PKT_H

#include <stdint.h>

#include "vioport/byteorder.h"
#include "vioport/vsock.h"

/* A packet's header, host byte order. */
struct vg_pkt {
	uint64_t src_cid, dst_cid;
	uint32_t src_port, dst_port, len;
	uint16_t type, op;
	uint32_t flags, buf_alloc, fwd_cnt;
};

/* Reads a packet header. */
static inline void vg_parse(const uint8_t *h, struct vg_pkt *p)
{
	p->src_cid = vio_get_le64(h + VIO_VSOCK_HDR_SRC_CID);
	p->dst_cid = vio_get_le64(h + VIO_VSOCK_HDR_DST_CID);
	p->src_port = vio_get_le32(h + VIO_VSOCK_HDR_SRC_PORT);
	p->dst_port = vio_get_le32(h + VIO_VSOCK_HDR_DST_PORT);
	p->len = vio_get_le32(h + VIO_VSOCK_HDR_LEN);
	p->type = vio_get_le16(h + VIO_VSOCK_HDR_TYPE);
	p->op = vio_get_le16(h + VIO_VSOCK_HDR_OP);
	p->flags = vio_get_le32(h + VIO_VSOCK_HDR_FLAGS);
	p->buf_alloc = vio_get_le32(h + VIO_VSOCK_HDR_BUF_ALLOC);
	p->fwd_cnt = vio_get_le32(h + VIO_VSOCK_HDR_FWD_CNT);
}

/* Writes a packet header. */
static inline void vg_put_hdr(uint8_t *h, const struct vg_pkt *p)
{
	vio_put_le64(h + VIO_VSOCK_HDR_SRC_CID, p->src_cid);
	vio_put_le64(h + VIO_VSOCK_HDR_DST_CID, p->dst_cid);
	vio_put_le32(h + VIO_VSOCK_HDR_SRC_PORT, p->src_port);
	vio_put_le32(h + VIO_VSOCK_HDR_DST_PORT, p->dst_port);
	vio_put_le32(h + VIO_VSOCK_HDR_LEN, p->len);
	vio_put_le16(h + VIO_VSOCK_HDR_TYPE, p->type);
	vio_put_le16(h + VIO_VSOCK_HDR_OP, p->op);
	vio_put_le32(h + VIO_VSOCK_HDR_FLAGS, p->flags);
	vio_put_le32(h + VIO_VSOCK_HDR_BUF_ALLOC, p->buf_alloc);
	vio_put_le32(h + VIO_VSOCK_HDR_FWD_CNT, p->fwd_cnt);
}

#endif
