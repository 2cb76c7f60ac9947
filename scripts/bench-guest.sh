#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench-guest.sh [--runs N] [--seconds S] [--rounds N] [--timeout S]
#
# virtio-msg beside vhost-user, in one Linux guest: Debian's kernel under
# QEMU (q35, TCG, 2 vCPUs), with
#
#   vhost-user  a vhost-user-blk-pci disk and a vhost-user-gpio-pci chip,
#               each served by its own vioport daemon (release build)
#   virtio-msg  an ivshmem-plain window served by one `vioport --transport
#               vmsg` process with a disk and a GPIO chip, driven through
#               vioport_vmsg.ko (polling doorbell)
#
# Both disks are 64 MiB images of the same random bytes (one queue each),
# both chips vioport's simulated 8-line chip. In the guest
# (scripts/guest/tests/bench.sh):
#
#   fio   4 KiB random reads, O_DIRECT, libaio, iodepth 16, time-based
#         (S seconds, default 5, after 1 s ramp), on each disk in turn
#   GPIO  tests/guest/gpio_roundtrip (compiled here with gcc -static): line 0
#         requested as an output through the GPIO uAPI v2, then N times
#         (default 2000) set and read back: two requests per round trip
#
# each N times per transport (default 5), alternating, the order swapped
# every run. The guest prints its figures on the serial console; this script
# prints the medians and the ratios virtio-msg / vhost-user. Under TCG every
# guest instruction is emulated: the figures compare the two transports on
# one machine in one run, they say nothing of either on real hardware.
#
# The boot is bounded by --timeout (default 900 s); every process is started
# and stopped by PID, and the temporary directory removed, on any exit
# (scripts/guest/run-guest.sh's helpers). Progress goes to standard error;
# the guest's console is kept in build/logs/bench-guest-serial.log.
# Figures are printed, never judged: the exit status says only whether the
# benchmark ran.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD=${BUILD:-build-release}
RUNS=5
SECS=5
ROUNDS=2000
TIMEOUT=900
DISK_MB=64

usage() {
	sed -n '4p' "$0" | sed 's/^# //' >&2
	exit 2
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--runs) RUNS=${2:?}; shift 2 ;;
	--seconds) SECS=${2:?}; shift 2 ;;
	--rounds) ROUNDS=${2:?}; shift 2 ;;
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	*) usage ;;
	esac
done

progress() { echo "bench-guest: $*" >&2; }

# shellcheck source=scripts/guest/bench-lib.sh
. scripts/guest/bench-lib.sh
bench_release_vioport

# shellcheck source=scripts/guest/run-guest.sh
. scripts/guest/run-guest.sh
GUEST_TIMEOUT=$TIMEOUT

# ratio A B: A / B to two decimals, or "-".
ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f\n", a / b }'
}

# Starts the virtio-msg daemon (blk and gpio on WINDOW) and waits until it serves both.
start_vmsg() {
	local window=$1 log=$GUEST_TMP/vmsg.log pid i
	local -a cmd=("$VIOPORT_BIN" -v blk --transport vmsg --shm "$window" --shm-size "${GUEST_VMSG_WINDOW_MB}M"
		--image "$GUEST_TMP/vmsg.img" --num-queues 1
		+ gpio --transport vmsg --shm "$window" --device-list s8)
	echo "+ ${cmd[*]}" >"$log"
	"${cmd[@]}" >>"$log" 2>&1 </dev/null &
	pid=$!
	GUEST_PIDS+=("$pid")
	GUEST_BACKEND_PID[vmsg]=$pid
	for ((i = 0; i < 100; i++)); do
		grep -q "serving 2 devices" "$log" && return 0
		guest_alive "$pid" || break
		sleep 0.1
	done
	progress "the virtio-msg daemon did not come up: $(tail -n 1 "$log")"
	return 1
}

