#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# amp-linux.sh [--demo] [--bench N] [--timeout SECONDS]
#
# Linux on the application cores drives the devices the Cortex-R5 firmware
# serves: one emulator, QEMU's xlnx-zcu102, runs Debian's arm64 kernel on its
# first A53 and the amp image with its console (firmware/images/amp built as
# amp-console for r5f-zcu102) on its first R5 (rpu-cpu[0]), both on the
# machine's DDR, which QEMU keeps in a shared memory-backend-file. Linux's
# device tree (written here, compiled with dtc) reserves the R5's vectors, its
# image (0x3ED00000) and the shared window (0x3EE00000, 1 MiB) and names the
# window in a "vioport,vmsg-window" node: vioport_vmsg.ko formats it, the R5
# attaches, and Linux's own virtio_blk, virtio_rng, i2c-virtio (with at24 and
# lm75), gpio-virtio, virtio_console and virtio_input drivers use the R5's
# RAM disk, entropy, I2C bus, GPIO chip, console, keys and touch panel
# (scripts/guest/tests/amp.sh): on /dev/hvc0 the guest reads the firmware's
# banner and has commands answered, one of which presses a key and two of
# which touch the panel and lift off it, events evdev_reader reads from
# /dev/input/eventN; Debian's own arm64 gpiomon (fetch-arm64.sh --gpiod, with its
# libraries and loader) receives the edges the firmware raises on jumper-in.
# Both sides poll: the R5 gets no interrupt under QEMU and the module has no
# doorbell on this binding. When the guest has removed the module, this
# script writes the exit request into the window's control words in the DDR
# file; the firmware prints its counters and ends the emulator through
# semihosting with status 37.
#
# The kernel is not booted with -kernel: QEMU's boot code for the A53 goes to
# DDR address 0, where the R5's exception vectors are (QEMU lets one overwrite
# the other). The kernel Image, the device tree and the initramfs are loaded
# with -device loader instead, with a six-instruction entry stub (x0 = device
# tree) that starts the A53; QEMU still answers the kernel's PSCI calls (the
# machine has no EL3). Debian's ZCU102 device trees need the PMU firmware for
# every clock (the UART's first), which QEMU does not model: the tree here is
# written for the scenario (docs/amp-linux.md).
#
# Prints one line per check:
#   FW-RESULT linux-zcu102 <check> PASS|FAIL <detail>
# and exits non-zero when any failed. --demo prints the guest's and the
# firmware's lines as they come; --bench N first runs
# scripts/guest/tests/amp-bench.sh: N timed GPIO sets, jumper edge round trips
# and 4 KiB reads (their figures as "BENCH r5 ..." lines). Every wait is bounded
# (--timeout, default 300 s, for the whole emulator run); the emulator is
# stopped by PID and its files removed on any exit.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

QEMU=${QEMU:-qemu-system-aarch64}
OUT=build-fw/linux-zcu102
ELF=build-fw/r5f-zcu102/amp-console.elf
DDR_SIZE=1G
WIN_OFF=0x3EE00000 # __vio_shm_base in firmware/platform/armv7r/zcu102-r5.ld
WIN_SIZE=0x100000
RPU_CPU_INDEX=4 # QEMU numbers the four A53s 0-3, then the R5s
EXIT_AMP=37
# Where the loaders put the A53's pieces in DDR (the kernel 2 MiB aligned).
STUB_ADDR=0x00100000
KERNEL_ADDR=0x00200000
DTB_ADDR=0x08000000
INITRD_ADDR=0x08200000
CTL_REQ_OFF=56 # VIO_VMSG_SHM_OFF_CTL_REQ, include/vioport/vmsg_ctl.h
CTL_EXIT=0x54495845

DEMO=false
BENCH=0
TIMEOUT=300
QPID=
TAG=linux-zcu102
NFAIL=0

say() { echo "amp-linux: $*" >&2; }

result() {
	echo "FW-RESULT $TAG $1 $2 ${*:3}"
	[[ $2 == PASS ]] || NFAIL=$((NFAIL + 1))
}

