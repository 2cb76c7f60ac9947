#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# build-kmod.sh [--kver RELEASE] [--offline] [--headers DIR] [--release RELEASE]
#
# Builds vioport's kernel module, vioport_vmsg.ko (linux/, the driver side of
# the virtio-msg window: docs/linux-module.md), for the guest tier's kernel
# and prints where it is, one KEY=VALUE per line on standard output:
#
#   KVER=6.1.0-57-amd64
#   VIOPORT_VMSG=/path/to/vioport/build-kmod/6.1.0-57-amd64/vioport_vmsg.ko
#
# The kernel's headers come from build-modules.sh, which fetches and unpacks
# the exact linux-headers-<release>, linux-headers-<abi>-common and
# linux-kbuild-<x.y> packages of the kernel fetch-kernel.sh resolves (and
# builds the I2C and GPIO drivers the tier also needs). The module is built
# from a copy of linux/ in build-kmod/<release>/, so the source tree gets no
# build output, with W=1: any compiler warning fails the build. Its vermagic
# is checked against the release.
#
#   --kver RELEASE     build for this kernel release instead of the one
#                      fetch-kernel.sh resolves (passed to build-modules.sh)
#   --offline          never touch the network (passed to build-modules.sh)
#   --headers DIR      build against these kernel headers (a directory with the
#                      kernel's Makefile and include/config/kernel.release)
#                      instead of the guest tier's; no package is fetched
#   --release RELEASE  build against Debian's headers of any kernel release,
#                      such as 6.12.115+deb12-amd64 or 6.1.0-57-arm64: the
#                      headers packages alone are downloaded once (apt's
#                      candidate version) into
#                      ${XDG_CACHE_HOME:-~/.cache}/vioport/kmod-headers/. An
#                      arm64 release is cross-built with gcc-12-aarch64-linux-gnu
#                      (its packages come through a private arm64 apt state
#                      there, and linux-kbuild from the host's architecture).
#                      SERIES-FLAVOUR (6.1-amd64, 6.12-arm64, ...) names the
#                      newest release of that series apt knows
#
# Progress and errors go to standard error.
set -euo pipefail

GUEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$GUEST_DIR/../.." && pwd)
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/vioport/modules
HEADERS_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/vioport/kmod-headers

say() { echo "build-kmod: $*" >&2; }
die() {
	say "$*"
	exit 1
}

# Prints the compiler the kernel was built with (the CC of the headers'
# .kernelvariables, such as gcc-12), or gcc for headers without that file.
kernel_compiler() {
	local headers=$1 cc=""
	if [[ -f $headers/.kernelvariables ]]; then
		cc=$(sed -n 's/^CC = .*(CROSS_COMPILE)\([^ ]*\)$/\1/p' "$headers/.kernelvariables")
	fi
	[[ -n $cc ]] || cc=gcc
	command -v "$cc" >/dev/null 2>&1 || die "the kernel's compiler $cc is missing: install it"
	echo "$cc"
}

# The options that point apt at a private arm64 package state under
# HEADERS_ROOT (the host's own apt state and architectures stay untouched).
arm64_apt_opts() {
	local st=$HEADERS_ROOT/.apt-arm64
	mkdir -p "$st/lists/partial" "$st/cache/archives/partial"
	[[ -f $st/status ]] || : >"$st/status"
	echo "-o APT::Architecture=arm64 -o APT::Architectures::=arm64" \
		"-o Dir::State::Lists=$st/lists -o Dir::State::status=$st/status" \
		"-o Dir::Cache=$st/cache"
}

# Prints apt's candidate version of a package (OPTS: extra apt options).
candidate() {
	local pkg=$1
	shift
	apt-cache "$@" policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '^(none)$' || true
}

