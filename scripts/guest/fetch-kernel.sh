#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# fetch-kernel.sh [--package NAME] [--offline]
#
# Makes a Debian x86-64 kernel and its modules available for the guest tier and
# prints where they are, one KEY=VALUE per line on standard output:
#
#   KVER=6.1.0-56-amd64                         (the modules' release name)
#   VMLINUZ=/root/.cache/vioport/kernel/6.1.0-56-amd64/boot/vmlinuz-6.1.0-56-amd64
#   MODULES=/root/.cache/vioport/kernel/6.1.0-56-amd64/lib/modules/6.1.0-56-amd64
#
# The kernel is Debian's own, unmodified: the package that the metapackage
# linux-image-amd64 depends on (its unsigned build when the archive has it,
# which is the same kernel without the Secure Boot signature), fetched with
# `apt-get download` and unpacked with `dpkg -x` into
# ${XDG_CACHE_HOME:-$HOME/.cache}/vioport/kernel/<release>/. Nothing is
# installed and nothing lands in the source tree; only the first run on a
# machine downloads (about 70 MB), and again when Debian updates the kernel
# (the older one is then removed from the cache).
#
#   --package NAME  use this linux-image-* package instead of resolving it
#   --offline       never touch the network: use the newest kernel in the cache
#
# Progress and errors go to standard error. Exits non-zero, saying why, when
# no kernel can be had.
set -euo pipefail

META_PACKAGE=linux-image-amd64
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/vioport/kernel

say() { echo "fetch-kernel: $*" >&2; }
die() {
	say "$*"
	exit 1
}

# Prints the real kernel package the metapackage depends on, such as
# linux-image-6.1.0-56-amd64. The metapackage's only kernel dependency names
# the ABI, which changes with every kernel update, so it is resolved each run.
# Prints nothing when apt does not know the metapackage (no package lists).
resolve_package() {
	{ apt-cache depends --no-recommends --no-suggests "$META_PACKAGE" 2>/dev/null || true; } |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n 1
}

