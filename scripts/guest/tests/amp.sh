# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# The amp scenario's guest (scripts/amp-linux.sh): Linux's own drivers on the
# devices the Cortex-R5 firmware (firmware/images/amp, built as amp-console)
# serves through vioport_vmsg.ko over the device-tree window. The firmware's
# devices: a 64 KiB RAM disk whose sector 0 holds a label, entropy, a 24c02 at
# 0x50 and an LM75 at 0x48 reading 36.5 °C, an eight-line chip whose
# jumper-out (3) drives jumper-in (4), a virtio-console that is the
# firmware's own console (/dev/hvc0 shows what it prints and takes commands)
# a virtio-input keyboard whose keys the console's press command taps and a
# virtio-input touch panel its touch and lift commands touch. amp_tool (tests/guest/amp_tool.c) is the GPIO uAPI
# and O_DIRECT client (amp-bench.sh times it); Debian's own arm64 gpiomon and
# gpioset (libgpiod 1.6, with their library, the C library and the dynamic
# loader: fetch-arm64.sh --gpiod) watch and drive the same lines. At the end
# the module is removed and the guest waits for the host to stop the firmware
# (which ends the emulator).

AMP_LM75_MC=36500
AMP_TOOL=/opt/host/bin/amp_tool
AMP_GPIOMON=/usr/bin/gpiomon
AMP_GPIOSET=/usr/bin/gpioset
AMP_EVDEV_READER=/opt/host/bin/evdev_reader
AMP_DRIVERS="virtio_blk virtio_rng i2c_virtio gpio_virtio virtio_console virtio_input"
AMP_KEY=30 # KEY_A
AMP_TOUCH_X=100
AMP_TOUCH_Y=200

amp_vdev_driver() {
	local d
	for d in /sys/bus/virtio/devices/virtio*; do
		[ -e "$d/driver" ] || continue
		if [ "$(basename "$(readlink "$d/driver")")" = "$1" ]; then
			basename "$d"
			return 0
		fi
	done
	return 1
}

# True when each of the six drivers has a device bound.
amp_all_bound() {
	local drv
	for drv in $AMP_DRIVERS; do
		amp_vdev_driver "$drv" >/dev/null || return 1
	done
}

# amp-probe: the six drivers, each with a device bound, below the window's
# node (the module registers the devices one by one once the R5 has attached:
# up to 60 s for all six). virtio_input has two, the keyboard and the touch
# panel: amp-input and amp-touch find each by its name.
amp_probe() {
	local drv missing="" found="" d tries=600
	while ! amp_all_bound && [ "$tries" -gt 0 ]; do
		usleep 100000
		tries=$((tries - 1))
	done
	for drv in $AMP_DRIVERS; do
		if d=$(amp_vdev_driver "$drv"); then
			found="$found $drv:$d"
			case $(readlink -f "/sys/bus/virtio/devices/$d") in
			*vioport-window*) ;;
			*) missing="$missing $drv(not below vioport-window)" ;;
			esac
		else
			missing="$missing $drv"
		fi
	done
	if [ -z "$missing" ]; then
		result amp-probe PASS "bound:$found, all below the vioport-window node"
	else
		result amp-probe FAIL "missing:$missing (found:$found)"
	fi
}

# amp-blk: the label the firmware put in sector 0, then 32 KiB of random data
# written at 8 KiB, caches dropped, read back and checksummed.
amp_blk() {
	local label size want got
	if [ ! -b /dev/vda ]; then
		result amp-blk-label FAIL "no /dev/vda"
		result amp-blk-rw FAIL "no /dev/vda"
		return 0
	fi
	size=$(($(cat /sys/block/vda/size) * 512))
	label=$(dd if=/dev/vda bs=512 count=1 2>/dev/null | head -n 1 | tr -d '\0')
	if [ "$label" = "vioport amp RAM disk: sector 0" ]; then
		result amp-blk-label PASS "$size bytes; sector 0 reads \"$label\""
	else
		result amp-blk-label FAIL "$size bytes; sector 0 reads \"$label\""
	fi
	dd if=/dev/urandom of=/tmp/data bs=4096 count=8 2>/dev/null
	want=$(md5_of /tmp/data)
	if ! dd if=/tmp/data of=/dev/vda bs=4096 seek=2 conv=fsync 2>/tmp/dd.err; then
		result amp-blk-rw FAIL "write: $(tail -n 1 /tmp/dd.err)"
		return 0
	fi
	drop_caches /dev/vda
	got=$(md5_range /dev/vda 8192 32768)
	if [ "$got" = "$want" ]; then
		result amp-blk-rw PASS "32 KiB written at 8 KiB, read back after dropping caches: md5 $got"
	else
		result amp-blk-rw FAIL "md5 written $want, read back $got"
	fi
	info amp-blk-md5 "$got"
}

