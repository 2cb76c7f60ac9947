#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench-amp.sh [--rounds N]
#
# From Linux user space through a virtio-msg device side, the same arm64
# kernel and vioport_vmsg.ko, two device sides (TCG, relative figures):
#
#   R5       the amp firmware on rpu-cpu[0] of xlnx-zcu102, Linux on
#            apu-cpu[0], the device-tree window in the shared DDR
#            (scripts/amp-linux.sh --bench N)
#   process  build-release/apps/vioport serving blk and a simulated GPIO chip
#            on a window file, Linux on qemu-system-aarch64 -M virt (-cpu
#            max,pauth-impdef=on) seeing it as an ivshmem-plain BAR
#
# In the guest (scripts/guest/tests/amp-bench.sh, tests/guest/amp_tool.c):
# N (default 100) level changes of GPIO line 0, each SET_VALUES ioctl waiting
# for the device's answer; N jumper-out to jumper-in edge round trips (set a
# line, the device raises an edge on another, the event reaches user space)
# where the chip has that wire (the R5's; the process's simulated chip has
# none); N 4 KiB O_DIRECT reads of /dev/vda. Both device sides and the module
# poll (no doorbell is wired in either arrangement). The R5 is itself
# emulated, so the comparison says what an emulated core costs against a host
# process, not what a board does. Figures are printed, never judged.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh

BUILD=${BUILD:-build-release}
ROUNDS=100
BOOT_TIMEOUT=300
WINDOW_MB=16 # a power of two: ivshmem-plain needs one

while [[ $# -gt 0 ]]; do
	case $1 in
	--rounds)
		ROUNDS=${2:?}
		shift 2
		;;
	*)
		sed -n '4p' "$0" | sed 's/^# //' >&2
		exit 2
		;;
	esac
done

# Prints "avg min" from an amp_tool summary line ("... us avg A min B max C").
avg_min() {
	sed -n 's/.*avg \([0-9]*\) min \([0-9]*\).*/\1 \2/p' <<<"$1"
}

# The vioport process's run: prints its amp-bench INFO lines as "key value".
process_run() {
	local line kver="" vmlinuz="" modules="" busybox="" ko="" gpio_ko="" out pid qpid i status=0
	out=$(scripts/guest/fetch-arm64.sh 2>"$tmp/fetch.log") || return 1
	while IFS= read -r line; do
		case $line in
		KVER=*) kver=${line#KVER=} ;;
		VMLINUZ=*) vmlinuz=${line#VMLINUZ=} ;;
		MODULES=*) modules=${line#MODULES=} ;;
		BUSYBOX=*) busybox=${line#BUSYBOX=} ;;
		VIOPORT_VMSG=*) ko=${line#VIOPORT_VMSG=} ;;
		esac
	done <<<"$out"
	out=$(scripts/guest/build-modules.sh --arm64 --kver "$kver" 2>>"$tmp/fetch.log") || return 1
	gpio_ko=$(sed -n 's/^GPIO_VIRTIO=//p' <<<"$out")
	aarch64-linux-gnu-gcc-12 -static -O2 -std=c11 -o "$tmp/amp_tool" tests/guest/amp_tool.c
	scripts/guest/mkinitramfs.sh --modules "$modules" --output "$tmp/initrd.gz" \
		--busybox "$busybox" --module-file "$ko" --module-file "$gpio_ko" \
		--host-bin "$tmp/amp_tool" --test scripts/guest/tests/amp-bench.sh 2>>"$tmp/fetch.log" ||
		return 1
	truncate -s 1M "$tmp/disk.img"
	"$BUILD/apps/vioport" -v blk --transport vmsg --shm "$tmp/window" --shm-size "${WINDOW_MB}M" \
		--image "$tmp/disk.img" + gpio --transport vmsg --shm "$tmp/window" --device-list s8 \
		>"$tmp/vioport.log" 2>&1 </dev/null &
	pid=$!
	PIDS+=("$pid")
	for ((i = 0; i < 100; i++)); do
		grep -q 'serving 2 devices' "$tmp/vioport.log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q 'serving 2 devices' "$tmp/vioport.log"; then
		echo "bench-amp: the vioport process did not start: $(tail -n 1 "$tmp/vioport.log")" >&2
		return 1
	fi
	timeout --kill-after=5 "$BOOT_TIMEOUT" qemu-system-aarch64 -M virt -cpu max,pauth-impdef=on \
		-accel tcg -m 512 -smp 1 -kernel "$vmlinuz" -initrd "$tmp/initrd.gz" \
		-append "console=ttyAMA0 rdinit=/init panic=-1 loglevel=4 vioport.tests=amp-bench vioport.bench=$ROUNDS" \
		-object "memory-backend-file,id=win,share=on,mem-path=$tmp/window,size=${WINDOW_MB}M" \
		-device ivshmem-plain,memdev=win -display none -monitor none -no-reboot \
		-serial "file:$tmp/serial.log" >"$tmp/qemu.log" 2>&1 </dev/null &
	qpid=$!
	PIDS+=("$qpid")
	wait "$qpid" || status=$?
	stop_pid "$pid"
	if [[ $status -ne 0 ]] || ! grep -qa '^VIOPORT-RESULT amp-bench PASS' "$tmp/serial.log"; then
		echo "bench-amp: the virt guest ($kver) did not finish: status $status," \
			"$(tr -d '\r' <"$tmp/serial.log" | grep -a 'VIOPORT-RESULT\|VIOPORT-SAY' | tail -n 1)" >&2
		return 1
	fi
	tr -d '\r' <"$tmp/serial.log" | sed -n 's/^VIOPORT-INFO amp-bench-\([a-z-]*\) /\1 /p'
}

