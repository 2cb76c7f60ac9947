// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * vioport's virtio-msg message layouts (src/vmsg/msg.c), compiled into the
 * module unchanged: the daemon, the firmware and this module encode and
 * check every message with the same code.
 */
#include "src/vmsg/msg.c"
