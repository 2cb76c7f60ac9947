#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# demo-amp.sh: asymmetric multiprocessing on QEMU's ZCU102 model, the whole
# case. Debian's arm64 kernel runs on the first Cortex-A53 and the `amp`
# firmware on the first Cortex-R5F of one xlnx-zcu102 emulator; they share
# only the DDR window at 0x3EE00000 (reserved in Linux's device tree, named
# by a "vioport,vmsg-window" node). vioport_vmsg.ko formats the window, the
# R5 attaches, and Linux's own drivers use what the R5 serves: virtio_blk on
# its RAM disk, virtio_rng as /dev/hwrng, i2c-virtio with at24 and lm75 on its
# simulated 24c02 and LM75, gpio-virtio on its GPIO chip, where setting
# jumper-out makes the firmware raise an edge on jumper-in that reaches the
# guest as a GPIO interrupt event. Then the guest removes the module, this
# host asks the firmware to exit through the window's control words, and the
# R5 prints its own counters.
#
# scripts/amp-linux.sh does the work (and the firmware tier runs it);
# scripts/demo-amp-host.sh is the earlier demo, the R5 driven from this host
# by vioport-drv. Environment: DEMO_TIMEOUT (seconds for the emulator run,
# default 300).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

out=$(mktemp)
trap 'rm -f "$out"' EXIT

printf '== Linux on apu-cpu[0], vioport amp on rpu-cpu[0] of one xlnx-zcu102 (TCG)\n'
printf "   (the A53's console as it comes, then the R5's semihosting output)\n\n"
status=0
bash scripts/amp-linux.sh --demo --timeout "${DEMO_TIMEOUT:-300}" >"$out" 2>&1 &
pid=$!
# The run's output as it comes, without the result lines summed up below.
tail -n +1 --pid="$pid" -f "$out" | grep --line-buffered -v -e '^FW-RESULT ' -e '^  A53| VIOPORT-RESULT ' || true
wait "$pid" || status=$?

# What each driver did, from the guest's results (FW-RESULT lines).
detail() {
	sed -n "s/^FW-RESULT linux-zcu102 $1 [A-Z]* //p" "$out" | head -n 1
}
verdict() {
	sed -n "s/^FW-RESULT linux-zcu102 $1 \([A-Z]*\) .*/\1/p" "$out" | head -n 1
}
printf "\n== what each Linux driver did with the R5's devices\n"
while read -r check who; do
	printf '  %-4s %-30s %s\n' "$(verdict "$check")" "$who" "$(detail "$check")"
done <<-'TABLE'
	amp-probe vioport_vmsg (window)
	amp-blk-label virtio_blk (sector 0)
	amp-blk-rw virtio_blk (write, read back)
	amp-rng virtio_rng (/dev/hwrng)
	amp-i2c-eeprom i2c-virtio + at24
	amp-i2c-lm75 i2c-virtio + lm75
	amp-gpio-info gpio-virtio (line names)
	amp-gpio-irq gpio-virtio (interrupt)
	amp-leave vioport_vmsg (rmmod)
	fw-exit amp firmware (exit)
	fw-counters amp firmware (counters)
TABLE
if grep -q '^FW-RESULT .* FAIL ' "$out" || [[ $status -ne 0 ]]; then
	printf '\ndemo-amp: some steps failed (see above; logs in build-fw/linux-zcu102/)\n'
	exit 1
fi
printf "\ndemo-amp: Linux's drivers used every device the R5 serves; the R5 counted them and exited with status 37\n"
