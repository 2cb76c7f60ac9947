// SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
/*
 * vioport's config read with the generation check (src/vmsg/cfg.c), compiled
 * into the module unchanged: vioport-drv and this module read a device's
 * config with the same code.
 */
#include "src/vmsg/cfg.c"
