#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench-devices.sh [--seconds S] [--warmup S]
#
# vioport's GPIO and RNG vhost-user daemons driven by the project's client,
# vioport-bench gpio|rng (a vhost-user frontend playing the guest's driver):
# GPIO GET_VALUE and SET_VALUE of line 0 of a simulated 8-line chip
# (vioport gpio --device-list s8), and 4 KiB RNG reads (vioport rng, the
# kernel's getrandom). Rows: queue depth 1 and 32, the client polling the used
# ring (interrupts suppressed) or sleeping on the call eventfd, in two
# placements:
#
#   separate CPUs  daemon on CPU 0, client on CPU 1 (taskset)
#   shared CPU     both on CPU 0
#
# Each row prints operations per second, MB/s, latency percentiles and the
# daemon's CPU time per operation (user + system time of all its threads over
# the run, warm-up included, divided by every request completed). No peer
# implementation is packaged here, so no ratio is printed; the rows match the
# cells compared with rust-vmm's vhost-device daemons. S seconds measured per
# row (default 2) after a warm-up (default 0.5). Each daemon is started fresh
# for its row and stopped by PID; everything lives in one temporary directory
# removed on exit. Figures are printed, never judged. Options of the other
# benchmarks are accepted and ignored, so scripts/bench.sh can pass its
# arguments to every benchmark.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD=${BUILD:-build-release}
SECONDS_PER_ROW=2
WARMUP=0.5

while [[ $# -gt 0 ]]; do
	case $1 in
	--seconds) SECONDS_PER_ROW=${2:?}; shift 2 ;;
	--warmup) WARMUP=${2:?}; shift 2 ;;
	--iodepth | --image-mib | --chains) shift 2 ;;
	--no-peer | --no-fetch | --no-callgrind) shift ;;
	*) sed -n '4p' "$0" | sed 's/^# //' >&2; exit 2 ;;
	esac
done

note() {
	echo "bench-devices: $*" >&2
}

# shellcheck source=scripts/bench-lib.sh
. scripts/bench-lib.sh

# Runs one row: device $1 (gpio|rng), op $2 (get|set|read), depth $3, mode $4 (poll|sleep),
# daemon CPU $5, client CPU $6.
measure() {
	local dev=$1 op=$2 qd=$3 mode=$4 bcpu=$5 ccpu=$6 out=$tmp/result sock=$tmp/dev.sock
	local log=$tmp/daemon.log pid i c0 c1 limit
	local -a dargs=() cargs=()
	rm -f "$sock"
	[[ $dev == gpio ]] && dargs=(--device-list s8) && cargs=(--op "$op")
	[[ $dev == rng ]] && cargs=(--bs 4k)
	[[ $mode == sleep ]] || cargs+=(--poll)
	taskset -c "$bcpu" "$VIOPORT" "$dev" --socket-path "$sock" "${dargs[@]}" \
		>"$log" 2>&1 </dev/null &
	pid=$!
	PIDS+=("$pid")
	for ((i = 0; i < 200; i++)); do
		[[ -S $sock ]] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if [[ ! -S $sock ]]; then
		note "vioport $dev did not create its socket; its log:"
		sed 's/^/    /' "$log" >&2
		stop_pid "$pid"
		return 0
	fi
	limit=$(awk -v a="$SECONDS_PER_ROW" -v b="$WARMUP" 'BEGIN { printf "%d", a + b + 30 }')
	c0=$(cpu_ticks "$pid")
	if ! timeout --kill-after=5 "$limit" taskset -c "$ccpu" "$BENCH" "$dev" --socket "$sock" \
		--iodepth "$qd" --seconds "$SECONDS_PER_ROW" --warmup "$WARMUP" "${cargs[@]}" \
		>"$out" 2>&1; then
		note "$dev $op: the client failed:"
		sed 's/^/    /' "$out" >&2
		stop_pid "$pid"
		return 0
	fi
	c1=$(cpu_ticks "$pid")
	stop_pid "$pid"
	local line
	line=$(grep '^result ' "$out" | tail -n 1)
	field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
	printf '  %-15s %-16s %-5s %-9s %10s %8s %9s %9s %9s %8s\n' "$PLACEMENT" \
		"$( [[ $dev == rng ]] && echo "RNG 4 KiB read" || echo "GPIO ${op^^}_VALUE")" \
		"QD$qd" "$([[ $mode == sleep ]] && echo sleeping || echo polling)" \
		"$(field ops)" "$(field mbps)" "$(field p50_us)" "$(field p99_us)" \
		"$(field p999_us)" "$(awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" \
			-v n="$(field total)" 'BEGIN { if (n == "" || n == 0) print "-";
				else printf "%.2f", t / hz * 1e6 / n }')"
}

main() {
	if [[ ! -f $BUILD/build.ninja ]]; then
		meson setup "$BUILD" --buildtype=release >/dev/null
	fi
	ninja -C "$BUILD" apps/vioport-bench apps/vioport >/dev/null
	BENCH=$BUILD/apps/vioport-bench
	VIOPORT=$BUILD/apps/vioport
	command -v taskset >/dev/null || { note "taskset missing (util-linux): cannot pin"; return 1; }
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/vioport-bench-dev.XXXXXX")

	local -a placements=("separate CPUs:0:1" "shared CPU:0:0")
	if [[ $(nproc) -lt 2 ]]; then
		note "one CPU only: the separate-CPU placement is skipped"
		placements=("shared CPU:0:0")
	fi
	echo "== vioport gpio (simulated 8-line chip) and rng over vhost-user; client: vioport-bench gpio|rng"
	echo "   ($SECONDS_PER_ROW s measured per row after $WARMUP s warm-up; load average at start:" \
		"$(cut -d' ' -f1-3 /proc/loadavg))"
	printf '  %-15s %-16s %-5s %-9s %10s %8s %9s %9s %9s %8s\n' placement request depth client \
		ops/s MB/s "p50 us" "p99 us" "p99.9 us" "CPU us/op"
	local p dev op qd mode
	for p in "${placements[@]}"; do
		IFS=: read -r PLACEMENT bcpu ccpu <<<"$p"
		for dev in gpio:get gpio:set rng:read; do
			IFS=: read -r d op <<<"$dev"
			for qd in 1 32; do
				for mode in poll sleep; do
					measure "$d" "$op" "$qd" "$mode" "$bcpu" "$ccpu"
				done
			done
		done
	done
}

main "$@"
