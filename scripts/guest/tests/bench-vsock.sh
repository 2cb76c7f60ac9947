# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Guest side of scripts/bench-vsock.sh (not a test of the guest tier): the
# guest has one virtio-vsock device (vhost-user PCI, or on vioport_vmsg.ko's
# window) and streams zeros to a host listener, one connection per run.
#
#   VIOPORT_RUNS      connections (default 3)
#   VIOPORT_MB        MiB each (default 64)
#   VIOPORT_PORT      the host port (CID 2) the listener waits behind
#
# Prints, for the host to parse, `INFO bench-vsock RUN SECONDS` (the guest's
# own clock, from connect to socat's exit; the host measures its side too),
# and the result "bench-vsock" (FAIL when the device is missing or a run
# failed).

runs=${VIOPORT_RUNS:-3}
mb=${VIOPORT_MB:-64}
port=${VIOPORT_PORT:-5000}
DRV=/sys/bus/virtio/drivers/vmw_vsock_virtio_transport

tries=600
while ! ls "$DRV"/virtio* >/dev/null 2>&1 || [ ! -c /dev/vsock ]; do
	if [ "$tries" -le 0 ]; then
		result bench-vsock FAIL "no device bound to vmw_vsock_virtio_transport after 60 s" \
			"($(dmesg | grep -i vsock | tail -n 2 | tr '\n' ';'))"
		exit 0
	fi
	usleep 100000
	tries=$((tries - 1))
done
say "vsock device: $(basename "$(readlink -f "$DRV"/virtio*)")"

failed=""
run=1
while [ "$run" -le "$runs" ]; do
	t0=$(cut -d' ' -f1 /proc/uptime)
	# 64 KiB reads and writes: the tool's own system calls stay a small part.
	if ! timeout 300 socat -u -b 65536 "OPEN:/dev/zero,readbytes=$((mb << 20))" \
		"VSOCK-CONNECT:2:$port" 2>/tmp/socat.err; then
		failed="$failed run$run($(tail -n 1 /tmp/socat.err))"
	else
		t1=$(cut -d' ' -f1 /proc/uptime)
		info bench-vsock "$run" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
		say "run $run: $mb MiB sent"
	fi
	run=$((run + 1))
done

if [ -n "$failed" ]; then
	result bench-vsock FAIL "failed:$failed"
else
	result bench-vsock PASS "$runs streams of $mb MiB to CID 2 port $port"
fi
rm -f /tmp/socat.err
