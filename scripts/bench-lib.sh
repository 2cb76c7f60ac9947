#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench-lib.sh: what the benchmark scripts share, sourced by them: the
# processes a script started (PIDS, stopped by PID at exit), its temporary
# directory (tmp), and CPU time read from /proc.

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

# user + system CPU time of process $1 and its threads, in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}
