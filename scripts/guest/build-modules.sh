#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# build-modules.sh [--kver RELEASE] [--offline] [--arm64]
#
# Builds the virtio I2C and GPIO drivers (i2c-virtio.ko, gpio-virtio.ko) and
# the GPIO simulator (gpio-sim-vp.ko) for the guest tier's kernel and prints
# their paths, one KEY=VALUE per line on standard output:
#
#   KVER=6.1.0-56-amd64
#   I2C_VIRTIO=/root/.cache/vioport/modules/6.1.0-56-amd64/build/i2c-virtio.ko
#   GPIO_VIRTIO=/root/.cache/vioport/modules/6.1.0-56-amd64/build/gpio-virtio.ko
#   GPIO_SIM=/root/.cache/vioport/modules/6.1.0-56-amd64/build/gpio-sim-vp.ko
#
# Debian's kernels do not build I2C_VIRTIO nor GPIO_VIRTIO. The two drivers
# are built here, unmodified, out of tree: drivers/i2c/busses/i2c-virtio.c and
# drivers/gpio/gpio-virtio.c are taken from Debian's linux-source-<x.y>
# package and compiled against the same kernel's linux-headers-<release>,
# linux-headers-<abi>-common and linux-kbuild-<x.y> packages, all of the
# exact version of the kernel package fetch-kernel.sh uses. The packages are
# fetched with `apt-get download` and unpacked with `dpkg -x` into
# ${XDG_CACHE_HOME:-$HOME/.cache}/vioport/modules/<release>/; nothing is
# installed. Only the first run downloads (about 160 MB, of which only the
# listed source files are kept); later runs reuse the built modules, and
# rebuild them only when one of their inputs is newer. When the list of
# source files changes, linux-source-<x.y> alone is downloaded again.
#
# Debian's kernels have neither GPIO_SIM nor IRQ_SIM either: gpio-sim-vp.ko
# is the kernel's unmodified drivers/gpio/gpio-sim.c linked with its
# kernel/irq/irq_sim.c. The one symbol irq_sim.c uses that the kernel does not
# export to modules, irq_to_desc, is redirected by a header force-included
# into that object (scripts/guest/kmod/irq-sim-shim.h).
#
#   --kver RELEASE  build for this kernel release (such as 6.1.0-56-amd64)
#                   instead of the one fetch-kernel.sh resolves
#   --offline       never touch the network: the packages must be cached
#   --arm64         build i2c-virtio.ko and gpio-virtio.ko for the arm64
#                   kernel fetch-arm64.sh boots (the newest Debian 6.1 arm64
#                   release, or --kver's), cross-compiled with gcc-12-aarch64-linux-gnu
#                   against the headers build-kmod.sh --release fetches, from
#                   the same sources (the amd64 build's, of the same Debian
#                   version), into ${XDG_CACHE_HOME:-$HOME/.cache}/vioport/
#                   arm64-modules/<release>/; prints KVER=, I2C_VIRTIO=,
#                   GPIO_VIRTIO=
#
# The build needs make and the compiler the kernel was built with (gcc-12 for
# Debian 12's kernels). Progress and errors go to standard error.
set -euo pipefail

GUEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/vioport/modules
KERNEL_CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/vioport/kernel

# The drivers, as paths inside the kernel source tree, with the private
# headers they include (gpio-sim.c includes gpiolib.h; the others only
# <linux/...> and <uapi/linux/...> headers, which the headers packages carry).
SOURCES=(drivers/i2c/busses/i2c-virtio.c drivers/gpio/gpio-virtio.c
	drivers/gpio/gpio-sim.c drivers/gpio/gpiolib.h kernel/irq/irq_sim.c)
MODULE_NAMES=(i2c-virtio gpio-virtio gpio-sim-vp)
SHIM=$GUEST_DIR/kmod/irq-sim-shim.h

say() { echo "build-modules: $*" >&2; }
die() {
	say "$*"
	exit 1
}

