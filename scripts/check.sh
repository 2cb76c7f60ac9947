#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# check.sh [TIER...]
#
# Runs the test tiers (all of them by default, in order) and ends with exactly
# one line "N passed, N failed, N skipped" summing every tier. Exits non-zero if
# anything failed. Logs go to build/logs/, one per step, and are kept.
#
# Environment: FUZZ_SECONDS (default 20) bounds each fuzz target's run;
# VIOPORT_BIN (default build/apps/vioport) is the daemon the integration tier
# drives and the guest tier boots a Linux guest against.
#
# Adding a tier: write a function tier_NAME that runs its tests and reports
# each with count_pass / count_fail / count_skip (or add_tap_counts), then add
# NAME and a one-line title to TIERS and TIER_TITLE below.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

TIERS=(unit fuzz cross firmware integration guest package)
declare -A TIER_TITLE=(
	[unit]="unit tests (cmocka, ASan+UBSan build in build/)"
	[fuzz]="fuzz targets (libFuzzer, clang ASan+UBSan build in build-fuzz/)"
	[cross]="freestanding cross build (arm-none-eabi) and include discipline"
	[firmware]="firmware images for Cortex-R5F and Cortex-M4 booted under qemu-system-arm; Linux on a ZCU102 A53 using the R5 amp image's devices"
	[integration]="vhost-user daemons (vioport, qemu-storage-daemon) driven by vioport's frontend"
	[guest]="Linux guest under QEMU (TCG) with vhost-user devices served by vioport"
	[package]="Debian packages: built (dpkg-buildpackage, lintian), installed, used, purged"
)

LOG_DIR=build/logs
export FUZZ_SECONDS=${FUZZ_SECONDS:-20}
SANITIZE=("-Db_sanitize=address,undefined" -Db_lundef=false)

PASSED=0
FAILED=0
SKIPPED=0
FAILURES=()
FINISHED=false

# ---------------------------------------------------------------- reporting

count_pass() {
	PASSED=$((PASSED + 1))
	printf '  ok      %s\n' "$*"
}

count_fail() {
	FAILED=$((FAILED + 1))
	FAILURES+=("$1")
	printf '  FAILED  %s\n' "$*"
}

count_skip() {
	SKIPPED=$((SKIPPED + 1))
	printf '  skip    %s\n' "$*"
}

note() {
	printf '  note    %s\n' "$*"
}

# Prints the end of a log, indented, so a failure can be read in the CI output.
show_log() {
	local log=$1 lines=${2:-60}
	[[ -f $log ]] || return 0
	printf '    --- %s (last %d lines)\n' "$log" "$lines"
	tail -n "$lines" "$log" | sed 's/^/    | /'
}

# Runs a command with its output in a log file; returns the command's status.
run_logged() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 </dev/null
}

# Prints "passed failed skipped" counted from the TAP result lines of a log.
# cmocka 1.1 marks a skipped test "not ok N # SKIP", TAP proper "ok N # SKIP":
# both count as skipped.
tap_counts() {
	awk '/^(not )?ok [0-9]+/ {
		if ($0 ~ /#[ \t]*[Ss][Kk][Ii][Pp]/) s++
		else if ($0 ~ /^not ok/) f++
		else p++
	}
	END { print p + 0, f + 0, s + 0 }' "$1"
}

# Prints each failed TAP result of a log with the diagnostics that follow it.
tap_failures() {
	awk '/^(not )?ok [0-9]+/ || /^1\.\./ { show = 0 }
	/^not ok [0-9]+/ && !/#[ \t]*[Ss][Kk][Ii][Pp]/ { show = 1 }
	show { print "    | " $0 }' "$1"
}

# Adds the TAP results of one test program to the totals and reports it.
# A program that exits non-zero without a failed TAP result (a crash, a
# sanitizer report, a timeout) counts as one failure; one that prints no TAP
# and exits 0 counts as one pass.
add_tap_counts() {
	local name=$1 log=$2 status=$3 limit=${4:-0} p f s crashed=false
	read -r p f s < <(tap_counts "$log")

	if [[ $status -ne 0 && $f -eq 0 ]]; then
		crashed=true
		f=1
		FAILURES+=("$name (exit status $status)")
	elif [[ $p -eq 0 && $f -eq 0 && $s -eq 0 ]]; then
		p=1
	fi
	PASSED=$((PASSED + p))
	FAILED=$((FAILED + f))
	SKIPPED=$((SKIPPED + s))

	if [[ $f -eq 0 ]]; then
		printf '  ok      %s (%d passed, %d skipped)\n' "$name" "$p" "$s"
		return 0
	fi
	printf '  FAILED  %s (%d passed, %d failed, %d skipped)\n' "$name" "$p" "$f" "$s"
	local line
	while IFS= read -r line; do
		FAILURES+=("$name: ${line#    | }")
	done < <(tap_failures "$log" | grep '^    | not ok' || true)
	tap_failures "$log"
	# cmocka exits with the number of failed tests; any other non-zero exit
	# is a crash, a sanitizer report or a timeout, explained only by the log.
	if [[ $crashed == true ]]; then
		if [[ $status -eq 124 ]]; then
			echo "    killed after its time limit of $limit s"
		else
			echo "    exit status $status"
		fi
		show_log "$log" 40
	fi
}

