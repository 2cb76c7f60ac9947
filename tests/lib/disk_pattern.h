/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The bytes of the test disks: the integration tests' images (it_make_image)
 * and the device cases' disks (dc_blk_pattern) hold the same pattern, so a
 * case reads the same data from an image file as from a ram disk. Each byte
 * depends on its sector and its place in it, so a read of the wrong sector or
 * at a shifted offset does not match.
 */
#ifndef VIOPORT_TESTS_DISK_PATTERN_H
#define VIOPORT_TESTS_DISK_PATTERN_H

#include <stdint.h>

static inline uint8_t disk_pattern(uint64_t offset)
{
	uint64_t sector = offset / 512;

	return (uint8_t) (sector * 131u + (offset % 512) * 7u + 1u);
}

#endif