# Prints the kernel release fetch-kernel.sh resolves (fetching it if needed),
# so that the modules always match the kernel the tier boots.
resolve_kver() {
	local offline=$1 line
	local -a args=()
	[[ $offline == false ]] || args+=(--offline)
	while IFS= read -r line; do
		case $line in KVER=*) echo "${line#KVER=}" ;; esac
	done < <("$GUEST_DIR/fetch-kernel.sh" "${args[@]}")
}

# Prints the Debian version of kernel release KVER: the one fetch-kernel.sh
# unpacked (its .complete stamp), else apt's candidate for the image package.
# The headers and the source must be of exactly this version.
resolve_version() {
	local kver=$1 stamp=$KERNEL_CACHE/$1/.complete ver=""
	if [[ -f $stamp ]]; then
		ver=$(sed -n 's/^Version: //p' "$stamp")
	fi
	local pkg
	for pkg in "linux-image-$kver-unsigned" "linux-image-$kver"; do
		[[ -z $ver ]] || break
		ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: //p')
		[[ $ver != "(none)" ]] || ver=""
	done
	echo "$ver"
}

# Prints the package names, one a line, for release KVER (6.1.0-56-amd64):
# the flavour's headers, the ABI's common headers, and the x.y kbuild tools
# and source.
package_names() {
	local kver=$1 abi=${1%-*} xy
	xy=$(echo "$kver" | cut -d. -f1,2)
	echo "linux-headers-$kver"
	echo "linux-headers-$abi-common"
	echo "linux-kbuild-$xy"
	echo "linux-source-$xy"
}

# True when apt can download PACKAGE at exactly VERSION.
has_version() {
	apt-cache madison "$1" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' |
		grep -qxF "$2"
}

