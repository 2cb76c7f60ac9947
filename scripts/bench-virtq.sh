#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench-virtq.sh [--seconds S] [--chains N] [--no-peer] [--no-fetch] [--no-callgrind]
#
# Benchmarks the device side of a split virtqueue (vioport-bench virtq) in the
# release build: first wall-clock rates over a warm run (S seconds per shape
# and device, default 1), then instructions per chain under callgrind over a
# fixed count of N chains (default 200000): the whole loop (driver included)
# and the device side alone, which is the inclusive cost of vio_vq_pop +
# vio_vq_push + vio_vq_flush (for the peer: vu_queue_pop + vu_queue_fill +
# vu_queue_flush + free of the element). vioport runs twice, the second time
# recording its requests in an inflight region (vioport-inflight), so that the
# cost of INFLIGHT_SHMFD tracking per request is printed in both units.
#
# The peer is QEMU's libvhost-user, built from Debian's qemu source package
# into ~/.cache/vioport/ (downloaded once unless --no-fetch; VIOPORT_PEER_DIR
# may point at a libvhost-user folder instead). Without it the ratios are
# against a recorded anchor and say so. Figures are printed, never judged:
# the exit status says only whether the benchmark ran.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD=${BUILD:-build-release}
CACHE=${VIOPORT_CACHE:-$HOME/.cache/vioport}
SECONDS_PER_RUN=1
CG_CHAINS=200000
USE_PEER=1
FETCH=1
CALLGRIND=1
tmp=""

# Recorded anchor: libvhost-user, same loop, measured on the reference machine.
ANCHOR_INSTR_one=549
ANCHOR_INSTR_blk=848
# Targets for vioport's device side, instructions per chain.
TARGET_INSTR_one=150
TARGET_INSTR_blk=250

usage() {
	sed -n '4,5p' "$0" | sed 's/^# //' >&2
	exit 2
}

while [[ $# -gt 0 ]]; do
	case $1 in
	--seconds) SECONDS_PER_RUN=${2:?}; shift 2 ;;
	--chains) CG_CHAINS=${2:?}; shift 2 ;;
	--no-peer) USE_PEER=0; shift ;;
	--no-fetch) FETCH=0; shift ;;
	--no-callgrind) CALLGRIND=0; shift ;;
	*) usage ;;
	esac
done

note() {
	echo "bench-virtq: $*" >&2
}

# Prints the libvhost-user folder to build the peer from, fetching Debian's
# qemu source into the cache when allowed; prints nothing when there is none.
peer_dir() {
	local d
	if [[ -n ${VIOPORT_PEER_DIR:-} ]]; then
		[[ -f $VIOPORT_PEER_DIR/libvhost-user.c ]] && echo "$VIOPORT_PEER_DIR"
		return 0
	fi
	for d in "$CACHE"/qemu/qemu-*/subprojects/libvhost-user; do
		[[ -f $d/libvhost-user.c ]] && { echo "$d"; return 0; }
	done
	[[ $FETCH == 1 ]] || return 0
	command -v apt-get >/dev/null || return 0
	fetch_peer >&2 || { note "could not fetch the qemu source package"; return 0; }
	for d in "$CACHE"/qemu/qemu-*/subprojects/libvhost-user; do
		[[ -f $d/libvhost-user.c ]] && { echo "$d"; return 0; }
	done
}

