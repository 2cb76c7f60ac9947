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
#   VIOPORT_VSOCK_H2G     the guest port the host connects to (CONNECT PORT
#                         on the daemon's UNIX socket) once the guest says
#                         vsock-listen PORT
#   VIOPORT_VSOCK_H2G_KB, VIOPORT_VSOCK_H2G_MD5  what the host sends on it:
#                         its size in KiB and md5; the guest sends as many
#                         random bytes back at the same time
#   VIOPORT_KEY           the key code the host taps (input0 tap) once the
#                         guest says input-ready
#
# Results: console-probe (hvc0 is virtio_console's, on the window),
# console-host-write (the host's text read from /dev/hvc0; console-guest-write
# is the host's check of the guest's line), vsock-stream (64 KiB to the host
# and the same bytes back, md5 compared; vsock-host is the host's check),
# input-probe (an event device named "vioport keyboard"), input-key (the key's
# press and release read from /dev/input/eventN, among the first 8 events),
# vsock-h2g (the host's connection to a guest listener: its bytes arrived
# whole, md5 compared, while the guest sent its own back; the host checks
# those, vsock-h2g-host, against VIOPORT-INFO vsock-h2g-sent BYTES MD5).

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

# Host to guest: vsock_cat listens on VIOPORT_VSOCK_H2G; once it says so the
# host is told to connect, and both ends send at once.
vsock_h2g() {
	local dev=$1 h2g=${VIOPORT_VSOCK_H2G:-5001} kb=${VIOPORT_VSOCK_H2G_KB:-0} pid tries rc got
	if [ "$kb" -eq 0 ] || [ -z "${VIOPORT_VSOCK_H2G_MD5:-}" ]; then
		result vsock-h2g FAIL "the host passed no vioport.vsock_h2g_kb and vioport.vsock_h2g_md5"
		return 0
	fi
	dd if=/dev/urandom of=/tmp/h2g.in bs=1024 count="$kb" 2>/dev/null
	info vsock-h2g-sent "$((kb * 1024)) $(md5_of /tmp/h2g.in)"
	timeout 120 vsock_cat -l "$h2g" 110 </tmp/h2g.in >/tmp/h2g.out 2>/tmp/h2g.err &
	pid=$!
	tries=100
	while ! grep -q '^listening' /tmp/h2g.err && kill -0 "$pid" 2>/dev/null && [ "$tries" -gt 0 ]; do
		usleep 100000
		tries=$((tries - 1))
	done
	info vsock-listen "$h2g"
	rc=0
	wait "$pid" || rc=$?
	got="$(wc -c </tmp/h2g.out) $(md5_of /tmp/h2g.out)"
	if [ "$rc" -ne 0 ]; then
		result vsock-h2g FAIL "vsock_cat -l $h2g (status $rc): $(grep -v '^listening' /tmp/h2g.err | tr '\n' ' ') received $got"
	elif [ "$got" != "$((kb * 1024)) $VIOPORT_VSOCK_H2G_MD5" ]; then
		result vsock-h2g FAIL "received $got (bytes, md5), the host sent $((kb * 1024)) $VIOPORT_VSOCK_H2G_MD5"
	else
		result vsock-h2g PASS "$dev: the host's connection to port $h2g brought $got (bytes, md5), as it sent, while $((kb * 1024)) bytes went back"
	fi
	rm -f /tmp/h2g.in /tmp/h2g.out
}

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
	vsock_h2g "$dev"
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