# Makes the headers of Debian kernel RELEASE available under HEADERS_ROOT
# and prints their directory: linux-headers-RELEASE, the -common package it
# depends on (same version), and linux-kbuild for the host's architecture.
fetch_release_headers() {
	local rel=$1 dir=$HEADERS_ROOT/$1 version common kbuild work deb
	local -a aopts=() dl=(-q)
	# Two runs on one machine share the cache: one fills it, the other waits.
	mkdir -p "$HEADERS_ROOT"
	exec 9>"$HEADERS_ROOT/.lock"
	flock -w 900 9 || die "$HEADERS_ROOT/.lock held by another run for 15 minutes"
	if [[ ! -f $dir/.complete ]]; then
		[[ $(id -u) -ne 0 ]] || dl+=(-o APT::Sandbox::User=root)
		if [[ $rel == *-arm64 ]]; then
			# shellcheck disable=SC2207 # the options are words without blanks
			aopts=($(arm64_apt_opts))
			if [[ -z $(candidate "linux-headers-$rel" "${aopts[@]}") ]]; then
				say "refreshing the private arm64 package lists"
				apt-get update "${dl[@]}" "${aopts[@]}" >&2 || die "apt-get update (arm64) failed"
			fi
		fi
		version=$(candidate "linux-headers-$rel" "${aopts[@]}")
		[[ -n $version ]] || die "apt knows no linux-headers-$rel (run apt-get update?)"
		common=$(apt-cache "${aopts[@]}" depends "linux-headers-$rel" 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-headers-[^ ]*-common[^ ]*\)$/\1/p' | head -n 1)
		kbuild=$(apt-cache "${aopts[@]}" depends "linux-headers-$rel" 2>/dev/null |
			sed -n 's/^ *Depends: \(linux-kbuild-[^ :]*\).*$/\1/p' | head -n 1)
		[[ -n $common && -n $kbuild ]] || die "cannot tell what linux-headers-$rel depends on"
		mkdir -p "$HEADERS_ROOT"
		work=$(mktemp -d "$HEADERS_ROOT/.fetch-XXXXXX")
		# shellcheck disable=SC2064 # the path is fixed now, on purpose
		trap "rm -rf '$work'" EXIT
		say "downloading linux-headers-$rel, $common and $kbuild ($version)"
		(cd "$work" && apt-get download "${dl[@]}" "${aopts[@]}" \
			"linux-headers-$rel=$version" "$common=$version" >&2) ||
			die "apt-get download failed"
		# fixdep and modpost run on this machine: the host's linux-kbuild.
		(cd "$work" && apt-get download "${dl[@]}" "$kbuild=$version" >&2) ||
			die "apt-get download $kbuild failed"
		mkdir "$work/root"
		for deb in "$work"/*.deb; do
			dpkg -x "$deb" "$work/root"
		done
		rm -f "$work"/*.deb
		echo "linux-headers-$rel=$version" >"$work/root/.complete"
		rm -rf "$dir"
		mv "$work/root" "$dir"
		rm -rf "$work"
		trap - EXIT
	fi
	local hdr=$dir/usr/src/linux-headers-$rel mk
	mk=$hdr/Makefile
	[[ -f $mk ]] || die "no $mk in linux-headers-$rel"
	# Its one line includes the -common package's Makefile by absolute path.
	if ! grep -q "^include $dir/usr/src/" "$mk"; then
		sed -i "s|^include .*/usr/src/\(linux-headers-[^/]*-common/Makefile\)$|include $dir/usr/src/\1|" "$mk"
	fi
	echo "$hdr"
}

