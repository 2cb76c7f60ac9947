/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-msg revision 1: every message layout, in one place.
 *
 * The transport is still a draft ("[PATCH v1] virtio-msg transport layer",
 * January 2026, wmamills/virtio-msg-spec transport-msg.tex), so nothing outside
 * this header and src/vmsg/msg.c knows a byte offset. Where the draft differs
 * from older summaries the draft wins:
 *  - GET_DEVICE_INFO carries a 16-byte device UUID after vendor_id, counts
 *    feature *blocks* (not bits), and admin_vq_start/count are le32;
 *  - GET_VQUEUE's and SET_VQUEUE's former reserved words are flags (enabled
 *    state; state operation and ignore bits);
 *  - GET_SHM answers {le32 shmid, le32 reserved, le64 length, le64 address};
 *  - SET_CONFIG's response echoes the data it applied;
 *  - bus GET_DEVICES is {le16 offset, le16 count} -> {le16 offset,
 *    le16 next_offset, le16 count, bitmap}; EVENT_DEVICE is two le16;
 *  - the smallest maximum message size a bus may advertise is 52, not 44.
 *
 * Messages are built and parsed by shape ("body"): the caller chooses type and
 * ID in struct vio_vmsg_hdr, the body functions write or check the payload and
 * the exact size. Decoders never trust msg_size beyond what
 * vio_vmsg_hdr_decode checked. Freestanding.
 */
#ifndef VIOPORT_VMSG_H
#define VIOPORT_VMSG_H

#include <stdint.h>

#define VIO_VMSG_REVISION 1u

/* Sizes: the common header, this project's bus maximum, the draft's floor for it. */
#define VIO_VMSG_HDR_SIZE     8u
#define VIO_VMSG_MAX_SIZE     64u
#define VIO_VMSG_MIN_BUS_SIZE 52u

/* type: bit 0 response, bit 1 bus message; bits 2..7 reserved (ignored on receive). */
#define VIO_VMSG_TYPE_RESPONSE 0x01u
#define VIO_VMSG_TYPE_BUS      0x02u
#define VIO_VMSG_TYPE_MASK     0x03u

/* msg_id: bit 6 marks an event, bit 7 an implementation-defined message. */
#define VIO_VMSG_ID_EVENT 0x40u
#define VIO_VMSG_ID_IMPL  0x80u

/* Transport message IDs. */
#define VIO_VMSG_GET_DEVICE_INFO     0x02u
#define VIO_VMSG_GET_DEVICE_FEATURES 0x03u
#define VIO_VMSG_SET_DRIVER_FEATURES 0x04u
#define VIO_VMSG_GET_CONFIG	     0x05u
#define VIO_VMSG_SET_CONFIG	     0x06u
#define VIO_VMSG_GET_DEVICE_STATUS   0x07u
#define VIO_VMSG_SET_DEVICE_STATUS   0x08u
#define VIO_VMSG_GET_VQUEUE	     0x09u
#define VIO_VMSG_SET_VQUEUE	     0x0Au
#define VIO_VMSG_RESET_VQUEUE	     0x0Bu
#define VIO_VMSG_GET_SHM	     0x0Cu
#define VIO_VMSG_EVENT_CONFIG	     0x40u
#define VIO_VMSG_EVENT_AVAIL	     0x41u
#define VIO_VMSG_EVENT_USED	     0x42u

/* Bus message IDs (type has VIO_VMSG_TYPE_BUS; dev_num is 0). */
#define VIO_VMSG_BUS_GET_DEVICES  0x02u
#define VIO_VMSG_BUS_PING	  0x03u
#define VIO_VMSG_BUS_EVENT_DEVICE 0x40u

/* EVENT_DEVICE states. */
#define VIO_VMSG_DEVICE_ADDED	1u
#define VIO_VMSG_DEVICE_REMOVED 2u

/* Transport feature bits (bus parameters, not device features). */
#define VIO_VMSG_F_STRICT_CONFIG_GENERATION 0u