# ---------------------------------------------------------------- unit tier

# Prints one line per test in Meson's "unit" suite: name, timeout in seconds
# (0: none), working directory and the shell-quoted command with its environment.
list_unit_tests() {
	meson introspect --tests build | python3 -c '
import json, os, shlex, sys

for t in json.load(sys.stdin):
    if not any(s == "unit" or s.endswith(":unit") for s in t["suite"]):
        continue
    env = ["%s=%s" % kv for kv in sorted((t.get("env") or {}).items())]
    cmd = shlex.join(["env"] + env + t["cmd"])
    workdir = t.get("workdir") or os.path.abspath("build")
    print("\t".join([t["name"], str(t.get("timeout") or 0), workdir, cmd]))
'
}

run_unit_test() {
	local name=$1 limit=$2 workdir=$3 cmdline=$4 status=0
	local log=$LOG_DIR/unit-$name.log
	local -a cmd
	eval "cmd=($cmdline)"
	if [[ $limit -gt 0 ]]; then
		cmd=(timeout --kill-after=10 "$limit" "${cmd[@]}")
	fi
	# The redirections are opened here, before the subshell changes directory.
	(cd "$workdir" && CMOCKA_MESSAGE_OUTPUT=TAP "${cmd[@]}") >"$log" 2>&1 </dev/null ||
		status=$?
	add_tap_counts "unit $name" "$log" "$status" "$limit"
}

tier_unit() {
	echo "  building build/"
	if ! run_logged "$LOG_DIR/unit-build.log" bash scripts/meson-build.sh build "${SANITIZE[@]}"; then
		count_fail "unit: build"
		show_log "$LOG_DIR/unit-build.log"
		return 0
	fi

	# UBSan only prints by default; make every report fail the test.
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:print_summary=1}
	export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:print_summary=1}

	local name limit workdir cmdline n=0
	while IFS=$'\t' read -r name limit workdir cmdline; do
		run_unit_test "$name" "$limit" "$workdir" "$cmdline"
		n=$((n + 1))
	done < <(list_unit_tests)
	[[ $n -gt 0 ]] || note "no tests in the unit suite"
}

# ---------------------------------------------------------------- fuzz tier

tier_fuzz() {
	if [[ ! -f scripts/fuzz.sh ]]; then
		note "no scripts/fuzz.sh: nothing to run"
		return 0
	fi
	local build_log=$LOG_DIR/fuzz-build.log
	echo "  building build-fuzz/"
	if ! CC=${FUZZ_CC:-clang} run_logged "$build_log" \
		bash scripts/meson-build.sh build-fuzz -Dfuzz=true "${SANITIZE[@]}"; then
		count_fail "fuzz: build"
		show_log "$build_log"
		return 0
	fi

	local log=$LOG_DIR/fuzz.log status_file=$LOG_DIR/fuzz.status
	local line status nfail=0 nres=0
	echo "  running scripts/fuzz.sh, $FUZZ_SECONDS s per target"
	# Results are reported as fuzz.sh prints them; the full output goes to the log.
	while IFS= read -r line; do
		[[ $line =~ ^fuzz\ ([^:]+):\ (ok|FAILED) ]] || continue
		nres=$((nres + 1))
		if [[ ${BASH_REMATCH[2]} == ok ]]; then
			count_pass "fuzz ${BASH_REMATCH[1]}"
		else
			count_fail "fuzz ${BASH_REMATCH[1]}"
			nfail=$((nfail + 1))
		fi
	done < <({
		status=0
		bash scripts/fuzz.sh "$FUZZ_SECONDS" </dev/null 2>&1 ||
			status=$?
		echo "$status" >"$status_file"
	} | tee "$log" | grep --line-buffered -E '^fuzz [^:]+: (ok|FAILED)')

	status=$(cat "$status_file")
	if [[ $status -ne 0 && $nfail -eq 0 ]]; then
		count_fail "fuzz: scripts/fuzz.sh exited with status $status"
		nfail=1
	fi
	[[ $nres -gt 0 || $status -ne 0 ]] || note "scripts/fuzz.sh reported no targets"
	if [[ $nfail -gt 0 ]]; then
		show_log "$log"
	fi
}