# Downloads the four packages at VERSION into DIR/debs, unpacks the headers
# and kbuild packages into DIR/root, takes the drivers out of the source
# tarball into DIR/src and deletes the debs (the source package is large and
# only two of its files are needed). Works in a temporary directory renamed
# into place when complete, so an interrupted run leaves nothing half done.
fetch_inputs() {
	local kver=$1 version=$2 dir=$3 work pkg deb xy tarball
	local -a pkgs
	mapfile -t pkgs < <(package_names "$kver")
	xy=$(echo "$kver" | cut -d. -f1,2)
	for pkg in "${pkgs[@]}"; do
		has_version "$pkg" "$version" ||
			die "apt cannot download $pkg at version $version (run apt-get update?)"
	done

	mkdir -p "$CACHE_ROOT"
	work=$(mktemp -d "$CACHE_ROOT/.fetch-XXXXXX")
	# shellcheck disable=SC2064 # the path is fixed now, on purpose
	trap "rm -rf '$work'" EXIT
	mkdir -p "$work/debs" "$work/root" "$work/src"

	say "downloading ${pkgs[*]} ($version) from the Debian archive"
	# As root, apt downloads as the user _apt, who cannot reach a cache in
	# root's home: download as root instead of opening the directory up.
	local -a opts=(-q)
	[[ $(id -u) -ne 0 ]] || opts+=(-o APT::Sandbox::User=root)
	(cd "$work/debs" && apt-get download "${opts[@]}" "${pkgs[@]/%/=$version}" >&2) ||
		die "apt-get download failed"

	for deb in "$work"/debs/linux-{headers,kbuild}-*.deb; do
		dpkg -x "$deb" "$work/root"
	done
	extract_sources "$work" "$xy"
	rm -rf "$work/debs"

	for pkg in "${pkgs[@]}"; do
		echo "$pkg=$version"
	done >"$work/.complete"

	rm -rf "$dir"
	mv "$work" "$dir"
	trap - EXIT

	# The tier boots only the newest kernel (fetch-kernel.sh keeps no other):
	# modules for older releases are of no further use.
	local old
	for old in "$CACHE_ROOT"/*/; do
		old=$(basename "$old")
		if [[ $old != "$kver" ]]; then
			say "removing the modules of the older kernel $old"
			rm -rf "${CACHE_ROOT:?}/$old"
		fi
	done
}

# Unpacks the linux-source deb in DIR/debs and takes the SOURCES members of
# its tarball into DIR/src (only those: the whole tree is over a gigabyte
# unpacked); records the list in DIR/.members.
extract_sources() {
	local dir=$1 xy=$2 tarball
	rm -rf "$dir/source"
	dpkg -x "$dir"/debs/linux-source-*.deb "$dir/source"
	tarball=$(find "$dir/source/usr/src" -maxdepth 1 -name "linux-source-$xy.tar.*" | head -n 1)
	[[ -n $tarball ]] || die "linux-source-$xy has no usr/src/linux-source-$xy.tar.*"
	say "extracting ${SOURCES[*]} from $(basename "$tarball")"
	tar -xf "$tarball" -C "$dir/src" --strip-components=1 \
		"${SOURCES[@]/#/linux-source-$xy/}" ||
		die "the drivers are not in $(basename "$tarball")"
	rm -rf "$dir/source"
	printf '%s\n' "${SOURCES[@]}" >"$dir/.members"
}

# True when DIR/src holds exactly the SOURCES members (a cache made by an
# older copy of this script may hold fewer).
sources_current() {
	local dir=$1
	[[ -f $dir/.members ]] && [[ $(cat "$dir/.members") == "$(printf '%s\n' "${SOURCES[@]}")" ]]
}

# Downloads linux-source-<x.y> of the cached VERSION again and replaces
# DIR/src with the members now listed, in a temporary directory renamed into
# place when complete.
refresh_sources() {
	local kver=$1 dir=$2 xy version work
	xy=$(echo "$kver" | cut -d. -f1,2)
	version=$(sed -n "s/^linux-source-$xy=//p" "$dir/.complete")
	[[ -n $version ]] || die "$dir/.complete names no linux-source-$xy version"
	has_version "linux-source-$xy" "$version" ||
		die "apt cannot download linux-source-$xy at version $version (run apt-get update?)"
	work=$(mktemp -d "$CACHE_ROOT/.src-XXXXXX")
	# shellcheck disable=SC2064 # the path is fixed now, on purpose
	trap "rm -rf '$work'" EXIT
	mkdir -p "$work/debs" "$work/src"
	say "the source list changed: downloading linux-source-$xy ($version) again"
	local -a opts=(-q)
	[[ $(id -u) -ne 0 ]] || opts+=(-o APT::Sandbox::User=root)
	(cd "$work/debs" && apt-get download "${opts[@]}" "linux-source-$xy=$version" >&2) ||
		die "apt-get download failed"
	extract_sources "$work" "$xy"
	rm -rf "$dir/src"
	mv "$work/src" "$dir/src"
	mv "$work/.members" "$dir/.members"
	rm -rf "$work"
	trap - EXIT
}

# The flavour's headers Makefile is one line, `include
# /usr/src/linux-headers-<abi>-common/Makefile`: an absolute path to where
# the package would be installed. Point it at the unpacked copy in DIR (run
# on each use, so that a cache directory that moved still builds).
fix_headers_makefile() {
	local dir=$1 kver=$2 mk
	mk=$dir/root/usr/src/linux-headers-$kver/Makefile
	[[ -f $mk ]] || die "no $mk in the headers package"
	if ! grep -q "^include $dir/root/usr/src/" "$mk"; then
		sed -i "s|^include .*/usr/src/\(linux-headers-[^/]*-common/Makefile\)$|include $dir/root/usr/src/\1|" "$mk"
	fi
	grep -q "^include $dir/root/usr/src/" "$mk" ||
		die "unexpected $mk: $(head -n 1 "$mk")"
}

# Prints the compiler the kernel was built with (the CC of the headers'
# .kernelvariables, such as gcc-12) and fails, saying what to install, when it
# is missing.
kernel_compiler() {
	local headers=$1 cc text
	cc=$(sed -n 's/^CC = .*(CROSS_COMPILE)\([^ ]*\)$/\1/p' "$headers/.kernelvariables")
	[[ -n $cc ]] || cc=gcc
	text=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$headers/.config")
	command -v "$cc" >/dev/null 2>&1 ||
		die "the kernel was built with '$text': install Debian's $cc package"
	echo "$cc"
}

