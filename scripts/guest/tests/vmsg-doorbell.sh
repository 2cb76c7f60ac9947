# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Guest test of the vmsg-doorbell variant, run after its device tests: the
# window is an ivshmem-doorbell device whose server is the vioport daemon, and
# vioport_vmsg takes its MSI-X vector 0 as the device side's doorbell.
#
# Result: vmsg-irq (the module said it uses the doorbell, and the interrupt
# line it requested counted interrupts in /proc/interrupts: the daemon's
# rings reached the guest).

line=$(dmesg | grep -o 'vioport_vmsg.*doorbells: MSI-X vector 0.*' | head -n 1)
# /proc/interrupts: "IRQ: count-per-CPU... chip hwirq-type ... vioport_vmsg"
count=$(awk '/vioport_vmsg/ { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i } END { print n + 0 }' /proc/interrupts)
if [ -z "$line" ]; then
	result vmsg-irq FAIL "the module did not take the doorbell: $(dmesg | grep vioport_vmsg | head -n 3 | tr '\n' ';')"
elif [ "$count" -eq 0 ]; then
	result vmsg-irq FAIL "no interrupt counted: $(grep vioport_vmsg /proc/interrupts)"
else
	result vmsg-irq PASS "$count doorbell interrupts; $line"
fi
