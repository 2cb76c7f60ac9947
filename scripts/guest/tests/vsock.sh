# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Guest test: virtio-vsock through Linux's own vsock, vmw_vsock_virtio_transport_common
# and vmw_vsock_virtio_transport modules, with Debian's socat at the guest's end
# (the vu-devices variant, scripts/guest/devices.sh is the host's end).
#
# The host passes on the command line:
#   vioport.vsock_cid=N     the CID the daemon gives the guest
#   vioport.vsock_mb=N      MiB to send each way
#   vioport.vsock_g2h=PORT  the host port a listener waits on (the daemon's PATH_PORT)
#   vioport.vsock_h2g=PORT  the guest port the host connects to once told
#   vioport.vsock_sha=SHA   the sha256 of the bytes the host sends
#
# Guest to host: random bytes sent with socat to 2:PORT; their byte count and
# sha256 go to the host as `VIOPORT-INFO vsock-g2h BYTES SHA`, which compares
# them with what its listener read (vsock-g2h-host). Host to guest: socat
# listens; once it says so on its log, `VIOPORT-INFO vsock-listen PORT` tells
# the host to connect, and the bytes that arrive are checked against the
# command line. Every wait is bounded.
#
# Results: vsock-probe vsock-g2h vsock-h2g.

DRV=/sys/bus/virtio/drivers/vmw_vsock_virtio_transport
bytes=$((${VIOPORT_VSOCK_MB:-4} << 20))

# Waits up to SECONDS for the log LOG of the background program PID to hold
# PATTERN; fails when the program exits first or the time runs out.
wait_line() {
	local log=$1 pattern=$2 pid=$3 tries=$(($4 * 10))
	while [ "$tries" -gt 0 ]; do
		grep -q "$pattern" "$log" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		usleep 100000
		tries=$((tries - 1))
	done
	return 1
}

# Waits up to SECONDS for PID to exit; true if it did. Its status is in $status.
wait_exit() {
	local pid=$1 tries=$(($2 * 10))
	while kill -0 "$pid" 2>/dev/null && [ "$tries" -gt 0 ]; do
		usleep 100000
		tries=$((tries - 1))
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return 1
	fi
	status=0
	wait "$pid" || status=$?
	return 0
}

missing=""
for m in vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport; do
	[ -d "/sys/module/$m" ] || missing="$missing $m"
done
dev=""
tries=100
while [ -z "$dev" ] && [ "$tries" -gt 0 ]; do
	for d in "$DRV"/virtio*; do
		[ -e "$d" ] && dev=${d##*/}
	done
	[ -n "$dev" ] || usleep 100000
	tries=$((tries - 1))
done
if [ -n "$missing" ]; then
	result vsock-probe FAIL "modules not loaded:$missing"
elif [ -z "$dev" ]; then
	result vsock-probe FAIL "no virtio device bound to vmw_vsock_virtio_transport within 10 s"
elif ! wait_for /dev/vsock 5; then
	result vsock-probe FAIL "$dev bound, but no /dev/vsock"
elif ! command -v socat >/dev/null; then
	result vsock-probe FAIL "no socat in the initramfs"
else
	features=$(virtio_features vmw_vsock_virtio_transport)
	result vsock-probe PASS "$dev bound to vmw_vsock_virtio_transport, features ${features% }"
fi

# Guest to host.
port=$VIOPORT_VSOCK_G2H
dd if=/dev/urandom of=/tmp/g2h.bin bs=65536 count=$((bytes / 65536)) 2>/dev/null
sha=$(sha256sum /tmp/g2h.bin | cut -d' ' -f1)
say "vsock: sending $bytes bytes to host port $port (CID 2) with socat"
t0=$(date +%s)
if ! timeout 60 socat -u OPEN:/tmp/g2h.bin,rdonly "VSOCK-CONNECT:2:$port" 2>/tmp/socat-g2h.log; then
	result vsock-g2h FAIL "socat to 2:$port failed or took over 60 s: $(tail -n 1 /tmp/socat-g2h.log)"
else
	info vsock-g2h "$bytes $sha"
	result vsock-g2h PASS "$bytes bytes sent to 2:$port in $(($(date +%s) - t0)) s, sha256 $sha"
fi
rm -f /tmp/g2h.bin

# Host to guest.
port=$VIOPORT_VSOCK_H2G
socat -d -d -u "VSOCK-LISTEN:$port" CREATE:/tmp/h2g.bin 2>/tmp/socat-h2g.log &
pid=$!
if ! wait_line /tmp/socat-h2g.log 'listening on' "$pid" 10; then
	kill "$pid" 2>/dev/null
	result vsock-h2g FAIL "socat did not listen on port $port within 10 s: $(tail -n 1 /tmp/socat-h2g.log)"
else
	info vsock-listen "$port"
	if ! wait_exit "$pid" 60; then
		got=$(wc -c </tmp/h2g.bin 2>/dev/null || echo 0)
		result vsock-h2g FAIL "socat on port $port still running after 60 s ($got bytes received): $(tail -n 1 /tmp/socat-h2g.log)"
	elif [ "$status" -ne 0 ]; then
		result vsock-h2g FAIL "socat on port $port exited with status $status: $(tail -n 1 /tmp/socat-h2g.log)"
	else
		got=$(wc -c </tmp/h2g.bin)
		sha=$(sha256sum /tmp/h2g.bin | cut -d' ' -f1)
		# socat -d -d: "accepting connection from AF=40 cid:2 port:P on AF=40 cid:C port:Q"
		peer=$(sed -n 's/.*accepting connection from AF=40 \(cid:[0-9]* port:[0-9]*\) on.*/\1/p' /tmp/socat-h2g.log | head -n 1)
		cid=$(sed -n 's/.*accepting connection from .* on AF=40 cid:\([0-9]*\) port.*/\1/p' /tmp/socat-h2g.log | head -n 1)
		if [ "$got" -ne "$bytes" ] || [ "$sha" != "$VIOPORT_VSOCK_SHA" ]; then
			result vsock-h2g FAIL "received $got bytes sha256 $sha, the host sent $bytes sha256 $VIOPORT_VSOCK_SHA"
		elif [ "${peer%% *}" != cid:2 ] || [ "$cid" != "$VIOPORT_VSOCK_CID" ]; then
			result vsock-h2g FAIL "the bytes arrived, but from '$peer' to CID '$cid'; expected the host (cid:2) to CID $VIOPORT_VSOCK_CID"
		else
			result vsock-h2g PASS "received $got bytes on CID $cid port $port from $peer, sha256 as the host's"
		fi
	fi
fi
rm -f /tmp/h2g.bin
