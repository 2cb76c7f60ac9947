#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# scripts/guest/bench-lib.sh: what the benchmarks that boot guests share
# (scripts/bench-guest.sh, scripts/bench-vsock.sh), sourced by them after
# they define progress(): the release build of the daemon, the console hook
# that reports the guest's progress, and medians. The guest helpers
# themselves come from scripts/guest/run-guest.sh, which each script sources
# at its top level.

# Builds the daemon in $BUILD (a release tree, set up if missing) and exports VIOPORT_BIN.
bench_release_vioport() {
	if [[ ! -f $BUILD/build.ninja ]]; then
		meson setup "$BUILD" --buildtype=release >/dev/null
	fi
	ninja -C "$BUILD" apps/vioport >/dev/null
	export VIOPORT_BIN=$PWD/$BUILD/apps/vioport
}

# The console hook: the guest's progress and figures, as they come.
bench_on_line() {
	case $1 in
	"VIOPORT-SAY "*) progress "guest: ${1#VIOPORT-SAY }" ;;
	"VIOPORT-BEGIN "*) progress "guest: booted, kernel ${1#VIOPORT-BEGIN }" ;;
	"VIOPORT-RESULT "*) progress "guest: ${1#VIOPORT-RESULT }" ;;
	esac
}

# median FILE: the median of the numbers in FILE, one a line.
median() {
	sort -g "$1" | awk '{ v[NR] = $1 } END {
		if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2];
		else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