# ---------------------------------------------------------------- cross tier

# One test per core, plus the include check: scripts/cross-build.sh --list
# names them, so a core added there is tested here without a change.
tier_cross() {
	local target log
	local -a targets
	mapfile -t targets < <(bash scripts/cross-build.sh --list)
	for target in "${targets[@]}"; do
		log=$LOG_DIR/cross-$target.log
		if run_logged "$log" bash scripts/cross-build.sh "$target"; then
			# The script's summary line: sizes for a core, file count for includes.
			count_pass "cross $(grep -E "^$target: " "$log" | tail -n 1 || echo "$target")"
		else
			count_fail "cross $target"
			show_log "$log" 40
		fi
	done
}

# ---------------------------------------------------------------- firmware tier

# One test per FW-RESULT line of scripts/firmware.sh run: every image on every
# target (Cortex-R5F ARM and Thumb, Cortex-M4) booted under qemu-system-arm.
tier_firmware() {
	local log=$LOG_DIR/firmware.log status_file=$LOG_DIR/firmware.status
	local target name result detail status nfail=0 nres=0
	if ! command -v arm-none-eabi-gcc >/dev/null 2>&1; then
		count_skip "firmware: arm-none-eabi-gcc not installed (make deps installs gcc-arm-none-eabi)"
		return 0
	fi
	if ! command -v qemu-system-arm >/dev/null 2>&1; then
		count_skip "firmware: qemu-system-arm not installed (make deps installs it)"
		return 0
	fi
	echo "  building build-fw/ and booting each image (log: $log)"
	while read -r target name result detail; do
		nres=$((nres + 1))
		if [[ $result == PASS ]]; then
			count_pass "firmware $target $name: $detail"
		else
			count_fail "firmware $target $name: $detail"
			nfail=$((nfail + 1))
		fi
	done < <({
		status=0
		bash scripts/firmware.sh run </dev/null 2>&1 || status=$?
		echo "$status" >"$status_file"
	} | tee "$log" | sed -un 's/^FW-RESULT //p')

	status=$(cat "$status_file")
	if [[ $status -ne 0 && $nfail -eq 0 ]]; then
		count_fail "firmware: scripts/firmware.sh exited with status $status"
		nfail=1
	fi
	[[ $nres -gt 0 || $status -ne 0 ]] || note "scripts/firmware.sh reported no results"
	if [[ $nfail -gt 0 ]]; then
		show_log "$log" 40
	fi
}

# ---------------------------------------------------------------- package tier

# scripts/deb.sh --check: the packages built from the tracked tree in
# build-deb/, lintian, then installed, used from /usr and purged again.
tier_package() {
	local log=$LOG_DIR/package.log status=0
	mkdir -p "$LOG_DIR"
	echo "  building and installing the Debian packages (log: $log)"
	bash scripts/deb.sh --check >"$log" 2>&1 </dev/null || status=$?
	add_tap_counts "package deb.sh" "$log" "$status"
}

# ---------------------------------------------------------------- integration tier

# Prints one line per test in Meson's "integration" suite: name, timeout in
# seconds (0: none) and the shell-quoted command (the tier sets the environment).
list_integration_tests() {
	meson introspect --tests build | python3 -c '
import json, shlex, sys

for t in json.load(sys.stdin):
    if not any(s == "integration" or s.endswith(":integration") for s in t["suite"]):
        continue
    print("\t".join([t["name"], str(t.get("timeout") or 0), shlex.join(t["cmd"])]))
'
}

