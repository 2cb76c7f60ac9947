#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# mkinitramfs.sh --modules DIR --output FILE [--test FILE]... [--module NAME]...
#                [--module-file KO]... [--module-copy NAME]... [--host-bin PATH]...
#                [--busybox PATH] [--foreign-root DIR --foreign-bin PATH...]
# mkinitramfs.sh --bins-only --output FILE --host-bin PATH...
#
# Builds the guest tier's initramfs: Debian's static busybox, the kernel
# modules the tests need (with everything they depend on, dependencies first),
# /init (scripts/guest/init.sh), the guest helpers and the test scripts, as a
# gzip-compressed newc cpio archive.
#
#   --modules DIR    the kernel's lib/modules/<release> (see fetch-kernel.sh)
#   --output FILE    where to write the archive
#   --test FILE      a guest test script, installed as /vioport/tests/<name>;
#                    default: every scripts/guest/tests/*.sh
#   --module NAME    one more module to load (the virtio PCI, block and entropy
#                    drivers are always there)
#   --module-file KO one more module built out of the tree (build-modules.sh),
#                    loaded after the others; what it depends on comes from
#                    DIR like any module's dependencies
#   --module-copy NAME  a module installed as /lib/modules/NAME.ko (dashes
#                    made underscores) but not loaded by /init, for a test
#                    that loads it with parameters; its dependencies are
#                    loaded as usual
#   --host-bin PATH  a dynamic host program to install in /opt/host/bin with
#                    its shared libraries; default: util-linux blkdiscard,
#                    whose -z (BLKZEROOUT) busybox lacks. "none" adds nothing.
#   --busybox PATH   the static busybox to install instead of the host's (a
#                    guest of another architecture: fetch-arm64.sh)
#   --foreign-root DIR  unpacked packages of the guest's architecture when it
#                    is not this machine's (fetch-arm64.sh --gpiod), for
#                    --foreign-bin
#   --foreign-bin PATH  a program under --foreign-root DIR (usr/bin/gpiomon),
#                    installed at the same path with the shared libraries it
#                    needs and its dynamic loader, found in DIR: ldd cannot
#                    run a foreign program, so its DT_NEEDED entries and its
#                    program interpreter are read with readelf (symbolic
#                    links kept as links, their targets copied too)
#   --bins-only      an archive of the --host-bin programs and their libraries
#                    alone (no --modules needed), to append to another: the
#                    kernel unpacks concatenated archives one over the other
#                    (run-guest.sh adds fio this way to the boots that use it)
set -euo pipefail

GUEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The drivers the guest tests use. Built-in ones (rng-core in Debian's amd64
# kernels) are skipped; the dependencies (virtio_ring, virtio_pci_modern_dev,
# virtio_pci_legacy_dev, ...) are found from the modules themselves.
MODULES=(virtio virtio_ring virtio_pci virtio_blk virtio_rng rng_core)

say() { echo "mkinitramfs: $*" >&2; }
die() {
	say "$*"
	exit 1
}

# Sets REPLY to the module name of a path or name. Names use '-' and '_'
# interchangeably: compare them with '_' only. (No subshell: it runs for each
# of the kernel's ~4000 modules.)
modname() {
	REPLY=${1##*/}
	REPLY=${REPLY%%.ko*}
	REPLY=${REPLY//-/_}
}

declare -A MOD_PATH=()   # name -> path of the .ko(.xz|.zst|.gz) under MODDIR
declare -A MOD_DEPS=()   # name -> space-separated names, from modules.dep
declare -A BUILTIN=()    # name -> 1 for modules built into the kernel
declare -A PLACED=()     # name -> 1 once in the load order
LOAD_ORDER=()

index_modules() {
	local moddir=$1 f line mod deps d
	while IFS= read -r f; do
		modname "$f"
		MOD_PATH[$REPLY]=$f
	done < <(find "$moddir/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')
	if [[ -f $moddir/modules.builtin ]]; then
		while IFS= read -r f; do
			modname "$f"
			BUILTIN[$REPLY]=1
		done <"$moddir/modules.builtin"
	fi
	# A tree where depmod ran has modules.dep; Debian's package ships none.
	if [[ -f $moddir/modules.dep ]]; then
		while IFS= read -r line; do
			modname "${line%%:*}"
			mod=$REPLY
			deps=
			for d in ${line#*:}; do
				modname "$d"
				deps+=" $REPLY"
			done
			MOD_DEPS[$mod]=$deps
		done <"$moddir/modules.dep"
	fi
}

# Writes module FILE, decompressed, to OUT: busybox insmod reads plain .ko only.
decompress_module() {
	local file=$1 out=$2
	case $file in
	*.ko) cp "$file" "$out" ;;
	*.ko.xz) xz -dc "$file" >"$out" ;;
	*.ko.zst) zstd -q -dc "$file" >"$out" ;;
	*.ko.gz) gzip -dc "$file" >"$out" ;;
	esac
}

# Prints the names a module depends on: from modules.dep when the tree has it,
# otherwise the module's own depends= field, which is what `modinfo -F depends`
# prints (read directly, so the host needs no kmod).
module_depends() {
	local name=$1 ko=$2
	if [[ -n ${MOD_DEPS[$name]+set} ]]; then
		echo "${MOD_DEPS[$name]}"
		return 0
	fi
	tr '\0' '\n' <"$ko" | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' '
}

# Places NAME in the load order after everything it depends on (depth first).
# CHAIN guards against a dependency loop in a broken tree.
place_module() {
	local name=$1 chain=$2 staging=$3 dep
	[[ -z ${PLACED[$name]:-} && -z ${BUILTIN[$name]:-} ]] || return 0
	[[ " $chain " != *" $name "* ]] || die "dependency loop: $chain $name"
	[[ -n ${MOD_PATH[$name]:-} ]] || die "module $name is neither in the tree nor built in"

	local ko=$staging/lib/modules/$name.ko
	decompress_module "${MOD_PATH[$name]}" "$ko" ||
		die "cannot decompress ${MOD_PATH[$name]} (is xz or zstd installed?)"
	for dep in $(module_depends "$name" "$ko"); do
		modname "$dep"
		place_module "$REPLY" "$chain $name" "$staging"
	done
	PLACED[$name]=1
	LOAD_ORDER+=("$name")
}

# Copies a program and the shared libraries it loads (none for a static one), at the paths the
# dynamic loader looks for them.
install_host_bin() {
	local bin=$1 staging=$2 lib
	[[ -x $bin ]] || die "--host-bin $bin: not an executable"
	mkdir -p "$staging/opt/host/bin"
	cp -L "$bin" "$staging/opt/host/bin/"
	while IFS= read -r lib; do
		mkdir -p "$staging$(dirname "$lib")"
		cp -L "$lib" "$staging$lib"
	done < <(ldd "$bin" 2>/dev/null | grep -oE '/[^ ]+' | sort -u)
}

# copy_foreign ROOT REL STAGING: ROOT/REL at STAGING/REL; a symbolic link as
# a link, then what it points to (inside ROOT), until a file.
copy_foreign() {
	local root=$1 rel=$2 staging=$3 target
	for _ in 1 2 3 4 5 6 7 8; do
		[[ -e $root/$rel || -L $root/$rel ]] || die "--foreign-root $root has no $rel"
		mkdir -p "$staging/$(dirname "$rel")"
		cp -P "$root/$rel" "$staging/$rel"
		[[ -L $root/$rel ]] || return 0
		target=$(readlink "$root/$rel")
		if [[ $target == /* ]]; then
			rel=${target#/}
		else
			rel=$(dirname "$rel")/$target
		fi
		rel=$(realpath -m -s --relative-to=/ "/$rel") # lexically: not the host's links
	done
	die "--foreign-root $root: too many symbolic links from $2"
}

# Finds a shared library of a foreign program under ROOT the way its dynamic
# loader would without a cache (the multiarch directories, then lib and
# usr/lib); prints its path relative to ROOT.
find_foreign_lib() {
	local root=$1 name=$2 d
	for d in "$root"/lib/*-linux-gnu "$root"/usr/lib/*-linux-gnu "$root/lib" "$root/usr/lib"; do
		if [[ -e $d/$name ]]; then
			echo "${d#"$root"/}/$name"
			return 0
		fi
	done
	return 1
}

# install_foreign_bin ROOT REL STAGING: the program, its loader and every
# library it needs, directly or through another library.
install_foreign_bin() {
	local root=$1 rel=$2 staging=$3 interp lib path dep
	local -a todo=("$rel")
	local -A seen=()
	command -v readelf >/dev/null 2>&1 || die "readelf not found: install Debian's binutils"
	[[ -f $root/$rel && -x $root/$rel ]] || die "--foreign-bin $rel: not an executable under $root"
	interp=$(readelf -lW "$root/$rel" | sed -n 's/.*\[Requesting program interpreter: \(.*\)\]$/\1/p')
	[[ -z $interp ]] || todo+=("${interp#/}")
	while [[ ${#todo[@]} -gt 0 ]]; do
		path=${todo[0]}
		todo=("${todo[@]:1}")
		[[ -z ${seen[$path]:-} ]] || continue
		seen[$path]=1
		copy_foreign "$root" "$path" "$staging"
		while IFS= read -r lib; do
			dep=$(find_foreign_lib "$root" "$lib") ||
				die "--foreign-bin $rel: no $lib under $root (needed by $path)"
			todo+=("$dep")
		done < <(readelf -dW "$root/$path" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p')
	done
}

# Prints the path of a statically linked busybox, or fails saying what to install.
find_busybox() {
	local bb
	for bb in /bin/busybox /usr/bin/busybox; do
		[[ -x $bb ]] || continue
		# ldd fails on a static executable: that is the one wanted.
		if ! ldd "$bb" >/dev/null 2>&1; then
			echo "$bb"
			return 0
		fi
		die "$bb is dynamically linked: install Debian's busybox-static"
	done
	die "no busybox: install Debian's busybox-static"
}

# bins_archive OUTPUT BIN...: the programs and their libraries alone.
bins_archive() {
	local output=$1 staging t
	shift
	staging=$(mktemp -d)
	# shellcheck disable=SC2064 # the path is fixed now, on purpose
	trap "rm -rf '$staging'" EXIT
	for t in "$@"; do
		install_host_bin "$t" "$staging"
	done
	write_archive "$staging" "$output"
	say "$output: $(du -k "$output" | cut -f1) KiB; programs: $*"
}

# write_archive STAGING OUTPUT: the gzip-compressed newc cpio of STAGING.
write_archive() {
	local staging=$1 output=$2
	mkdir -p "$(dirname "$output")"
	(cd "$staging" && find . -print0 | LC_ALL=C sort -z |
		cpio --quiet --null -o -H newc --owner=0:0) | gzip -1 >"$output.tmp"
	mv "$output.tmp" "$output"
}

main() {
	local moddir="" output="" arg t busybox="" foreign_root=""
	local -a tests=() host_bins=() module_files=() copy_only=() foreign_bins=()
	local default_bins=true bins_only=false
	while [[ $# -gt 0 ]]; do
		arg=$1
		if [[ $arg == --bins-only ]]; then
			bins_only=true
			shift
			continue
		fi
		[[ $arg == -h || $arg == --help || $# -ge 2 ]] || die "$arg needs a value (try --help)"
		case $arg in
		--modules) moddir=$2 ;;
		--output) output=$2 ;;
		--test) tests+=("$2") ;;
		--module) MODULES+=("$2") ;;
		--module-file) module_files+=("$2") ;;
		--module-copy) copy_only+=("$2") ;;
		--busybox) busybox=$2 ;;
		--foreign-root) foreign_root=$2 ;;
		--foreign-bin) foreign_bins+=("$2") ;;
		--host-bin)
			default_bins=false
			[[ $2 == none ]] || host_bins+=("$2")
			;;
		-h | --help)
			sed -n '4,44s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
			exit 0
			;;
		*) die "unknown argument '$arg' (try --help)" ;;
		esac
		shift 2
	done
	if [[ $bins_only == true ]]; then
		[[ -n $output && ${#host_bins[@]} -gt 0 ]] || die "--bins-only needs --output and --host-bin"
		bins_archive "$output" "${host_bins[@]}"
		return 0
	fi
	[[ -n $moddir && -n $output ]] || die "--modules and --output are required (try --help)"
	[[ ${#foreign_bins[@]} -eq 0 || -d $foreign_root ]] || die "--foreign-bin needs --foreign-root DIR"
	[[ -d $moddir/kernel ]] || die "$moddir has no kernel/ folder: not a lib/modules/<release>"
	command -v cpio >/dev/null 2>&1 || die "cpio not found: install Debian's cpio"
	if [[ ${#tests[@]} -eq 0 ]]; then
		tests=("$GUEST_DIR"/tests/*.sh)
	fi
	if [[ $default_bins == true ]]; then
		for t in /usr/sbin/blkdiscard /sbin/blkdiscard; do
			if [[ -x $t ]]; then
				host_bins+=("$t")
				break
			fi
		done
	fi

	local staging
	staging=$(mktemp -d)
	# shellcheck disable=SC2064 # the path is fixed now, on purpose
	trap "rm -rf '$staging'" EXIT
	mkdir -p "$staging"/{bin,sbin,dev,proc,sys,tmp,etc/vioport,lib/modules,vioport/tests}

	[[ -n $busybox ]] || busybox=$(find_busybox)
	cp "$busybox" "$staging/bin/busybox"
	install -m 0755 "$GUEST_DIR/init.sh" "$staging/init"
	cp "$GUEST_DIR/guest-lib.sh" "$staging/vioport/lib.sh"
	for t in "${tests[@]}"; do
		[[ -f $t ]] || die "--test $t: no such file"
		cp "$t" "$staging/vioport/tests/"
	done
	for t in "${host_bins[@]}"; do
		install_host_bin "$t" "$staging"
	done
	for t in "${foreign_bins[@]}"; do
		install_foreign_bin "$foreign_root" "$t" "$staging"
	done

	index_modules "$moddir"
	local m
	# An out-of-tree module takes the place of any module of the same name in
	# the tree; its own depends= field names its dependencies.
	for m in "${module_files[@]}"; do
		[[ -f $m && $m == *.ko ]] || die "--module-file $m: no such .ko file"
		modname "$m"
		MOD_PATH[$REPLY]=$(realpath "$m")
		unset "BUILTIN[$REPLY]" "MOD_DEPS[$REPLY]"
		MODULES+=("$REPLY")
	done
	for m in "${MODULES[@]}"; do
		modname "$m"
		place_module "$REPLY" "" "$staging"
	done
	# A copy-only module's dependencies stay in the load order; it leaves it.
	local -A skip_load=()
	for m in "${copy_only[@]}"; do
		modname "$m"
		place_module "$REPLY" "" "$staging"
		skip_load[$REPLY]=1
	done
	for m in "${LOAD_ORDER[@]}"; do
		[[ -n ${skip_load[$m]:-} ]] || echo "$m"
	done >"$staging/etc/vioport/modules"

	# The console must exist before devtmpfs is mounted, for /init's output.
	mknod -m 600 "$staging/dev/console" c 5 1 2>/dev/null || true

	write_archive "$staging" "$output"
	say "$output: $(du -k "$output" | cut -f1) KiB; modules: ${LOAD_ORDER[*]}"
}

main "$@"
