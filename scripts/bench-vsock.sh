#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench-vsock.sh [--runs N] [--mb M] [--timeout S]
#
# virtio-vsock throughput, guest to host: Debian's kernel under QEMU (q35,
# TCG, 1 vCPU) streams M MiB (default 64) of zeros with socat (64 KiB reads
# and writes) to CID 2, port 5000, N times (default 3), through its stock
# vmw_vsock_virtio_transport; a listener on the backend's UNIX socket
# PATH_5000 reads each stream to its end and times it, from the first byte to
# the end of stream. One boot per row:
#
#   vhost-user  vhost-user-vsock-pci, served by vioport's release build
#               (`vioport vsock --uds-path PATH --guest-cid 3`)
#   virtio-msg  the same device on an ivshmem-plain window served by
#               `vioport vsock --transport vmsg`, driven through
#               vioport_vmsg.ko (polling doorbell)
#   vhost-device-vsock  rust-vmm's backend on the first row's QEMU device,
#               when `command -v vhost-device-vsock` finds it; otherwise the
#               script says it is not installed
#
# Prints the machine, then per row the median of the N runs in MB/s (10^6
# bytes a second) and its spread. Under TCG every guest instruction is
# emulated: the rows compare backends on one machine in one run, they say
# nothing of either on real hardware.
#
# Each boot is bounded by --timeout (default 600 s); every process is started
# and stopped by PID, and the temporary directory removed, on any exit
# (scripts/guest/run-guest.sh's helpers). Progress goes to standard error;
# the guests' consoles are kept in build/logs/bench-vsock-*-serial.log.
# Figures are printed, never judged: the exit status says only whether the
# benchmark ran.
# shellcheck disable=SC2054 # QEMU's comma-separated options
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD=${BUILD:-build-release}
RUNS=3
MB=64
TIMEOUT=600
PORT=5000
CID=3

usage() {
	sed -n '4p' "$0" | sed 's/^# //' >&2
	exit 2
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--runs) RUNS=${2:?}; shift 2 ;;
	--mb) MB=${2:?}; shift 2 ;;
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	*) usage ;;
	esac
done

progress() { echo "bench-vsock: $*" >&2; }

# shellcheck source=scripts/guest/bench-lib.sh
. scripts/guest/bench-lib.sh
bench_release_vioport

# shellcheck source=scripts/guest/run-guest.sh
. scripts/guest/run-guest.sh
GUEST_TIMEOUT=$TIMEOUT

# The listener at PATH: accepts RUNS connections one after the other, reads
# each to its end and appends "BYTES SECONDS" (first byte to end of stream)
# to OUT. Bounded by the boot's timeout.
start_listener() {
	local path=$1 out=$2 i
	rm -f "$path" "$out"
	timeout "$TIMEOUT" python3 -c '
import socket, sys, time
path, out, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
buf = bytearray(1 << 20)
for _ in range(runs):
    c, _ = srv.accept()
    c.settimeout(120)
    n, t0 = 0, None
    while True:
        k = c.recv_into(buf)
        if k == 0:
            break
        if t0 is None:
            t0 = time.monotonic()
        n += k
    t1 = time.monotonic()
    c.close()
    with open(out, "a") as f:
        print(n, "%.6f" % (t1 - t0 if t0 is not None else 0), file=f)
' "$path" "$out" "$RUNS" >"$GUEST_TMP/listener.log" 2>&1 </dev/null &
	GUEST_PIDS+=("$!")
	for ((i = 0; i < 50; i++)); do
		[[ ! -S $path ]] || return 0
		sleep 0.1
	done
	progress "the listener at $path did not start: $(tail -n 1 "$GUEST_TMP/listener.log")"
	return 1
}

# Starts the virtio-msg daemon (vsock on WINDOW) and waits until it serves it.
start_vmsg() {
	local window=$1 uds=$2 log=$GUEST_TMP/vmsg.log pid i
	local -a cmd=("$VIOPORT_BIN" -v vsock --transport vmsg --shm "$window"
		--shm-size "${GUEST_VMSG_WINDOW_MB}M" --uds-path "$uds" --guest-cid "$CID")
	rm -f "$window"
	echo "+ ${cmd[*]}" >"$log"
	"${cmd[@]}" >>"$log" 2>&1 </dev/null &
	pid=$!
	GUEST_PIDS+=("$pid")
	GUEST_BACKEND_PID[vmsg]=$pid
	for ((i = 0; i < 100; i++)); do
		grep -q "serving 1 device" "$log" && return 0
		guest_alive "$pid" || break
		sleep 0.1
	done
	progress "the virtio-msg daemon did not come up: $(tail -n 1 "$log")"
	return 1
}

# Starts rust-vmm's vhost-device-vsock on SOCK with base path UDS: the
# --vm form of newer releases, else the older flags.
start_vhost_device() {
	local sock=$1 uds=$2 bin
	bin=$(command -v vhost-device-vsock)
	guest_start_backend peer "$sock" "$bin" --vm "guest-cid=$CID,socket=$sock,uds-path=$uds" && return 0
	guest_stop_backend peer
	rm -f "$sock"
	guest_start_backend peer "$sock" "$bin" --guest-cid "$CID" --socket "$sock" --uds-path "$uds"
}