# Each program starts its backend processes itself (in temporary directories,
# killed by PID when it ends) and drives them through the frontend in lib/frontend:
# vioport's daemon from build/ (or $VIOPORT_BIN), and qemu-storage-daemon as a
# reference backend. A missing daemon makes its cases skip, saying why.
tier_integration() {
	local bin=${VIOPORT_BIN:-build/apps/vioport}
	echo "  building build/"
	if ! run_logged "$LOG_DIR/integration-build.log" bash scripts/meson-build.sh build "${SANITIZE[@]}"; then
		count_fail "integration: build"
		show_log "$LOG_DIR/integration-build.log"
		return 0
	fi
	[[ $bin == /* ]] || bin=$PWD/$bin
	[[ -x $bin ]] || note "no daemon at $bin: the vioport cases skip"

	# The daemons under test inherit these: a sanitizer report fails their case.
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:print_summary=1}
	export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:print_summary=1}

	local name limit cmdline log status n=0
	local -a cmd
	while IFS=$'\t' read -r name limit cmdline; do
		log=$LOG_DIR/integration-$name.log
		status=0
		eval "cmd=($cmdline)"
		[[ $limit -gt 0 ]] || limit=300
		VIOPORT_BIN=$bin CMOCKA_MESSAGE_OUTPUT=TAP timeout --kill-after=10 "$limit" "${cmd[@]}" \
			>"$log" 2>&1 </dev/null || status=$?
		add_tap_counts "integration $name" "$log" "$status" "$limit"
		n=$((n + 1))
	done < <(list_integration_tests)
	[[ $n -gt 0 ]] || note "no tests in the integration suite"
}

# ---------------------------------------------------------------- guest tier

# One test per VIOPORT-RESULT line of scripts/guest/run-guest.sh: Debian's
# kernel boots under QEMU and its own virtio drivers use the vioport daemon's
# devices. A boot that fails or times out reports each of its tests as failed.
tier_guest() {
	local bin=${VIOPORT_BIN:-build/apps/vioport}
	local log=$LOG_DIR/guest.log status_file=$LOG_DIR/guest.status
	local name result detail status nfail=0 nres=0

	# The daemon is part of build/; building it here too makes
	# `check.sh guest` alone test the current sources (a no-op after unit).
	if [[ -z ${VIOPORT_BIN:-} ]] &&
		! run_logged "$LOG_DIR/guest-build.log" bash scripts/meson-build.sh build "${SANITIZE[@]}"; then
		count_fail "guest: build"
		show_log "$LOG_DIR/guest-build.log"
		return 0
	fi
	if [[ ! -x $bin ]]; then
		count_skip "guest: no $bin yet (the vhost-user daemon): nothing to boot against"
		return 0
	fi

	echo "  booting Debian's kernel under QEMU against $bin (logs: $LOG_DIR/guest*.log)"
	while read -r name result detail; do
		nres=$((nres + 1))
		case $result in
		PASS) count_pass "guest $name" ;;
		SKIP) count_skip "guest $name: $detail" ;;
		*)
			count_fail "guest $name: $detail"
			nfail=$((nfail + 1))
			;;
		esac
	done < <({
		status=0
		VIOPORT_BIN=$bin timeout --kill-after=10 600 \
			bash scripts/guest/run-guest.sh --backend vioport 2>"$log" </dev/null ||
			status=$?
		echo "$status" >"$status_file"
	} | sed -un 's/^VIOPORT-RESULT //p')

	status=$(cat "$status_file")
	if [[ $status -ne 0 && $nfail -eq 0 ]]; then
		count_fail "guest: scripts/guest/run-guest.sh exited with status $status"
		nfail=1
	fi
	[[ $nres -gt 0 || $status -ne 0 ]] || note "scripts/guest/run-guest.sh reported no tests"
	if [[ $nfail -gt 0 ]]; then
		show_log "$log" 30
	fi
}

# ---------------------------------------------------------------- main

# Whatever stops the script, the last line is still the summary.
finish() {
	local status=$?
	if [[ $FINISHED != true ]]; then
		echo "check.sh: stopped by an unexpected error (status $status)" >&2
		FAILED=$((FAILED + 1))
		FAILURES+=("check.sh itself")
	fi
	echo
	if [[ ${#FAILURES[@]} -gt 0 ]]; then
		echo "failures:"
		printf '  %s\n' "${FAILURES[@]}"
		echo "logs: $LOG_DIR/"
		echo
	fi
	echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
	if [[ $FAILED -gt 0 ]]; then
		exit 1
	fi
	exit "$status"
}

main() {
	local -a tiers=("$@")
	local t
	[[ ${#tiers[@]} -gt 0 ]] || tiers=("${TIERS[@]}")
	for t in "${tiers[@]}"; do
		if [[ -z ${TIER_TITLE[$t]:-} ]]; then
			echo "usage: $0 [${TIERS[*]}]..." >&2
			exit 2
		fi
	done

	rm -rf "$LOG_DIR"
	mkdir -p "$LOG_DIR"
	trap finish EXIT

	for t in "${tiers[@]}"; do
		echo
		echo "== $t: ${TIER_TITLE[$t]}"
		"tier_$t"
	done
	FINISHED=true
}

main "$@"
