#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench-blk.sh [--seconds S] [--warmup S] [--iodepth N] [--image-mib N]
#
# vhost-user-blk backends measured in one run by one client, vioport-bench blk
# (the project's vhost-user frontend playing a guest's virtio-blk driver):
#
#   qsd      qemu-storage-daemon exporting vhost-user-blk, aio=io_uring,
#            cache.direct=off (its fastest mode here, served by the page cache)
#   vioport  build-release/apps/vioport blk --socket-path SOCK --image IMG
#
# Both serve the same raw image of N MiB (default 1024) in $TMPDIR (or /tmp),
# written, synced and read once so the page cache holds it. Rows: 4 KiB random
# reads and random writes, iodepth 32 (--iodepth), one queue, S seconds
# measured (default 3) after a warm-up (default 1), in two placements:
#
#   separate CPUs  backend on CPU 0, client on CPU 1 (taskset)
#   shared CPU     backend and client both on CPU 0
#
# Each row prints IOPS, MB/s and latency percentiles per backend, then the
# ratio vioport / qsd. Every backend is started fresh for its row and stopped
# by PID; everything lives in one temporary directory removed on exit.
# Figures are printed, never judged: the exit status says only whether the
# benchmark ran. Options of the other benchmarks (--chains, --no-peer,
# --no-fetch, --no-callgrind) are accepted and ignored, so scripts/bench.sh can
# pass its arguments to every benchmark.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD=${BUILD:-build-release}
SECONDS_PER_ROW=3
WARMUP=1
IODEPTH=32
IMAGE_MIB=1024
BS=4k

usage() {
	sed -n '4,4p' "$0" | sed 's/^# //' >&2
	exit 2
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--seconds) SECONDS_PER_ROW=${2:?}; shift 2 ;;
	--warmup) WARMUP=${2:?}; shift 2 ;;
	--iodepth) IODEPTH=${2:?}; shift 2 ;;
	--image-mib) IMAGE_MIB=${2:?}; shift 2 ;;
	--chains) shift 2 ;;
	--no-peer | --no-fetch | --no-callgrind) shift ;;
	*) usage ;;
	esac
done

note() {
	echo "bench-blk: $*" >&2
}

tmp=""
PIDS=()

# Stops every process this script started, by PID, then removes the temporary directory.
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${PIDS[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	PIDS=()
	[[ -z $tmp ]] || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Stops one backend: SIGTERM, SIGKILL after 5 s.
stop_pid() {
	local pid=$1 i
	kill "$pid" 2>/dev/null || true
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	local -a rest=()
	for i in "${PIDS[@]}"; do
		[[ $i == "$pid" ]] || rest+=("$i")
	done
	PIDS=("${rest[@]+"${rest[@]}"}")
}

# Starts backend $1 pinned to CPU $2 on $SOCK; sets BACKEND_PID. Returns non-zero if it
# does not come up within 10 s (its log is shown).
start_backend() {
	local name=$1 cpu=$2 log=$tmp/$1.log i
	rm -f "$SOCK"
	case $name in
	qsd)
		taskset -c "$cpu" qemu-storage-daemon \
			--blockdev "driver=file,node-name=f0,filename=$IMG,cache.direct=off,aio=io_uring" \
			--export "type=vhost-user-blk,id=e0,node-name=f0,addr.type=unix,addr.path=$SOCK,writable=on,num-queues=1" \
			>"$log" 2>&1 </dev/null &
		;;
	vioport)
		taskset -c "$cpu" "$VIOPORT" blk --socket-path "$SOCK" --image "$IMG" \
			>"$log" 2>&1 </dev/null &
		;;
	esac
	BACKEND_PID=$!
	PIDS+=("$BACKEND_PID")
	for ((i = 0; i < 200; i++)); do
		[[ -S $SOCK ]] && return 0
		kill -0 "$BACKEND_PID" 2>/dev/null || break
		sleep 0.05
	done
	note "$name did not create its socket; its log:"
	sed 's/^/    /' "$log" >&2
	stop_pid "$BACKEND_PID"
	return 1
}

