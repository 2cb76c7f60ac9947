#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# firmware.sh build [TARGET...]   build every image for each target
# firmware.sh run [TARGET...]     build, then boot each image under qemu-system-arm
# firmware.sh sizes [TARGET...]   build, then print the size table and the RAM budget
# firmware.sh run linux-zcu102    only Linux on a ZCU102 A53 with amp on its R5
# firmware.sh --list              print the target names, one a line
#
# TARGET is r5f-arm, r5f-thumb (Cortex-R5F, qemu-system-arm -M none -cpu
# cortex-r5f) or m4 (Cortex-M4, -M mps2-an386); the default is all of them.
# r5f-zcu102 (the RPU of a ZCU102: image in DDR at 0x3ED00000, window at
# 0x3EE00000) is built on request and booted by scripts/amp-linux.sh: run
# with no TARGET (or the name linux-zcu102 alone) ends with that scenario,
# Debian's arm64 kernel on a ZCU102 A53 using the R5's devices through its own
# drivers (results tagged linux-zcu102; make demo-amp shows it).
# Images (firmware/images/NAME/): selftest (the device stack over loopback),
# exitcode (exits 42: the status reaches the host), fault (an undefined
# instruction: the exception stubs report it) and amp (blk, rng, gpio and i2c
# on one virtio-msg bus in the shared window, driven from the host by
# build/tests/firmware/test_fw_vmsg over the RAM file, FW_HOST_TEST to
# override; it exits with the status the host asks for, 37). vmsg-gpio (gpio
# alone: the size figure) and amp-console (amp plus a virtio-console carrying
# its own console, a keyboard and a touch panel: what linux-zcu102 boots) are amp's source built with
# another choice of devices (IMAGE_SRC and IMAGE_DEFS below).
#
# run prints one line per result:
#   FW-RESULT <target> <check> PASS|FAIL <detail>
# and exits non-zero when any result failed. Each boot has FW_TIMEOUT seconds
# (default 60), no stdin, and its RAM in a shared memory-backend-file under
# build-fw/<target>/ that another process could map.
#
# FW_CONFIG replaces the build options of the shared code (default
# -DVIO_CONFIG_NO_PACKED: no packed-ring code, the images never offer it).
# FW_LDFLAGS adds link flags, e.g. to move the shared window:
#   FW_LDFLAGS="-Wl,--defsym=__vio_shm_base=0x21080000" firmware.sh run m4
#
# Output goes to build-fw/<target>/: objects per component, <image>.elf,
# <image>.map, <image>.log. Compiler flags are scripts/cross-build.sh's.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CROSS=${CROSS:-arm-none-eabi-}
QEMU=${QEMU:-qemu-system-arm}
OUT=build-fw
FW_TIMEOUT=${FW_TIMEOUT:-60}
TARGETS=(r5f-arm r5f-thumb m4)
IMAGES=(selftest exitcode fault amp vmsg-gpio amp-console)
# An image's build description: the folder of firmware/images/ its sources
# are in (default: its name) and the build options its sources and the
# standard simulated board are compiled with. The board (src/sim/board.c) is
# compiled for each image, as the devices it has are that image's choice:
# VIO_SIM_BOARD_WITH_BLK, _RNG, _GPIO, _I2C (default 1) and _CONSOLE, _INPUT
# and _TOUCH (default 0) in include/vioport/sim_board.h. A device left out is not linked.
declare -A IMAGE_SRC=([vmsg-gpio]=amp [amp-console]=amp)
declare -A IMAGE_DEFS=(
	[vmsg-gpio]="-DVIO_SIM_BOARD_WITH_BLK=0 -DVIO_SIM_BOARD_WITH_RNG=0 -DVIO_SIM_BOARD_WITH_I2C=0"
	[amp-console]="-DVIO_SIM_BOARD_WITH_CONSOLE=1 -DVIO_SIM_BOARD_WITH_INPUT=1 -DVIO_SIM_BOARD_WITH_TOUCH=1"
)
BOARD_SRC=src/sim/board.c
# Shared components the images link. vhost_user (the vhost-user protocol engine) is
# compiled for every target so the firmware build really builds it; an image
# links it when it calls it.
COMPONENTS=(core vmsg dev sim vhost_user)
EXIT_FAULT=125 # PLATFORM_EXIT_FAULT in firmware/platform/platform.h

