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
# written, synced and read once so the page cache holds it. One queue, 4 KiB
# requests, S seconds measured (default 3) after a warm-up (default 1), in two
# placements:
#
#   separate CPUs  backend on CPU 0, client on CPU 1 (taskset)
#   shared CPU     backend and client both on CPU 0
#
# and five rows per placement, the client either sleeping on the call eventfd
# (as a guest driver with interrupts) or busy-polling the used ring with
# interrupts suppressed (--poll, as a polling guest driver):
#
#   randread QD32 (--iodepth) sleeping, randread QD32 polling, randread QD1
#   polling, randread QD1 sleeping, randwrite QD32 sleeping, and randread QD32
#   sleeping over two queues (the client spreads its requests over both; each
#   backend serves them with --num-queues 2 / num-queues=2: vioport then runs
#   a thread per queue, pinned like the rest to the backend's CPU, so on a
#   two-CPU machine the row shows the cost of the threads, not their scaling)
#
# Each row prints IOPS, latency percentiles and the backend's CPU time per
# I/O (from /proc: user + system time of all its threads over the run,
# warm-up included, divided by every request completed) per backend, then the
# ratios vioport / qsd: IOPS for QD32, p50 latency for QD1 (lower is better),
# CPU per I/O. A last table counts the backends' system calls per I/O
# (perf stat, raw_syscalls:sys_enter, all threads) in separate short runs, so
# the counting does not slow the rows above; it is skipped when perf cannot
# count. Every backend is started fresh for its row and stopped by PID;
# everything lives in one temporary directory removed on exit. Figures are
# printed, never judged: the exit status says only whether the benchmark ran.
# Options of the other benchmarks (--chains, --no-peer, --no-fetch,
# --no-callgrind) are accepted and ignored, so scripts/bench.sh can pass its
# arguments to every benchmark.
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

# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh

# Starts backend $1 pinned to CPU $2 on $SOCK; sets BACKEND_PID. Returns non-zero if it
# does not come up within 10 s (its log is shown).
start_backend() {
	local name=$1 cpu=$2 log=$tmp/$1.log i
	rm -f "$SOCK"
	case $name in
	qsd)
		taskset -c "$cpu" qemu-storage-daemon \
			--blockdev "driver=file,node-name=f0,filename=$IMG,cache.direct=off,aio=io_uring" \
			--export "type=vhost-user-blk,id=e0,node-name=f0,addr.type=unix,addr.path=$SOCK,writable=on,num-queues=${NQ:-1}" \
			>"$log" 2>&1 </dev/null &
		;;
	vioport)
		taskset -c "$cpu" "$VIOPORT" blk --socket-path "$SOCK" --image "$IMG" \
			--num-queues "${NQ:-1}" >"$log" 2>&1 </dev/null &
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

# Whether perf can count system calls of a process of ours.
perf_ok() {
	command -v perf >/dev/null &&
		perf stat -x, -e raw_syscalls:sys_enter -o /dev/null -- true >/dev/null 2>&1
}

