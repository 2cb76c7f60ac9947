#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench-nbd.sh [--seconds S] [--warmup S] [--iodepth N] [--rounds N] [--export-mib N]
#
# NBD-backed vhost-user-blk in one run by one client, vioport-bench blk (the
# project's vhost-user frontend playing a guest's virtio-blk driver), both
# backends clients of the same nbdkit export (memory plugin, N MiB, default
# 1024) on a UNIX socket:
#
#   qsd      qemu-storage-daemon --blockdev driver=nbd exporting vhost-user-blk
#   vioport  build-release/apps/vioport blk --image nbd+unix:///?socket=SOCK
#
# Rows: 4 KiB random write, then random read, QD32 (--iodepth), one queue, the
# client sleeping on the call eventfd; S seconds measured (default 3) after a
# warm-up (default 1). The backends alternate (qsd first in odd rounds,
# vioport first in even ones) for --rounds rounds (default 2), each started
# fresh for its run; the ratios vioport / qsd are of the rounds' means: IOPS
# and the backend's CPU time per I/O (from /proc, all its threads, warm-up
# included). The backend runs on CPU 0 and the client on CPU 1; nbdkit is not
# pinned. Figures are printed, never judged: the exit status says only whether
# the benchmark ran. Options of the other benchmarks are accepted and ignored.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD=${BUILD:-build-release}
SECONDS_PER_ROW=3
WARMUP=1
IODEPTH=32
ROUNDS=2
EXPORT_MIB=1024

while [[ $# -gt 0 ]]; do
	case $1 in
	--seconds) SECONDS_PER_ROW=${2:?}; shift 2 ;;
	--warmup) WARMUP=${2:?}; shift 2 ;;
	--iodepth) IODEPTH=${2:?}; shift 2 ;;
	--rounds) ROUNDS=${2:?}; shift 2 ;;
	--export-mib) EXPORT_MIB=${2:?}; shift 2 ;;
	--chains | --image-mib) shift 2 ;;
	--no-peer | --no-fetch | --no-callgrind) shift ;;
	*) sed -n '4,4p' "$0" | sed 's/^# //' >&2; exit 2 ;;
	esac
done

note() {
	echo "bench-nbd: $*" >&2
}

# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh

# Waits up to 10 s for socket $1 of process $2; non-zero (log $3 shown) if it does not come.
wait_socket() {
	local sock=$1 pid=$2 log=$3 i
	for ((i = 0; i < 200; i++)); do
		[[ -S $sock ]] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	note "$(basename "$log" .log) did not create $sock; its log:"
	sed 's/^/    /' "$log" >&2
	return 1
}

start_backend() {
	local name=$1 log=$tmp/$1.log
	rm -f "$SOCK"
	case $name in
	qsd)
		taskset -c 0 qemu-storage-daemon \
			--blockdev "driver=nbd,node-name=n0,server.type=unix,server.path=$NSOCK" \
			--export "type=vhost-user-blk,id=e0,node-name=n0,addr.type=unix,addr.path=$SOCK,writable=on,num-queues=1" \
			>"$log" 2>&1 </dev/null &
		;;
	vioport)
		taskset -c 0 "$VIOPORT" blk --socket-path "$SOCK" --image "nbd+unix:///?socket=$NSOCK" \
			>"$log" 2>&1 </dev/null &
		;;
	esac
	BACKEND_PID=$!
	PIDS+=("$BACKEND_PID")
	wait_socket "$SOCK" "$BACKEND_PID" "$log" || { stop_pid "$BACKEND_PID"; return 1; }
}

# One run of backend $1 with pattern $2; prints its line, sets IOPS and CPU (empty on failure).
measure() {
	local name=$1 rw=$2 out=$tmp/result limit c0 c1 line total
	IOPS="" CPU=""
	start_backend "$name" || return 0
	limit=$(awk -v a="$SECONDS_PER_ROW" -v b="$WARMUP" 'BEGIN { printf "%d", a + b + 30 }')
	c0=$(cpu_ticks "$BACKEND_PID")
	if ! timeout --kill-after=5 "$limit" taskset -c 1 "$BENCH" blk --socket "$SOCK" \
		--rw "$rw" --bs 4k --iodepth "$IODEPTH" --queues 1 --seconds "$SECONDS_PER_ROW" \
		--warmup "$WARMUP" >"$out" 2>&1; then
		note "$name $rw: the client failed:"
		sed 's/^/    /' "$out" >&2
		stop_pid "$BACKEND_PID"
		return 0
	fi
	c1=$(cpu_ticks "$BACKEND_PID")
	stop_pid "$BACKEND_PID"
	line=$(grep '^result ' "$out" | tail -n 1)
	field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
	IOPS=$(field iops)
	total=$(field total)
	CPU=$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v n="$total" \
		'BEGIN { if (n == "" || n == 0) print ""; else printf "%.2f", t / hz * 1e6 / n }')
	printf '  %-18s %-6s %-20s %9s %9s %9s %9s\n' "$rw QD$IODEPTH" "$ROUND" "$(label "$name")" \
		"$IOPS" "$(field p50_us)" "$(field p99_us)" "${CPU:--}"
}