/* SET_VQUEUE flags: state operation in bits 1:0, then one "keep" bit per field. */
#define VIO_VMSG_VQ_STATE_MASK	   0x03u
#define VIO_VMSG_VQ_STATE_DISABLED 0u /* keep disabled */
#define VIO_VMSG_VQ_STATE_ENABLE   1u
#define VIO_VMSG_VQ_STATE_KEEP	   2u
#define VIO_VMSG_VQ_SIZE_IGNORE	   (1u << 2)
#define VIO_VMSG_VQ_DESC_IGNORE	   (1u << 3)
#define VIO_VMSG_VQ_DRIVER_IGNORE  (1u << 4)
#define VIO_VMSG_VQ_DEVICE_IGNORE  (1u << 5)
#define VIO_VMSG_VQ_FLAGS_KNOWN	   0x3Fu
/* GET_VQUEUE flags. */
#define VIO_VMSG_VQ_ENABLED 1u

/* Whole-message sizes, header included, per body shape. */
#define VIO_VMSG_SIZE_EMPTY		 8u  /* no payload */
#define VIO_VMSG_SIZE_U32		 12u /* one le32 (status, index, ping data, event used) */
#define VIO_VMSG_SIZE_DEVICE_INFO	 52u
#define VIO_VMSG_SIZE_RANGE		 16u /* two le32: feature or config range request */
#define VIO_VMSG_SIZE_FEATURES(n)	 (16u + 4u * (uint32_t) (n))
#define VIO_VMSG_SIZE_CONFIG(n)		 (20u + (uint32_t) (n))
#define VIO_VMSG_SIZE_VQUEUE		 48u
#define VIO_VMSG_SIZE_SHM		 32u
#define VIO_VMSG_SIZE_EVENT_CONFIG(n)	 (24u + (uint32_t) (n))
#define VIO_VMSG_SIZE_EVENT_AVAIL	 16u
#define VIO_VMSG_SIZE_GET_DEVICES_REQ	 12u
#define VIO_VMSG_SIZE_GET_DEVICES(count) (14u + ((uint32_t) (count) + 7u) / 8u)
#define VIO_VMSG_SIZE_EVENT_DEVICE	 12u

/* What fits in one VIO_VMSG_MAX_SIZE message: larger config goes in chunks. */
#define VIO_VMSG_FEATURE_BLOCKS_MAX ((VIO_VMSG_MAX_SIZE - 16u) / 4u)
#define VIO_VMSG_CONFIG_CHUNK_MAX   (VIO_VMSG_MAX_SIZE - 20u)
#define VIO_VMSG_EVENT_CONFIG_MAX   (VIO_VMSG_MAX_SIZE - 24u)
#define VIO_VMSG_GET_DEVICES_MAX    ((VIO_VMSG_MAX_SIZE - 14u) * 8u)

/* The common header in host order. */
struct vio_vmsg_hdr {
	uint8_t type; /* VIO_VMSG_TYPE_* bits only: reserved bits are dropped on decode */
	uint8_t id;
	uint16_t dev_num;
	uint16_t token;
	uint16_t size; /* header + payload */
};

/* GET_DEVICE_INFO response. */
struct vio_vmsg_device_info {
	uint32_t device_id;
	uint32_t vendor_id;
	uint8_t uuid[16]; /* all zero: no UUID */
	uint32_t num_feature_blocks;
	uint32_t config_size;
	uint32_t max_virtqueues;
	uint32_t admin_vq_start;
	uint32_t admin_vq_count;
};

/*
 * GET_DEVICE_FEATURES request (index, count only) and response, and
 * SET_DRIVER_FEATURES request (blocks carried).
 */
struct vio_vmsg_features {
	uint32_t index; /* first 32-bit block: 0 is bits 0..31 */
	uint32_t count; /* blocks */
	uint32_t blocks[VIO_VMSG_FEATURE_BLOCKS_MAX];
};

/*
 * GET_CONFIG request (offset, length), GET_CONFIG response, SET_CONFIG request
 * and response. data points into the message on decode; length bytes.
 */
struct vio_vmsg_config {
	uint32_t generation;
	uint32_t offset;
	uint32_t length;
	const uint8_t *data;
};

/* EVENT_CONFIG: data is optional (data_len 0, or equal to length). */
struct vio_vmsg_event_config {
	uint32_t status;
	uint32_t generation;
	uint32_t offset;
	uint32_t length;
	const uint8_t *data;
	uint32_t data_len;
};

/* GET_VQUEUE response (max_size, flags = VIO_VMSG_VQ_ENABLED) and SET_VQUEUE request. */
struct vio_vmsg_vqueue {
	uint32_t index;
	uint32_t max_size; /* GET_VQUEUE only */
	uint32_t size;	   /* cur_size in GET_VQUEUE */
	uint32_t flags;
	uint32_t reserved; /* SET_VQUEUE only: must be zero */
	uint64_t desc;
	uint64_t driver;
	uint64_t device;
};

