/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vmsg-gpio: the smallest useful image, for the size figure of the core, the
 * virtio-msg device side and the GPIO device: the amp image's main loop and
 * bus with the simulated GPIO chip as its only device (device number 0).
 * Built from the same source, so the figure measures the code amp runs.
 */
#define AMP_GPIO_ONLY 1
#include "../amp/amp.c"
