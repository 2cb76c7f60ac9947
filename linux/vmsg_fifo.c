// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * vioport's shared-memory window (src/vmsg/shm.c: header, handshake and the
 * two message FIFOs), compiled into the module unchanged.
 */
#include "src/vmsg/shm.c"