/* GET_SHM response. */
struct vio_vmsg_shm_info {
	uint32_t shmid;
	uint64_t length; /* 0: no such region */
	uint64_t address;
};

/* EVENT_AVAIL. */
struct vio_vmsg_event_avail {
	uint32_t index;
	uint32_t next_offset; /* bits 30:0 offset, bit 31 wrap (NOTIFICATION_DATA) */
};

/* Bus GET_DEVICES request (offset, count) and response (bitmap points into the message). */
struct vio_vmsg_devices {
	uint16_t offset;
	uint16_t next_offset;
	uint16_t count;
	const uint8_t *bitmap; /* (count + 7) / 8 bytes, LSB first */
};

/* Bus EVENT_DEVICE. */
struct vio_vmsg_event_device {
	uint16_t dev_num;
	uint16_t state;
};

/*
 * Reads the header of a message of len received bytes; promises on success
 * 8 <= h->size <= len and h->size <= max (bytes past h->size are bus padding).
 * Returns 0 or -VIO_EMSGSIZE.
 */
int vio_vmsg_hdr_decode(struct vio_vmsg_hdr *h, const void *msg, uint32_t len, uint32_t max);

/*
 * Encoders: write h's type, id, dev_num and token with the size of the body
 * into buf (at most max bytes), return the message size or -VIO_EMSGSIZE if it
 * would exceed max (or 65535). h->size is ignored.
 */

/* Encodes a message without payload. */
int vio_vmsg_encode_empty(void *buf, uint32_t max, const struct vio_vmsg_hdr *h);
/* Encodes a message whose payload is one le32. */
int vio_vmsg_encode_u32(void *buf, uint32_t max, const struct vio_vmsg_hdr *h, uint32_t v);
/* Encodes a GET_DEVICE_INFO response. */
int vio_vmsg_encode_device_info(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
				const struct vio_vmsg_device_info *b);
/* Encodes a GET_DEVICE_FEATURES request: index and count, no blocks. */
int vio_vmsg_encode_features_req(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
				 const struct vio_vmsg_features *b);
/* Encodes a feature message with blocks (GET_DEVICE_FEATURES response, SET_DRIVER_FEATURES). */
int vio_vmsg_encode_features(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
			     const struct vio_vmsg_features *b);
/* Encodes a GET_CONFIG request: offset and length. */
int vio_vmsg_encode_config_req(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
			       const struct vio_vmsg_config *b);
/* Encodes generation, offset, length and length data bytes (GET_CONFIG resp, SET_CONFIG). */
int vio_vmsg_encode_config(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
			   const struct vio_vmsg_config *b);
/* Encodes EVENT_CONFIG with data_len (0 or length) data bytes. */
int vio_vmsg_encode_event_config(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
				 const struct vio_vmsg_event_config *b);
/* Encodes a GET_VQUEUE response. */
int vio_vmsg_encode_vqueue_info(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
				const struct vio_vmsg_vqueue *b);
/* Encodes a SET_VQUEUE request. */
int vio_vmsg_encode_set_vqueue(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
			       const struct vio_vmsg_vqueue *b);
/* Encodes a GET_SHM response (reserved word zero). */
int vio_vmsg_encode_shm_info(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
			     const struct vio_vmsg_shm_info *b);
/* Encodes EVENT_AVAIL. */
int vio_vmsg_encode_event_avail(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
				const struct vio_vmsg_event_avail *b);
/* Encodes a bus GET_DEVICES request: offset and count. */
int vio_vmsg_encode_devices_req(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
				const struct vio_vmsg_devices *b);
/* Encodes a bus GET_DEVICES response with its (count + 7) / 8 bitmap bytes. */
int vio_vmsg_encode_devices(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
			    const struct vio_vmsg_devices *b);
/* Encodes a bus EVENT_DEVICE. */
int vio_vmsg_encode_event_device(void *buf, uint32_t max, const struct vio_vmsg_hdr *h,
				 const struct vio_vmsg_event_device *b);

/*
 * Decoders: msg is a message whose header h came from vio_vmsg_hdr_decode;
 * each checks that h->size is exactly what the body needs (variable parts
 * included) and fills the body in host order. Returns 0 or -VIO_EMSGSIZE.
 */