label() {
	case $1 in
	qsd) echo "qemu-storage-daemon" ;;
	vioport) echo "vioport" ;;
	esac
}

mean() {
	awk '{ for (i = 1; i <= NF; i++) { s += $i; n++ } } END { if (n) printf "%.2f", s / n }' <<<"$*"
}

ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2fx", a / b }'
}

main() {
	command -v nbdkit >/dev/null || { note "nbdkit not installed (Debian package nbdkit): skipped"; return 0; }
	command -v qemu-storage-daemon >/dev/null ||
		{ note "qemu-storage-daemon not installed (Debian package qemu-system-common): skipped"; return 0; }
	command -v taskset >/dev/null || { note "taskset missing (util-linux): cannot pin"; return 1; }
	[[ $(nproc) -ge 2 ]] || { note "fewer than 2 CPUs: skipped"; return 0; }
	if [[ ! -f $BUILD/build.ninja ]]; then
		meson setup "$BUILD" --buildtype=release >/dev/null
	fi
	ninja -C "$BUILD" apps/vioport-bench apps/vioport >/dev/null
	BENCH=$BUILD/apps/vioport-bench
	VIOPORT=$BUILD/apps/vioport
	[[ -x $VIOPORT ]] || { note "$VIOPORT did not build"; return 1; }

	tmp=$(mktemp -d "${TMPDIR:-/tmp}/vioport-bench-nbd.XXXXXX")
	SOCK=$tmp/blk.sock
	NSOCK=$tmp/nbd.sock
	nbdkit -f --unix "$NSOCK" memory "${EXPORT_MIB}M" >"$tmp/nbdkit.log" 2>&1 </dev/null &
	local npid=$!
	PIDS+=("$npid")
	wait_socket "$NSOCK" "$npid" "$tmp/nbdkit.log" || return 1

	local cpu_model
	cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	echo "== NBD-backed vhost-user-blk: nbdkit $(nbdkit --version | awk '{ print $2 }') memory" \
		"plugin, ${EXPORT_MIB} MiB, on a UNIX socket"
	echo "   (${cpu_model:-$(uname -m)}, $(nproc) CPUs; 4 KiB, 1 queue, QD$IODEPTH, client sleeping;"
	echo "    $SECONDS_PER_ROW s measured per run after $WARMUP s warm-up; backends alternate;"
	echo "    load average at start: $(cut -d' ' -f1-3 /proc/loadavg))"
	printf '  %-18s %-6s %-20s %9s %9s %9s %9s\n' row round backend IOPS "p50 us" "p99 us" \
		"CPU us/IO"
	local rw r name
	for rw in randwrite randread; do
		local -a q_iops=() v_iops=() q_cpu=() v_cpu=()
		for ((r = 1; r <= ROUNDS; r++)); do
			ROUND=$r
			local -a order=(qsd vioport)
			((r % 2 == 1)) || order=(vioport qsd)
			for name in "${order[@]}"; do
				measure "$name" "$rw"
				[[ -n $IOPS ]] || continue
				if [[ $name == qsd ]]; then
					q_iops+=("$IOPS") q_cpu+=("${CPU:-0}")
				else
					v_iops+=("$IOPS") v_cpu+=("${CPU:-0}")
				fi
			done
		done
		printf '  %-18s %-6s %-20s %9s %9s %9s %9s\n' "" mean "ratio vioport/qsd" \
			"$(ratio "$(mean "${v_iops[@]+"${v_iops[@]}"}")" "$(mean "${q_iops[@]+"${q_iops[@]}"}")")" \
			"" "" "$(ratio "$(mean "${v_cpu[@]+"${v_cpu[@]}"}")" "$(mean "${q_cpu[@]+"${q_cpu[@]}"}")")"
	done
	echo "   (ratios: IOPS higher is better; CPU per I/O lower is better)"
}

main "$@"
