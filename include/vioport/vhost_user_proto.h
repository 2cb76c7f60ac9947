/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user wire protocol (QEMU docs/interop/vhost-user.rst): message
 * numbers, flags, feature bits and payload layouts, shared by the backend
 * server and the frontend library. Payloads are host-endian by the spec (both
 * ends run on one machine); the structs below are the exact wire layouts.
 */
#ifndef VIOPORT_VHOST_USER_PROTO_H
#define VIOPORT_VHOST_USER_PROTO_H

#include <stdint.h>

/* Front-end to back-end requests. */
enum vio_vu_request {
	VIO_VU_GET_FEATURES = 1,
	VIO_VU_SET_FEATURES = 2,
	VIO_VU_SET_OWNER = 3,
	VIO_VU_RESET_OWNER = 4,
	VIO_VU_SET_MEM_TABLE = 5,
	VIO_VU_SET_LOG_BASE = 6,
	VIO_VU_SET_LOG_FD = 7,
	VIO_VU_SET_VRING_NUM = 8,
	VIO_VU_SET_VRING_ADDR = 9,
	VIO_VU_SET_VRING_BASE = 10,
	VIO_VU_GET_VRING_BASE = 11,
	VIO_VU_SET_VRING_KICK = 12,
	VIO_VU_SET_VRING_CALL = 13,
	VIO_VU_SET_VRING_ERR = 14,
	VIO_VU_GET_PROTOCOL_FEATURES = 15,
	VIO_VU_SET_PROTOCOL_FEATURES = 16,
	VIO_VU_GET_QUEUE_NUM = 17,
	VIO_VU_SET_VRING_ENABLE = 18,
	VIO_VU_SEND_RARP = 19,
	VIO_VU_NET_SET_MTU = 20,
	VIO_VU_SET_BACKEND_REQ_FD = 21,
	VIO_VU_IOTLB_MSG = 22,
	VIO_VU_SET_VRING_ENDIAN = 23,
	VIO_VU_GET_CONFIG = 24,
	VIO_VU_SET_CONFIG = 25,
	VIO_VU_CREATE_CRYPTO_SESSION = 26,
	VIO_VU_CLOSE_CRYPTO_SESSION = 27,
	VIO_VU_POSTCOPY_ADVISE = 28,
	VIO_VU_POSTCOPY_LISTEN = 29,
	VIO_VU_POSTCOPY_END = 30,
	VIO_VU_GET_INFLIGHT_FD = 31,
	VIO_VU_SET_INFLIGHT_FD = 32,
	VIO_VU_GPU_SET_SOCKET = 33,
	VIO_VU_RESET_DEVICE = 34,
	VIO_VU_VRING_KICK = 35,
	VIO_VU_GET_MAX_MEM_SLOTS = 36,
	VIO_VU_ADD_MEM_REG = 37,
	VIO_VU_REM_MEM_REG = 38,
	VIO_VU_SET_STATUS = 39,
	VIO_VU_GET_STATUS = 40,
};

/* Back-end to front-end requests (on the backend request channel). */
enum vio_vu_backend_request {
	VIO_VU_BACKEND_IOTLB_MSG = 1,
	VIO_VU_BACKEND_CONFIG_CHANGE_MSG = 2,
	VIO_VU_BACKEND_VRING_HOST_NOTIFIER_MSG = 3,
};

/* Header flags. */
#define VIO_VU_VERSION	       0x1u
#define VIO_VU_VERSION_MASK    0x3u
#define VIO_VU_FLAG_REPLY      0x4u
#define VIO_VU_FLAG_NEED_REPLY 0x8u

/* Virtio feature bit that enables GET/SET_PROTOCOL_FEATURES. */
#define VIO_VU_F_PROTOCOL_FEATURES 30

/* Protocol feature bits. */
#define VIO_VU_PF_MQ		       0
#define VIO_VU_PF_LOG_SHMFD	       1
#define VIO_VU_PF_RARP		       2
#define VIO_VU_PF_REPLY_ACK	       3
#define VIO_VU_PF_NET_MTU	       4
#define VIO_VU_PF_BACKEND_REQ	       5
#define VIO_VU_PF_CROSS_ENDIAN	       6
#define VIO_VU_PF_CRYPTO_SESSION       7
#define VIO_VU_PF_PAGEFAULT	       8
#define VIO_VU_PF_CONFIG	       9
#define VIO_VU_PF_BACKEND_SEND_FD      10
#define VIO_VU_PF_HOST_NOTIFIER	       11
#define VIO_VU_PF_INFLIGHT_SHMFD       12
#define VIO_VU_PF_RESET_DEVICE	       13
#define VIO_VU_PF_INBAND_NOTIFICATIONS 14
#define VIO_VU_PF_CONFIGURE_MEM_SLOTS  15
#define VIO_VU_PF_STATUS	       16

/* At most this many file descriptors travel with one message. */
#define VIO_VU_MAX_FDS 8
/* SET_MEM_TABLE carries at most this many regions. */
#define VIO_VU_MAX_REGIONS 8
/* Config space payloads are at most this long. */
#define VIO_VU_MAX_CONFIG 256

/* SET_VRING_KICK/CALL/ERR u64 payload: queue index and "no fd" flag. */
#define VIO_VU_VRING_IDX_MASK 0xffu
#define VIO_VU_VRING_NOFD     (1u << 8)

/* SET_VRING_ADDR flags. */
#define VIO_VU_VRING_F_LOG 0x1u

struct vio_vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size; /* payload bytes after the header */
};

struct vio_vu_region {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr; /* the frontend's virtual address of the region */
	uint64_t mmap_offset;
};

struct vio_vu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct vio_vu_region regions[VIO_VU_MAX_REGIONS];
};

/* ADD_MEM_REG / REM_MEM_REG payload. */
struct vio_vu_mem_reg {
	uint64_t padding;
	struct vio_vu_region region;
};

struct vio_vu_vring_state {
	uint32_t index;
	uint32_t num;
};

/* Ring addresses are the frontend's virtual addresses, not guest-physical. */
struct vio_vu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc_user_addr;
	uint64_t used_user_addr;
	uint64_t avail_user_addr;
	uint64_t log_guest_addr;
};

struct vio_vu_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t payload[VIO_VU_MAX_CONFIG];
};

/* Size of the config message without its payload. */
#define VIO_VU_CONFIG_HDR 12u

struct vio_vu_inflight {
	uint64_t mmap_size;
	uint64_t mmap_offset;
	uint16_t num_queues;
	uint16_t queue_size;
};

/* Largest payload any message carries. */
#define VIO_VU_MAX_PAYLOAD (sizeof(struct vio_vu_config))

#endif