# True when every built module exists and is newer than each input.
modules_current() {
	local dir=$1 m f
	for m in "${MODULE_NAMES[@]}"; do
		f=$dir/build/$m.ko
		[[ -f $f ]] || return 1
		[[ -z $(find "$dir/src" "$dir/.complete" "$SHIM" -newer "$f" -print -quit) ]] || return 1
	done
}

# Builds the modules in DIR/build: the drivers from DIR/src (kept at their
# paths in the kernel tree) side by side, with a Kbuild file naming them.
build() {
	local dir=$1 kver=$2 headers cc start f
	headers=$dir/root/usr/src/linux-headers-$kver
	cc=$(kernel_compiler "$headers")
	rm -rf "$dir/build"
	mkdir -p "$dir/build"
	for f in "${SOURCES[@]}"; do
		cp "$dir/src/$f" "$dir/build/"
	done
	cp "$SHIM" "$dir/build/"
	# The drivers' own Makefiles test CONFIG_I2C_VIRTIO, CONFIG_GPIO_VIRTIO
	# and CONFIG_GPIO_SIM, which the kernel's .config leaves unset: name the
	# objects directly. The simulator and the interrupt simulator it needs
	# make one module.
	cat >"$dir/build/Kbuild" <<-EOF
		obj-m += i2c-virtio.o gpio-virtio.o gpio-sim-vp.o
		gpio-sim-vp-y := gpio-sim.o irq_sim.o
		CFLAGS_irq_sim.o += -include \$(src)/$(basename "$SHIM")
	EOF
	say "building ${MODULE_NAMES[*]} for $kver with $cc"
	start=$SECONDS
	# CONFIG_DEBUG_INFO_BTF_MODULES= : the kernel's config asks for BTF in
	# each module, which needs pahole; the modules load without it.
	make -C "$headers" M="$dir/build" CC="$cc" \
		CONFIG_DEBUG_INFO_BTF_MODULES= -j"$(nproc)" modules >&2 ||
		die "the build failed (see above)"
	say "built in $((SECONDS - start)) s"
}

# Checks each module's vermagic against the kernel's release.
verify() {
	local dir=$1 kver=$2 m magic
	for m in "${MODULE_NAMES[@]}"; do
		magic=$(modinfo -F vermagic "$dir/build/$m.ko" 2>/dev/null ||
			tr '\0' '\n' <"$dir/build/$m.ko" | sed -n 's/^vermagic=//p')
		[[ ${magic%% *} == "$kver" ]] ||
			die "$m.ko has vermagic '$magic', the kernel is $kver"
	done
}

