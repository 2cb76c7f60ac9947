#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# fetch-arm64.sh [--series SERIES] [--gpiod]
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
# (gcc-12-aarch64-linux-gnu).
#
# --gpiod also makes Debian's arm64 libgpiod tools available (gpiomon,
# gpioset, ...: packages gpiod and libgpiod2, with libc6 for the C library
# and the dynamic loader), fetched the same way into
# ${XDG_CACHE_HOME:-~/.cache}/vioport/arm64-userland/<versions>/, and prints
#
#   GPIOD_ROOT=.../arm64-userland/gpiod_1.6.3-1+b3_libc6_2.36-9+deb12u14
#
# the root of their unpacked files (usr/bin/gpiomon, lib/ld-linux-aarch64.so.1,
# ...), for mkinitramfs.sh --foreign-root. Two runs share the caches under
# a lock. Progress and errors go to standard error.
set -euo pipefail

GUEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/vioport/arm64
APT_STATE=${XDG_CACHE_HOME:-$HOME/.cache}/vioport/kmod-headers/.apt-arm64
USER_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/vioport/arm64-userland
# What --gpiod fetches, and what must be in it afterwards.
GPIOD_PACKAGES=(gpiod libgpiod2 libc6)
GPIOD_FILES=(usr/bin/gpiomon usr/bin/gpioset lib/ld-linux-aarch64.so.1
	lib/aarch64-linux-gnu/libc.so.6 usr/lib/aarch64-linux-gnu/libgpiod.so.2)

say() { echo "fetch-arm64: $*" >&2; }
die() {
	say "$*"
	exit 1
}

# The options that point apt at build-kmod.sh's private arm64 state.
apt_opts() {
	echo "-o APT::Architecture=arm64 -o APT::Architectures::=arm64" \
		"-o Dir::State::Lists=$APT_STATE/lists -o Dir::State::status=$APT_STATE/status" \
		"-o Dir::Cache=$APT_STATE/cache"
}

# Prints the root of Debian's arm64 libgpiod tools, their library, the C
# library and the dynamic loader, unpacked once per set of candidate versions
# (older sets are removed).
fetch_gpiod() {
	local pkg version key="" dir work deb f old
	local -a aopts dl=(-q)
	# shellcheck disable=SC2207 # the options are words without blanks
	aopts=($(apt_opts))
	[[ $(id -u) -ne 0 ]] || dl+=(-o APT::Sandbox::User=root)
	local -a want=()
	for pkg in "${GPIOD_PACKAGES[@]}"; do
		version=$(apt-cache "${aopts[@]}" policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
		[[ -n $version && $version != "(none)" ]] ||
			die "the arm64 package lists know no $pkg (they come from build-kmod.sh --release 6.1-arm64)"
		want+=("$pkg=$version")
		[[ $pkg == libgpiod2 ]] || key+="${key:+_}${pkg}_${version//[:~]/-}"
	done
	mkdir -p "$USER_ROOT"
	exec 8>"$USER_ROOT/.lock"
	flock -w 900 8 || die "$USER_ROOT/.lock held by another run for 15 minutes"
	dir=$USER_ROOT/$key
	if [[ ! -f $dir/.complete ]]; then
		work=$(mktemp -d "$USER_ROOT/.fetch-XXXXXX")
		# shellcheck disable=SC2064 # the path is fixed now, on purpose
		trap "rm -rf '$work'" EXIT
		say "downloading ${want[*]} (arm64)"
		(cd "$work" && apt-get download "${dl[@]}" "${aopts[@]}" "${want[@]}" >&2) ||
			die "apt-get download failed"
		mkdir "$work/root"
		for deb in "$work"/*.deb; do
			dpkg -x "$deb" "$work/root"
		done
		for f in "${GPIOD_FILES[@]}"; do
			[[ -e $work/root/$f ]] || die "${want[*]} unpacked without $f"
		done
		echo "${want[*]}" >"$work/root/.complete"
		rm -rf "$dir"
		mv "$work/root" "$dir"
		rm -rf "$work"
		trap - EXIT
		for old in "$USER_ROOT"/*/; do
			[[ $(basename "$old") == "$key" ]] || rm -rf "$old"
		done
	fi
	flock -u 8
	echo "$dir"
}

main() {
	local series=6.1 line kver="" ko="" dir pkg version work deb gpiod=false groot=""
	local -a aopts dl=(-q)
	while [[ $# -gt 0 ]]; do
		case $1 in
		--series)
			series=${2:?--series needs a kernel series such as 6.1}
			shift 2
			;;
		--gpiod)
			gpiod=true
			shift
			;;
		-h | --help)
			sed -n '4,33s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
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
	if [[ $gpiod == true ]]; then
		groot=$(fetch_gpiod) || exit 1
	fi
	dir=$CACHE_ROOT/$kver
	mkdir -p "$CACHE_ROOT"
	exec 9>"$CACHE_ROOT/.lock"
	flock -w 900 9 || die "$CACHE_ROOT/.lock held by another run for 15 minutes"
	if [[ ! -f $dir/.complete ]]; then
		# shellcheck disable=SC2207 # the options are words without blanks
		aopts=($(apt_opts))
		[[ $(id -u) -ne 0 ]] || dl+=(-o APT::Sandbox::User=root)
		pkg=linux-image-$kver-unsigned
		version=$(apt-cache "${aopts[@]}" policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
		if [[ -z $version || $version == "(none)" ]]; then
			pkg=linux-image-$kver
		fi
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
	[[ -z $groot ]] || echo "GPIOD_ROOT=$groot"
}

main "$@"