declare -A TARGET_FLAGS=(
	[r5f-arm]="-mcpu=cortex-r5 -mfloat-abi=hard -mfpu=vfpv3-d16 -marm"
	[r5f-thumb]="-mcpu=cortex-r5 -mfloat-abi=hard -mfpu=vfpv3-d16 -mthumb"
	[m4]="-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16"
	[r5f-zcu102]="-mcpu=cortex-r5 -mfloat-abi=hard -mfpu=vfpv3-d16 -marm"
)
declare -A TARGET_FAMILY=([r5f-arm]=armv7r [r5f-thumb]=armv7r [m4]=armv7m [r5f-zcu102]=armv7r)
declare -A TARGET_LDSCRIPT=(
	[r5f-arm]=firmware/platform/armv7r/r5f.ld
	[r5f-thumb]=firmware/platform/armv7r/r5f.ld
	[m4]=firmware/platform/armv7m/mps2-an386.ld
	[r5f-zcu102]=firmware/platform/armv7r/zcu102-r5.ld
)

# The freestanding code's flags, from the one list the three builds share.
mapfile -t CFLAGS < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' scripts/freestanding.flags)
# Build options for the shared code in the images (FW_CONFIG="" for none):
# the images never offer packed rings, so their code is left out (src/core,
# VIO_CONFIG_NO_PACKED; the meson build and cross-build.sh keep it).
read -r -a CONFIG_FLAGS <<<"${FW_CONFIG--DVIO_CONFIG_NO_PACKED}"
# The platform layer and the images: the same, plus the platform header and
# semihosting as the console (these images run under QEMU).
FW_CFLAGS=(-Ifirmware/platform -DPLATFORM_CONSOLE_SEMIHOST -g)
# No C start files (start.S is the start-up); newlib-nano for memcpy and friends.
# shellcheck disable=SC2054 # the commas belong to -Wl, options
LDFLAGS=(-nostartfiles --specs=nano.specs -Wl,--gc-sections -Wl,--no-warn-rwx-segments)

fail() {
	echo "error: $*" >&2
}