# The --arm64 build: the drivers' sources of the amd64 build of the same
# Debian version, compiled for the arm64 release with the cross compiler.
ARM64_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/vioport/arm64-modules
main_arm64() {
	local kver=$1 line x86="" headers out cc m magic f
	local hroot=${XDG_CACHE_HOME:-$HOME/.cache}/vioport/kmod-headers
	# Given the release (fetch-arm64.sh's) whose headers are there, no fetch.
	if [[ -z $kver || ! -f $hroot/$kver/.complete ]]; then
		while IFS= read -r line; do
			case $line in KVER=*) kver=${line#KVER=} ;; esac
		done < <("$GUEST_DIR/build-kmod.sh" --release "${kver:-6.1-arm64}")
	fi
	[[ -n $kver ]] || die "build-kmod.sh resolved no arm64 release"
	while IFS= read -r line; do
		case $line in KVER=*) x86=${line#KVER=} ;; esac
	done < <("$0")
	[[ ${x86%-amd64} == "${kver%-arm64}" ]] ||
		die "the amd64 sources are of $x86, the arm64 kernel is $kver: not the same version"
	headers=$hroot/$kver/usr/src/linux-headers-$kver
	[[ -f $headers/Makefile ]] || die "no arm64 headers in $headers"
	cc=aarch64-linux-gnu-$(sed -n 's/^CC = .*(CROSS_COMPILE)\([^ ]*\)$/\1/p' "$headers/.kernelvariables")
	command -v "$cc" >/dev/null 2>&1 ||
		die "$cc is missing: install Debian's ${cc#aarch64-linux-gnu-}-aarch64-linux-gnu"
	out=$ARM64_ROOT/$kver
	if [[ ! -f $out/i2c-virtio.ko || ! -f $out/gpio-virtio.ko ||
		-n $(find "$CACHE_ROOT/$x86/src" -newer "$out/gpio-virtio.ko" -print -quit) ]]; then
		rm -rf "$out"
		mkdir -p "$out"
		cp "$CACHE_ROOT/$x86/src/drivers/i2c/busses/i2c-virtio.c" \
			"$CACHE_ROOT/$x86/src/drivers/gpio/gpio-virtio.c" "$out/"
		echo 'obj-m += i2c-virtio.o gpio-virtio.o' >"$out/Kbuild"
		say "building i2c-virtio gpio-virtio for $kver with $cc"
		make -C "$headers" M="$out" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- CC="$cc" \
			CONFIG_DEBUG_INFO_BTF_MODULES= -j"$(nproc)" modules >&2 ||
			die "the arm64 build failed (see above)"
	fi
	for m in i2c-virtio gpio-virtio; do
		f=$out/$m.ko
		magic=$(tr '\0' '\n' <"$f" | sed -n 's/^vermagic=//p')
		[[ ${magic%% *} == "$kver" ]] || die "$m.ko has vermagic '$magic', the kernel is $kver"
	done
	echo "KVER=$kver"
	echo "I2C_VIRTIO=$out/i2c-virtio.ko"
	echo "GPIO_VIRTIO=$out/gpio-virtio.ko"
}

main() {
	local kver="" offline=false version dir arm64=false
	while [[ $# -gt 0 ]]; do
		case $1 in
		--kver)
			kver=${2:?--kver needs a release}
			shift 2
			;;
		--offline)
			offline=true
			shift
			;;
		--arm64)
			arm64=true
			shift
			;;
		-h | --help)
			sed -n '4,46s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
			exit 0
			;;
		*) die "unknown argument '$1' (try --help)" ;;
		esac
	done
	if [[ $arm64 == true ]]; then
		main_arm64 "$kver"
		return
	fi
	for tool in apt-cache apt-get dpkg make tar; do
		command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found"
	done

	# Two runs on one machine share the cache: one fills it, the other waits.
	mkdir -p "$CACHE_ROOT"
	exec 9>"$CACHE_ROOT/.lock"
	flock -w 900 9 || die "$CACHE_ROOT/.lock held by another run for 15 minutes"

	[[ -n $kver ]] || kver=$(resolve_kver "$offline")
	[[ -n $kver ]] || die "no kernel release (fetch-kernel.sh found none)"
	dir=$CACHE_ROOT/$kver

	if [[ ! -f $dir/.complete ]]; then
		[[ $offline == false ]] || die "--offline: the packages for $kver are not in $dir"
		version=$(resolve_version "$kver")
		[[ -n $version ]] || die "cannot tell the Debian version of linux-image-$kver"
		fetch_inputs "$kver" "$version" "$dir"
	else
		say "using cached $(tr '\n' ' ' <"$dir/.complete")"
		if ! sources_current "$dir"; then
			[[ $offline == false ]] || die "--offline: $dir/src lacks sources now needed"
			refresh_sources "$kver" "$dir"
		fi
	fi
	fix_headers_makefile "$dir" "$kver"

	if modules_current "$dir"; then
		say "the modules are up to date"
	else
		build "$dir" "$kver"
	fi
	verify "$dir" "$kver"

	echo "KVER=$kver"
	echo "I2C_VIRTIO=$dir/build/i2c-virtio.ko"
	echo "GPIO_VIRTIO=$dir/build/gpio-virtio.ko"
	echo "GPIO_SIM=$dir/build/gpio-sim-vp.ko"
}

main "$@"
