/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/* <stddef.h> for vioport's freestanding code built into the kernel module. */
#include "../vio_kcompat.h"