# amp-rng: Linux's hwrng is the R5's virtio-rng and gives changing bytes.
amp_rng() {
	local cur a b
	cur=$(sysattr /sys/class/misc/hw_random/rng_current)
	a=$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
	b=$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
	case $cur in
	virtio_rng*) ;;
	*)
		result amp-rng FAIL "rng_current is $cur"
		return 0
		;;
	esac
	if [ ${#a} -eq 64 ] && [ "$a" != "$b" ] && [ "$a" != "$(printf '0%.0s' $(seq 64))" ]; then
		result amp-rng PASS "$cur: 2 x 32 bytes from /dev/hwrng, different (${a%"${a#????????????????}"}...)"
	else
		result amp-rng FAIL "$cur: read '$a' then '$b'"
	fi
}

# The i2c-virtio adapter's bus number.
amp_i2c_bus() {
	local a
	for a in /sys/bus/i2c/devices/i2c-*; do
		[ -e "$a/device/driver" ] || continue
		case $(readlink "$a/device/driver") in
		*i2c_virtio*)
			echo "${a##*i2c-}"
			return 0
			;;
		esac
	done
	return 1
}

# amp-i2c-eeprom and amp-i2c-lm75: at24 and lm75 on the R5's simulated bus.
amp_i2c() {
	local bus dev want got t hw
	if ! bus=$(amp_i2c_bus); then
		result amp-i2c-eeprom FAIL "no i2c-virtio adapter"
		result amp-i2c-lm75 FAIL "no i2c-virtio adapter"
		return 0
	fi
	echo 24c02 0x50 >"/sys/bus/i2c/devices/i2c-$bus/new_device"
	dev=/sys/bus/i2c/devices/$bus-0050/eeprom
	want="amp-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	if ! wait_for "$dev" 10; then
		result amp-i2c-eeprom FAIL "at24 made no $dev"
	else
		printf '%s' "$want" | dd of="$dev" bs=1 seek=16 conv=notrunc 2>/dev/null
		got=$(dd if="$dev" bs=1 skip=16 count=${#want} 2>/dev/null)
		if [ "$got" = "$want" ]; then
			result amp-i2c-eeprom PASS "at24 on i2c-$bus: \"$want\" written at 16 and read back"
		else
			result amp-i2c-eeprom FAIL "wrote \"$want\", read \"$got\""
		fi
	fi
	echo lm75 0x48 >"/sys/bus/i2c/devices/i2c-$bus/new_device"
	t=""
	# The hwmon device appears once lm75 has bound: wait for it, then read.
	if wait_for "/sys/bus/i2c/devices/$bus-0048/hwmon" 10; then
		for hw in "/sys/bus/i2c/devices/$bus-0048"/hwmon/hwmon*/temp1_input; do
			[ -r "$hw" ] && t=$(cat "$hw")
		done
	fi
	if [ "$t" = "$AMP_LM75_MC" ]; then
		result amp-i2c-lm75 PASS "lm75 on i2c-$bus: temp1_input $t (the R5's simulated 36.5 C)"
	else
		result amp-i2c-lm75 FAIL "lm75 temp1_input '$t', want $AMP_LM75_MC"
	fi
}

# The gpio-virtio chip's character device.
amp_gpiochip() {
	local c
	for c in /dev/gpiochip*; do
		if $AMP_TOOL info "$c" 2>/dev/null | grep -q '^line 3 jumper-out'; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

# amp-gpio-info, amp-gpio-irq, amp-gpiomon: the R5's line names; two edges
# of jumper-in (rising, falling) each raised by the firmware when the guest
# sets jumper-out, seen by amp_tool, then by Debian's gpiomon.
amp_gpio() {
	local chip out
	if ! chip=$(amp_gpiochip); then
		result amp-gpio-info FAIL "no GPIO chip with the firmware's line names"
		result amp-gpio-irq FAIL "no GPIO chip"
		result amp-gpiomon FAIL "no GPIO chip"
		return 0
	fi
	result amp-gpio-info PASS "$chip: $($AMP_TOOL info "$chip" | awk '/^line/ { printf "%s ", $3 }')"
	# amp-bench's odd count of edges leaves the wire high: both checks start low.
	amp_jumper_low "$chip"
	if out=$($AMP_TOOL edge "$chip" 3 4 2 10000 2>&1); then
		result amp-gpio-irq PASS "$(echo "$out" | grep '^event' | sed 's/ after.*//' | tr '\n' ';' | sed 's/;$//'), each after setting jumper-out"
	else
		result amp-gpio-irq FAIL "$(echo "$out" | tail -n 1)"
	fi
	amp_jumper_low "$chip"
	amp_gpiomon "$chip"
}

# Drives jumper-out low (gpioset releases it again; the firmware keeps the
# level). The firmware updates jumper-in as it handles the message, before
# any later one: a line request made afterwards sees it low.
amp_jumper_low() {
	timeout 10 "$AMP_GPIOSET" "$1" 3=0 >/dev/null 2>&1 || say "gpioset $1 3=0 failed"
}

# True when process $1 holds a GPIO line event file: the kernel makes it
# only once the line's interrupt is requested (gpio-virtio has then set the
# line's interrupt type on the device and queued its event buffer).
amp_has_event_fd() {
	local f
	for f in /proc/"$1"/fd/*; do
		case $(readlink "$f" 2>/dev/null) in
		anon_inode:gpio-event | anon_inode:gpio-line) return 0 ;;
		esac
	done
	return 1
}

# Prints the number of edge events gpiomon has printed.
amp_gpiomon_events() {
	grep -c '^event: ' /tmp/gpiomon.out 2>/dev/null || true
}

# Ends gpiomon (PID $1) when it is still running, and reaps it.
amp_gpiomon_stop() {
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# amp-gpiomon: Debian's gpiomon waits in the background for a rising and a
# falling edge of jumper-in (--num-events=2 --rising-edge --falling-edge);
# Debian's gpioset drives jumper-out high, then low, and the firmware raises
# each edge. gpiomon asks for both edges, for which the kernel reads the
# line's level to name an edge: the second change waits until gpiomon has
# printed the first event (--line-buffered). Every wait is bounded: 10 s for
# gpiomon's request, 10 s for each event.
amp_gpiomon() {
	local chip=$1 pid tries st=0 out first second
	if [ ! -x "$AMP_GPIOMON" ] || [ ! -x "$AMP_GPIOSET" ]; then
		result amp-gpiomon FAIL "no $AMP_GPIOMON or $AMP_GPIOSET in the initramfs"
		return 0
	fi
	: >/tmp/gpiomon.out
	"$AMP_GPIOMON" --num-events=2 --rising-edge --falling-edge --line-buffered \
		"$chip" 4 >/tmp/gpiomon.out 2>&1 &
	pid=$!
	tries=100
	while ! amp_has_event_fd "$pid" && kill -0 "$pid" 2>/dev/null && [ "$tries" -gt 0 ]; do
		usleep 100000
		tries=$((tries - 1))
	done
	if ! amp_has_event_fd "$pid"; then
		amp_gpiomon_stop "$pid"
		result amp-gpiomon FAIL "gpiomon did not request jumper-in's edges within 10 s: $(tr '\n' ' ' </tmp/gpiomon.out)"
		return 0
	fi
	if ! out=$(timeout 10 "$AMP_GPIOSET" "$chip" 3=1 2>&1); then
		amp_gpiomon_stop "$pid"
		result amp-gpiomon FAIL "gpioset $chip 3=1: $out"
		return 0
	fi
	tries=100
	while [ "$(amp_gpiomon_events)" -lt 1 ] && kill -0 "$pid" 2>/dev/null && [ "$tries" -gt 0 ]; do
		usleep 100000
		tries=$((tries - 1))
	done
	if [ "$(amp_gpiomon_events)" -lt 1 ]; then
		amp_gpiomon_stop "$pid"
		result amp-gpiomon FAIL "no event from gpiomon within 10 s of jumper-out going high: $(tr '\n' ' ' </tmp/gpiomon.out)"
		return 0
	fi
	if ! out=$(timeout 10 "$AMP_GPIOSET" "$chip" 3=0 2>&1); then
		amp_gpiomon_stop "$pid"
		result amp-gpiomon FAIL "gpioset $chip 3=0: $out"
		return 0
	fi
	tries=100
	while kill -0 "$pid" 2>/dev/null && [ "$tries" -gt 0 ]; do
		usleep 100000
		tries=$((tries - 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		amp_gpiomon_stop "$pid"
		result amp-gpiomon FAIL "gpiomon still waiting 10 s after jumper-out went low: $(tr '\n' ' ' </tmp/gpiomon.out)"
		return 0
	fi
	wait "$pid" || st=$?
	first=$(grep '^event: ' /tmp/gpiomon.out | sed -n 1p | tr -s ' ')
	second=$(grep '^event: ' /tmp/gpiomon.out | sed -n 2p | tr -s ' ')
	case "$st $(amp_gpiomon_events) $first | $second" in
	"0 2 event: RISING EDGE offset: 4 "*" | event: FALLING EDGE offset: 4 "*)
		result amp-gpiomon PASS "gpiomon $chip 4 (Debian's arm64 libgpiod 1.6): \"$first\", \"$second\" after gpioset $chip 3=1, 3=0"
		;;
	*)
		result amp-gpiomon FAIL "gpiomon exit status $st, want a rising then a falling edge of line 4: $(tr '\n' ' ' </tmp/gpiomon.out)"
		;;
	esac
}

# amp-console-banner, amp-console-echo, amp-console-status: the firmware's
# console on /dev/hvc0 (stock virtio_console): the line the firmware printed
# when it started, then an echo command and the status command, each answered
# there. amp_tool makes the terminal raw first: a terminal that echoes would
# send the firmware's lines back to it. 20 s for each line.
amp_console() {
	local out st=0 line word
	word="linux-says-$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
	if ! wait_for /dev/hvc0 10; then
		result amp-console-banner FAIL "no /dev/hvc0"
		result amp-console-echo FAIL "no /dev/hvc0"
		result amp-console-status FAIL "no /dev/hvc0"
		return 0
	fi
	out=$($AMP_TOOL tty /dev/hvc0 20000 "amp: serving" "echo $word" "amp: $word" \
		status "amp: status:" 2>&1) || st=$?
	echo "$out" | sed 's/^/amp-console: /' >&2
	if line=$(echo "$out" | grep '^match 0: '); then
		result amp-console-banner PASS "/dev/hvc0: \"${line#match 0: }\""
	else
		result amp-console-banner FAIL "no banner on /dev/hvc0 (status $st): $(echo "$out" | tail -n 1)"
	fi
	if line=$(echo "$out" | grep '^match 1: '); then
		result amp-console-echo PASS "wrote \"echo $word\", read \"${line#match 1: }\""
	else
		result amp-console-echo FAIL "no answer to echo (status $st): $(echo "$out" | tail -n 1)"
	fi
	if line=$(echo "$out" | grep '^match 2: '); then
		result amp-console-status PASS "wrote \"status\", read \"${line#match 2: }\""
	else
		result amp-console-status FAIL "no answer to status (status $st): $(echo "$out" | tail -n 1)"
	fi
}

# The evdev node of the firmware's input device named $1 (virtio_input below
# the window's node).
amp_event_node() {
	local e
	for e in /sys/class/input/event*; do
		[ "$(cat "$e/device/name" 2>/dev/null)" = "$1" ] || continue
		case $(readlink -f "$e") in
		*vioport-window*)
			echo "/dev/input/${e##*/}"
			return 0
			;;
		esac
	done
	return 1
}

# Starts evdev_reader (tests/guest/evdev_reader.c) on NODE for COUNT events
# into /tmp/amp-TAG.out and .err and waits until it says ready (evdev gives a
# reader only what comes after its open); sets AMP_READER_PID. Otherwise
# reports CHECK failed and returns 1. 20 s for each wait.
amp_reader_start() {
	local check=$1 node=$2 count=$3 tag=$4 tries=200
	"$AMP_EVDEV_READER" "$node" "$count" 20 >"/tmp/amp-$tag.out" 2>"/tmp/amp-$tag.err" &
	AMP_READER_PID=$!
	while ! grep -q '^ready' "/tmp/amp-$tag.out" && kill -0 "$AMP_READER_PID" 2>/dev/null &&
		[ "$tries" -gt 0 ]; do
		usleep 100000
		tries=$((tries - 1))
	done
	grep -q '^ready' "/tmp/amp-$tag.out" && return 0
	kill "$AMP_READER_PID" 2>/dev/null
	wait "$AMP_READER_PID" 2>/dev/null
	result "$check" FAIL "evdev_reader on $node not ready: $(tail -n 1 "/tmp/amp-$tag.err")"
	return 1
}

# Judges CHECK once the reader ends: the events it read against WANT, ST the
# console tool's status and OUT its output, WHAT the commands sent.
amp_reader_judge() {
	local check=$1 node=$2 tag=$3 st=$4 out=$5 want=$6 what=$7 got
	wait "$AMP_READER_PID" || st=$?
	got=$(grep -v '^ready' "/tmp/amp-$tag.out" | tr '\n' ';')
	if [ "$st" -eq 0 ] && [ "$got" = "$want" ]; then
		result "$check" PASS "$node ($(sed -n 's/^ready //p' "/tmp/amp-$tag.out")): $what on /dev/hvc0 gave $got"
	else
		result "$check" FAIL "$node: want \"$want\", got \"$got\" (status $st): $(echo "$out" | tail -n 1) $(tail -n 1 "/tmp/amp-$tag.err")"
	fi
}

# amp-input: the firmware's keyboard on Linux's own virtio_input and evdev.
# The reader on its node; then "press 30" on /dev/hvc0 has the firmware tap
# KEY_A, and the reader must see the press and the release, each with its
# SYN_REPORT.
amp_input() {
	local node out st=0
	if ! node=$(amp_event_node "vioport keyboard"); then
		result amp-input FAIL "no evdev node named \"vioport keyboard\" below the vioport-window node"
		return 0
	fi
	amp_reader_start amp-input "$node" 4 ev || return 0
	out=$($AMP_TOOL tty /dev/hvc0 20000 "" "press $AMP_KEY" "amp: pressed key $AMP_KEY" 2>&1) || st=$?
	echo "$out" | sed 's/^/amp-input: /' >&2
	amp_reader_judge amp-input "$node" ev "$st" "$out" "1 $AMP_KEY 1;0 0 0;1 $AMP_KEY 0;0 0 0;" \
		"\"press $AMP_KEY\""
}

# amp-touch: the firmware's touch panel on the same drivers. The reader on
# its node; then "touch X Y" and "lift" on /dev/hvc0. A contact down is one
# report: the contact's slot (0, the one the node's ABS_MT_SLOT already names,
# so none is sent) gets tracking id 0 and the position, BTN_TOUCH 1 and ABS_X
# and ABS_Y for single-touch readers, SYN_REPORT; a lift is tracking id -1,
# BTN_TOUCH 0, SYN_REPORT (evdev codes: ABS_MT_TRACKING_ID 57,
# ABS_MT_POSITION_X 53, _Y 54, BTN_TOUCH 330).
amp_touch() {
	local node tries=200 out st=0 x=$AMP_TOUCH_X y=$AMP_TOUCH_Y
	# The last device the module registers: it may come a little after the keyboard.
	while ! amp_event_node "vioport touchscreen" >/dev/null && [ "$tries" -gt 0 ]; do
		usleep 100000
		tries=$((tries - 1))
	done
	if ! node=$(amp_event_node "vioport touchscreen"); then
		result amp-touch FAIL "no evdev node named \"vioport touchscreen\" below the vioport-window node"
		return 0
	fi
	amp_reader_start amp-touch "$node" 10 tp || return 0
	out=$($AMP_TOOL tty /dev/hvc0 20000 "" "touch $x $y" "amp: touched $x $y" "lift" "amp: lifted" 2>&1) || st=$?
	echo "$out" | sed 's/^/amp-touch: /' >&2
	amp_reader_judge amp-touch "$node" tp "$st" "$out" \
		"3 57 0;3 53 $x;3 54 $y;1 330 1;3 0 $x;3 1 $y;0 0 0;3 57 -1;1 330 0;0 0 0;" \
		"\"touch $x $y\", \"lift\""
}

# amp-leave: the module removed (the driver leaves the window), no kernel
# warning on the way; then the host stops the firmware.
amp_leave() {
	local bad
	if rmmod vioport_vmsg 2>/tmp/rmmod.err; then
		bad=$(dmesg | grep -E 'WARNING|BUG|Oops|vioport_vmsg.*(drop|broken)' | head -n 1)
		if [ -z "$bad" ]; then
			result amp-leave PASS "vioport_vmsg removed; no warning, oops or dropped message in the kernel log"
		else
			result amp-leave FAIL "kernel log: $bad"
		fi
	else
		result amp-leave FAIL "rmmod: $(cat /tmp/rmmod.err)"
	fi
	info amp-stop-ready 1
	sleep 120
	result amp-stopped FAIL "the host did not stop the firmware within 120 s"
}

amp_probe
amp_blk
amp_rng
amp_i2c
amp_gpio
amp_console
amp_input
amp_touch
amp_leave