# Runs one measurement: backend $1 on CPU $2, client on CPU $3, pattern $4, depth $5,
# client mode $6 (sleep|poll). Prints the table row and sets IOPS, P50 and CPU (empty
# when the run failed). With COUNT_SYSCALLS=1 it prints system calls per I/O instead.
measure() {
	local name=$1 bcpu=$2 ccpu=$3 rw=$4 qd=$5 mode=$6 out=$tmp/result limit c0 c1 perfpid=""
	local -a cflags=()
	IOPS="" P50="" CPU=""
	[[ $mode == sleep ]] || cflags=(--poll)
	start_backend "$name" "$bcpu" || return 0
	limit=$(awk -v a="$SECONDS_PER_ROW" -v b="$WARMUP" 'BEGIN { printf "%d", a + b + 30 }')
	if [[ ${COUNT_SYSCALLS:-0} == 1 ]]; then
		perf stat -x, -e raw_syscalls:sys_enter -p "$BACKEND_PID" -o "$tmp/perf" \
			>/dev/null 2>&1 &
		perfpid=$!
		PIDS+=("$perfpid")
		sleep 0.2 # perf attaches
	fi
	c0=$(cpu_ticks "$BACKEND_PID")
	if ! timeout --kill-after=5 "$limit" taskset -c "$ccpu" "$BENCH" blk --socket "$SOCK" \
		--rw "$rw" --bs "$BS" --iodepth "$qd" --queues "${NQ:-1}" --seconds "$SECONDS_PER_ROW" \
		--warmup "$WARMUP" "${cflags[@]}" >"$out" 2>&1; then
		note "$name $rw: the client failed:"
		sed 's/^/    /' "$out" >&2
		[[ -z $perfpid ]] || stop_pid "$perfpid"
		stop_pid "$BACKEND_PID"
		return 0
	fi
	c1=$(cpu_ticks "$BACKEND_PID")
	if [[ -n $perfpid ]]; then
		# SIGINT makes perf print its counts and exit; give it the time to
		local i
		kill -INT "$perfpid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$perfpid" 2>/dev/null || break
			sleep 0.1
		done
		stop_pid "$perfpid"
	fi
	stop_pid "$BACKEND_PID"
	local line total
	line=$(grep '^result ' "$out" | tail -n 1)
	field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
	IOPS=$(field iops)
	P50=$(field p50_us)
	total=$(field total)
	if [[ -n $perfpid ]]; then
		local calls
		calls=$(awk -F, '/raw_syscalls:sys_enter/ { print $1 }' "$tmp/perf" 2>/dev/null)
		printf '  %-15s %-26s %-20s %9s %12s\n' "$PLACEMENT" "$ROW" "$(label "$name")" \
			"$IOPS" "$(awk -v c="$calls" -v n="$total" \
				'BEGIN { if (c == "" || n == "" || n == 0) print "-"; else printf "%.2f", c / n }')"
		return 0
	fi
	CPU=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v n="$total" \
		'BEGIN { if (n == "" || n == 0) print ""; else printf "%.2f", t / hz * 1e6 / n }')
	printf '  %-15s %-26s %-20s %9s %8s %9s %9s %9s %8s\n' "$PLACEMENT" "$ROW" "$(label "$name")" \
		"$IOPS" "$(field mbps)" "$P50" "$(field p99_us)" "$(field p999_us)" "${CPU:--}"
	# Writes leave dirty pages; the next row starts from a clean cache.
	[[ $rw != randwrite ]] || sync "$IMG"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2fx", a / b }'
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

	echo "== vhost-user-blk: $BS random I/O, 1 queue, ${IMAGE_MIB} MiB raw image in the page cache"
	echo "   ($SECONDS_PER_ROW s measured per row after $WARMUP s warm-up; client: vioport-bench blk;"
	echo "    load average at start: $(cut -d' ' -f1-3 /proc/loadavg))"
	printf '  %-15s %-26s %-20s %9s %8s %9s %9s %9s %8s\n' placement row backend IOPS MB/s \
		"p50 us" "p99 us" "p99.9 us" "CPU us/IO"
	local -a rows=("randread:$IODEPTH:sleep" "randread:$IODEPTH:poll" "randread:1:poll"
		"randread:1:sleep" "randwrite:$IODEPTH:sleep" "randread:$IODEPTH:sleep:2")
	local p r rw qd mode name qsd_iops qsd_p50 qsd_cpu
	for p in "${placements[@]}"; do
		IFS=: read -r PLACEMENT bcpu ccpu <<<"$p"
		for r in "${rows[@]}"; do
			IFS=: read -r rw qd mode NQ <<<"$r"
			NQ=${NQ:-1}
			ROW="$rw QD$qd $([[ $mode == sleep ]] && echo sleeping || echo polling)"
			[[ $NQ == 1 ]] || ROW="$ROW ${NQ}q"
			qsd_iops="" qsd_p50="" qsd_cpu=""
			for name in "${backends[@]}"; do
				measure "$name" "$bcpu" "$ccpu" "$rw" "$qd" "$mode"
				if [[ $name == qsd ]]; then
					qsd_iops=$IOPS qsd_p50=$P50 qsd_cpu=$CPU
				elif [[ -n $IOPS && -n $qsd_iops ]]; then
					printf '  %-15s %-26s %-20s %9s %8s %9s %9s %9s %8s\n' "" "" \
						"ratio vioport/qsd" "$(ratio "$IOPS" "$qsd_iops")" "" \
						"$(ratio "$P50" "$qsd_p50")" "" "" "$(ratio "$CPU" "$qsd_cpu")"
				fi
			done
		done
	done
	echo "   (ratios: IOPS higher is better; p50 and CPU per I/O lower is better)"

	echo
	if ! perf_ok; then
		note "perf cannot count system calls here (perf_event_paranoid, or no perf): no syscall table"
		return 0
	fi
	echo "== system calls per I/O of the backend (perf stat raw_syscalls:sys_enter, every thread;"
	echo "   separate runs of 1 s after 0.5 s warm-up, as counting slows system calls)"
	printf '  %-15s %-26s %-20s %9s %12s\n' placement row backend IOPS "syscalls/IO"
	SECONDS_PER_ROW=1 WARMUP=0.5 COUNT_SYSCALLS=1 NQ=1
	PLACEMENT=${placements[0]%%:*}
	IFS=: read -r _ bcpu ccpu <<<"${placements[0]}"
	for r in "randread:$IODEPTH:sleep" "randread:1:poll"; do
		IFS=: read -r rw qd mode <<<"$r"
		ROW="$rw QD$qd $([[ $mode == sleep ]] && echo sleeping || echo polling)"
		for name in "${backends[@]}"; do
			measure "$name" "$bcpu" "$ccpu" "$rw" "$qd" "$mode"
		done
	done
	COUNT_SYSCALLS=0
}

main "$@"