cleanup() {
	if [[ -n $QPID ]] && kill -0 "$QPID" 2>/dev/null; then
		kill "$QPID" 2>/dev/null || true
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$QPID" 2>/dev/null || break
			sleep 0.2
		done
		kill -KILL "$QPID" 2>/dev/null || true
		wait "$QPID" 2>/dev/null || true
	fi
	QPID=
	rm -f "$OUT/ddr.ram" "$OUT/qmp.sock"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Every check the run makes, so that a boot that never got there fails each by name.
CHECKS=(amp-probe amp-blk-label amp-blk-rw amp-rng amp-i2c-eeprom amp-i2c-lm75 amp-gpio-info
	amp-gpio-irq amp-gpiomon amp-console-banner amp-console-echo amp-console-status amp-input
	amp-touch amp-leave)

fail_all() {
	local c
	for c in "${CHECKS[@]}" fw-exit fw-counters; do
		result "$c" FAIL "$*"
	done
	exit 1
}

# Sets KVER, VMLINUZ, MODULES, BUSYBOX, KO, GPIOD_ROOT, I2C_KO, GPIO_KO.
prepare_inputs() {
	local line out
	out=$(scripts/guest/fetch-arm64.sh --gpiod) || return 1
	while IFS= read -r line; do
		case $line in
		KVER=*) KVER=${line#KVER=} ;;
		VMLINUZ=*) VMLINUZ=${line#VMLINUZ=} ;;
		MODULES=*) MODULES=${line#MODULES=} ;;
		BUSYBOX=*) BUSYBOX=${line#BUSYBOX=} ;;
		VIOPORT_VMSG=*) KO=${line#VIOPORT_VMSG=} ;;
		GPIOD_ROOT=*) GPIOD_ROOT=${line#GPIOD_ROOT=} ;;
		esac
	done <<<"$out"
	out=$(scripts/guest/build-modules.sh --arm64 --kver "$KVER") || return 1
	while IFS= read -r line; do
		case $line in
		I2C_VIRTIO=*) I2C_KO=${line#I2C_VIRTIO=} ;;
		GPIO_VIRTIO=*) GPIO_KO=${line#GPIO_VIRTIO=} ;;
		esac
	done <<<"$out"
	[[ -f ${VMLINUZ:-} && -f ${KO:-} && -d ${GPIOD_ROOT:-} && -f ${I2C_KO:-} && -f ${GPIO_KO:-} ]]
}

# The guest's userland: busybox, the modules, amp_tool and evdev_reader,
# Debian's arm64 gpiomon and gpioset with their libraries and loader, /init
# and the test.
build_initramfs() {
	local prog
	for prog in amp_tool evdev_reader; do
		aarch64-linux-gnu-gcc-12 -static -O2 -Wall -Wextra -Werror -std=c11 \
			-o "$OUT/$prog" "tests/guest/$prog.c" || return 1
	done
	scripts/guest/mkinitramfs.sh --modules "$MODULES" --output "$OUT/initrd.gz" \
		--busybox "$BUSYBOX" --module at24 --module lm75 --module virtio_console \
		--module virtio_input --module evdev --module-file "$KO" \
		--module-file "$I2C_KO" --module-file "$GPIO_KO" --host-bin "$ROOT/$OUT/amp_tool" \
		--host-bin "$ROOT/$OUT/evdev_reader" \
		--foreign-root "$GPIOD_ROOT" --foreign-bin usr/bin/gpiomon --foreign-bin usr/bin/gpioset \
		--test scripts/guest/tests/amp.sh --test scripts/guest/tests/amp-bench.sh >&2
}

# The A53's entry: x0 = the device tree, x1-x3 = 0, then the kernel (the
# arm64 boot protocol).
build_stub() {
	cat >"$OUT/stub.S" <<-EOS
		ldr x0, 1f
		mov x1, xzr
		mov x2, xzr
		mov x3, xzr
		ldr x4, 2f
		br x4
		.balign 8
		1: .quad $DTB_ADDR
		2: .quad $KERNEL_ADDR
	EOS
	aarch64-linux-gnu-as -o "$OUT/stub.o" "$OUT/stub.S" &&
		aarch64-linux-gnu-objcopy -O binary "$OUT/stub.o" "$OUT/stub.bin"
}

# The device tree of what Linux uses of the ZCU102: one A53, the GIC-400,
# the generic timer, UART0 (a fixed clock: QEMU's PMU firmware interface is
# not there, so the zynqmp clock driver is not used), PSCI, DDR with the
# R5's ranges reserved, and the window.
build_dtb() {
	local initrd_end append=$1
	initrd_end=$(printf '0x%x' $((INITRD_ADDR + $(stat -c %s "$OUT/initrd.gz"))))
	cat >"$OUT/zcu102-amp.dts" <<-EOF
		/dts-v1/;
		/ {
			compatible = "xlnx,zynqmp-zcu102", "xlnx,zynqmp";
			model = "ZynqMP ZCU102 (QEMU): Linux on APU 0, vioport amp on RPU 0";
			#address-cells = <2>;
			#size-cells = <2>;
			interrupt-parent = <&gic>;

			cpus {
				#address-cells = <1>;
				#size-cells = <0>;
				cpu@0 {
					compatible = "arm,cortex-a53";
					device_type = "cpu";
					enable-method = "psci";
					reg = <0>;
				};
			};
			psci {
				compatible = "arm,psci-0.2";
				method = "smc";
			};
			memory@0 {
				device_type = "memory";
				reg = <0x0 0x0 0x0 0x40000000>;
			};
			reserved-memory {
				#address-cells = <2>;
				#size-cells = <2>;
				ranges;
				rpu_vectors: rpu-vectors@0 {
					reg = <0x0 0x0 0x0 0x1000>;
					no-map;
				};
				rpu_image: rpu-image@3ed00000 {
					reg = <0x0 0x3ed00000 0x0 0x100000>;
					no-map;
				};
				vmsg_window: window@3ee00000 {
					reg = <0x0 $WIN_OFF 0x0 $WIN_SIZE>;
					no-map;
				};
			};
			timer {
				compatible = "arm,armv8-timer";
				interrupts = <1 13 0xf08>, <1 14 0xf08>, <1 11 0xf08>, <1 10 0xf08>;
			};
			gic: interrupt-controller@f9010000 {
				compatible = "arm,gic-400";
				#interrupt-cells = <3>;
				#address-cells = <0>;
				interrupt-controller;
				reg = <0x0 0xf9010000 0x0 0x10000>, <0x0 0xf9020000 0x0 0x20000>,
				      <0x0 0xf9040000 0x0 0x20000>, <0x0 0xf9060000 0x0 0x20000>;
				interrupts = <1 9 0xf04>;
			};
			uart_clk: clock-100m {
				compatible = "fixed-clock";
				#clock-cells = <0>;
				clock-frequency = <100000000>;
			};
			serial@ff000000 {
				compatible = "xlnx,zynqmp-uart", "cdns,uart-r1p12";
				reg = <0x0 0xff000000 0x0 0x1000>;
				interrupts = <0 21 4>;
				clocks = <&uart_clk>, <&uart_clk>;
				clock-names = "uart_clk", "pclk";
			};
			vioport-window {
				compatible = "vioport,vmsg-window";
				memory-region = <&vmsg_window>;
			};
			chosen {
				bootargs = "$append";
				stdout-path = "/serial@ff000000:115200n8";
				linux,initrd-start = <0x0 $INITRD_ADDR>;
				linux,initrd-end = <0x0 $initrd_end>;
			};
		};
	EOF
	dtc -q -I dts -O dtb -o "$OUT/zcu102-amp.dtb" "$OUT/zcu102-amp.dts"
}

# Sends QMP commands (one JSON object a line on stdin) to the paused emulator.
qmp() {
	timeout 20 python3 -c '
import json, socket, sys, time
path = sys.argv[1]
deadline = time.time() + 15
while True:
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        break
    except OSError:
        if time.time() > deadline:
            sys.exit("no QMP socket at " + path)
        time.sleep(0.1)
f = s.makefile("rw")
def reply():
    while True:
        m = json.loads(f.readline())
        if "event" not in m:
            return m
reply()
for line in ["{\"execute\": \"qmp_capabilities\"}"] + sys.stdin.read().splitlines():
    f.write(line + "\n")
    f.flush()
    r = reply()
    if "error" in r:
        sys.exit("QMP " + line + ": " + r["error"]["desc"])
' "$OUT/qmp.sock"
}

# Writes the exit request (status EXIT_AMP) into the window's control words.
request_exit() {
	python3 - "$OUT/ddr.ram" $((WIN_OFF + CTL_REQ_OFF)) "$EXIT_AMP" "$CTL_EXIT" <<-'EOP'
		import mmap, struct, sys
		path, off, status, req = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4], 0)
		with open(path, "r+b") as f:
		    m = mmap.mmap(f.fileno(), 0)
		    m[off + 4:off + 8] = struct.pack("<I", status)
		    m[off:off + 4] = struct.pack("<I", req)
		    m.close()
	EOP
}