# True when apt knows a candidate version of the package.
has_candidate() {
	local cand
	cand=$(apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p')
	[[ -n $cand && $cand != "(none)" ]]
}

# Refreshes the package lists when that is allowed (root), so that a machine
# whose lists were never downloaded can still resolve the kernel.
refresh_lists() {
	if [[ $(id -u) -ne 0 ]]; then
		return 1
	fi
	say "refreshing the package lists (apt-get update)"
	DEBIAN_FRONTEND=noninteractive apt-get update -q >&2
}

# Prints the newest kernel release already unpacked in the cache, if any.
newest_cached() {
	local d
	for d in "$CACHE_ROOT"/*/.complete; do
		[[ -e $d ]] || continue
		basename "$(dirname "$d")"
	done | sort -V | tail -n 1
}

# Prints the three KEY=VALUE lines for a complete cache entry.
print_paths() {
	local kver=$1 dir=$CACHE_ROOT/$1
	echo "KVER=$kver"
	echo "VMLINUZ=$dir/boot/vmlinuz-$kver"
	echo "MODULES=$dir/lib/modules/$kver"
}

# Downloads and unpacks PACKAGE (release KVER) into the cache. Works in a
# temporary directory next to the entry and renames it into place only when
# complete, so an interrupted run never leaves a half-unpacked kernel behind.
# Fails, saying why, when the package cannot be had.
fetch_into_cache() {
	local pkg=$1 kver=$2 work deb
	mkdir -p "$CACHE_ROOT" || return 1
	work=$(mktemp -d "$CACHE_ROOT/.fetch-XXXXXX") || return 1
	# shellcheck disable=SC2064 # the path is fixed now, on purpose
	trap "rm -rf '$work'" EXIT

	say "downloading $pkg from the Debian archive"
	# As root, apt downloads as the user _apt, who cannot reach a cache in
	# root's home: download as root instead of opening the directory up.
	local -a opts=(-q)
	[[ $(id -u) -ne 0 ]] || opts+=(-o APT::Sandbox::User=root)
	if ! (cd "$work" && apt-get download "${opts[@]}" "$pkg" >&2); then
		say "apt-get download $pkg failed"
		rm -rf "$work"
		return 1
	fi
	deb=$(find "$work" -maxdepth 1 -name '*.deb' | head -n 1)
	say "unpacking $(basename "$deb")"
	mkdir "$work/root"
	if ! dpkg -x "$deb" "$work/root" ||
		[[ ! -f $work/root/boot/vmlinuz-$kver || ! -d $work/root/lib/modules/$kver ]]; then
		say "$pkg does not unpack to boot/vmlinuz-$kver and lib/modules/$kver"
		rm -rf "$work"
		return 1
	fi
	dpkg-deb -f "$deb" Package Version >"$work/root/.complete"

	rm -rf "${CACHE_ROOT:?}/$kver"
	mv "$work/root" "$CACHE_ROOT/$kver"
	rm -rf "$work"
	trap - EXIT

	# Debian replaces the kernel with each update: keep only the newest.
	local old
	for old in "$CACHE_ROOT"/*/; do
		old=$(basename "$old")
		if [[ $old != "$kver" ]]; then
			say "removing the older cached kernel $old"
			rm -rf "${CACHE_ROOT:?}/$old"
		fi
	done
}

# Prints the package to fetch: the real kernel package behind the metapackage,
# its unsigned build when the archive has one (the same kernel; the signed one
# only adds what a Secure Boot loader checks). Nothing if apt cannot tell.
choose_package() {
	local pkg
	pkg=$(resolve_package)
	[[ -n $pkg ]] || return 0
	if has_candidate "$pkg-unsigned"; then
		pkg=$pkg-unsigned
	fi
	echo "$pkg"
}

# Makes PACKAGE available in the cache (a cache hit needs no network) and
# prints its paths; fails if it cannot be fetched.
use_package() {
	local pkg=$1 kver
	# linux-image-6.1.0-56-amd64(-unsigned) holds release 6.1.0-56-amd64.
	kver=${pkg#linux-image-}
	kver=${kver%-unsigned}
	if [[ -f $CACHE_ROOT/$kver/.complete ]]; then
		say "using cached $kver ($(tr '\n' ' ' <"$CACHE_ROOT/$kver/.complete"))"
	else
		has_candidate "$pkg" || {
			say "apt has no candidate version of $pkg"
			return 1
		}
		fetch_into_cache "$pkg" "$kver" || return 1
	fi
	print_paths "$kver"
}

main() {
	local pkg="" offline=false explicit=false refreshed=false kver
	while [[ $# -gt 0 ]]; do
		case $1 in
		--package)
			pkg=${2:?--package needs a name}
			explicit=true
			shift 2
			;;
		--offline)
			offline=true
			shift
			;;
		-h | --help)
			sed -n '4,28s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
			exit 0
			;;
		*) die "unknown argument '$1' (try --help)" ;;
		esac
	done

	for tool in apt-cache apt-get dpkg dpkg-deb; do
		command -v "$tool" >/dev/null 2>&1 ||
			die "'$tool' not found: this script needs a Debian system with apt"
	done

	# Two runs on one machine share the cache: one fills it, the other waits.
	mkdir -p "$CACHE_ROOT"
	exec 9>"$CACHE_ROOT/.lock"
	flock -w 900 9 || die "$CACHE_ROOT/.lock held by another run for 15 minutes"

	if [[ $offline == true ]]; then
		kver=$(newest_cached)
		[[ -n $kver ]] || die "--offline: no kernel in $CACHE_ROOT yet"
		print_paths "$kver"
		return 0
	fi

	if [[ $explicit == true ]]; then
		use_package "$pkg" || die "cannot fetch $pkg"
		return 0
	fi

	pkg=$(choose_package)
	if [[ -z $pkg ]] && refresh_lists; then
		refreshed=true
		pkg=$(choose_package)
	fi
	if [[ -n $pkg ]] && use_package "$pkg"; then
		return 0
	fi
	# Old package lists name a kernel the archive has since replaced: refresh
	# them once and try the kernel they name now.
	if [[ -n $pkg && $refreshed == false ]] && refresh_lists; then
		pkg=$(choose_package)
		if [[ -n $pkg ]] && use_package "$pkg"; then
			return 0
		fi
	fi

	# Offline, or the archive out of reach: a kernel fetched earlier still serves.
	kver=$(newest_cached)
	if [[ -n $kver ]]; then
		say "using the cached $kver instead"
		print_paths "$kver"
		return 0
	fi
	if [[ -n $pkg ]]; then
		die "cannot fetch $pkg and no kernel is cached: is the Debian archive reachable?"
	elif [[ $(id -u) -ne 0 ]]; then
		die "apt cannot resolve $META_PACKAGE and the package lists can only be" \
			"refreshed as root: run 'apt-get update' as root, then run this again"
	fi
	die "apt cannot resolve $META_PACKAGE even after apt-get update:" \
		"is a Debian amd64 archive in /etc/apt/sources.list(.d)?"
}

main "$@"
