#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# fuzz.sh [SECONDS]
#
# Runs each libFuzzer target (tests/fuzz/) for SECONDS (default 20) from a copy
# of its seed corpus in a temporary folder, so the corpus in the tree never
# grows. Prints "fuzz <target>: ok" or "fuzz <target>: FAILED" per target and
# exits non-zero if any failed. Inputs that crash are kept in
# build-fuzz/crashes/, each run's log in build-fuzz/fuzz-<target>.log.
# Reproduce a crash with: build-fuzz/tests/fuzz/<target> <crash file>.
#
# build-fuzz/ is configured on first use (clang, ASan + UBSan) unless it exists.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SECS=${1:-20}
BUILD=${BUILD:-build-fuzz}
TARGETS=(fuzz_split fuzz_packed fuzz_inflight fuzz_blk fuzz_gpio fuzz_i2c fuzz_input fuzz_console fuzz_vsock fuzz_vhost_user fuzz_vmsg_fifo fuzz_vmsg_dev fuzz_vmsg_drv)

if [[ ! $SECS =~ ^[0-9]+$ ]] || [[ $SECS -eq 0 ]]; then
	echo "usage: $0 [SECONDS]" >&2
	exit 2
fi

if [[ ! -f $BUILD/build.ninja ]]; then
	CC=clang meson setup "$BUILD" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false >/dev/null
fi
ninja -C "$BUILD" "${TARGETS[@]/#/tests/fuzz/}" >/dev/null

CRASHES=$BUILD/crashes
mkdir -p "$CRASHES"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Undefined behaviour must stop the run like a crash does, or it would only be logged.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

failed=0
for t in "${TARGETS[@]}"; do
	corpus=$TMP/$t
	log=$BUILD/fuzz-$t.log
	mkdir -p "$corpus"
	if [[ -d tests/fuzz/corpus/$t ]]; then
		cp tests/fuzz/corpus/"$t"/* "$corpus"/
	fi
	if "$BUILD/tests/fuzz/$t" -max_total_time="$SECS" -print_final_stats=1 -timeout=10 \
		-max_len=16384 -artifact_prefix="$CRASHES/$t-" "$corpus" >"$log" 2>&1; then
		runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
		echo "  $t: ${runs:-?} inputs in ${SECS} s"
		echo "fuzz $t: ok"
	else
		echo "  $t: see $log; crash inputs in $CRASHES/"
		echo "fuzz $t: FAILED"
		failed=1
	fi
done
exit "$failed"