main() {
	local serial=$OUT/serial.log log=$OUT/qemu.log append status=0 line stop_sent=false
	local end name verdict detail
	while [[ $# -gt 0 ]]; do
		case $1 in
		--demo) DEMO=true ;;
		--bench)
			BENCH=${2:?--bench needs a count}
			shift
			;;
		--timeout)
			TIMEOUT=${2:?--timeout needs seconds}
			shift
			;;
		-h | --help)
			sed -n '4,42s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
			exit 0
			;;
		*)
			say "unknown argument '$1' (try --help)"
			exit 2
			;;
		esac
		shift
	done
	command -v "$QEMU" >/dev/null 2>&1 || fail_all "no $QEMU: install Debian's qemu-system-arm"
	command -v dtc >/dev/null 2>&1 || fail_all "no dtc: install Debian's device-tree-compiler"
	command -v aarch64-linux-gnu-gcc-12 >/dev/null 2>&1 ||
		fail_all "no aarch64-linux-gnu-gcc-12: install Debian's gcc-12-aarch64-linux-gnu"
	mkdir -p "$OUT"
	rm -f "$serial" "$log"
	bash scripts/firmware.sh build r5f-zcu102 >&2 || fail_all "the r5f-zcu102 firmware does not build"
	prepare_inputs || fail_all "the arm64 kernel, vioport_vmsg.ko, Debian's arm64 gpiod or the virtio I2C/GPIO modules are missing (see above)"
	build_initramfs || fail_all "the initramfs does not build (see above)"
	build_stub || fail_all "the A53 entry stub does not assemble"
	append="console=ttyPS0,115200 rdinit=/init panic=-1 loglevel=4 vioport.tests=amp"
	if [[ $BENCH -gt 0 ]]; then
		append="${append/vioport.tests=amp/vioport.tests=amp-bench,amp} vioport.bench=$BENCH"
		CHECKS+=(amp-bench)
	fi
	build_dtb "$append" || fail_all "dtc refused the device tree ($OUT/zcu102-amp.dts)"

	say "xlnx-zcu102: Linux $KVER on apu-cpu[0], the amp firmware on rpu-cpu[0], DDR in $OUT/ddr.ram"
	rm -f "$OUT/ddr.ram" "$OUT/qmp.sock"
	QEMU_AUDIO_DRV=none timeout --kill-after=5 "$TIMEOUT" "$QEMU" \
		-M xlnx-zcu102,memory-backend=ddr -smp 6 -m "$DDR_SIZE" \
		-object "memory-backend-file,id=ddr,size=$DDR_SIZE,share=on,mem-path=$OUT/ddr.ram" \
		-device "loader,file=$ELF,cpu-num=$RPU_CPU_INDEX" \
		-device "loader,file=$VMLINUZ,addr=$KERNEL_ADDR,force-raw=on" \
		-device "loader,file=$OUT/zcu102-amp.dtb,addr=$DTB_ADDR,force-raw=on" \
		-device "loader,file=$OUT/initrd.gz,addr=$INITRD_ADDR,force-raw=on" \
		-device "loader,file=$OUT/stub.bin,addr=$STUB_ADDR,cpu-num=0,force-raw=on" \
		-semihosting-config enable=on,target=native \
		-display none -monitor none -serial "file:$serial" -serial null \
		-qmp "unix:$OUT/qmp.sock,server=on,wait=off" -S >"$log" 2>&1 </dev/null &
	QPID=$!
	# The R5s start powered off: power rpu-cpu[0] on; a reset applies it and
	# the loaders' entry points; cont starts the machine.
	qmp <<-'EOF' || fail_all "QMP failed: $(tail -n 1 "$log")"
		{"execute": "qom-set", "arguments": {"path": "/machine/soc/rpu-cluster/rpu-cpu[0]", "property": "start-powered-off", "value": false}}
		{"execute": "system_reset"}
		{"execute": "cont"}
	EOF

	# Follows the console until the guest is ready for the stop, then asks the
	# firmware to exit; the emulator ends with the firmware's status.
	end=$((SECONDS + TIMEOUT))
	local seen=0
	while kill -0 "$QPID" 2>/dev/null && ((SECONDS < end)); do
		if [[ $DEMO == true && -f $serial ]]; then
			local n
			n=$(wc -l <"$serial")
			if ((n > seen)); then
				sed -n "$((seen + 1)),${n}p" "$serial" | tr -d '\r' | sed 's/^/  A53| /'
				seen=$n
			fi
		fi
		if [[ $stop_sent == false ]] && grep -qa '^VIOPORT-INFO amp-stop-ready' "$serial" 2>/dev/null; then
			request_exit
			stop_sent=true
		fi
		sleep 0.2
	done
	if kill -0 "$QPID" 2>/dev/null; then
		cleanup
		status=124
	else
		wait "$QPID" || status=$?
		QPID=
	fi

	local -A got=()
	while read -r name verdict detail; do
		[[ -n ${name:-} ]] || continue
		got[$name]=1
		result "$name" "$verdict" "$detail"
	done < <(tr -d '\r' <"$serial" | sed -n 's/^VIOPORT-RESULT //p')
	for name in "${CHECKS[@]}"; do
		[[ -n ${got[$name]:-} ]] ||
			result "$name" FAIL "no result from the guest ($(if [[ $status -eq 124 ]]; then echo "timed out after $TIMEOUT s"; else echo "emulator exit status $status"; fi); last console line: $(tr -d '\r' <"$serial" 2>/dev/null | grep -av '^$' | tail -n 1))"
	done
	if [[ $status -eq $EXIT_AMP && $stop_sent == true ]] && grep -q '^amp: served' "$log"; then
		result fw-exit PASS "the guest removed the module, the exit request in the window ended the R5 with status $EXIT_AMP (semihosting)"
	else
		result fw-exit FAIL "want status $EXIT_AMP after the stop request (sent: $stop_sent), got $status (log: $log)"
	fi
	# The firmware's own count of what it served: each device was used.
	line=$(grep -m1 '^amp: blk ' "$log" || true)
	if [[ $line =~ blk\ ([0-9]+)\ reads\ ([0-9]+)\ writes.*rng\ ([0-9]+)\ bytes.*gpio\ ([0-9]+)\ operations\ ([0-9]+)\ interrupts.*i2c\ ([0-9]+)\ messages.*console\ ([0-9]+)\ lines\ in.*input\ ([0-9]+)\ reports.*touch\ ([0-9]+)\ reports ]] &&
		((BASH_REMATCH[1] > 0 && BASH_REMATCH[2] > 0 && BASH_REMATCH[3] > 0 && BASH_REMATCH[4] > 0 &&
			BASH_REMATCH[5] >= 2 && BASH_REMATCH[6] > 0 && BASH_REMATCH[7] >= 5 && BASH_REMATCH[8] >= 2 && BASH_REMATCH[9] >= 2)); then
		result fw-counters PASS "${line#amp: }"
	else
		result fw-counters FAIL "want reads, writes, rng bytes, gpio operations, 2+ interrupts, i2c messages, 5+ console lines, 2+ keyboard and 2+ touch reports counted by the R5: '${line:-no counters}'"
	fi
	if [[ $DEMO == true ]]; then
		echo
		echo "== what the R5 printed (semihosting)"
		grep '^amp:' "$log" | sed 's/^/  R5| /'
	fi
	tr -d '\r' <"$serial" | sed -n 's/^VIOPORT-INFO amp-bench-\([a-z-]*\) /BENCH r5 \1 /p'
	[[ $NFAIL -eq 0 ]] || {
		say "$NFAIL checks failed: console $serial, emulator $log"
		exit 1
	}
}

main "$@"
