/* SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause */
/*
 * Force-included (-include) ahead of the kernel's own kernel/irq/irq_sim.c
 * when build-modules.sh links it into the out-of-tree gpio-sim-vp.ko. The
 * interrupt simulator looks its descriptors up with irq_to_desc(), which the
 * kernel does not export to modules; the same descriptor is reached through
 * the exported irq_get_irq_data() and the header-inline irq_data_to_desc(),
 * so the source file compiles unchanged.
 */
#ifndef VIOPORT_IRQ_SIM_SHIM_H
#define VIOPORT_IRQ_SIM_SHIM_H

#include <linux/irq.h>
#include <linux/irqdesc.h>

static inline struct irq_desc *vioport_irq_to_desc(unsigned int irq)
{
	struct irq_data *data = irq_get_irq_data(irq);

	return data ? irq_data_to_desc(data) : NULL;
}

/* Every later use in the including file goes to the function above. */
#define irq_to_desc vioport_irq_to_desc

#endif