# Downloads Debian's qemu source package with a private deb-src list (the
# system's apt configuration is left alone) and unpacks libvhost-user and the
# headers it includes.
fetch_peer() {
	local apt=$CACHE/apt
	mkdir -p "$apt/lists/partial" "$CACHE/qemu"
	cat >"$apt/src.sources" <<-'EOF'
		Types: deb-src
		URIs: http://deb.debian.org/debian
		Suites: bookworm bookworm-updates
		Components: main
		Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	local -a opts=(-o "Dir::Etc::SourceList=$apt/src.sources" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$apt/lists" -o APT::Sandbox::User=root -qq)
	note "fetching Debian's qemu source package into $CACHE/qemu"
	apt-get "${opts[@]}" update >/dev/null
	(cd "$CACHE/qemu" && apt-get "${opts[@]}" source --download-only qemu >/dev/null)
	local orig
	orig=$(ls "$CACHE"/qemu/qemu_*.orig.tar.* 2>/dev/null | head -n 1)
	[[ -n $orig ]] || return 1
	tar -C "$CACHE/qemu" -xf "$orig" --wildcards '*/subprojects/libvhost-user' \
		'*/include/standard-headers' '*/include/qemu/atomic.h' '*/include/qemu/compiler.h'
}

# Builds vioport-bench with the libvhost-user peer linked in. libvhost-user is
# compiled with -O2 as QEMU builds it; the bench and the vioport library are
# the release build's.
build_peer() {
	local lvu=$1 out=$BUILD/apps/vioport-bench-peer
	local cc=${CC:-cc}
	ninja -C "$BUILD" libvioport_free.a libvioport_posix.a >/dev/null
	"$cc" -O2 -std=gnu99 -D_GNU_SOURCE -w -I"$lvu" -I"$lvu/include" \
		-c "$lvu/libvhost-user.c" -o "$BUILD/apps/libvhost-user.o"
	# The blk mode links the vhost-user frontend from the POSIX library.
	"$cc" -O3 -std=gnu11 -D_GNU_SOURCE -DVIO_BENCH_PEER -Wall -Wextra -Iinclude -Iapps \
		-I"$lvu" -I"$lvu/include" apps/vioport-bench.c apps/vioport-bench-peer-libvhost-user.c \
		"$BUILD/apps/libvhost-user.o" "$BUILD/libvioport_posix.a" "$BUILD/libvioport_free.a" \
		$(pkg-config --libs liburing 2>/dev/null) -lpthread -o "$out"
	echo "$out"
}

# Inclusive instructions of the functions named (a compiler suffix such as
# .isra.0 is accepted), summed, from a callgrind output file.
inclusive() {
	local file=$1
	shift
	callgrind_annotate --inclusive=yes --threshold=100 "$file" 2>/dev/null | awk -v names="$*" '
		BEGIN { n = split(names, want, " ") }
		/^ *[0-9,]+ / {
			count = $1; gsub(",", "", count)
			fn = $0; sub(/^[^:]*:/, "", fn); sub(/ .*/, "", fn)
			for (i = 1; i <= n; i++)
				if ((fn == want[i] || index(fn, want[i] ".") == 1) && !(fn in seen)) {
					seen[fn] = 1; total += count
				}
		}
		END { printf "%d\n", total }'
}

main() {
	if [[ ! -f $BUILD/build.ninja ]]; then
		meson setup "$BUILD" --buildtype=release >/dev/null
	fi
	ninja -C "$BUILD" apps/vioport-bench >/dev/null
	local bench=$BUILD/apps/vioport-bench lvu="" peer_bin=""
	if [[ $USE_PEER == 1 ]]; then
		lvu=$(peer_dir)
		if [[ -n $lvu ]]; then
			peer_bin=$(build_peer "$lvu") || { note "peer build failed"; peer_bin=""; }
		fi
		[[ -n $peer_bin ]] || note "no libvhost-user peer: ratios are against the recorded anchor"
	fi

	echo "== wall clock (release build, ${SECONDS_PER_RUN} s per run)"
	if [[ -n $peer_bin ]]; then
		"$peer_bin" virtq --seconds "$SECONDS_PER_RUN"
	else
		"$bench" virtq --seconds "$SECONDS_PER_RUN"
	fi

	[[ $CALLGRIND == 1 ]] || return 0
	if ! command -v valgrind >/dev/null || ! command -v callgrind_annotate >/dev/null; then
		note "valgrind not installed: no instruction counts"
		return 0
	fi
	local shape dev bin file loop device per_loop per_dev
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	echo "== instructions per chain (callgrind, $CG_CHAINS chains, no warm-up)"
	for shape in one blk; do
		for dev in vioport vioport-inflight libvhost-user; do
			if [[ $dev == vioport* ]]; then
				bin=${peer_bin:-$bench}
			else
				[[ -n $peer_bin ]] || continue
				bin=$peer_bin
			fi
			file=$tmp/cg.$dev.$shape
			valgrind --tool=callgrind --callgrind-out-file="$file" "$bin" virtq --shape "$shape" \
				--device "$dev" --chains "$CG_CHAINS" --warmup 0 --loop-only >/dev/null 2>&1
			loop=$(inclusive "$file" run_batches)
			if [[ $dev == vioport* ]]; then
				device=$(inclusive "$file" vio_vq_pop vio_vq_push vio_vq_flush)
			else
				device=$(inclusive "$file" vu_queue_pop vu_queue_fill vu_queue_flush free)
			fi
			per_loop=$(( (loop + CG_CHAINS / 2) / CG_CHAINS ))
			per_dev=$(( (device + CG_CHAINS / 2) / CG_CHAINS ))
			printf '  %-4s %-14s loop %5d instr/chain   device side %5d instr/chain' \
				"$shape" "$dev" "$per_loop" "$per_dev"
			if [[ $dev == vioport ]]; then
				local target=TARGET_INSTR_$shape anchor=ANCHOR_INSTR_$shape
				printf '   (target <= %d; recorded anchor libvhost-user %d, %.2fx fewer)' \
					"${!target}" "${!anchor}" \
					"$(awk -v a="${!anchor}" -v b="$per_dev" 'BEGIN { print a / b }')"
				eval "own_$shape=$per_dev"
			elif [[ $dev == vioport-inflight ]]; then
				local own=own_$shape
				printf '   (inflight recording: %+d instr/chain)' "$((per_dev - ${!own}))"
			else
				local own=own_$shape
				printf '   (vioport %.2fx fewer, this run)' \
					"$(awk -v a="$per_dev" -v b="${!own}" 'BEGIN { print a / b }')"
			fi
			printf '\n'
		done
	done
}

main "$@"