# Prints the newest release of SERIES-FLAVOUR (such as 6.12-arm64) whose
# headers apt knows, generic flavour only (not cloud or rt).
resolve_series() {
	local series=${1%-*} flavour=${1##*-} re
	local -a aopts=()
	if [[ $flavour == arm64 ]]; then
		# shellcheck disable=SC2207 # the options are words without blanks
		aopts=($(arm64_apt_opts))
		if [[ -z $(apt-cache "${aopts[@]}" pkgnames linux-headers- 2>/dev/null | head -n 1) ]]; then
			say "refreshing the private arm64 package lists"
			apt-get update -q "${aopts[@]}" >&2 || die "apt-get update (arm64) failed"
		fi
	fi
	re="^linux-headers-${series//./\\.}\\.[0-9][0-9a-z.+-]*[0-9]-$flavour\$"
	apt-cache "${aopts[@]}" pkgnames linux-headers- 2>/dev/null | grep -E "$re" |
		sed 's/^linux-headers-//' | sort -V | tail -n 1
}

main() {
	local kver="" headers="" release="" line cc out log magic
	local -a pass=() cross=()
	while [[ $# -gt 0 ]]; do
		case $1 in
		--kver)
			kver=${2:?--kver needs a release}
			pass+=(--kver "$kver")
			shift 2
			;;
		--offline)
			pass+=(--offline)
			shift
			;;
		--headers)
			headers=$(cd "${2:?--headers needs a directory}" && pwd)
			shift 2
			;;
		--release)
			release=${2:?--release needs a kernel release}
			shift 2
			;;
		-h | --help)
			sed -n '4,39s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
			exit 0
			;;
		*) die "unknown argument '$1' (try --help)" ;;
		esac
	done
	command -v make >/dev/null 2>&1 || die "'make' not found"

	if [[ $release =~ ^[0-9]+\.[0-9]+-[a-z0-9]+$ ]]; then
		local series=$release
		release=$(resolve_series "$series")
		[[ -n $release ]] || die "apt knows no kernel headers of the $series series"
	fi
	if [[ -n $release ]]; then
		headers=$(fetch_release_headers "$release")
	fi
	if [[ -n $headers ]]; then
		[[ -f $headers/include/config/kernel.release ]] ||
			die "$headers has no include/config/kernel.release: not configured kernel headers"
		kver=$release
		[[ -n $kver ]] || kver=$(cat "$headers/include/config/kernel.release")
	else
		while IFS= read -r line; do
			case $line in KVER=*) kver=${line#KVER=} ;; esac
		done < <("$GUEST_DIR/build-modules.sh" "${pass[@]}")
		[[ -n $kver ]] || die "build-modules.sh named no kernel release"
		headers=$CACHE_ROOT/$kver/root/usr/src/linux-headers-$kver
	fi
	[[ -f $headers/Makefile ]] || die "no kernel headers in $headers"
	cc=$(kernel_compiler "$headers")
	if grep -q '^CONFIG_ARM64=y' "$headers/.config" && [[ $(uname -m) != aarch64 ]]; then
		cc=aarch64-linux-gnu-$cc
		command -v "$cc" >/dev/null 2>&1 ||
			die "$cc is missing: install Debian's ${cc#aarch64-linux-gnu-}-aarch64-linux-gnu"
		cross=(ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-)
	fi

	out=$ROOT/build-kmod/$kver
	rm -rf "$out"
	mkdir -p "$out"
	cp -r "$ROOT"/linux/Kbuild "$ROOT"/linux/*.[ch] "$ROOT"/linux/compat "$out/"
	log=$out/build.log
	say "building vioport_vmsg.ko for $kver with $cc (W=1)"
	# CONFIG_DEBUG_INFO_BTF_MODULES= : the kernel's config asks for BTF in
	# each module, which needs pahole; the module loads without it.
	if ! make -C "$headers" M="$out" VIOPORT_ROOT="$ROOT" "${cross[@]}" CC="$cc" W=1 \
		CONFIG_DEBUG_INFO_BTF_MODULES= -j"$(nproc)" modules >"$log" 2>&1; then
		cat "$log" >&2
		die "the build failed (see above)"
	fi
	if grep -qi 'warning' "$log"; then
		cat "$log" >&2
		die "the build printed warnings (see above)"
	fi
	magic=$(tr '\0' '\n' <"$out/vioport_vmsg.ko" | sed -n 's/^vermagic=//p')
	[[ ${magic%% *} == "$kver" ]] ||
		die "vioport_vmsg.ko has vermagic '$magic', the kernel is $kver"
	say "built $out/vioport_vmsg.ko"
	echo "KVER=$kver"
	echo "VIOPORT_VMSG=$out/vioport_vmsg.ko"
}

main "$@"
