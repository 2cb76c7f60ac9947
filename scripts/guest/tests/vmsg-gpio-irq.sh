# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Guest test: a GPIO interrupt over the virtio-msg window. gpiomon waits for
# one rising edge on the simulated chip's line VIOPORT_GPIO_IRQ; the host,
# once it reads "gpio-irq-ready" on the console, toggles that line on the
# daemon's control socket until it reads this test's result. The edge travels
# as a used eventq buffer: the device side's EVENT_USED, then gpio-virtio's
# interrupt handler, then the GPIO character device.
#
# It runs last in the vmsg-linux variant, so it also looks back at the whole
# run: the module must have logged no dropped message, no broken device and
# no kernel warning.
#
# Results: gpio-irq-edge vmsg-clean.

line=${VIOPORT_GPIO_IRQ:-1}
chip=$(gpiofind sim-gpio-0 2>/dev/null | cut -d' ' -f1) || true
if [ -z "$chip" ]; then
	result gpio-irq-edge FAIL "no GPIO chip with a line named sim-gpio-0"
	exit 0
fi
gpiomon --num-events=1 --rising-edge "$chip" "$line" >/tmp/gpiomon.out 2>&1 &
pid=$!
info gpio-irq-ready "$chip $line"
tries=300
while kill -0 "$pid" 2>/dev/null && [ "$tries" -gt 0 ]; do
	usleep 100000
	tries=$((tries - 1))
done
if kill -0 "$pid" 2>/dev/null; then
	kill "$pid" 2>/dev/null
	result gpio-irq-edge FAIL "no rising edge on $chip line $line within 30 s: $(tr '\n' ' ' </tmp/gpiomon.out)"
elif grep -q "RISING EDGE offset: $line " /tmp/gpiomon.out; then
	result gpio-irq-edge PASS "gpiomon: $(head -n 1 /tmp/gpiomon.out | tr -s ' ')"
else
	result gpio-irq-edge FAIL "gpiomon said: $(tr '\n' ' ' </tmp/gpiomon.out)"
fi

# What the module said during the whole run.
log=$(dmesg | grep -e vioport_vmsg -e 'WARNING' -e 'BUG' -e 'Call Trace')
bad=$(echo "$log" | grep -i -e dropped -e broken -e WARNING -e BUG -e 'Call Trace' | head -n 3 | tr '\n' ';')
say "vioport_vmsg: $(echo "$log" | grep -c .) kernel log lines"
if [ -n "$bad" ]; then
	result vmsg-clean FAIL "$bad"
else
	result vmsg-clean PASS "no dropped message, broken device or kernel warning: $(echo "$log" | grep 'devices on the window' | sed 's/.*: //')"
fi
