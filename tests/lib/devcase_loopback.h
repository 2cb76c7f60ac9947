/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device cases over the loopback transport (src/core/loopback.c): each open
 * builds a fresh device of the kind on the simulated providers, in the state
 * devcase.h describes, with driver and device in this process.
 */
#ifndef VIOPORT_TESTS_DEVCASE_LOOPBACK_H
#define VIOPORT_TESTS_DEVCASE_LOOPBACK_H

#include "devcase.h"

/* The loopback transport; its state is static (one device at a time). */
extern const struct dc_transport dc_loopback;

#endif
