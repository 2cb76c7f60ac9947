#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# cross-build.sh [--list] [TARGET...]
#
# Builds the freestanding layers (src/core, src/dev, src/sim, src/vmsg, and src/vhost_user, the
# vhost-user protocol engine) for the bare-metal cores the firmware runs on, and checks
# that they stay freestanding.
#
# TARGET is a core (r5f-arm, r5f-thumb, m4) or "includes"; the default is all of
# them. For a core: compile every .c file of each component, archive one static
# library per component, print a size table, and check the objects' undefined
# symbols and writable data. "includes" checks every #include, following project
# headers into include/. --list prints the target names, one a line.
#
# Output goes to build-cross/<core>/<component>/ and
# build-cross/<core>/libvioport_<component>.a. Exits non-zero on any failure.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CROSS=${CROSS:-arm-none-eabi-}
OUT=build-cross
COMPONENTS=(core dev sim vmsg vhost_user)
CORES=(r5f-arm r5f-thumb m4)

declare -A CORE_FLAGS=(
	[r5f-arm]="-mcpu=cortex-r5 -mfloat-abi=hard -mfpu=vfpv3-d16 -marm"
	[r5f-thumb]="-mcpu=cortex-r5 -mfloat-abi=hard -mfpu=vfpv3-d16 -mthumb"
	[m4]="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
)

# The freestanding code's flags, from the one list the three builds share.
mapfile -t CFLAGS < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' scripts/freestanding.flags)

ALLOWED_SYSTEM_HEADERS=(stdint.h stddef.h stdbool.h string.h stdatomic.h)

# Library functions the freestanding code may call: GCC itself may emit calls to
# these, and every C runtime (newlib, a vendor's, the project's own) has them.
ALLOWED_LIBC_SYMBOLS=(memcpy memset memmove memcmp strlen)

fail() {
	echo "error: $*" >&2
}

# Prints the .c files of a component, sorted so output is stable.
component_sources() {
	local dir=src/$1
	[[ -d $dir ]] || return 0
	find "$dir" -type f -name '*.c' | LC_ALL=C sort
}

# True for a symbol that libgcc provides: the ARM EABI run-time helpers and the
# generic ones named like __popcountsi2 or __udivmoddi4.
is_compiler_helper() {
	[[ $1 == __aeabi_* || $1 =~ ^__[a-z]+[sdt]i[0-9]$ ]]
}

is_allowed_libc_symbol() {
	local sym
	for sym in "${ALLOWED_LIBC_SYMBOLS[@]}"; do
		[[ $1 == "$sym" ]] && return 0
	done
	return 1
}

