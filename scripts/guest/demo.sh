#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# demo.sh [--backend vioport|qsd] [--timeout SECONDS] [--keep-logs]
#
# Boots a Linux guest whose disk and entropy source are served by the vioport
# daemon, and tells what happened: the daemons it starts, what the guest's own
# virtio drivers found and did, and every check with its verdict. The guest
# is Debian's unmodified kernel under QEMU (q35, TCG) with a busybox
# initramfs; the devices are vhost-user-blk-pci and vhost-user-rng-pci.
#
# The guest writes random data over its whole disk, reads it back, discards
# and zeroes ranges, and reads /dev/hwrng; afterwards the host checks that the
# image file holds exactly what the guest read.
#
# A second boot (vioport backend only) gives the guest vioport's simulated
# GPIO chip and I2C bus: the guest blinks sim-gpio-3 while the host watches
# it on the gpio control socket, reads through at24 the message the host put
# in the EEPROM file, and reads the LM75 temperature the host set.
#
# Then, with no hypervisor at all (vioport backend only): one vioport process
# serves a GPIO chip, an rng, an I2C bus and a disk on the virtio-msg bus of a
# shared window file, and vioport-drv, a separate process, is their driver.
#
# Last, the same Linux guest drives those four devices across a window: its
# own virtio_blk, virtio_rng, i2c-virtio and gpio-virtio drivers over
# vioport's kernel module vioport_vmsg.ko, the window an ivshmem device; the
# demo prints every file the vioport process maps: the window, and nothing
# of the guest's memory.
#
#   --backend qsd   serve the disk with qemu-storage-daemon instead (the
#                   entropy checks and the second boot are then skipped): a
#                   preview without vioport
#
# Exits 0 only if every check passed (skipped ones aside).
set -euo pipefail

# shellcheck source=scripts/guest/run-guest.sh
source "$(dirname "${BASH_SOURCE[0]}")/run-guest.sh"

DEMO_PASS=0
DEMO_FAIL=0
DEMO_SKIP=0
DEMO_RESULTS=()
DEMO_BACKEND=vioport

# Progress from the helpers, indented under the step it belongs to.
guest_say() {
	echo "    ${*#basic: }"
}

# Each console line of the guest as it arrives: its own account of what it does.
demo_line() {
	case $1 in
	VIOPORT-BEGIN\ *) echo "    guest | Linux ${1#VIOPORT-BEGIN } is up, its virtio drivers are loaded" ;;
	VIOPORT-SAY\ *) echo "    guest | ${1#VIOPORT-SAY }" ;;
	VIOPORT-RESULT\ *\ FAIL\ *) echo "    guest | check failed: ${1#VIOPORT-RESULT }" ;;
	VIOPORT-END\ *) echo "    guest | done, powering off" ;;
	esac
}

# Each verdict, kept for the table at the end.
demo_result() {
	local name=${1#*/} status=$2
	shift 2
	case $status in
	PASS) DEMO_PASS=$((DEMO_PASS + 1)) ;;
	FAIL) DEMO_FAIL=$((DEMO_FAIL + 1)) ;;
	*) DEMO_SKIP=$((DEMO_SKIP + 1)) ;;
	esac
	DEMO_RESULTS+=("$(printf '  %-6s %-18s %s' "$status" "$name" "$*")")
}

# What each check means, for the table.
demo_explain() {
	cat <<'EOF'
  blk-probe         the guest found the disk with the size the image has
  blk-serial        the disk's serial number (GET_ID) is the one vioport was given
  blk-rw            random data over the whole disk reads back identical, caches dropped
  blk-discard       a discarded range reads back as zeros
  blk-write-zeroes  a range written with WRITE_ZEROES reads back as zeros
  blk-intact        nothing outside those ranges changed
  blk-fio-verify    fio's random writes from two jobs, each block checked by its crc32c, with flushes
  blk-fio-trim      fio's trims then writes; trimmed blocks read as zeros, the others verify
  blk-fio-queues    every queue of the disk issued requests during fio
  blk-host-image    on the host, the image file holds exactly what the guest read
  rng-current       Linux picked the virtio entropy device as its hardware RNG
  rng-read          /dev/hwrng delivers bytes, not all zero, different each read
  backend-*         each daemon served the guest and stopped cleanly
  demo-gpio-blink   the guest drove sim-gpio-3 high, low, high, low with gpioset
  demo-gpio-host    the daemon saw those four changes (gpio get on its control socket)
  demo-eeprom       the guest read, through at24, the message the host put in the EEPROM
  demo-lm75         the guest's lm75 driver reads the temperature the host set
  vmsg-list         vioport-drv finds the four devices on the window's bus
  vmsg-blk          a block written through the window reads back, and is in the image file
  vmsg-rng          the rng device gives bytes through the window
  vmsg-i2c          the EEPROM keeps what the driver wrote; the LM75 reads what the host set
  vmsg-gpio-irq     an edge the host drives on a simulated line reaches the waiting driver
  vmsg-daemon       the daemon served every driver run and stopped cleanly
  vmsg-probe        vioport_vmsg.ko registered the four devices, each bound to its own driver
  vmsg-dma          each uses the DMA API (ACCESS_PLATFORM): rings and buffers go through the window
  blk-mq-*          two queues, written from two CPUs at once, read back
  gpio-irq-edge     gpiomon got the edge the host drove on the control socket
  vmsg-clean        the module logged no dropped message, broken device or warning
  vmsg-maps         the vioport process mapped the window file and no guest memory
EOF
}

