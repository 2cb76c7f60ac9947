# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Guest test: virtio-input through Linux's own virtio_input and evdev modules
# (the vu-devices variant): vioport's simulated keyboard, "vioport keyboard",
# read on its /dev/input/eventN by evdev_reader (tests/guest/evdev_reader.c,
# static), while the host taps a key and types a text on the daemon's control
# socket.
#
# The host passes on the command line:
#   vioport.input_tap=CODE   the key the host taps (`input0 tap CODE`)
#   vioport.input_text=TEXT  the text it types (`input0 type TEXT`)
#   vioport.input_keys=LIST  the EV_KEY events TEXT gives, CODE:VALUE,...
#
# The reader opens the node and prints "ready <name>"; then
# `VIOPORT-INFO input-ready eventN` tells the host to send. Each EV_KEY event
# must be followed by SYN_REPORT: a tap is CODE 1, SYN, CODE 0, SYN.
#
# Results: input-probe input-tap input-type.

NAME="vioport keyboard"

# Prints the input device (inputN) whose name is NAME.
find_input() {
	local d
	for d in /sys/class/input/input*; do
		[ "$(cat "$d/name" 2>/dev/null)" = "$NAME" ] && echo "${d##*/}" && return 0
	done
	return 1
}

# Prints "TYPE CODE VALUE|..." for a list CODE:VALUE,... of key events, each
# followed by SYN_REPORT (type 1 is EV_KEY, 0 0 0 is SYN_REPORT).
expect_keys() {
	echo "$1" | tr ',' '\n' | sed 's/^\([0-9]*\):\([0-9]*\)$/1 \1 \2|0 0 0/' | tr '\n' '|' | sed 's/|$//'
}

tap_want=$(expect_keys "$VIOPORT_INPUT_TAP:1,$VIOPORT_INPUT_TAP:0")
type_want=$(expect_keys "$VIOPORT_INPUT_KEYS")
ntap=$(echo "$tap_want" | tr '|' '\n' | wc -l)
ntype=$(echo "$type_want" | tr '|' '\n' | wc -l)

input=""
tries=100
while [ -z "$input" ] && [ "$tries" -gt 0 ]; do
	input=$(find_input) || usleep 100000
	tries=$((tries - 1))
done
ev=""
if [ -n "$input" ]; then
	for e in /sys/class/input/"$input"/event*; do
		[ -e "$e" ] && ev=${e##*/}
	done
fi
drv=$(readlink "/sys/class/input/$input/device/driver" 2>/dev/null)
pid=""
if [ -z "$input" ]; then
	names=$(cat /sys/class/input/input*/name 2>/dev/null | tr '\n' ',')
	result input-probe FAIL "no input device named '$NAME' within 10 s (names: ${names%,})"
elif [ "${drv##*/}" != virtio_input ]; then
	result input-probe FAIL "$input '$NAME' is driven by '${drv##*/}', not virtio_input"
elif [ -z "$ev" ] || ! wait_for "/dev/input/$ev" 5; then
	result input-probe FAIL "$input has no event node${ev:+ /dev/input/$ev} (evdev loaded: $([ -d /sys/module/evdev ] && echo yes || echo no))"
else
	evdev_reader "/dev/input/$ev" $((ntap + ntype)) 60 >/tmp/ev.out 2>/tmp/ev.err &
	pid=$!
	tries=100
	while ! grep -q '^ready' /tmp/ev.out 2>/dev/null && kill -0 "$pid" 2>/dev/null &&
		[ "$tries" -gt 0 ]; do
		usleep 100000
		tries=$((tries - 1))
	done
	ready=$(sed -n 's/^ready //p' /tmp/ev.out)
	if [ "$ready" != "$NAME" ]; then
		kill "$pid" 2>/dev/null
		result input-probe FAIL "evdev_reader on /dev/input/$ev: name '$ready', not ready within 10 s: $(tail -n 1 /tmp/ev.err)"
		pid=""
	else
		features=$(virtio_features virtio_input)
		result input-probe PASS "$input /dev/input/$ev '$NAME' on virtio_input, features ${features% }"
	fi
fi

if [ -z "$pid" ]; then
	result input-tap FAIL "no reader on the keyboard (see input-probe)"
	result input-type FAIL "no reader on the keyboard (see input-probe)"
else
	info input-ready "$ev"
	# The reader ends after the events expected or its own 60 s.
	tries=650
	while kill -0 "$pid" 2>/dev/null && [ "$tries" -gt 0 ]; do
		usleep 100000
		tries=$((tries - 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		status="still running after 65 s"
	else
		wait "$pid"
		status=$?
	fi
	# The device's events, in order; autorepeat (lines "# ...") left out.
	grep -v -e '^ready' -e '^#' /tmp/ev.out >/tmp/ev.got
	repeats=$(grep -c '^# 1 ' /tmp/ev.out)
	tap_got=$(head -n "$ntap" /tmp/ev.got | tr '\n' '|' | sed 's/|$//')
	type_got=$(tail -n +$((ntap + 1)) /tmp/ev.got | tr '\n' '|' | sed 's/|$//')
	why=""
	[ "$status" = 0 ] || why=" (reader: status $status, $(tail -n 1 /tmp/ev.err))"
	[ "$repeats" -eq 0 ] || why="$why ($repeats autorepeat events left out)"
	if [ "$tap_got" = "$tap_want" ]; then
		result input-tap PASS "tap $VIOPORT_INPUT_TAP: $tap_got$why"
	else
		result input-tap FAIL "tap $VIOPORT_INPUT_TAP: got '$tap_got', expected '$tap_want'$why"
	fi
	if [ "$type_got" = "$type_want" ]; then
		result input-type PASS "type $VIOPORT_INPUT_TEXT: $type_got$why"
	else
		result input-type FAIL "type $VIOPORT_INPUT_TEXT: got '$type_got', expected '$type_want'$why"
	fi
fi
rm -f /tmp/ev.out /tmp/ev.err /tmp/ev.got
