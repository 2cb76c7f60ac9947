#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# build-kmod.sh [--kver RELEASE] [--offline] [--headers DIR]
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
#   --kver RELEASE  build for this kernel release instead of the one
#                   fetch-kernel.sh resolves (passed to build-modules.sh)
#   --offline       never touch the network (passed to build-modules.sh)
#   --headers DIR   build against these kernel headers (a directory with the
#                   kernel's Makefile and include/config/kernel.release)
#                   instead of the guest tier's; no package is fetched
#
# Progress and errors go to standard error.
set -euo pipefail

GUEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$GUEST_DIR/../.." && pwd)
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/vioport/modules

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

main() {
	local kver="" headers="" line cc out log magic
	local -a pass=()
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
		-h | --help)
			sed -n '4,27s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
			exit 0
			;;
		*) die "unknown argument '$1' (try --help)" ;;
		esac
	done
	command -v make >/dev/null 2>&1 || die "'make' not found"

	if [[ -n $headers ]]; then
		[[ -f $headers/include/config/kernel.release ]] ||
			die "$headers has no include/config/kernel.release: not configured kernel headers"
		kver=$(cat "$headers/include/config/kernel.release")
	else
		while IFS= read -r line; do
			case $line in KVER=*) kver=${line#KVER=} ;; esac
		done < <("$GUEST_DIR/build-modules.sh" "${pass[@]}")
		[[ -n $kver ]] || die "build-modules.sh named no kernel release"
		headers=$CACHE_ROOT/$kver/root/usr/src/linux-headers-$kver
	fi
	[[ -f $headers/Makefile ]] || die "no kernel headers in $headers"
	cc=$(kernel_compiler "$headers")

	out=$ROOT/build-kmod/$kver
	rm -rf "$out"
	mkdir -p "$out"
	cp -r "$ROOT"/linux/Kbuild "$ROOT"/linux/*.[ch] "$ROOT"/linux/compat "$out/"
	log=$out/build.log
	say "building vioport_vmsg.ko for $kver with $cc (W=1)"
	# CONFIG_DEBUG_INFO_BTF_MODULES= : the kernel's config asks for BTF in
	# each module, which needs pahole; the module loads without it.
	if ! make -C "$headers" M="$out" VIOPORT_ROOT="$ROOT" CC="$cc" W=1 \
		CONFIG_DEBUG_INFO_BTF_MODULES= -j"$(nproc)" modules >"$log" 2>&1; then
		cat "$log" >&2
		die "the build failed (see above)"
	fi
	if grep -qi 'warning' "$log"; then
		cat "$log" >&2
		die "the build printed warnings (see above)"
	fi
	magic=$(modinfo -F vermagic "$out/vioport_vmsg.ko" 2>/dev/null ||
		tr '\0' '\n' <"$out/vioport_vmsg.ko" | sed -n 's/^vermagic=//p')
	[[ ${magic%% *} == "$kver" ]] ||
		die "vioport_vmsg.ko has vermagic '$magic', the kernel is $kver"
	say "built $out/vioport_vmsg.ko"
	echo "KVER=$kver"
	echo "VIOPORT_VMSG=$out/vioport_vmsg.ko"
}

main "$@"