# Prints the output level (0 or 1) the driver last set on LINE, from the gpio
# control socket ("ok LEVEL dir=DIR output=O input=I changes=N"); fails on no answer.
demo_gpio_level() {
	local reply
	reply=$(guest_control gpio "gpio get $1") || return 1
	[[ $reply =~ output=([01]) ]] || return 1
	echo "${BASH_REMATCH[1]}"
}

# Runs in the background during the second boot: polls LINE on the control
# socket and tells each change it sees, also appending it to FILE.
demo_gpio_watch() {
	local line=$1 file=$2 last level word
	trap - EXIT INT TERM
	last=$(demo_gpio_level "$line") || last=""
	while true; do
		if level=$(demo_gpio_level "$line") && [[ -n $last && $level != "$last" ]]; then
			word=low
			[[ $level == 0 ]] || word=high
			echo "    host  | sees sim-gpio-$line go $word"
			echo "$word" >>"$file"
		fi
		[[ -z ${level:-} ]] || last=$level
		sleep 0.1
	done
}

# The second boot: vioport's simulated GPIO chip and I2C bus. The host fills
# the EEPROM with a message and sets the LM75; the guest blinks a line while
# the host watches it, then reads both I2C devices.
demo_i2c_gpio() {
	local v=demo-i2c-gpio line=$GUEST_GPIO_OUT msg="hello from the host EEPROM"
	local serial=$GUEST_TMP/demo-i2c-gpio-serial.log seen=$GUEST_TMP/gpio-seen
	local tests=(demo-gpio-blink demo-gpio-host demo-eeprom demo-lm75 backend-i2c backend-gpio)
	local dev reply watch="" got
	GUEST_BOOT=""
	GUEST_HOST=()
	GUEST_DOWN=()
	GUEST_QEMU=()
	: >"$seen"
	: >"$serial"
	if [[ -n $GUEST_I2C_GPIO_DOWN ]]; then
		GUEST_DOWN[blk]=$GUEST_I2C_GPIO_DOWN
		GUEST_DOWN[i2c]=$GUEST_I2C_GPIO_DOWN
		GUEST_DOWN[gpio]=$GUEST_I2C_GPIO_DOWN
		GUEST_BOOT=$GUEST_I2C_GPIO_DOWN
		for t in "${tests[@]}"; do
			guest_emit "$v/$t" FAIL "$GUEST_I2C_GPIO_DOWN"
		done
		return 0
	fi
	# The message, then erased bytes up to the EEPROM's 256.
	{
		printf '%s' "$msg"
		head -c $((256 - ${#msg})) /dev/zero | tr '\0' '\377'
	} >"$GUEST_TMP/eeprom.bin"
	echo "    eeprom.bin: \"$msg\", then erased bytes"
	echo "    starting: vioport gpio --socket-path gpio.sock --device-list s8 --control gpio.ctl"
	echo "    starting: vioport i2c --socket-path i2c.sock --device-list sim --eeprom-file eeprom.bin --control i2c.ctl"
	for dev in i2c gpio; do
		if ! guest_start_sim "$dev"; then
			GUEST_HOST[backend-$dev]="FAIL did not start: $(tail -n 1 "$GUEST_TMP/$dev.log")"
		fi
	done
	if [[ -z ${GUEST_HOST[backend-i2c]:-} && -z ${GUEST_HOST[backend-gpio]:-} ]] &&
		reply=$(guest_control i2c "i2c temp $GUEST_LM75_MC"); then
		echo "    i2c.ctl: i2c temp $GUEST_LM75_MC -> $reply (the LM75 now reads $((GUEST_LM75_MC / 1000)).$((GUEST_LM75_MC % 1000 / 100)) °C)"
		echo "    QEMU devices: vhost-user-gpio-pci on gpio.sock, vhost-user-i2c-pci on i2c.sock"
		GUEST_QEMU=(-chardev "socket,id=i2c,path=$GUEST_TMP/i2c.sock" -device "vhost-user-i2c-pci,chardev=i2c"
			-chardev "socket,id=gpio,path=$GUEST_TMP/gpio.sock" -device "vhost-user-gpio-pci,chardev=gpio")
		echo "    the host polls 'gpio get $line' on gpio.ctl while the guest runs"
		demo_gpio_watch "$line" "$seen" &
		watch=$!
		GUEST_PIDS+=("$watch")
		guest_boot "$v" 1 "vioport.tests=$v vioport.temp=$GUEST_LM75_MC vioport.gpio_out=$line" "${GUEST_QEMU[@]}"
		guest_say "guest ran for $GUEST_ELAPSED s${GUEST_BOOT:+: $GUEST_BOOT}"
		guest_stop_pid "$watch" 2
	else
		GUEST_BOOT="the i2c or gpio daemon did not start or answer"
	fi

	# The watcher only samples; the daemon counts every change the driver made.
	got=$(paste -sd' ' "$seen")
	reply=$(guest_control gpio "gpio get $line" 2>/dev/null || true)
	if [[ $reply =~ output=0.*changes=4$ ]]; then
		GUEST_HOST[demo-gpio-host]="PASS the daemon counted 4 changes of sim-gpio-$line, ending low (the host watching saw: $got)"
	else
		GUEST_HOST[demo-gpio-host]="FAIL expected 4 changes ending low, the daemon says '$reply' (the host watching saw: $got)"
	fi
	got=$(guest_lines "$serial" INFO | sed -n 's/^eeprom-text //p' | tail -n 1)
	if [[ -n $got && $got != "$msg" ]]; then
		GUEST_HOST[demo-eeprom]="FAIL the guest read '$got', the host wrote '$msg'"
	fi
	guest_check_backend i2c backend-i2c
	guest_check_backend gpio backend-gpio
	guest_report "$v" "$serial" "${tests[@]}"
	rm -f "$GUEST_TMP"/*.sock "$GUEST_TMP"/*.ctl
	if [[ $DEMO_FAIL -gt 0 || $GUEST_KEEP_LOGS == true ]]; then
		guest_keep_logs "$v"
		echo "    logs in ${GUEST_LOG_DIR#"$VIOPORT_ROOT"/}/guest-$v-*.log"
	else
		rm -f "$GUEST_TMP"/*.log
	fi
}

# One step of the hypervisor-less part: runs vioport-drv with ARGS, shows what it
# printed, and records NAME as passed when it succeeded and its output matches RE.
demo_vmsg_step() {
	local name=$1 re=$2 out
	shift 2
	local shown="$*"
	echo "    driver | vioport-drv --shm window ${shown//$GUEST_TMP\/vmsg\//}"
	if out=$("$DEMO_DRV" --shm "$DEMO_WIN" "$@" 2>&1) && [[ $out =~ $re ]]; then
		sed 's/^/           /' <<<"$out" | head -n 6
		return 0
	fi
	sed 's/^/           /' <<<"$out" | head -n 6
	demo_result "vmsg/$name" FAIL "vioport-drv $* gave: $(tail -n 1 <<<"$out")"
	return 1
}

# The hypervisor-less part: virtio-msg over a shared window file, two processes.
demo_vmsg() {
	local dir=$GUEST_TMP/vmsg log pid ctl waiter ok
	DEMO_DRV=$(dirname "$VIOPORT_BIN")/vioport-drv
	DEMO_WIN=$dir/window
	ctl=$GUEST_TMP/vmsg.ctl
	log=$dir/vioport.log
	mkdir -p "$dir"
	head -c $((1024 * 1024)) /dev/zero >"$dir/disk.img"
	echo "    starting: vioport gpio --transport vmsg --shm window --device-list s8 --control sim.ctl"
	echo "              + rng  --transport vmsg --shm window"
	echo "              + i2c  --transport vmsg --shm window --device-list sim"
	echo "              + blk  --transport vmsg --shm window --image disk.img (1 MiB)"
	"$VIOPORT_BIN" --log-level info gpio --transport vmsg --shm "$DEMO_WIN" --shm-size 1M --device-list s8 \
		--control "$ctl" + rng --transport vmsg --shm "$DEMO_WIN" \
		+ i2c --transport vmsg --shm "$DEMO_WIN" --device-list sim \
		+ blk --transport vmsg --shm "$DEMO_WIN" --image "$dir/disk.img" >"$log" 2>&1 </dev/null &
	pid=$!
	GUEST_PIDS+=("$pid")
	for _ in $(seq 50); do
		[[ -S $ctl ]] && break
		sleep 0.1
	done
	if demo_vmsg_step list "4 devices" list; then
		demo_result vmsg/vmsg-list PASS "gpio, rng, i2c and blk on one bus"
	fi
	printf 'written through a shared window, no hypervisor' >"$dir/block.bin"
	if demo_vmsg_step blk "wrote 1 sectors" blk 3 write 8 "$dir/block.bin" &&
		demo_vmsg_step blk "no hypervisor" blk 3 read 8 1 &&
		cmp -s -n 46 "$dir/block.bin" <(tail -c +$((8 * 512 + 1)) "$dir/disk.img"); then
		demo_result vmsg/vmsg-blk PASS "sector 8 read back, and found in disk.img on the host"
	fi
	if demo_vmsg_step rng "00000000" rng 1 16; then
		demo_result vmsg/vmsg-rng PASS "16 bytes of entropy"
	fi
	echo "    host   | sim.ctl: i2c temp 23500 -> $(guest_control vmsg "i2c temp 23500" || echo none)"
	if demo_vmsg_step i2c "wrote" i2c 2 0x50 write 10766d7367 &&
		demo_vmsg_step i2c "76 6d 73 67" i2c 2 0x50 writeread 10 4 &&
		demo_vmsg_step i2c "17 80" i2c 2 0x48 writeread 00 2; then
		demo_result vmsg/vmsg-i2c PASS "EEPROM 0x10: 'vmsg' read back; LM75: 0x17 0x80 = 23.5 °C as set on sim.ctl"
	fi
	echo "    driver | vioport-drv --shm window gpio 0 wait 3 rising 10000   (in the background)"
	"$DEMO_DRV" --shm "$DEMO_WIN" gpio 0 wait 3 rising 10000 >"$dir/wait.out" 2>&1 &
	waiter=$!
	sleep 1
	echo "    host   | sim.ctl: gpio set 3 1 -> $(guest_control vmsg "gpio set 3 1" || echo none)"
	ok=0
	wait "$waiter" || ok=$?
	sed 's/^/           /' "$dir/wait.out"
	if [[ $ok -eq 0 ]] && grep -q "rising edge" "$dir/wait.out"; then
		demo_result vmsg/vmsg-gpio-irq PASS "the driver got the edge the host drove on sim-gpio-3"
	else
		demo_result vmsg/vmsg-gpio-irq FAIL "$(tail -n 1 "$dir/wait.out")"
	fi
	guest_stop_pid "$pid" 5
	if [[ $GUEST_STATUS -eq 0 && $GUEST_KILLED == false ]]; then
		demo_result vmsg/vmsg-daemon PASS "$(grep -c 'attached' "$log") driver runs served, clean exit"
	else
		demo_result vmsg/vmsg-daemon FAIL "exit status $GUEST_STATUS; log: $(tail -n 1 "$log")"
	fi
	rm -rf "$dir"
}

# The guest's unmodified drivers over the window, through vioport's kernel
# module; then every file the vioport process had mapped.
demo_vmsg_linux() {
	local f
	if [[ -n $GUEST_VMSG_DOWN ]]; then
		echo "    cannot run: $GUEST_VMSG_DOWN"
		demo_result vmsg-linux/all SKIP "$GUEST_VMSG_DOWN"
		return 0
	fi
	echo "    starting: vioport --control vmsg.ctl blk --transport vmsg --shm window --shm-size ${GUEST_VMSG_WINDOW_MB}M --image disk.img"
	echo "              --num-queues $GUEST_VMSG_QUEUES + rng ... + i2c ... --device-list sim + gpio ... --device-list s8"
	echo "    QEMU devices: only ivshmem-plain on the window file (memory-backend-file, share=on);"
	echo "    the guest loads vioport_vmsg.ko, which formats the window and registers the four devices"
	guest_variant vmsg-linux vioport
	echo "    files the vioport process mapped while it served the guest:"
	while IFS= read -r f; do
		[[ -z $f ]] || echo "      $f"
	done <<<"$GUEST_VMSG_MAPS"
	echo "    (its program and libraries, and the window: no memfd, nothing of the guest's RAM)"
}

main() {
	while [[ $# -gt 0 ]]; do
		case $1 in
		--backend) DEMO_BACKEND=${2:?--backend needs vioport or qsd}; shift ;;
		--timeout) GUEST_TIMEOUT=${2:?--timeout needs seconds}; shift ;;
		--keep-logs) GUEST_KEEP_LOGS=true ;;
		-h | --help) sed -n '4,31s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; return 0 ;;
		*) echo "demo: unknown argument '$1' (try --help)" >&2; return 2 ;;
		esac
		shift
	done
	case $DEMO_BACKEND in
	vioport)
		if [[ ! -x $VIOPORT_BIN ]]; then
			echo "demo: $VIOPORT_BIN is not built yet (make build), or preview with --backend qsd" >&2
			return 1
		fi
		;;
	qsd) ;;
	*) echo "demo: unknown backend '$DEMO_BACKEND'" >&2; return 2 ;;
	esac

	echo "vioport guest demo: a Linux guest whose disk and entropy source are vioport devices"
	echo
	local with_i2c_gpio=false steps=3
	# fio in the boots of the basic and vmsg-linux tests (blk-fio-*)
	GUEST_WITH_FIO=true
	if [[ $DEMO_BACKEND == vioport ]]; then
		with_i2c_gpio=true
		GUEST_WITH_VMSG=true
		steps=6
	fi
	echo "[1/$steps] guest kernel and initramfs"
	guest_init
	# The first run on a machine downloads the kernel: show that as it happens.
	if ! guest_prepare "$with_i2c_gpio" 2> >(sed -u 's/^/    /' >&2); then
		wait $! || true
		echo "demo: no guest kernel (see above)" >&2
		return 1
	fi
	wait $! || true
	echo "    Debian kernel $GUEST_KVER, unmodified; busybox initramfs with virtio_pci, virtio_blk, virtio_rng"
	if [[ $with_i2c_gpio == true ]]; then
		if [[ -n $GUEST_I2C_GPIO_DOWN ]]; then
			echo "    no I2C/GPIO drivers for the second boot: $GUEST_I2C_GPIO_DOWN"
		else
			echo "    and i2c-virtio, gpio-virtio (built against that kernel), at24, lm75, libgpiod's tools"
		fi
	fi
	echo

	echo "[2/$steps] vioport serves a disk and an entropy source; QEMU (q35, TCG, 512 MiB) boots the guest"
	if [[ $DEMO_BACKEND == vioport ]]; then
		echo "    starting: vioport blk --socket-path blk.sock --image disk.img ($GUEST_DISK_MB MiB) --serial $GUEST_SERIAL"
		echo "    starting: vioport rng --socket-path rng.sock"
		echo "    QEMU devices: vhost-user-blk-pci on blk.sock, vhost-user-rng-pci on rng.sock"
	else
		echo "    starting: qemu-storage-daemon serving disk.img ($GUEST_DISK_MB MiB); no rng backend"
		echo "    QEMU devices: vhost-user-blk-pci on blk.sock"
	fi
	GUEST_ON_LINE=demo_line
	GUEST_EMIT=demo_result
	guest_variant basic "$DEMO_BACKEND"
	echo

	if [[ $with_i2c_gpio == true ]]; then
		echo "[3/$steps] vioport simulates a GPIO chip and an I2C bus; the guest blinks a line and reads the bus"
		demo_i2c_gpio
		echo
		echo "[4/$steps] no hypervisor: the same devices on a shared window (virtio-msg), driven by another process"
		demo_vmsg
		echo
		echo "[5/$steps] no hypervisor for Linux either: the guest's own drivers over the window (vioport_vmsg.ko)"
		demo_vmsg_linux
		echo
	fi

	echo "[$steps/$steps] results"
	printf '%s\n' "${DEMO_RESULTS[@]}"
	echo
	echo "what was checked:"
	demo_explain
	echo
	echo "$DEMO_PASS passed, $DEMO_FAIL failed, $DEMO_SKIP skipped"
	[[ $DEMO_FAIL -eq 0 ]]
}

main "$@"