main() {
	local -a qemu
	local serial kind t
	guest_init
	progress "kernel, modules and initramfs (fio and its libraries, gpio-virtio, vioport_vmsg.ko)"
	GUEST_WITH_VMSG=true
	GUEST_WITH_FIO=true
	guest_prepare true false || { progress "no guest kernel or initramfs"; return 1; }
	for t in "$GUEST_I2C_GPIO_DOWN" "$GUEST_VMSG_DOWN" "$GUEST_FIO_DOWN"; do
		[[ -z $t ]] || { progress "$t"; return 1; }
	done
	gcc -static -O2 -std=c11 -Wall -Wextra -Werror -o "$GUEST_TMP/gpio_roundtrip" \
		tests/guest/gpio_roundtrip.c
	scripts/guest/mkinitramfs.sh --bins-only --output "$GUEST_TMP/gpio.gz" \
		--host-bin "$GUEST_TMP/gpio_roundtrip"
	cat "$GUEST_FIO_INITRD" "$GUEST_TMP/gpio.gz" >"$GUEST_TMP/initrd-bench.gz"
	rm -f "$GUEST_FIO_INITRD" "$GUEST_TMP/gpio.gz"
	GUEST_BOOT_INITRD=$GUEST_TMP/initrd-bench.gz

	progress "daemons: vhost-user blk and gpio, virtio-msg blk + gpio on a ${GUEST_VMSG_WINDOW_MB} MiB window"
	head -c $((DISK_MB << 20)) /dev/urandom >"$GUEST_TMP/vu.img"
	cp "$GUEST_TMP/vu.img" "$GUEST_TMP/vmsg.img"
	guest_start_backend blk "$GUEST_TMP/blk.sock" "$VIOPORT_BIN" blk \
		--socket-path "$GUEST_TMP/blk.sock" --image "$GUEST_TMP/vu.img" --num-queues 1
	guest_start_backend gpio "$GUEST_TMP/gpio.sock" "$VIOPORT_BIN" gpio \
		--socket-path "$GUEST_TMP/gpio.sock" --device-list s8
	start_vmsg "$GUEST_TMP/window"
	# shellcheck disable=SC2054 # QEMU's comma-separated options
	qemu=(-chardev "socket,id=blk,path=$GUEST_TMP/blk.sock"
		-device vhost-user-blk-pci,chardev=blk,num-queues=1
		-chardev "socket,id=gpio,path=$GUEST_TMP/gpio.sock"
		-device vhost-user-gpio-pci,chardev=gpio
		-object "memory-backend-file,id=win,share=on,mem-path=$GUEST_TMP/window,size=${GUEST_VMSG_WINDOW_MB}M"
		-device ivshmem-plain,memdev=win)

	progress "booting the guest (q35, TCG, 2 vCPUs; at most $GUEST_TIMEOUT s)"
	GUEST_ON_LINE=bench_on_line
	guest_boot bench 2 "vioport.tests=bench vioport.runs=$RUNS vioport.seconds=$SECS vioport.rounds=$ROUNDS" \
		"${qemu[@]}"
	serial=$GUEST_TMP/bench-serial.log
	progress "guest ran for $GUEST_ELAPSED s${GUEST_BOOT:+: $GUEST_BOOT}"
	mkdir -p build/logs
	cp "$serial" build/logs/bench-guest-serial.log
	for kind in blk gpio vmsg; do
		guest_stop_backend "$kind"
		[[ -z $GUEST_BACKEND_OK ]] || progress "$kind daemon: $GUEST_BACKEND_OK"
	done
	local results
	results=$(guest_lines "$serial" RESULT)
	if [[ $'\n'$results != *$'\nbench PASS'* ]]; then
		progress "the guest did not measure everything: ${results:-${GUEST_BOOT:-no result}}"
		return 1
	fi

	local -A med=()
	local what f infos
	infos=$(guest_lines "$serial" INFO)
	for what in fio-iops fio-p50 gpio-rate gpio-us; do
		for kind in vhost-user virtio-msg; do
			f=$GUEST_TMP/$what-$kind
			case $what in
			fio-iops) awk <<<"$infos" -v k="$kind" '$1 == "bench-fio" && $2 == k { print $4 }' >"$f" ;;
			fio-p50) awk <<<"$infos" -v k="$kind" '$1 == "bench-fio" && $2 == k { print $5 }' >"$f" ;;
			gpio-rate) awk <<<"$infos" -v k="$kind" '$1 == "bench-gpio" && $2 == k { print $4 }' >"$f" ;;
			gpio-us) awk <<<"$infos" -v k="$kind" '$1 == "bench-gpio" && $2 == k { print $5 }' >"$f" ;;
			esac
			med[$what-$kind]=$(median "$f")
		done
	done

	echo "== one guest (q35, TCG, 2 vCPUs, Linux $GUEST_KVER), the same devices over vhost-user and virtio-msg"
	echo "   (medians of $RUNS runs each, alternating; TCG: compare the two columns, not with other machines)"
	printf '  %-44s %14s %14s %12s\n' "measurement" "vhost-user" "virtio-msg" "msg / vu"
	printf '  %-44s %14s %14s %11sx\n' "fio 4k randread QD16, IOPS" "${med[fio-iops-vhost-user]}" \
		"${med[fio-iops-virtio-msg]}" "$(ratio "${med[fio-iops-virtio-msg]}" "${med[fio-iops-vhost-user]}")"
	printf '  %-44s %14s %14s %11sx\n' "fio 4k randread QD16, p50 latency (us)" "${med[fio-p50-vhost-user]}" \
		"${med[fio-p50-virtio-msg]}" "$(ratio "${med[fio-p50-virtio-msg]}" "${med[fio-p50-vhost-user]}")"
	printf '  %-44s %14s %14s %11sx\n' "GPIO set + get round trips/s" "${med[gpio-rate-vhost-user]}" \
		"${med[gpio-rate-virtio-msg]}" "$(ratio "${med[gpio-rate-virtio-msg]}" "${med[gpio-rate-vhost-user]}")"
	printf '  %-44s %14s %14s %11sx\n' "GPIO round trip (us, two requests)" "${med[gpio-us-vhost-user]}" \
		"${med[gpio-us-virtio-msg]}" "$(ratio "${med[gpio-us-virtio-msg]}" "${med[gpio-us-vhost-user]}")"
}

cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
progress "machine: ${cpu_model:-$(uname -m)}, $(nproc) CPUs online, load average $(cut -d' ' -f1-3 /proc/loadavg)"
main