# Runs one measurement: backend $1 on CPU $2, client on CPU $3, pattern $4. Prints the
# table row and sets IOPS (empty when the run failed).
measure() {
	local name=$1 bcpu=$2 ccpu=$3 rw=$4 out=$tmp/result limit
	IOPS=""
	start_backend "$name" "$bcpu" || return 0
	limit=$(awk -v a="$SECONDS_PER_ROW" -v b="$WARMUP" 'BEGIN { printf "%d", a + b + 30 }')
	if ! timeout --kill-after=5 "$limit" taskset -c "$ccpu" "$BENCH" blk --socket "$SOCK" \
		--rw "$rw" --bs "$BS" --iodepth "$IODEPTH" --queues 1 --seconds "$SECONDS_PER_ROW" \
		--warmup "$WARMUP" >"$out" 2>&1; then
		note "$name $rw: the client failed:"
		sed 's/^/    /' "$out" >&2
		stop_pid "$BACKEND_PID"
		return 0
	fi
	stop_pid "$BACKEND_PID"
	local line
	line=$(grep '^result ' "$out" | tail -n 1)
	field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
	IOPS=$(field iops)
	printf '  %-15s %-10s %-20s %9s %8s %9s %9s %9s\n' "$PLACEMENT" "$rw" "$(label "$name")" \
		"$IOPS" "$(field mbps)" "$(field p50_us)" "$(field p99_us)" "$(field p999_us)"
	# Writes leave dirty pages; the next row starts from a clean cache.
	[[ $rw != randwrite ]] || sync "$IMG"
}

label() {
	case $1 in
	qsd) echo "qemu-storage-daemon" ;;
	vioport) echo "vioport" ;;
	esac
}

main() {
	if [[ ! -f $BUILD/build.ninja ]]; then
		meson setup "$BUILD" --buildtype=release >/dev/null
	fi
	ninja -C "$BUILD" apps/vioport-bench >/dev/null
	BENCH=$BUILD/apps/vioport-bench
	VIOPORT=$BUILD/apps/vioport
	if [[ -f apps/vioport/main.c ]]; then
		ninja -C "$BUILD" apps/vioport >/dev/null || note "building apps/vioport failed"
	fi

	local -a backends=()
	if command -v qemu-storage-daemon >/dev/null; then
		backends+=(qsd)
	else
		note "qemu-storage-daemon not installed (Debian package qemu-system-common): no peer"
	fi
	if [[ -x $VIOPORT ]]; then
		backends+=(vioport)
	elif [[ -f apps/vioport/main.c ]]; then
		note "vioport is missing ($VIOPORT did not build): qemu-storage-daemon alone"
	else
		note "vioport is missing (no apps/vioport/main.c yet): qemu-storage-daemon alone"
	fi
	[[ ${#backends[@]} -gt 0 ]] || { note "no backend to measure"; return 0; }
	command -v taskset >/dev/null || { note "taskset missing (util-linux): cannot pin"; return 1; }

	tmp=$(mktemp -d "${TMPDIR:-/tmp}/vioport-bench-blk.XXXXXX")
	SOCK=$tmp/blk.sock
	IMG=$tmp/disk.img
	local avail
	avail=$(df -Pm "$tmp" | awk 'NR == 2 { print $4 }')
	if [[ -n $avail && $avail -lt $((IMAGE_MIB + 64)) ]]; then
		note "only $avail MiB free in $tmp, $IMAGE_MIB MiB needed for the image"
		return 1
	fi
	dd if=/dev/zero of="$IMG" bs=1M count="$IMAGE_MIB" status=none
	sync "$IMG"
	cat "$IMG" >/dev/null

	local -a placements=("separate CPUs:0:1" "shared CPU:0:0")
	if [[ $(nproc) -lt 2 ]]; then
		note "one CPU only: the separate-CPU placement is skipped"
		placements=("shared CPU:0:0")
	fi

	echo "== vhost-user-blk: $BS random I/O, iodepth $IODEPTH, 1 queue, ${IMAGE_MIB} MiB raw image in the page cache"
	echo "   ($SECONDS_PER_ROW s measured per row after $WARMUP s warm-up; client: vioport-bench blk, sleeping on call eventfds)"
	printf '  %-15s %-10s %-20s %9s %8s %9s %9s %9s\n' placement rw backend IOPS MB/s \
		"p50 us" "p99 us" "p99.9 us"
	local p rw name qsd_iops
	for p in "${placements[@]}"; do
		IFS=: read -r PLACEMENT bcpu ccpu <<<"$p"
		for rw in randread randwrite; do
			qsd_iops=""
			for name in "${backends[@]}"; do
				measure "$name" "$bcpu" "$ccpu" "$rw"
				[[ $name != qsd ]] || qsd_iops=$IOPS
				if [[ $name == vioport && -n $IOPS && -n $qsd_iops ]]; then
					printf '  %-15s %-10s %-20s %9s\n' "" "" "ratio vioport/qsd" \
						"$(awk -v a="$IOPS" -v b="$qsd_iops" 'BEGIN { printf "%.2fx", a / b }')"
				fi
			done
		done
	done
}

main "$@"