/* Checks a message without payload. */
int vio_vmsg_decode_empty(const struct vio_vmsg_hdr *h, const void *msg);
/* Decodes a one-le32 payload. */
int vio_vmsg_decode_u32(const struct vio_vmsg_hdr *h, const void *msg, uint32_t *v);
/* Decodes a GET_DEVICE_INFO response. */
int vio_vmsg_decode_device_info(const struct vio_vmsg_hdr *h, const void *msg,
				struct vio_vmsg_device_info *b);
/* Decodes a GET_DEVICE_FEATURES request (blocks left untouched). */
int vio_vmsg_decode_features_req(const struct vio_vmsg_hdr *h, const void *msg,
				 struct vio_vmsg_features *b);
/* Decodes a feature message with blocks; count must match the size and fit blocks[]. */
int vio_vmsg_decode_features(const struct vio_vmsg_hdr *h, const void *msg,
			     struct vio_vmsg_features *b);
/* Decodes a GET_CONFIG request (generation 0, data NULL). */
int vio_vmsg_decode_config_req(const struct vio_vmsg_hdr *h, const void *msg,
			       struct vio_vmsg_config *b);
/* Decodes generation, offset, length and exactly length data bytes. */
int vio_vmsg_decode_config(const struct vio_vmsg_hdr *h, const void *msg,
			   struct vio_vmsg_config *b);
/* Decodes EVENT_CONFIG: the data is absent or exactly length bytes. */
int vio_vmsg_decode_event_config(const struct vio_vmsg_hdr *h, const void *msg,
				 struct vio_vmsg_event_config *b);
/* Decodes a GET_VQUEUE response (reserved 0). */
int vio_vmsg_decode_vqueue_info(const struct vio_vmsg_hdr *h, const void *msg,
				struct vio_vmsg_vqueue *b);
/* Decodes a SET_VQUEUE request (max_size 0). */
int vio_vmsg_decode_set_vqueue(const struct vio_vmsg_hdr *h, const void *msg,
			       struct vio_vmsg_vqueue *b);
/* Decodes a GET_SHM response. */
int vio_vmsg_decode_shm_info(const struct vio_vmsg_hdr *h, const void *msg,
			     struct vio_vmsg_shm_info *b);
/* Decodes EVENT_AVAIL. */
int vio_vmsg_decode_event_avail(const struct vio_vmsg_hdr *h, const void *msg,
				struct vio_vmsg_event_avail *b);
/* Decodes a bus GET_DEVICES request (next_offset 0, bitmap NULL). */
int vio_vmsg_decode_devices_req(const struct vio_vmsg_hdr *h, const void *msg,
				struct vio_vmsg_devices *b);
/* Decodes a bus GET_DEVICES response; the bitmap size must match count. */
int vio_vmsg_decode_devices(const struct vio_vmsg_hdr *h, const void *msg,
			    struct vio_vmsg_devices *b);
/* Decodes a bus EVENT_DEVICE. */
int vio_vmsg_decode_event_device(const struct vio_vmsg_hdr *h, const void *msg,
				 struct vio_vmsg_event_device *b);

/*
 * One GET_CONFIG round trip for a config reader: asks the device for
 * req->length bytes at req->offset (req->generation is 0) and decodes its
 * answer into *resp, whose data must stay valid until the next call. Returns
 * 0, -VIO_EPROTO for an answer that does not decode, or the transport's own
 * negative error.
 */
struct vio_vmsg_config_rt {
	int (*get)(void *ctx, const struct vio_vmsg_config *req, struct vio_vmsg_config *resp);
	void *ctx;
};

/*
 * Reads config [off, off + len) into buf in GET_CONFIG chunks of at most
 * chunk_max bytes, the device's generation checked across them: when it
 * moves between two chunks the read starts again, up to retries times. The
 * answers are untrusted: each must echo its chunk's offset and carry exactly
 * its length. Returns 0 with the generation read in *generation (untouched
 * when len is 0); -VIO_EINVAL (chunk_max 0, or the range past 4 GiB);
 * -VIO_EPROTO for an answer to another range or of another length; the
 * round trip's error; or -VIO_EAGAIN when the generation kept moving. *restarts
 * (if not NULL) counts the reads started again. buf is zeroed on any error.
 */
int vio_vmsg_config_read(const struct vio_vmsg_config_rt *rt, uint32_t chunk_max, uint32_t off,
			 void *buf, uint32_t len, unsigned retries, uint32_t *generation,
			 uint32_t *restarts);

#endif
