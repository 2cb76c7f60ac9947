#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# fetch-arm64.sh [--series SERIES]
#
# Makes an arm64 Linux guest available for the guest tier's vmsg-arm64
# variant and prints where its pieces are, one KEY=VALUE per line on standard
# output:
#
#   KVER=6.1.0-57-arm64
#   VMLINUZ=.../arm64/6.1.0-57-arm64/boot/vmlinuz-6.1.0-57-arm64
#   MODULES=.../arm64/6.1.0-57-arm64/lib/modules/6.1.0-57-arm64
#   BUSYBOX=.../arm64/6.1.0-57-arm64/bin/busybox
#   VIOPORT_VMSG=<source tree>/build-kmod/6.1.0-57-arm64/vioport_vmsg.ko
#
# The newest Debian arm64 kernel of SERIES (default 6.1), unmodified (its
# unsigned build when the archive has one), and Debian's static arm64
# busybox, fetched with `apt-get download` through the private arm64 apt
# state build-kmod.sh keeps (no `dpkg --add-architecture`), unpacked with
# `dpkg -x` into ${XDG_CACHE_HOME:-~/.cache}/vioport/arm64/<release>/ once;
# and vioport_vmsg.ko cross-built for that release by build-kmod.sh
# (gcc-12-aarch64-linux-gnu). Progress and errors go to standard error.
set -euo pipefail

GUEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/vioport/arm64
APT_STATE=${XDG_CACHE_HOME:-$HOME/.cache}/vioport/kmod-headers/.apt-arm64

say() { echo "fetch-arm64: $*" >&2; }
die() {
	say "$*"
	exit 1
}

main() {
	local series=6.1 line kver="" ko="" dir pkg version work deb
	local -a aopts dl=(-q)
	while [[ $# -gt 0 ]]; do
		case $1 in
		--series)
			series=${2:?--series needs a kernel series such as 6.1}
			shift 2
			;;
		-h | --help)
			sed -n '4,23s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
			exit 0
			;;
		*) die "unknown argument '$1' (try --help)" ;;
		esac
	done
	# The module first: it resolves the release and sets up the apt state.
	while IFS= read -r line; do
		case $line in
		KVER=*) kver=${line#KVER=} ;;
		VIOPORT_VMSG=*) ko=${line#VIOPORT_VMSG=} ;;
		esac
	done < <("$GUEST_DIR/build-kmod.sh" --release "$series-arm64")
	[[ -n $kver && -f $ko ]] || die "build-kmod.sh built no arm64 module"
	dir=$CACHE_ROOT/$kver
	if [[ ! -f $dir/.complete ]]; then
		aopts=(-o APT::Architecture=arm64 -o APT::Architectures::=arm64
			-o "Dir::State::Lists=$APT_STATE/lists" -o "Dir::State::status=$APT_STATE/status"
			-o "Dir::Cache=$APT_STATE/cache")
		[[ $(id -u) -ne 0 ]] || dl+=(-o APT::Sandbox::User=root)
		pkg=linux-image-$kver-unsigned
		version=$(apt-cache "${aopts[@]}" policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
		if [[ -z $version || $version == "(none)" ]]; then
			pkg=linux-image-$kver
		fi
		mkdir -p "$CACHE_ROOT"
		work=$(mktemp -d "$CACHE_ROOT/.fetch-XXXXXX")
		# shellcheck disable=SC2064 # the path is fixed now, on purpose
		trap "rm -rf '$work'" EXIT
		say "downloading $pkg and busybox-static (arm64)"
		(cd "$work" && apt-get download "${dl[@]}" "${aopts[@]}" "$pkg" busybox-static >&2) ||
			die "apt-get download failed"
		mkdir "$work/root"
		for deb in "$work"/*.deb; do
			dpkg -x "$deb" "$work/root"
		done
		[[ -f $work/root/boot/vmlinuz-$kver && -d $work/root/lib/modules/$kver &&
			-x $work/root/bin/busybox ]] || die "$pkg or busybox-static unpacked to something else"
		echo "$pkg" >"$work/root/.complete"
		rm -rf "$dir"
		mv "$work/root" "$dir"
		rm -rf "$work"
		trap - EXIT
		# Only the newest release is kept.
		for old in "$CACHE_ROOT"/*/; do
			[[ $(basename "$old") == "$kver" ]] || rm -rf "$old"
		done
	fi
	echo "KVER=$kver"
	echo "VMLINUZ=$dir/boot/vmlinuz-$kver"
	echo "MODULES=$dir/lib/modules/$kver"
	echo "BUSYBOX=$dir/bin/busybox"
	echo "VIOPORT_VMSG=$ko"
}

main "$@"
