# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Timings from Linux user space through a virtio-msg device side (the R5
# firmware in scripts/amp-linux.sh --bench, the vioport process in
# scripts/bench-amp.sh): vioport.bench=N level changes of GPIO line 0 (each
# SET_VALUES ioctl waits for the device's answer), N jumper-out to jumper-in
# edge round trips where the chip has that wire (the R5's), and N 4 KiB
# O_DIRECT reads of /dev/vda. Figures as VIOPORT-INFO amp-bench-* lines.

AMP_TOOL=/opt/host/bin/amp_tool

amp_bench() {
	local n=${VIOPORT_BENCH:-100} c chip="" out tries=600
	# The devices appear once the device side has attached: up to 60 s.
	while [ "$tries" -gt 0 ]; do
		for c in /dev/gpiochip*; do
			if $AMP_TOOL info "$c" 2>/dev/null | grep -q '^chip .* label virtio'; then
				chip=$c
				break
			fi
		done
		[ -z "$chip" ] || [ ! -b /dev/vda ] || break
		usleep 100000
		tries=$((tries - 1))
	done
	if [ -z "$chip" ] || [ ! -b /dev/vda ]; then
		result amp-bench FAIL "no virtio GPIO chip ($chip) or no /dev/vda"
		return 0
	fi
	$AMP_TOOL set "$chip" 0 10 >/dev/null 2>&1 || true
	info amp-bench-gpio-set "$($AMP_TOOL set "$chip" 0 "$n" 2>&1 | tail -n 1)"
	if $AMP_TOOL info "$chip" | grep -q '^line 3 jumper-out'; then
		info amp-bench-gpio-edge "$($AMP_TOOL edge "$chip" 3 4 "$n" 10000 2>&1 | tail -n 1)"
	fi
	$AMP_TOOL blkread /dev/vda 10 >/dev/null 2>&1 || true
	if out=$($AMP_TOOL blkread /dev/vda "$n" 2>&1); then
		info amp-bench-blk-read "$out"
		result amp-bench PASS "$n GPIO sets, $n 4 KiB reads timed"
	else
		result amp-bench FAIL "$out"
	fi
}

amp_bench
