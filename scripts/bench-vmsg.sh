#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench-vmsg.sh [--rounds N] [--warmup N]
#
# virtio-msg latency over a shared-memory window between two processes: the
# GPIO GET_VALUE round trip (vioport-drv bench: the driver library in one
# process, a forked device side serving a simulated GPIO chip through the
# endpoint in the other), N round trips (default 20000) after a warm-up
# (default 2000), with the polling doorbell and with eventfd doorbells, in the
# release build. eventfd is measured as users get it (the waiting side looks
# for the next message for 20 us after the last one before it blocks) and
# blocking at once (spin=0), so both costs are visible. Figures are printed,
# never judged: the exit status says only whether the benchmark ran.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD=${BUILD:-build-release}
ROUNDS=20000
WARMUP=2000
# Targets, p50 in microseconds.
TARGET_poll=2
TARGET_eventfd=20
TARGET_eventfd0=20
tmp=""

usage() {
	sed -n '4p' "$0" | sed 's/^# //' >&2
	exit 2
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--rounds) ROUNDS=${2:?}; shift 2 ;;
	--warmup) WARMUP=${2:?}; shift 2 ;;
	*) usage ;;
	esac
done

main() {
	if [[ ! -f $BUILD/build.ninja ]]; then
		meson setup "$BUILD" --buildtype=release >/dev/null
	fi
	ninja -C "$BUILD" apps/vioport-drv >/dev/null
	local kind spec name line p50 p99 mean
	tmp=$(mktemp -d /dev/shm/vioport-bench-vmsg.XXXXXX 2>/dev/null || mktemp -d)
	trap '[[ -n $tmp ]] && rm -rf "$tmp"' EXIT
	echo "== GPIO GET_VALUE round trip over a shared-memory window, two processes"
	echo "   ($ROUNDS round trips after $WARMUP warm-up, release build, $(nproc) cores)"
	printf '  %-22s %9s %9s %9s   %s\n' doorbell "p50 us" "p99 us" "mean us" target
	for kind in poll eventfd eventfd0; do
		case $kind in
		poll) spec=poll name=poll ;;
		eventfd) spec=eventfd:$tmp/bell.sock name="eventfd (spin 20 us)" ;;
		*) spec=eventfd:$tmp/bell.sock,spin=0 name="eventfd (spin=0)" ;;
		esac
		rm -f "$tmp/win"
		line=$("$BUILD/apps/vioport-drv" --shm "$tmp/win" --doorbell "$spec" bench \
			"$ROUNDS" "$WARMUP")
		p50=$(sed -n 's/.* p50_us \([0-9.]*\).*/\1/p' <<<"$line")
		p99=$(sed -n 's/.* p99_us \([0-9.]*\).*/\1/p' <<<"$line")
		mean=$(sed -n 's/.* mean_us \([0-9.]*\).*/\1/p' <<<"$line")
		local target=TARGET_$kind
		printf '  %-22s %9s %9s %9s   p50 <= %s us\n' "$name" "$p50" "$p99" "$mean" "${!target}"
	done
}

main "$@"