# Compiles every source of every component for one core. Keeps going after an
# error so one run reports every file that does not build.
compile_core() {
	local core=$1 comp src obj errors=0
	local -a flags
	read -r -a flags <<<"${CORE_FLAGS[$core]}"

	for comp in "${COMPONENTS[@]}"; do
		mkdir -p "$OUT/$core/$comp"
		while IFS= read -r src; do
			obj=$OUT/$core/$comp/${src#src/"$comp"/}
			obj=${obj%.c}.o
			mkdir -p "$(dirname "$obj")"
			if ! "${CROSS}gcc" "${flags[@]}" "${CFLAGS[@]}" -c "$src" -o "$obj"; then
				fail "$core: $src does not compile"
				errors=$((errors + 1))
			fi
		done < <(component_sources "$comp")
	done
	return $((errors > 0))
}

# Maps build-cross/<core>/<component>/x.o back to src/<component>/x.c for messages.
source_of() {
	local rel=${1#"$OUT"/*/}
	echo "src/${rel%.o}.c"
}

# Prints the objects of one component of a core, sorted.
component_objects() {
	local dir=$OUT/$1/$2
	[[ -d $dir ]] || return 0
	find "$dir" -type f -name '*.o' | LC_ALL=C sort
}

archive_core() {
	local core=$1 comp
	local -a objs
	for comp in "${COMPONENTS[@]}"; do
		mapfile -t objs < <(component_objects "$core" "$comp")
		[[ ${#objs[@]} -gt 0 ]] || continue
		# D: deterministic archive, so identical sources give identical libraries.
		"${CROSS}ar" rcsD "$OUT/$core/libvioport_$comp.a" "${objs[@]}"
	done
}

# Prints "text data bss" for the given objects, summed.
size_of() {
	"${CROSS}size" -B "$@" | awk 'NR > 1 { t += $1; d += $2; b += $3 }
		END { printf "%d %d %d\n", t, d, b }'
}

# Prints the size table of one core: every file, then each component's total,
# then the total of all components.
print_sizes() {
	local core=$1 comp obj text data bss
	local all_text=0 all_data=0 all_bss=0
	local -a objs
	local row="  %-9s %-36s %8s %8s %8s\n"

	echo "$core: ${CORE_FLAGS[$core]}"
	# shellcheck disable=SC2059 # the format is the constant above
	printf "$row" component file text data bss
	for comp in "${COMPONENTS[@]}"; do
		mapfile -t objs < <(component_objects "$core" "$comp")
		if [[ ${#objs[@]} -eq 0 ]]; then
			# shellcheck disable=SC2059
			printf "$row" "$comp" "(no sources)" - - -
			continue
		fi
		for obj in "${objs[@]}"; do
			read -r text data bss < <(size_of "$obj")
			# shellcheck disable=SC2059
			printf "$row" "$comp" "${obj#"$OUT/$core/$comp/"}" "$text" "$data" "$bss"
		done
		read -r text data bss < <(size_of "${objs[@]}")
		# shellcheck disable=SC2059
		printf "$row" "$comp" "total (libvioport_$comp.a)" "$text" "$data" "$bss"
		all_text=$((all_text + text))
		all_data=$((all_data + data))
		all_bss=$((all_bss + bss))
	done
	# shellcheck disable=SC2059
	printf "$row" all total "$all_text" "$all_data" "$all_bss"
	echo "$core: text $all_text, data $all_data, bss $all_bss"
}

# Checks that the objects of one core, taken together, need nothing but the
# allowed libc functions and compiler helpers, and that none needs libatomic.
check_symbols() {
	local core=$1 sym errors=0
	local -a objs
	mapfile -t objs < <(find "$OUT/$core" -type f -name '*.o' | LC_ALL=C sort)
	[[ ${#objs[@]} -gt 0 ]] || return 0

	# A symbol one layer calls and another defines is resolved inside the
	# freestanding code itself, so only what nothing defines is checked.
	local -A defined=()
	while read -r sym; do
		defined[$sym]=1
	done < <("${CROSS}nm" -A -g --defined-only "${objs[@]}" | awk '{ print $NF }')

	local file
	while read -r file sym; do
		file=${file%:}
		[[ -n ${defined[$sym]:-} ]] && continue
		if [[ $sym == __atomic_* || $sym == __sync_* ]]; then
			fail "$core: $(source_of "$file") calls $sym: an atomic operation the core" \
				"cannot do inline (wider than 32 bits?); there is no libatomic"
			errors=$((errors + 1))
		elif ! is_allowed_libc_symbol "$sym" && ! is_compiler_helper "$sym"; then
			fail "$core: $(source_of "$file") needs $sym, which freestanding code may not" \
				"use (allowed: ${ALLOWED_LIBC_SYMBOLS[*]}, __aeabi_* and libgcc helpers)"
			errors=$((errors + 1))
		fi
	done < <("${CROSS}nm" -A -u "${objs[@]}" | awk '{ print $1, $NF }')
	return $((errors > 0))
}

# Freestanding code keeps no global mutable state: every object has empty
# .data and .bss (constant tables go to .rodata, counted as text).
check_no_writable_data() {
	local core=$1 obj text data bss errors=0
	while IFS= read -r obj; do
		read -r text data bss < <(size_of "$obj")
		if [[ $data -ne 0 || $bss -ne 0 ]]; then
			fail "$core: $(source_of "$obj") has writable globals (data $data, bss $bss bytes):" \
				"freestanding code keeps its state in caller-provided structs"
			errors=$((errors + 1))
		fi
	done < <(find "$OUT/$core" -type f -name '*.o' | LC_ALL=C sort)
	return $((errors > 0))
}

build_core() {
	local core=$1
	if ! command -v "${CROSS}gcc" >/dev/null 2>&1; then
		fail "${CROSS}gcc not found: install gcc-arm-none-eabi (make deps)"
		return 1
	fi
	# Start empty so objects of deleted or renamed files do not linger.
	rm -rf "${OUT:?}/$core"
	mkdir -p "$OUT/$core"

	compile_core "$core" || return 1
	archive_core "$core"
	print_sizes "$core"
	local ok=0
	check_symbols "$core" || ok=1
	check_no_writable_data "$core" || ok=1
	return $ok
}

# Checks one file's #include lines: allowed system headers, "vioport/..." and a
# component's private header in the same folder. Project headers it names are appended to
# the global QUEUE so the caller checks them too. Prints one error per bad line.
check_file_includes() {
	local file=$1 from=$2 line text target errors=0
	local via=""
	[[ $file == "$from" ]] || via=" (included from $from)"

	while IFS=: read -r line text; do
		if [[ $text =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\<([^\>]+)\> ]]; then
			target=${BASH_REMATCH[1]}
			local allowed=0 h
			for h in "${ALLOWED_SYSTEM_HEADERS[@]}"; do
				[[ $target == "$h" ]] && allowed=1
			done
			if [[ $allowed -eq 0 ]]; then
				fail "$file:$line: <$target> is not freestanding" \
					"(allowed: ${ALLOWED_SYSTEM_HEADERS[*]} and \"vioport/...\")$via"
				errors=$((errors + 1))
			fi
		elif [[ $text =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"([^\"/]+\.h)\" ]] &&
			[[ -f $(dirname "$file")/${BASH_REMATCH[1]} ]]; then
			# a component's private header, next to it: checked as one of its files
			:
		elif [[ $text =~ ^[[:space:]]*#[[:space:]]*include[[:space:]]*\"(vioport/[^\"]+)\" ]]; then
			target=${BASH_REMATCH[1]}
			if [[ -f include/$target ]]; then
				QUEUE+=("include/$target")
				QUEUE_FROM+=("$from")
			else
				fail "$file:$line: \"$target\" is not in include/$via"
				errors=$((errors + 1))
			fi
		else
			fail "$file:$line: '${text#"${text%%[![:space:]]*}"}' is neither an allowed" \
				"system header nor \"vioport/...\"$via"
			errors=$((errors + 1))
		fi
	done < <(grep -n -E '^[[:space:]]*#[[:space:]]*include' "$file" || true)
	return $((errors > 0))
}

# Checks the includes of every file in the freestanding folders and of every
# project header they reach, directly or through other headers.
check_includes() {
	local comp file errors=0 i=0
	QUEUE=()
	QUEUE_FROM=()
	for comp in "${COMPONENTS[@]}"; do
		[[ -d src/$comp ]] || continue
		while IFS= read -r file; do
			QUEUE+=("$file")
			QUEUE_FROM+=("$file")
		done < <(find "src/$comp" -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort)
	done

	local -A seen=()
	local nfiles=0
	while [[ $i -lt ${#QUEUE[@]} ]]; do
		file=${QUEUE[$i]}
		local from=${QUEUE_FROM[$i]}
		i=$((i + 1))
		[[ -z ${seen[$file]:-} ]] || continue
		seen[$file]=1
		nfiles=$((nfiles + 1))
		check_file_includes "$file" "$from" || errors=$((errors + 1))
	done
	if [[ $errors -gt 0 ]]; then
		fail "includes: $errors of $nfiles files include something a freestanding build cannot rely on"
		return 1
	fi
	echo "includes: $nfiles files checked, all freestanding"
}

run_target() {
	case $1 in
	includes) check_includes ;;
	*) build_core "$1" ;;
	esac
}

main() {
	local -a targets=()
	local t
	for t in "$@"; do
		case $t in
		--list)
			printf '%s\n' "${CORES[@]}" includes
			return 0
			;;
		includes) targets+=("$t") ;;
		*)
			if [[ -z ${CORE_FLAGS[$t]:-} ]]; then
				echo "usage: $0 [--list] [${CORES[*]} includes]..." >&2
				return 2
			fi
			targets+=("$t")
			;;
		esac
	done
	[[ ${#targets[@]} -gt 0 ]] || targets=("${CORES[@]}" includes)

	local -a failed=()
	for t in "${targets[@]}"; do
		if run_target "$t"; then
			echo "cross $t: ok"
		else
			echo "cross $t: FAILED"
			failed+=("$t")
		fi
		echo
	done
	if [[ ${#failed[@]} -gt 0 ]]; then
		fail "cross build failed for: ${failed[*]}"
		return 1
	fi
}

main "$@"
