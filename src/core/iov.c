/* SPDX-License-Identifier: BSD-3-Clause */
/* Copies between a request's scatter list and a flat buffer. */
#include "vioport/virtq.h"

#include <string.h>

uint32_t vio_iov_to_buf(const struct vio_iov *iov, uint16_t n, uint32_t off, void *dst,
			uint32_t len)
{
	uint8_t *d = dst;
	uint32_t done = 0;

	for (uint16_t i = 0; i < n && done < len; i++) {
		uint32_t k;

		if (off >= iov[i].len) {
			off -= iov[i].len;
			continue;
		}
		k = iov[i].len - off;
		if (k > len - done)
			k = len - done;
		memcpy(d + done, iov[i].base + off, k);
		done += k;
		off = 0;
	}
	return done;
}

uint32_t vio_iov_from_buf(const struct vio_iov *iov, uint16_t n, uint32_t off, const void *src,
			  uint32_t len)
{
	const uint8_t *s = src;
	uint32_t done = 0;

	for (uint16_t i = 0; i < n && done < len; i++) {
		uint32_t k;

		if (off >= iov[i].len) {
			off -= iov[i].len;
			continue;
		}
		k = iov[i].len - off;
		if (k > len - done)
			k = len - done;
		memcpy(iov[i].base + off, s + done, k);
		done += k;
		off = 0;
	}
	return done;
}
