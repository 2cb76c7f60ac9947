# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Guest test: the console, vsock and input devices the vmsg-linux variant's
# daemon serves on the virtio-msg window next to blk, rng, i2c and gpio,
# driven by Linux's own virtio_console, vmw_vsock_virtio_transport and
# virtio_input (with evdev) through vioport_vmsg.ko. Every wait is bounded.
#
#   VIOPORT_CONSOLE_TEXT  the token of this run: the guest writes
#                         "guest-TOKEN" on /dev/hvc0, the host writes
#                         "host-TOKEN" (console0 write) once the guest says
#                         console-ready
#   VIOPORT_VSOCK_PORT    the host port of the stream (CID 2); the host's
#                         listener echoes it
#   VIOPORT_KEY           the key code the host taps (input0 tap) once the
#                         guest says input-ready
#
# Results: console-probe (hvc0 is virtio_console's, on the window),
# console-host-write (the host's text read from /dev/hvc0; console-guest-write
# is the host's check of the guest's line), vsock-stream (64 KiB to the host
# and the same bytes back, md5 compared; vsock-host is the host's check),
# input-probe (an event device named "vioport keyboard"), input-key (the key's
# press and release read from /dev/input/eventN, among the first 8 events).

token=${VIOPORT_CONSOLE_TEXT:-none}

# The virtio device of a driver on the window: "virtioN", or nothing.
window_device() {
	local d path
	for d in /sys/bus/virtio/drivers/"$1"/virtio*; do
		[ -e "$d" ] || continue
		path=$(readlink -f "$d")
		case $path in *.vmsg[0-9]*/virtio*) echo "${d##*/}" && return 0 ;; esac
	done
}

# ---------------------------------------------------------------- console

dev=$(window_device virtio_console)
if [ -z "$dev" ]; then
	result console-probe FAIL "no virtio_console device on the window" \
		"($(dmesg | grep -i -e virtio_console -e hvc | tail -n 2 | tr '\n' ';'))"
elif ! wait_for /dev/hvc0 10; then
	result console-probe FAIL "virtio_console bound $dev but no /dev/hvc0 within 10 s"
else
	result console-probe PASS "virtio_console bound $dev on the window; /dev/hvc0 is its port 0"
	# One descriptor for the whole exchange, raw and without echo, so that
	# the host's text comes back as written and is not echoed to the host.
	exec 3<>/dev/hvc0
	stty raw -echo <&3
	printf 'guest-%s\n' "$token" >&3
	want="host-$token"
	info console-ready "$want"
	got=$(timeout 20 head -c ${#want} <&3) || true
	if [ "$got" = "$want" ]; then
		result console-host-write PASS "read '$got' from /dev/hvc0 (console0 write on the host)"
	else
		result console-host-write FAIL "read '$got' from /dev/hvc0 within 20 s, expected '$want'"
	fi
	exec 3<&-
fi

# ---------------------------------------------------------------- vsock

port=${VIOPORT_VSOCK_PORT:-5000}
dev=$(window_device vmw_vsock_virtio_transport)
if [ -z "$dev" ]; then
	result vsock-stream FAIL "no vmw_vsock_virtio_transport device on the window" \
		"($(dmesg | grep -i vsock | tail -n 2 | tr '\n' ';'))"
else
	head -c 65536 /dev/urandom >/tmp/vsock.in
	sent=$(md5_of /tmp/vsock.in)
	info vsock-sent "65536 $sent"
	if ! timeout 60 vsock_cat 2 "$port" 50 </tmp/vsock.in >/tmp/vsock.out 2>/tmp/vsock.err; then
		result vsock-stream FAIL "vsock_cat to CID 2 port $port: $(tr '\n' ' ' </tmp/vsock.err)"
	elif [ "$(md5_of /tmp/vsock.out)" != "$sent" ]; then
		result vsock-stream FAIL "sent 65536 bytes (md5 $sent), got $(wc -c </tmp/vsock.out) back" \
			"(md5 $(md5_of /tmp/vsock.out))"
	else
		result vsock-stream PASS "$dev: 65536 bytes to CID 2 port $port and the same back, md5 $sent"
	fi
fi

# ---------------------------------------------------------------- input

key=${VIOPORT_KEY:-30}
event=""
for n in /sys/class/input/input*/name; do
	[ -e "$n" ] || continue
	[ "$(cat "$n")" = "vioport keyboard" ] || continue
	for e in "${n%/name}"/event*; do
		[ -e "$e" ] && event=${e##*/}
	done
done
dev=$(window_device virtio_input)
if [ -z "$dev" ]; then
	result input-probe FAIL "no virtio_input device on the window" \
		"($(dmesg | grep -i input | tail -n 2 | tr '\n' ';'))"
elif [ -z "$event" ] || ! wait_for "/dev/input/$event" 10; then
	result input-probe FAIL "virtio_input bound $dev but no event device named 'vioport keyboard'" \
		"($(cat /sys/class/input/input*/name 2>/dev/null | tr '\n' ';'))"
else
	result input-probe PASS "virtio_input bound $dev; /dev/input/$event is 'vioport keyboard'"
	# A tap is EV_KEY press, SYN_REPORT, EV_KEY release, SYN_REPORT; the
	# host taps until the result. evdev_reader leaves the guest's own
	# autorepeat (value 2) out of its count, marked "# ".
	evdev_reader "/dev/input/$event" 8 30 >/tmp/evread.out 2>/tmp/evread.err &
	pid=$!
	tries=50
	while ! grep -q '^ready' /tmp/evread.out && [ "$tries" -gt 0 ]; do
		usleep 100000
		tries=$((tries - 1))
	done
	info input-ready "$event"
	wait "$pid"
	rc=$?
	events=$(grep -v -e '^ready' -e '^#' /tmp/evread.out | tr '\n' ';')
	if [ "$rc" -ne 0 ]; then
		result input-key FAIL "evdev_reader: $(tr '\n' ' ' </tmp/evread.err) events: ${events:-none}"
	elif grep -q "^1 $key 1\$" /tmp/evread.out && grep -q "^1 $key 0\$" /tmp/evread.out; then
		result input-key PASS "key $key pressed and released on /dev/input/$event (type code value: $events)"
	else
		result input-key FAIL "no press and release of key $key in: $events"
	fi
fi
