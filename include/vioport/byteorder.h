/* SPDX-License-Identifier: BSD-3-Clause */
/* Little-endian wire accessors, correct on big- and little-endian hosts. */
#ifndef VIOPORT_BYTEORDER_H
#define VIOPORT_BYTEORDER_H

#include <stdint.h>
#include <string.h>

#include "vioport/compiler.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define VIO_HOST_BIG_ENDIAN 1
#else
#define VIO_HOST_BIG_ENDIAN 0
#endif

/* Converts a 16-bit value between host order and little-endian. */
static inline uint16_t vio_le16(uint16_t v)
{
#if VIO_HOST_BIG_ENDIAN
	return __builtin_bswap16(v);
#else
	return v;
#endif
}

/* Converts a 32-bit value between host order and little-endian. */
static inline uint32_t vio_le32(uint32_t v)
{
#if VIO_HOST_BIG_ENDIAN
	return __builtin_bswap32(v);
#else
	return v;
#endif
}

/* Converts a 64-bit value between host order and little-endian. */
static inline uint64_t vio_le64(uint64_t v)
{
#if VIO_HOST_BIG_ENDIAN
	return __builtin_bswap64(v);
#else
	return v;
#endif
}

/* Loads a little-endian 16-bit field from any alignment. */
static inline uint16_t vio_get_le16(const void *p)
{
	uint16_t v;
	VIO_COPY(&v, p, sizeof(v));
	return vio_le16(v);
}

/* Loads a little-endian 32-bit field from any alignment. */
static inline uint32_t vio_get_le32(const void *p)
{
	uint32_t v;
	VIO_COPY(&v, p, sizeof(v));
	return vio_le32(v);
}

/* Loads a little-endian 64-bit field from any alignment. */
static inline uint64_t vio_get_le64(const void *p)
{
	uint64_t v;
	VIO_COPY(&v, p, sizeof(v));
	return vio_le64(v);
}

/* Stores a little-endian 16-bit field at any alignment. */
static inline void vio_put_le16(void *p, uint16_t v)
{
	v = vio_le16(v);
	VIO_COPY(p, &v, sizeof(v));
}

/* Stores a little-endian 32-bit field at any alignment. */
static inline void vio_put_le32(void *p, uint32_t v)
{
	v = vio_le32(v);
	VIO_COPY(p, &v, sizeof(v));
}

/* Stores a little-endian 64-bit field at any alignment. */
static inline void vio_put_le64(void *p, uint64_t v)
{
	v = vio_le64(v);
	VIO_COPY(p, &v, sizeof(v));
}

/*
 * Ring indices and flags are shared with a concurrent peer. These accessors
 * make each access a single, naturally aligned, ordered access; the ring
 * layout guarantees the alignment.
 */

/* Reads a shared le16 with acquire ordering. */
static inline uint16_t vio_load_acquire_le16(const uint16_t *p)
{
	return vio_le16(__atomic_load_n(p, __ATOMIC_ACQUIRE));
}

/* Reads a shared le16 with no ordering beyond atomicity. */
static inline uint16_t vio_load_relaxed_le16(const uint16_t *p)
{
	return vio_le16(__atomic_load_n(p, __ATOMIC_RELAXED));
}

/* Writes a shared le16 with release ordering. */
static inline void vio_store_release_le16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, vio_le16(v), __ATOMIC_RELEASE);
}

/* Writes a shared le16 with no ordering beyond atomicity. */
static inline void vio_store_relaxed_le16(uint16_t *p, uint16_t v)
{
	__atomic_store_n(p, vio_le16(v), __ATOMIC_RELAXED);
}

/* Full barrier: orders earlier stores before later loads. */
static inline void vio_mb(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

#endif