main() {
	local key rest ok_r5=true ok_proc=true
	local -A r5=() proc=()
	if [[ ! -f $BUILD/build.ninja ]]; then
		meson setup "$BUILD" --buildtype=release >/dev/null
	fi
	ninja -C "$BUILD" apps/vioport >/dev/null
	tmp=$(mktemp -d)
	echo "== from Linux user space (arm64, TCG) through a virtio-msg device side, $ROUNDS of each"
	while read -r _ _ key rest; do
		r5[$key]=$rest
	done < <(scripts/amp-linux.sh --bench "$ROUNDS" 2>"$tmp/r5.log" | grep '^BENCH r5 ') || true
	[[ -n ${r5[blk-read]:-} ]] || ok_r5=false
	while read -r key rest; do
		proc[$key]=$rest
	done < <(process_run || true)
	[[ -n ${proc[blk-read]:-} ]] || ok_proc=false
	printf '  %-34s %20s %22s %8s\n' "us per operation (avg, min)" "R5 firmware" "vioport process" "R5/proc"
	local what a b ra rb none ratio
	for what in gpio-set gpio-edge blk-read; do
		a=$(avg_min "${r5[$what]:-}")
		b=$(avg_min "${proc[$what]:-}")
		ra=${a%% *}
		rb=${b%% *}
		ratio=-
		[[ -z $ra || -z $rb || $rb -eq 0 ]] ||
			ratio=$(awk -v a="$ra" -v b="$rb" 'BEGIN { printf "%.1fx", a / b }')
		none=n/a
		[[ $what != gpio-edge ]] || none="n/a (no wire)"
		a=${a/ /, }
		b=${b/ /, }
		case $what in
		gpio-set) key="GPIO line set (SET_VALUES ioctl)" ;;
		gpio-edge) key="GPIO edge round trip (set -> event)" ;;
		*) key="4 KiB O_DIRECT read of /dev/vda" ;;
		esac
		printf '  %-34s %20s %22s %8s\n' "$key" "${a:-n/a}" "${b:-$none}" "$ratio"
	done
	echo "  R5: xlnx-zcu102, Linux on apu-cpu[0], amp on rpu-cpu[0] (both emulated), device-tree window"
	echo "  process: virt, the same kernel and module, ivshmem-plain window served by $BUILD/apps/vioport"
	[[ $ok_r5 == true ]] || echo "  the R5 run failed: $(tail -n 3 "$tmp/r5.log" | tr '\n' ' ')"
	[[ $ok_proc == true ]] || echo "  the process run failed (see the message above)"
	[[ $ok_r5 == true && $ok_proc == true ]]
}

main "$@"