usage() {
	sed -n '4,9p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

have_toolchain() {
	command -v "${CROSS}gcc" >/dev/null 2>&1
}

# Compiles src into obj with the target's flags and the given extra flags.
compile() {
	local target=$1 src=$2 obj=$3
	shift 3
	local -a flags
	read -r -a flags <<<"${TARGET_FLAGS[$target]}"
	mkdir -p "$(dirname "$obj")"
	"${CROSS}gcc" "${flags[@]}" "${CFLAGS[@]}" "$@" -c "$src" -o "$obj"
}

# Builds build-fw/<target>/libvioport_<comp>.a for each shared component that exists.
build_components() {
	local target=$1 comp src obj errors=0
	local -a objs
	for comp in "${COMPONENTS[@]}"; do
		[[ -d src/$comp ]] || continue
		objs=()
		while IFS= read -r src; do
			# Each image compiles the board with its own choice of devices.
			[[ $src != "$BOARD_SRC" ]] || continue
			obj=$OUT/$target/$comp/${src#src/"$comp"/}
			obj=${obj%.c}.o
			if compile "$target" "$src" "$obj" "${CONFIG_FLAGS[@]}"; then
				objs+=("$obj")
			else
				fail "$target: $src does not compile"
				errors=$((errors + 1))
			fi
		done < <(find "src/$comp" -type f -name '*.c' | LC_ALL=C sort)
		[[ ${#objs[@]} -gt 0 ]] || continue
		"${CROSS}ar" rcsD "$OUT/$target/libvioport_$comp.a" "${objs[@]}"
	done
	return $((errors > 0))
}

# Compiles the platform layer (common code and the target's family) into
# build-fw/<target>/platform/ and prints the objects.
build_platform() {
	local target=$1 src obj base
	local family=${TARGET_FAMILY[$target]}
	while IFS= read -r src; do
		base=${src#firmware/platform/}
		obj=$OUT/$target/platform/${base%.*}.o
		compile "$target" "$src" "$obj" "${FW_CFLAGS[@]}" || {
			fail "$target: $src does not compile"
			return 1
		}
		echo "$obj"
	done < <(find firmware/platform/common "firmware/platform/$family" -type f \
		\( -name '*.c' -o -name '*.S' \) | LC_ALL=C sort)
}

# Links one image from its sources and its board (both with the image's
# build options), the platform objects and the component libraries.
build_image() {
	local target=$1 image=$2 src obj comp
	shift 2
	local -a platform_objs=("$@") objs=() libs=() flags extra defs
	read -r -a flags <<<"${TARGET_FLAGS[$target]}"
	read -r -a extra <<<"${FW_LDFLAGS:-}"
	read -r -a defs <<<"${IMAGE_DEFS[$image]:-}"
	while IFS= read -r src; do
		obj=$OUT/$target/$image/$(basename "${src%.c}").o
		compile "$target" "$src" "$obj" "${FW_CFLAGS[@]}" "${defs[@]}" || {
			fail "$target: $src does not compile"
			return 1
		}
		objs+=("$obj")
	done < <(find "firmware/images/${IMAGE_SRC[$image]:-$image}" -type f -name '*.c' | LC_ALL=C sort)
	# In the sim folder, so the size table charges it to sim.
	obj=$OUT/$target/sim/board-$image.o
	compile "$target" "$BOARD_SRC" "$obj" "${CONFIG_FLAGS[@]}" "${defs[@]}" || {
		fail "$target: $BOARD_SRC does not compile for $image"
		return 1
	}
	objs+=("$obj")
	for comp in "${COMPONENTS[@]}"; do
		[[ -f $OUT/$target/libvioport_$comp.a ]] && libs+=("$OUT/$target/libvioport_$comp.a")
	done
	# The libraries are grouped: dev and sim call core, and core calls back nowhere.
	"${CROSS}gcc" "${flags[@]}" "${LDFLAGS[@]}" "${extra[@]}" -T "${TARGET_LDSCRIPT[$target]}" \
		-Wl,-Map="$OUT/$target/$image.map" -o "$OUT/$target/$image.elf" \
		"${objs[@]}" "${platform_objs[@]}" -Wl,--start-group "${libs[@]}" -Wl,--end-group || {
		fail "$target: $image does not link"
		return 1
	}
}

build_target() {
	local target=$1 image
	local -a platform_objs
	# Start empty so objects of deleted or renamed files do not linger.
	rm -rf "${OUT:?}/$target"
	mkdir -p "$OUT/$target"
	build_components "$target" || return 1
	mapfile -t platform_objs < <(build_platform "$target")
	[[ ${#platform_objs[@]} -gt 0 ]] || return 1
	for image in "${IMAGES[@]}"; do
		build_image "$target" "$image" "${platform_objs[@]}" || return 1
	done
	echo "firmware $target: built ${IMAGES[*]} in $OUT/$target/"
}

# ---------------------------------------------------------------- run

# Prints the QEMU command line that boots elf on target with its RAM in ramfile.
qemu_cmd() {
	local target=$1 elf=$2 ramfile=$3
	# shellcheck disable=SC2054 # the commas belong to QEMU options
	local -a common=(-nographic -monitor none -serial none -no-reboot
		-semihosting-config enable=on,target=native)
	case $target in
	r5f-*)
		# -M none has no RAM of its own: the 16 MiB backend sits at address 0.
		printf '%s\0' "$QEMU" -M none,memory-backend=ram -cpu cortex-r5f \
			-object "memory-backend-file,id=ram,size=16M,share=on,mem-path=$ramfile" \
			-device "loader,file=$elf,cpu-num=0" "${common[@]}"
		;;
	m4)
		# The board's main RAM is its 16 MiB PSRAM at 0x21000000, which holds
		# the shared window; code and data are in its SSRAMs.
		printf '%s\0' "$QEMU" -M mps2-an386,memory-backend=ram \
			-object "memory-backend-file,id=ram,size=16M,share=on,mem-path=$ramfile" \
			-kernel "$elf" "${common[@]}"
		;;
	esac
}

# Boots one image; prints its exit status (124: timed out). Output goes to the log.
boot() {
	local target=$1 image=$2 status=0
	local elf=$OUT/$target/$image.elf log=$OUT/$target/$image.log ram=$OUT/$target/$image.ram
	local -a cmd
	rm -f "$ram"
	mapfile -d '' -t cmd < <(qemu_cmd "$target" "$elf" "$ram")
	timeout --kill-after=5 "$FW_TIMEOUT" "${cmd[@]}" >"$log" 2>&1 </dev/null || status=$?
	echo "$status"
}

result() {
	echo "FW-RESULT $*"
	[[ $3 == PASS ]]
}

# Explains an exit status for a result line.
status_text() {
	case $1 in
	124 | 137) echo "timed out after $FW_TIMEOUT s" ;;
	*) echo "exit status $1" ;;
	esac
}

run_selftest() {
	local target=$1 status ok=0 name verdict detail
	local log=$OUT/$target/selftest.log
	local npass=0 nfail=0
	status=$(boot "$target" selftest)
	while read -r name verdict detail; do
		if [[ $verdict == PASS ]]; then
			npass=$((npass + 1))
		else
			nfail=$((nfail + 1))
		fi
		result "$target" "$name" "$verdict" "$detail" || ok=1
	done < <(sed -n 's/^CHECK //p' "$log")
	if [[ $status -eq 0 && $nfail -eq 0 && $npass -gt 0 ]]; then
		result "$target" selftest-exit PASS "status 0 after $npass checks" || ok=1
	else
		result "$target" selftest-exit FAIL \
			"$(status_text "$status"), $npass checks passed, $nfail failed (log: $log)" || ok=1
	fi
	return $ok
}

run_exitcode() {
	local target=$1 status
	status=$(boot "$target" exitcode)
	if [[ $status -eq 42 ]]; then
		result "$target" exit-status PASS "platform_exit(42) reached the host as QEMU's status 42"
	else
		result "$target" exit-status FAIL "want status 42, got $(status_text "$status")"
	fi
}

run_fault() {
	local target=$1 status line
	local log=$OUT/$target/fault.log
	status=$(boot "$target" fault)
	line=$(grep -m1 '^platform: unexpected' "$log" || true)
	if [[ $status -eq $EXIT_FAULT && -n $line ]] && ! grep -q 'still running' "$log"; then
		result "$target" fault-report PASS "status $EXIT_FAULT, \"${line#platform: }\""
	else
		result "$target" fault-report FAIL \
			"want status $EXIT_FAULT and a report, got $(status_text "$status") (log: $log)"
	fi
}

# The RAM the shared memory-backend-file backs starts at this address: a window
# at __vio_shm_base sits at file offset __vio_shm_base - RAM base.
declare -A TARGET_RAM_BASE=([r5f-arm]=0x00000000 [r5f-thumb]=0x00000000 [m4]=0x21000000
	[r5f-zcu102]=0x00000000)
# The status the host driver asks the amp image to exit with.
EXIT_AMP=37
# The host side of the amp runs (tests/firmware/test_fw_vmsg.c, built by meson).
FW_HOST_TEST=${FW_HOST_TEST:-build/tests/firmware/test_fw_vmsg}
# An emulator started in the background, killed by PID when the script ends early.
BG_PID=

kill_bg() {
	[[ -n $BG_PID ]] || return 0
	kill "$BG_PID" 2>/dev/null || true
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		kill -0 "$BG_PID" 2>/dev/null || break
		sleep 0.2
	done
	kill -KILL "$BG_PID" 2>/dev/null || true
	wait "$BG_PID" 2>/dev/null || true
	BG_PID=
}
trap kill_bg EXIT
trap 'kill_bg; exit 130' INT TERM

# Waits up to secs seconds for the background emulator and sets BG_STATUS to
# its exit status (124 when it had to be killed). It must run in this shell,
# never in $(...): only the shell that started the emulator can reap it and
# read its status.
BG_STATUS=0
wait_bg() {
	local secs=$1 i
	BG_STATUS=0
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$BG_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$BG_PID" 2>/dev/null; then
		kill_bg
		BG_STATUS=124
		return 0
	fi
	wait "$BG_PID" || BG_STATUS=$?
	BG_PID=
}

# Makes sure the host driver exists (meson builds it with everything else).
host_test() {
	if [[ ! -x $FW_HOST_TEST && -d build ]]; then
		ninja -C build tests/firmware/test_fw_vmsg >/dev/null 2>&1 || true
	fi
	[[ -x $FW_HOST_TEST ]]
}

# Prints the window's file offset and size for the image elf on target.
window_in_file() {
	local target=$1 elf=$2
	"${CROSS}nm" "$elf" | awk -v ram="${TARGET_RAM_BASE[$target]}" '
	function hex(s,    i, v) {
		v = 0
		s = tolower(s)
		sub(/^0x/, "", s)
		for (i = 1; i <= length(s); i++)
			v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v
	}
	$3 == "__vio_shm_base" { b = hex($1) }
	$3 == "__vio_shm_size" { s = hex($1) }
	END { printf "%d %d\n", b - hex(ram), s }'
}

# The amp image serving its bus to the host: the emulator in the background,
# test_fw_vmsg as the driver over the RAM file, then the stop request and the
# exit status through semihosting.
run_amp() {
	local target=$1 status=0 hstatus=0 off size name verdict detail ok=0 ncase=0
	local elf=$OUT/$target/amp.elf log=$OUT/$target/amp.log ram=$OUT/$target/amp.ram
	local hlog=$OUT/$target/amp-host.log
	local -a cmd
	if ! host_test; then
		result "$target" amp-host FAIL "no host driver at $FW_HOST_TEST (run make build)"
		return 1
	fi
	read -r off size < <(window_in_file "$target" "$elf")
	rm -f "$ram"
	mapfile -d '' -t cmd < <(qemu_cmd "$target" "$elf" "$ram")
	"${cmd[@]}" >"$log" 2>&1 </dev/null &
	BG_PID=$!
	timeout --kill-after=5 "$FW_TIMEOUT" "$FW_HOST_TEST" --ram "$ram" --offset "$off" \
		--size "$size" --exit-status "$EXIT_AMP" --timeout-ms 20000 >"$hlog" 2>&1 || hstatus=$?
	wait_bg 20
	status=$BG_STATUS
	while read -r name verdict detail; do
		ncase=$((ncase + 1))
		result "$target" "$name" "$verdict" "$detail" || ok=1
	done < <(sed -n 's/^CASE //p' "$hlog")
	if [[ $hstatus -ne 0 || $ncase -eq 0 ]]; then
		result "$target" amp-host FAIL "host driver $(status_text "$hstatus") after $ncase cases (log: $hlog)" || ok=1
	fi
	if [[ $status -eq $EXIT_AMP ]] && grep -q '^amp: served' "$log"; then
		result "$target" amp-exit PASS "stop request -> exit status $EXIT_AMP through semihosting;" \
			"$(grep -m1 '^amp: served' "$log" | sed 's/^amp: //')" || ok=1
	else
		result "$target" amp-exit FAIL "want status $EXIT_AMP and a report, got $(status_text "$status") (log: $log)" || ok=1
	fi
	return $ok
}

run_target() {
	local target=$1 ok=0
	run_selftest "$target" || ok=1
	run_exitcode "$target" || ok=1
	run_fault "$target" || ok=1
	run_amp "$target" || ok=1
	return $ok
}

# ---------------------------------------------------------------- sizes

# Prints "component text data bss" rows for one linked image, from its map file:
# every input section the link kept, charged to the component whose object it
# came from (library and start files: "libc+libgcc").
map_sizes() {
	local target=$1 map=$2
	awk -v pfx="$OUT/$target/" '
	# mawk has no strtonum.
	function hex(s,    i, v) {
		v = 0
		s = tolower(substr(s, 3))
		for (i = 1; i <= length(s); i++)
			v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
		return v
	}
	function comp_of(file,    c) {
		if (index(file, pfx) != 1)
			return "libc+libgcc"
		c = substr(file, length(pfx) + 1)
		if (c ~ /^libvioport_[a-z]+\.a\(/) {
			sub(/^libvioport_/, "", c)
			sub(/\.a\(.*/, "", c)
			return c
		}
		sub(/\/.*/, "", c)
		return c
	}
	function add(size, file,    c, kind) {
		if (outsec ~ /^\.(vectors|text|rodata|ARM\.exidx)/) kind = "text"
		else if (outsec ~ /^\.data/) kind = "data"
		else if (outsec ~ /^\.bss/) kind = "bss"
		else return
		c = comp_of(file)
		sz[c, kind] += hex(size)
		comps[c] = 1
	}
	/^Linker script and memory map/ { inmap = 1; next }
	!inmap { next }
	/^\.[A-Za-z_]/ { outsec = $1; pending = ""; next }
	/^ \.[A-Za-z_]/ || /^ COMMON/ {
		if (NF == 1) { pending = $1; next }
		if (NF >= 4 && $2 ~ /^0x/ && $3 ~ /^0x/) add($3, $4)
		pending = ""
		next
	}
	pending != "" && NF >= 3 && $1 ~ /^0x/ && $2 ~ /^0x/ { add($2, $3); pending = ""; next }
	{ pending = "" }
	END {
		for (c in comps)
			printf "%s %d %d %d\n", c, sz[c, "text"], sz[c, "data"], sz[c, "bss"]
	}' "$map"
}

# Prints the size of an output section of elf (0 when absent).
section_size() {
	"${CROSS}size" -A "$1" | awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'
}

print_sizes() {
	local target=$1 image=${2:-selftest} comp text data bss
	local elf=$OUT/$target/$image.elf map=$OUT/$target/$image.map
	local row="  %-12s %8s %8s %8s\n"
	local -A t=() d=() b=()
	while read -r comp text data bss; do
		t[$comp]=$text
		d[$comp]=$data
		b[$comp]=$bss
	done < <(map_sizes "$target" "$map")

	echo "$target: $image.elf (${TARGET_FLAGS[$target]})"
	# shellcheck disable=SC2059 # the format is the constant above
	printf "$row" component text data bss
	local sum_t=0 sum_d=0 sum_b=0
	for comp in core vmsg dev sim platform "$image" libc+libgcc; do
		if [[ $comp == vmsg && ! -d src/vmsg ]]; then
			# shellcheck disable=SC2059
			printf "$row" vmsg "(absent)" - -
			continue
		fi
		# shellcheck disable=SC2059
		printf "$row" "$comp" "${t[$comp]:-0}" "${d[$comp]:-0}" "${b[$comp]:-0}"
		sum_t=$((sum_t + ${t[$comp]:-0}))
		sum_d=$((sum_d + ${d[$comp]:-0}))
		sum_b=$((sum_b + ${b[$comp]:-0}))
	done
	read -r text data bss < <("${CROSS}size" -B "$elf" | awk 'NR == 2 { print $1, $2, $3 }')
	local stack
	stack=$(section_size "$elf" .stack)
	local img_bss=$((bss - stack))
	# shellcheck disable=SC2059
	printf "$row" "alignment" $((text - sum_t)) $((data - sum_d)) $((img_bss - sum_b))
	# shellcheck disable=SC2059
	printf "$row" "image" "$text" "$data" "$img_bss"
	echo "  RAM budget: data $data + bss $img_bss + stacks $stack = $((data + img_bss + stack)) bytes" \
		"(shared window not included: $(window_of "$elf"))"
}

# Size targets (text bytes, Thumb, -Os): (a) core + virtio-msg device side +
# GPIO device, summed from the vmsg-gpio image's link map (the sections
# --gc-sections kept of exactly those objects: src/core, src/vmsg, src/dev);
# (b) the whole four-device amp image.
TARGET_MIN_TEXT=6144
TARGET_AMP_TEXT=24576

# Prints one target line: name, measured, limit, and whether it is met.
target_line() {
	local what=$1 got=$2 limit=$3 verdict=met
	[[ $got -le $limit ]] || verdict="OVER by $((got - limit))"
	printf "  %-58s %6d / %6d bytes  %s\n" "$what" "$got" "$limit" "$verdict"
}

print_targets() {
	local target=$1 comp text data bss min=0 amp_text
	local -A t=()
	while read -r comp text data bss; do
		t[$comp]=$text
	done < <(map_sizes "$target" "$OUT/$target/vmsg-gpio.map")
	min=$((${t[core]:-0} + ${t[vmsg]:-0} + ${t[dev]:-0}))
	read -r amp_text _ < <("${CROSS}size" -B "$OUT/$target/amp.elf" | awk 'NR == 2 { print $1 }')
	echo "  size targets ($target$([[ $target == r5f-arm ]] && echo ", ARM state: the targets are for Thumb")):"
	target_line "(a) core ${t[core]:-0} + vmsg ${t[vmsg]:-0} + gpio ${t[dev]:-0} (vmsg-gpio map)" \
		"$min" "$TARGET_MIN_TEXT"
	target_line "(b) amp image: blk, rng, gpio, i2c, platform, libc" "$amp_text" "$TARGET_AMP_TEXT"
	# The other choices of devices, for comparison (no target).
	read -r amp_text _ < <("${CROSS}size" -B "$OUT/$target/vmsg-gpio.elf" | awk 'NR == 2 { print $1 }')
	printf "  %-58s %6d bytes\n" "vmsg-gpio image: gpio alone" "$amp_text"
	read -r amp_text _ < <("${CROSS}size" -B "$OUT/$target/amp-console.elf" | awk 'NR == 2 { print $1 }')
	printf "  %-58s %6d bytes\n" "amp-console image: amp plus console, keyboard, touch panel" "$amp_text"
}

# Prints the shared window's placement in elf.
window_of() {
	"${CROSS}nm" "$1" | awk '$3 == "__vio_shm_base" { b = $1 } $3 == "__vio_shm_size" { s = $1 }
		END { printf "0x%s, 0x%s bytes", b, s }'
}

# ---------------------------------------------------------------- main

main() {
	[[ $# -ge 1 ]] || usage
	local action=$1 t
	shift
	if [[ $action == --list ]]; then
		printf '%s\n' "${TARGETS[@]}"
		return 0
	fi
	case $action in build | run | sizes) ;; *) usage ;; esac

	local -a targets=()
	local linux=false
	[[ $# -gt 0 || $action != run ]] || linux=true
	if [[ $action == run && $# -eq 1 && $1 == linux-zcu102 ]]; then
		bash scripts/amp-linux.sh
		return
	fi
	for t in "$@"; do
		[[ -n ${TARGET_FLAGS[$t]:-} ]] || usage
		if [[ $t == r5f-zcu102 && $action == run ]]; then
			fail "r5f-zcu102 boots on qemu-system-aarch64 -M xlnx-zcu102: firmware.sh run linux-zcu102"
			return 2
		fi
		targets+=("$t")
	done
	[[ ${#targets[@]} -gt 0 ]] || targets=("${TARGETS[@]}")

	if ! have_toolchain; then
		fail "${CROSS}gcc not found: install gcc-arm-none-eabi and libnewlib-arm-none-eabi (make deps)"
		return 1
	fi
	if [[ $action == run ]] && ! command -v "$QEMU" >/dev/null 2>&1; then
		fail "$QEMU not found: install qemu-system-arm (make deps)"
		return 1
	fi

	local -a failed=()
	for t in "${targets[@]}"; do
		if ! build_target "$t"; then
			failed+=("$t")
			[[ $action != run ]] || result "$t" build FAIL "does not build (see above)" || true
			continue
		fi
		case $action in
		run) run_target "$t" || failed+=("$t") ;;
		sizes)
			print_sizes "$t" amp
			print_targets "$t"
			;;
		esac
	done
	# Linux on the ZCU102's A53 with the amp image on its R5 (one emulator).
	if [[ $linux == true ]] && ! bash scripts/amp-linux.sh; then
		failed+=(linux-zcu102)
	fi
	if [[ ${#failed[@]} -gt 0 ]]; then
		fail "firmware $action failed for: ${failed[*]}"
		return 1
	fi
}

main "$@"