# row NAME: one boot with the device NAME's backend serves; sets ROW_MBS[NAME]
# to the median MB/s and ROW_SPREAD[NAME] to "min .. max", or ROW_WHY[NAME].
declare -A ROW_MBS=() ROW_SPREAD=() ROW_WHY=()
row() {
	local name=$1 uds=$GUEST_TMP/$1.vsock sock=$GUEST_TMP/$1.sock serial results f
	local -a qemu=()
	start_listener "${uds}_$PORT" "$GUEST_TMP/$name.times" || { ROW_WHY[$name]="no listener"; return 0; }
	case $name in
	vhost-user)
		guest_start_backend vsock "$sock" "$VIOPORT_BIN" vsock --socket-path "$sock" \
			--uds-path "$uds" --guest-cid "$CID" || { ROW_WHY[$name]="the daemon did not start"; return 0; }
		qemu=(-chardev "socket,id=vsock,path=$sock" -device vhost-user-vsock-pci,chardev=vsock)
		;;
	vhost-device-vsock)
		start_vhost_device "$sock" "$uds" || { ROW_WHY[$name]="it did not start: $(tail -n 1 "$GUEST_TMP/peer.log")"; return 0; }
		qemu=(-chardev "socket,id=vsock,path=$sock" -device vhost-user-vsock-pci,chardev=vsock)
		;;
	virtio-msg)
		start_vmsg "$GUEST_TMP/window" "$uds" || { ROW_WHY[$name]="the daemon did not start"; return 0; }
		qemu=(-object "memory-backend-file,id=win,share=on,mem-path=$GUEST_TMP/window,size=${GUEST_VMSG_WINDOW_MB}M"
			-device ivshmem-plain,memdev=win)
		;;
	esac

	progress "$name: booting the guest (q35, TCG, 1 vCPU; at most $GUEST_TIMEOUT s)"
	GUEST_ON_LINE=bench_on_line
	guest_boot "bench-vsock-$name" 1 \
		"vioport.tests=bench-vsock vioport.runs=$RUNS vioport.mb=$MB vioport.port=$PORT" "${qemu[@]}"
	serial=$GUEST_TMP/bench-vsock-$name-serial.log
	progress "$name: guest ran for $GUEST_ELAPSED s${GUEST_BOOT:+: $GUEST_BOOT}"
	mkdir -p build/logs
	cp "$serial" "build/logs/bench-vsock-$name-serial.log"
	GUEST_BACKEND_OK=""
	for f in vsock peer vmsg; do
		[[ -z ${GUEST_BACKEND_PID[$f]:-} ]] || guest_stop_backend "$f"
		[[ -z $GUEST_BACKEND_OK ]] || progress "$name backend: $GUEST_BACKEND_OK"
		GUEST_BACKEND_OK=""
	done
	results=$(guest_lines "$serial" RESULT)
	if [[ $'\n'$results != *$'\nbench-vsock PASS'* ]]; then
		ROW_WHY[$name]="the guest did not stream every run: ${results:-${GUEST_BOOT:-no result}}"
		return 0
	fi
	# Every stream whole: a short one would make a fast figure.
	if ! awk -v want=$((MB << 20)) -v runs="$RUNS" '$1 != want { bad = 1 } END { exit bad || NR != runs }' \
		"$GUEST_TMP/$name.times" 2>/dev/null; then
		ROW_WHY[$name]="the listener did not read $RUNS streams of $MB MiB: $(tr '\n' ';' <"$GUEST_TMP/$name.times" 2>/dev/null)"
		return 0
	fi
	awk '{ printf "%.1f\n", $1 / $2 / 1e6 }' "$GUEST_TMP/$name.times" >"$GUEST_TMP/$name.mbs"
	ROW_MBS[$name]=$(median "$GUEST_TMP/$name.mbs")
	ROW_SPREAD[$name]="$(sort -g "$GUEST_TMP/$name.mbs" | head -n 1) .. $(sort -g "$GUEST_TMP/$name.mbs" | tail -n 1)"
}

main() {
	local t name
	local -a rows=(vhost-user virtio-msg)
	guest_init
	progress "kernel, modules and initramfs (vsock modules, socat, vioport_vmsg.ko)"
	GUEST_WITH_VMSG=true
	GUEST_WITH_VUDEV=true
	guest_prepare false false || { progress "no guest kernel or initramfs"; return 1; }
	for t in "$GUEST_VUDEV_DOWN" "$GUEST_VMSG_DOWN"; do
		[[ -z $t ]] || { progress "$t"; return 1; }
	done
	GUEST_BOOT_INITRD=$GUEST_VUDEV_INITRD
	! command -v vhost-device-vsock >/dev/null || rows+=(vhost-device-vsock)
	for name in "${rows[@]}"; do
		row "$name"
	done

	echo "== vsock guest to host: $MB MiB of zeros per stream (socat, 64 KiB writes), one guest"
	echo "   (q35, TCG, 1 vCPU, Linux $GUEST_KVER); median of $RUNS streams, first byte to end of stream"
	echo "   at the host's listener; TCG: compare the rows, not with other machines"
	printf '  %-52s %10s %20s\n' "backend" "MB/s" "min .. max"
	for name in "${rows[@]}"; do
		case $name in
		vhost-user) t="vioport vsock (release), vhost-user-vsock-pci" ;;
		virtio-msg) t="vioport vsock (release), virtio-msg, vioport_vmsg.ko" ;;
		vhost-device-vsock) t="vhost-device-vsock, vhost-user-vsock-pci" ;;
		esac
		if [[ -n ${ROW_WHY[$name]:-} ]]; then
			printf '  %-52s %10s   (%s)\n' "$t" "-" "${ROW_WHY[$name]}"
		else
			printf '  %-52s %10s %20s\n' "$t" "${ROW_MBS[$name]}" "${ROW_SPREAD[$name]}"
		fi
	done
	command -v vhost-device-vsock >/dev/null ||
		echo "  vhost-device-vsock is not installed: vioport's rows alone (install it to add its row)"
}

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "== machine: ${cpu_model:-$(uname -m)}, $(nproc) CPUs online, Linux $(uname -r)," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
main
