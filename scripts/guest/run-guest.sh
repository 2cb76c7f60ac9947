#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# run-guest.sh [--backend vioport|qsd] [--variant NAME]... [--timeout SECONDS]
#              [--keep-logs] [--list]
#
# The guest tier: boots Debian's own kernel under QEMU (q35, TCG) with a busybox
# initramfs, gives it vhost-user devices served by the vioport daemon, and runs
# guest tests through Linux's unmodified virtio drivers. One boot per variant:
#
#   basic  virtio-blk (one queue, a serial number) and virtio-rng
#   mq     virtio-blk with two queues on a two-CPU guest, image opened O_DIRECT
#   ro     virtio-blk on a read-only image
#   i2c-gpio  virtio-i2c and virtio-gpio on vioport's simulated bus and chip,
#          through i2c-virtio.ko and gpio-virtio.ko built by build-modules.sh
#   crash  virtio-blk with two queues, image opened O_DIRECT, two CPUs: the
#          backend is killed with SIGKILL and started again on the same socket
#          once per guest write pass (QEMU reconnect=1, INFLIGHT_SHMFD)
#   crash-packed  the same on packed rings (packed=on), fewer passes
#   providers  vioport's own GPIO, i2c-dev and evdev providers inside the
#          guest, on a gpio-sim chip, the guest's virtio-i2c adapter (backed by
#          the host's simulated bus), i2c-stub and a uinput device, driven by
#          test_host_providers
#   vmsg-linux  blk, rng, i2c, gpio, console, vsock and input served by one
#          vioport process over a virtio-msg window (ivshmem-plain), driven
#          through vioport_vmsg.ko (built by build-kmod.sh) by the same
#          unmodified drivers (and virtio_console, vsock, virtio_input)
#   vmsg-doorbell  the same over ivshmem-doorbell, vioport its server: MSI-X
#          interrupts to the guest, Doorbell register writes to the daemon
#   vmsg-hostile  vioport_vmsg.ko against a device side that breaks the
#          protocol on purpose (tests/guest/hostile_vmsg_dev)
#   vmsg-restart  the vmsg daemon killed (SIGKILL) and started again while
#          a guest writer runs: its write in flight fails, the module removes
#          and re-adds the devices
#   vmsg-arm64  the module cross-built for Debian's arm64 kernel, in an arm64
#          guest (qemu-system-aarch64 virt), blk and rng over the window
#   vmsg-arm64-dt  the same through the device-tree binding: the window is a
#          reserved-memory carve-out of the guest's second NUMA node
#   libvirt  the basic variant's disk, but the guest is started by libvirt
#          (virsh create, <disk type='vhostuser'>) in session mode as nobody
#   nbd    virtio-blk on an NBD export: qemu-nbd serves the image file, the blk
#          backend is its client (docs/nbd.md); the basic variant's blk tests
#   vu-devices  virtio-vsock and virtio-input (the simulated keyboard) through
#          the guest's stock vsock and virtio_input drivers: socat streams
#          both ways, key events read from evdev (scripts/guest/devices.sh)
#
# Backends: vioport (build/apps/vioport, or $VIOPORT_BIN; the default when it
# exists) or qsd (qemu-storage-daemon, for the block tests only: no vhost-user
# entropy, I2C or GPIO backend is packaged, so those tests are skipped with it).
#
# Standard output: one line per test, and nothing else:
#   VIOPORT-RESULT <variant>/<test> PASS|FAIL|SKIP <detail>
# A boot that fails or times out reports FAIL for every test it should have
# run. Progress goes to standard error. Exits 1 if a test failed.
#
#   --variant NAME     run only these variants (default: basic mq ro crash
#                      crash-packed i2c-gpio providers vmsg-linux vmsg-doorbell
#                      vmsg-hostile vmsg-restart vmsg-arm64 vmsg-arm64-dt libvirt nbd
#                      vu-devices)
#   --timeout SECONDS  bound on each boot, guest tests included (default 90)
#   --keep-logs        keep serial, QEMU and backend logs in build/logs/ even
#                      when everything passed (they are always kept on failure)
#   --list             print the tests each variant runs, and exit
#
# Environment: VIOPORT_BIN (the daemon), GUEST_TIMEOUT (as --timeout), TMPDIR
# (where the sockets and images go), GUEST_CRASH_PASSES (kills in the crash
# variant, default 8).
#
# Sourcing this file defines the guest_* helpers without running anything
# (scripts/guest/demo.sh does that).

GUEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VIOPORT_ROOT=$(cd "$GUEST_DIR/../.." && pwd)
GUEST_LOG_DIR=$VIOPORT_ROOT/build/logs
VIOPORT_BIN=${VIOPORT_BIN:-$VIOPORT_ROOT/build/apps/vioport}
GUEST_TIMEOUT=${GUEST_TIMEOUT:-90}
GUEST_DISK_MB=32
GUEST_RO_DISK_MB=16
GUEST_MQ_QUEUES=2
GUEST_SERIAL=vioport-guest-0001
GUEST_LM75_MC=42500     # the temperature the host gives the LM75, in m°C
GUEST_GPIO_IN=6         # the line the host drives high before boot
GUEST_GPIO_OUT=3        # the line the guest sets high
GUEST_I2C_GPIO_DOWN=""  # why the i2c-gpio variant cannot run, if it cannot
GUEST_PROV_LM75_MC=31500  # the LM75 temperature the providers variant reads, in m°C
GUEST_PROVIDERS_DOWN=""   # why the providers variant cannot run, if it cannot
GUEST_CRASH_PASSES=${GUEST_CRASH_PASSES:-8}  # crash variant: guest passes, one kill each (crash-packed: half)
GUEST_CRASH_RING=""       # crash variants: ",packed=on" for packed rings
GUEST_CRASH_N=0           # passes of the crash variant running
GUEST_CRASH_DISK_MB=16
# Seconds from a pass's start to its kill, one after the other: spread over
# the pass's writes, whatever the machine's speed.
GUEST_CRASH_DELAYS=(0.2 0.5 0.1 0.8 0.3 0.6 0.15 0.4)
GUEST_WITH_VMSG=false     # whether the vmsg-linux variant runs (its initramfs extras)
GUEST_FIO_VARIANTS=" basic vmsg-linux vmsg-doorbell " # the variants that run blk-fio
GUEST_WITH_FIO=false      # whether one of them runs (fio in a second initramfs)
GUEST_FIO_INITRD=""       # the initramfs with fio appended, for those variants
GUEST_FIO_DOWN=""         # why fio cannot be had, if it cannot
GUEST_BOOT_INITRD=""      # the initramfs of this boot, when not GUEST_INITRD
GUEST_MACHINE=(qemu-system-x86_64 -M q35 -accel tcg -m 512) # QEMU and its machine
GUEST_CONSOLE=ttyS0       # the guest's serial console

# shellcheck source=scripts/guest/vmsg-linux.sh
. "$GUEST_DIR/vmsg-linux.sh"
# shellcheck source=scripts/guest/libvirt.sh
. "$GUEST_DIR/libvirt.sh"
# shellcheck source=scripts/guest/nbd.sh
. "$GUEST_DIR/nbd.sh"
# shellcheck source=scripts/guest/devices.sh
. "$GUEST_DIR/devices.sh"

GUEST_TMP=""        # sockets, images and logs of this run
GUEST_PIDS=()       # every process started, for the cleanup
GUEST_VMLINUZ=""
GUEST_INITRD=""
GUEST_KVER=""
GUEST_ON_LINE=""    # optional function called with each console line as it comes
GUEST_EMIT=guest_emit_line
GUEST_KEEP_LOGS=false
GUEST_NFAIL=0

guest_say() { echo "run-guest: $*" >&2; }

# ---------------------------------------------------------------- processes

# True while PID runs. A child that exited but was not waited for yet is a
# zombie, which kill -0 still finds, so the state is read from /proc.
guest_alive() {
	local stat
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat:0:1} != Z ]]
}

# Stops PID (SIGTERM, then SIGKILL after GRACE seconds) and reaps it. Sets
# GUEST_STATUS to its exit status and GUEST_KILLED to true if SIGKILL was needed.
guest_stop_pid() {
	local pid=$1 grace=${2:-5} i
	GUEST_KILLED=false
	if guest_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < grace * 10; i++)); do
			guest_alive "$pid" || break
			sleep 0.1
		done
		if guest_alive "$pid"; then
			kill -KILL "$pid" 2>/dev/null || true
			GUEST_KILLED=true
		fi
	fi
	GUEST_STATUS=0
	wait "$pid" 2>/dev/null || GUEST_STATUS=$?
	# Reaped: the number may now belong to someone else, so forget it.
	local -a left=()
	for i in "${GUEST_PIDS[@]}"; do
		[[ $i == "$pid" ]] || left+=("$i")
	done
	GUEST_PIDS=("${left[@]}")
}

# Ends every process this run started and removes its temporary directory:
# the EXIT trap, so that nothing outlives the script, whatever stopped it.
guest_cleanup() {
	local pid
	# A libvirt domain's QEMU is libvirtd's child, not ours: destroy it first.
	if [[ -n $GUEST_LIBVIRT_DIR && -n $GUEST_LIBVIRT_PID ]]; then
		guest_libvirt_virsh destroy "$GUEST_LIBVIRT_NAME" >/dev/null 2>&1 || true
	fi
	for pid in "${GUEST_PIDS[@]}"; do
		guest_stop_pid "$pid" 2
	done
	GUEST_PIDS=()
	GUEST_LIBVIRT_PID=""
	guest_libvirt_stop
	if [[ -n $GUEST_TMP && -d $GUEST_TMP ]]; then
		rm -rf "$GUEST_TMP"
	fi
	GUEST_TMP=""
}

# Creates the temporary directory and installs the cleanup traps.
guest_init() {
	GUEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/vioport-guest.XXXXXX")
	trap guest_cleanup EXIT
	trap 'guest_cleanup; exit 130' INT
	trap 'guest_cleanup; exit 143' TERM
}

# ---------------------------------------------------------------- kernel and initramfs

# guest_prepare [WITH_I2C_GPIO(true|false, default false)]
# Fetches (once per machine) the kernel and builds the initramfs with every
# guest test in it. Sets GUEST_KVER, GUEST_VMLINUZ and GUEST_INITRD. With
# WITH_I2C_GPIO, the initramfs also gets the out-of-tree I2C and GPIO drivers,
# the I2C client drivers the tests instantiate and libgpiod's tools; when
# those cannot be had, GUEST_I2C_GPIO_DOWN says why and the other variants
# still run.
guest_prepare() {
	local with_i2c_gpio=${1:-false} with_providers=${2:-false} out line modules="" t
	local -a extra=()
	out=$("$GUEST_DIR/fetch-kernel.sh") || return 1
	while IFS= read -r line; do
		case $line in
		KVER=*) GUEST_KVER=${line#KVER=} ;;
		VMLINUZ=*) GUEST_VMLINUZ=${line#VMLINUZ=} ;;
		MODULES=*) modules=${line#MODULES=} ;;
		esac
	done <<<"$out"
	[[ -n $GUEST_VMLINUZ && -n $modules ]] || return 1
	if [[ $with_i2c_gpio == true || $with_providers == true ]]; then
		guest_i2c_gpio_extra
		extra=("${GUEST_EXTRA[@]}")
		[[ -z $GUEST_I2C_GPIO_DOWN ]] || GUEST_PROVIDERS_DOWN=$GUEST_I2C_GPIO_DOWN
	fi
	if [[ $with_providers == true && -z $GUEST_PROVIDERS_DOWN ]]; then
		guest_providers_extra
		extra+=("${GUEST_EXTRA[@]}")
	fi
	if [[ $GUEST_WITH_VMSG == true ]]; then
		local have=false
		[[ ${#extra[@]} -eq 0 ]] || have=true
		guest_vmsg_extra "$have"
		extra+=("${GUEST_EXTRA[@]}")
	fi
	if [[ $GUEST_WITH_VUDEV == true ]]; then
		guest_vudev_extra
		extra+=("${GUEST_EXTRA[@]}")
	fi
	GUEST_INITRD=$GUEST_TMP/initrd.gz
	"$GUEST_DIR/mkinitramfs.sh" --modules "$modules" --output "$GUEST_INITRD" "${extra[@]}" || return 1
	[[ $GUEST_WITH_FIO == false ]] || guest_fio_initrd
	[[ $GUEST_WITH_VUDEV == false ]] || guest_vudev_initrd
}

# Sets GUEST_FIO_INITRD to GUEST_INITRD with an archive of fio and its
# libraries appended (the kernel unpacks both), or GUEST_FIO_DOWN to why it
# cannot. Debian's fio loads some 80 MiB of libraries (its ceph, gluster and
# nbd engines are linked in): only the boots that run fio carry them.
guest_fio_initrd() {
	local fio
	if ! fio=$(command -v fio); then
		GUEST_FIO_DOWN="no fio on the host: install Debian's fio (make deps)"
		return 0
	fi
	if ! "$GUEST_DIR/mkinitramfs.sh" --bins-only --output "$GUEST_TMP/fio.gz" --host-bin "$fio"; then
		GUEST_FIO_DOWN="mkinitramfs.sh --bins-only could not pack $fio"
		return 0
	fi
	cat "$GUEST_INITRD" "$GUEST_TMP/fio.gz" >"$GUEST_TMP/initrd-fio.gz"
	rm -f "$GUEST_TMP/fio.gz"
	GUEST_FIO_INITRD=$GUEST_TMP/initrd-fio.gz
}

# The fio tests of a variant that runs them: blk-fio joins GUEST_TESTS after
# blk (its checksum is the last), or its tests fail with the reason.
guest_fio_add() {
	local t
	if [[ -n ${GUEST_DOWN[blk]:-} ]]; then
		return 0
	elif [[ -n $GUEST_FIO_DOWN || -z $GUEST_FIO_INITRD ]]; then
		for t in blk-fio-verify blk-fio-queues blk-fio-trim; do
			GUEST_HOST[$t]="FAIL ${GUEST_FIO_DOWN:-no initramfs with fio}"
		done
	else
		GUEST_TESTS+=(blk-fio)
	fi
}

# Sets GUEST_EXTRA to the mkinitramfs.sh arguments the i2c-gpio variant needs,
# or GUEST_I2C_GPIO_DOWN to why it cannot have them.
guest_i2c_gpio_extra() {
	local out line i2c="" gpio="" t bin
	GUEST_EXTRA=()
	GUEST_GPIO_SIM_KO=""
	if ! out=$("$GUEST_DIR/build-modules.sh"); then
		GUEST_I2C_GPIO_DOWN="build-modules.sh could not build i2c-virtio.ko and gpio-virtio.ko (see its messages)"
		return 0
	fi
	while IFS= read -r line; do
		case $line in
		I2C_VIRTIO=*) i2c=${line#I2C_VIRTIO=} ;;
		GPIO_VIRTIO=*) gpio=${line#GPIO_VIRTIO=} ;;
		GPIO_SIM=*) GUEST_GPIO_SIM_KO=${line#GPIO_SIM=} ;;
		esac
	done <<<"$out"
	if [[ ! -f $i2c || ! -f $gpio ]]; then
		GUEST_I2C_GPIO_DOWN="build-modules.sh printed no module paths"
		return 0
	fi
	# --host-bin replaces the default list: blkdiscard is named again.
	for t in /usr/sbin/blkdiscard /sbin/blkdiscard; do
		if [[ -x $t ]]; then
			GUEST_EXTRA+=(--host-bin "$t")
			break
		fi
	done
	for t in gpiodetect gpiofind gpioinfo gpioget gpioset; do
		if ! bin=$(command -v "$t"); then
			GUEST_I2C_GPIO_DOWN="no $t on the host: install Debian's gpiod"
			GUEST_EXTRA=()
			return 0
		fi
		GUEST_EXTRA+=(--host-bin "$bin")
	done
	# i2c_dev for i2cdetect's /dev/i2c-N; at24 and lm75 for the clients the
	# tests instantiate. i2c-core and the rest come as their dependencies.
	GUEST_EXTRA+=(--module i2c_dev --module at24 --module lm75
		--module-file "$i2c" --module-file "$gpio")
}

# Sets GUEST_EXTRA to what the providers variant adds to the i2c-gpio
# variant's initramfs, or GUEST_PROVIDERS_DOWN to why it cannot: the
# gpio-sim module, i2c-stub (loaded by the test, which gives it its chip
# address), uinput and evdev (the input device the test makes, and its event
# node), the daemon and the test program with their libraries.
guest_providers_extra() {
	local prog=$VIOPORT_ROOT/build/tests/guest/test_host_providers
	GUEST_EXTRA=()
	if [[ ! -f $GUEST_GPIO_SIM_KO ]]; then
		GUEST_PROVIDERS_DOWN="build-modules.sh printed no gpio-sim module"
	elif [[ ! -x $prog ]]; then
		GUEST_PROVIDERS_DOWN="no $prog: build it first"
	else
		GUEST_EXTRA=(--module-file "$GUEST_GPIO_SIM_KO" --module-copy i2c_stub
			--module uinput --module evdev --host-bin "$VIOPORT_BIN" --host-bin "$prog")
	fi
}

# ---------------------------------------------------------------- backends

declare -A GUEST_BACKEND_PID=()

# Waits up to 10 s for a backend to create its socket; fails if it exits first.
guest_wait_socket() {
	local pid=$1 sock=$2 i
	for ((i = 0; i < 100; i++)); do
		[[ -S $sock ]] && return 0
		guest_alive "$pid" || return 1
		sleep 0.1
	done
	return 1
}

# guest_start_blk BACKEND NAME IMAGE QUEUES RO(true|false) SERIAL DIRECT(true|false)
# Starts a vhost-user-blk backend listening on $GUEST_TMP/NAME.sock, its output
# in $GUEST_TMP/NAME.log.
guest_start_blk() {
	local backend=$1 name=$2 image=$3 queues=$4 ro=$5 serial=$6 direct=$7
	local sock=$GUEST_TMP/$name.sock
	local -a cmd
	case $backend in
	vioport)
		cmd=("$VIOPORT_BIN" blk --socket-path "$sock" --image "$image" --num-queues "$queues")
		[[ $ro == false ]] || cmd+=(--read-only)
		[[ -z $serial ]] || cmd+=(--serial "$serial")
		[[ $direct == false ]] || cmd+=(--direct)
		[[ -z ${GUEST_BLK_LOG_LEVEL:-} ]] || cmd+=(--log-level "$GUEST_BLK_LOG_LEVEL")
		;;
	qsd)
		# discard=unmap: without it the file driver ignores discards and the
		# guest would read the old data back.
		local file="driver=file,node-name=f0,filename=$image,discard=unmap"
		[[ $direct == false ]] || file+=",cache.direct=on,aio=native"
		[[ $ro == false ]] || file+=",read-only=on"
		local writable=on
		[[ $ro == false ]] || writable=off
		cmd=(qemu-storage-daemon --blockdev "$file"
			--export "type=vhost-user-blk,id=e0,node-name=f0,addr.type=unix,addr.path=$sock,writable=$writable,num-queues=$queues")
		;;
	*)
		guest_say "unknown backend $backend"
		return 1
		;;
	esac
	guest_start_backend "$name" "$sock" "${cmd[@]}"
}

# guest_start_rng BACKEND NAME: a vhost-user-rng backend (vioport only).
guest_start_rng() {
	local backend=$1 name=$2 sock=$GUEST_TMP/$2.sock
	[[ $backend == vioport ]] || return 1
	guest_start_backend "$name" "$sock" "$VIOPORT_BIN" rng --socket-path "$sock"
}

# guest_start_sim DEVICE: vioport's simulated I2C bus or GPIO chip, on
# $GUEST_TMP/DEVICE.sock with its control socket $GUEST_TMP/DEVICE.ctl.
guest_start_sim() {
	local dev=$1 sock=$GUEST_TMP/$1.sock
	local -a cmd=("$VIOPORT_BIN" "$dev" --socket-path "$sock" --control "$GUEST_TMP/$dev.ctl")
	case $dev in
	i2c) cmd+=(--device-list sim --eeprom-file "$GUEST_TMP/eeprom.bin") ;;
	gpio) cmd+=(--device-list s8) ;;
	esac
	guest_start_backend "$dev" "$sock" "${cmd[@]}" || return 1
	# The control socket may come up a moment after the vhost-user one.
	local i
	for ((i = 0; i < 50; i++)); do
		[[ ! -S $GUEST_TMP/$dev.ctl ]] || return 0
		sleep 0.1
	done
	guest_say "$dev: no control socket $GUEST_TMP/$dev.ctl"
	return 1
}

# guest_control DEVICE COMMAND: sends one line to DEVICE's control socket and
# prints the reply line. Fails on no reply or an "error" reply. (Python, as
# neither bash nor busybox nc speaks to a unix socket.)
guest_control() {
	local reply
	reply=$(timeout 10 python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.sendall((sys.argv[2] + "\n").encode())
buf = b""
while not buf.endswith(b"\n"):
    chunk = s.recv(4096)
    if not chunk:
        break
    buf += chunk
print(buf.decode().strip())
' "$GUEST_TMP/$1.ctl" "$2" 2>&1) || { echo "no reply: $reply"; return 1; }
	echo "$reply"
	[[ $reply == ok* ]]
}

guest_start_backend() {
	local name=$1 sock=$2
	shift 2
	GUEST_LAST_CMD=("$@")
	echo "+ $*" >"$GUEST_TMP/$name.log"
	"$@" >>"$GUEST_TMP/$name.log" 2>&1 </dev/null &
	local pid=$!
	GUEST_PIDS+=("$pid")
	GUEST_BACKEND_PID[$name]=$pid
	if ! guest_wait_socket "$pid" "$sock"; then
		guest_say "$name: $1 did not create $sock (see its log below)"
		sed 's/^/  | /' "$GUEST_TMP/$name.log" >&2
		return 1
	fi
}

# Stops backend NAME once the guest is gone and sets GUEST_BACKEND_OK to
# "" when it behaved, or to what went wrong: it died before being asked to
# stop, ignored SIGTERM, exited with an error, or printed a sanitizer report.
guest_stop_backend() {
	local name=$1 pid=${GUEST_BACKEND_PID[$1]:-} log=$GUEST_TMP/$1.log
	GUEST_BACKEND_OK=""
	[[ -n $pid ]] || return 0
	local died_early=false
	guest_alive "$pid" || died_early=true
	guest_stop_pid "$pid" 5
	unset "GUEST_BACKEND_PID[$name]"
	if [[ $died_early == true && $GUEST_STATUS -ne 0 ]]; then
		GUEST_BACKEND_OK="exited with status $GUEST_STATUS while serving the guest"
	elif [[ $GUEST_KILLED == true ]]; then
		GUEST_BACKEND_OK="did not stop within 5 s of SIGTERM"
	elif [[ $GUEST_STATUS -ne 0 && $GUEST_STATUS -ne 143 ]]; then
		GUEST_BACKEND_OK="exited with status $GUEST_STATUS after SIGTERM"
	elif grep -qE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' "$log"; then
		GUEST_BACKEND_OK="sanitizer report: $(grep -m1 -E 'Sanitizer|runtime error:' "$log")"
	fi
}

# ---------------------------------------------------------------- the guest

# Calls GUEST_ON_LINE for each complete console line not seen yet.
guest_stream() {
	local serial=$1 line
	local -a lines
	[[ -n $GUEST_ON_LINE ]] || return 0
	mapfile -t -s "$GUEST_SEEN" lines <"$serial"
	# A last line without its newline yet is read again next time.
	if [[ ${#lines[@]} -gt 0 && -n $(tail -c 1 "$serial") ]]; then
		unset 'lines[-1]'
	fi
	GUEST_SEEN=$((GUEST_SEEN + ${#lines[@]}))
	for line in "${lines[@]}"; do
		"$GUEST_ON_LINE" "${line%$'\r'}"
	done
}

# Prints the last thing the guest or QEMU said, to explain a failed boot.
guest_last_words() {
	local serial=$1 qlog=$2 line
	line=$(tr -d '\r' <"$serial" | grep -av '^$' | tail -n 1)
	if [[ -n $line ]]; then
		echo "last console line: $line"
	elif [[ -s $qlog ]]; then
		echo "no console output; QEMU: $(tail -n 1 "$qlog")"
	else
		echo "no console output"
	fi
}

# guest_boot NAME SMP APPEND [QEMU ARGS...]
# Boots the guest with extra kernel command line APPEND and the device
# arguments, its console in $GUEST_TMP/NAME-serial.log, and waits for it to
# power off, at most GUEST_TIMEOUT seconds. Sets GUEST_BOOT to "" when the
# guest ended by itself, else to what happened; GUEST_ELAPSED to the seconds
# the boot took.
guest_boot() {
	local name=$1 smp=$2 append=$3
	shift 3
	local serial=$GUEST_TMP/$name-serial.log qlog=$GUEST_TMP/$name-qemu.log
	: >"$serial"
	GUEST_SEEN=0
	local start=$SECONDS t0=${EPOCHREALTIME/,/.}
	# -nodefaults: no NIC with its option ROM, no VGA; the serial port is the
	# only console, and the guest's memory is a shared memfd so that the
	# vhost-user backends can map it.
	"${GUEST_MACHINE[@]}" -smp "$smp" \
		-nodefaults -no-user-config -display none -no-reboot \
		-serial "file:$serial" \
		-object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \
		"$@" \
		-kernel "$GUEST_VMLINUZ" -initrd "${GUEST_BOOT_INITRD:-$GUEST_INITRD}" \
		-append "console=$GUEST_CONSOLE panic=-1 loglevel=4 $append" \
		>"$qlog" 2>&1 </dev/null &
	local pid=$! ended=""
	GUEST_PIDS+=("$pid")
	GUEST_BOOT=""
	while guest_alive "$pid"; do
		guest_stream "$serial"
		if ((SECONDS - start >= GUEST_TIMEOUT)); then
			GUEST_BOOT="timed out after $GUEST_TIMEOUT s; $(guest_last_words "$serial" "$qlog")"
			break
		fi
		# QEMU complaining with no console output at all: it is stuck before
		# the machine starts (a backend that does not answer, say).
		if ((SECONDS - start >= 30)) && [[ ! -s $serial && -s $qlog ]]; then
			GUEST_BOOT="the guest did not start within 30 s; $(guest_last_words "$serial" "$qlog")"
			break
		fi
		# The guest printed its last line but did not power off: the results
		# are in, so do not wait for the timeout.
		if [[ -z $ended ]] && grep -qa '^VIOPORT-END' "$serial"; then
			ended=$SECONDS
		fi
		if [[ -n $ended ]] && ((SECONDS - ended >= 15)); then
			guest_say "$name: the guest finished but did not power off; stopping QEMU"
			break
		fi
		sleep 0.2
	done
	guest_stop_pid "$pid" 3
	guest_stream "$serial"
	GUEST_ELAPSED=$(awk -v a="$t0" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { printf "%.1f", b - a }')
	if [[ -z $GUEST_BOOT && $GUEST_STATUS -ne 0 && $GUEST_KILLED == false && -z $ended ]]; then
		GUEST_BOOT="QEMU exited with status $GUEST_STATUS: $(tail -n 1 "$qlog")"
	elif [[ -z $GUEST_BOOT ]] && ! grep -qa '^VIOPORT-BEGIN' "$serial"; then
		GUEST_BOOT="the guest never reached /init; $(guest_last_words "$serial" "$qlog")"
	elif [[ -z $GUEST_BOOT && -z $ended ]]; then
		GUEST_BOOT="the guest stopped before its tests finished; $(guest_last_words "$serial" "$qlog")"
	fi
}

# Prints the console lines of kind KIND (RESULT, INFO, SAY) without the prefix.
# The guest's tty turns \n into \r\n.
guest_lines() {
	tr -d '\r' <"$1" | sed -n "s/^VIOPORT-$2 //p"
}

# ---------------------------------------------------------------- results

guest_emit_line() {
	echo "VIOPORT-RESULT $*"
}

# guest_emit NAME STATUS DETAIL: reports one test through GUEST_EMIT.
guest_emit() {
	[[ $2 != FAIL ]] || GUEST_NFAIL=$((GUEST_NFAIL + 1))
	"$GUEST_EMIT" "$@"
}

# guest_report VARIANT SERIAL TEST... : reports each TEST from the guest's
# RESULT lines, or as failed with the reason the guest did not report it.
# Host-side results are added to GUEST_HOST[test] before the call.
declare -A GUEST_HOST=()
guest_report() {
	local variant=$1 serial=$2 t name status detail dev
	shift 2
	local -A got=()
	while read -r name status detail; do
		[[ -n $name ]] && got[$name]="$status $detail"
	done < <(guest_lines "$serial" RESULT)
	for t in "$@"; do
		if [[ -n ${GUEST_HOST[$t]:-} ]]; then
			read -r status detail <<<"${GUEST_HOST[$t]}"
		elif [[ -n ${got[$t]:-} ]]; then
			read -r status detail <<<"${got[$t]}"
		else
			status=FAIL
			case $t in
			rng-* | backend-rng) dev=rng ;;
			i2c-* | backend-i2c) dev=i2c ;;
			gpio-* | backend-gpio) dev=gpio ;;
			*) dev=blk ;;
			esac
			detail=${GUEST_DOWN[$dev]:-"not reported: ${GUEST_BOOT:-the guest did not print it}"}
		fi
		guest_emit "$variant/$t" "$status" "$detail"
	done
	GUEST_HOST=()
}

# Moves this variant's logs to build/logs/guest-VARIANT-{serial,qemu,blk,rng,i2c,gpio}.log.
guest_keep_logs() {
	local variant=$1 f name
	mkdir -p "$GUEST_LOG_DIR"
	for f in "$GUEST_TMP"/*.log; do
		[[ -f $f ]] || continue
		name=$(basename "$f")
		mv "$f" "$GUEST_LOG_DIR/guest-$variant-${name#"$variant"-}"
	done
}

guest_md5() {
	md5sum "$1" | cut -d' ' -f1
}

# ---------------------------------------------------------------- variants

# Prints the tests variant V runs, in report order.
guest_variant_tests() {
	case $1 in
	basic)
		echo blk-probe blk-serial blk-rw blk-discard blk-write-zeroes blk-intact blk-fio-verify \
			blk-fio-trim blk-fio-queues blk-host-image rng-current rng-read backend-blk backend-rng
		;;
	mq) echo blk-mq-queues blk-mq-rw blk-host-image backend-blk ;;
	crash | crash-packed) echo blk-crash-rw blk-crash-kills blk-host-image backend-blk ;;
	ro) echo blk-ro-flag blk-ro-write blk-ro-read blk-host-unchanged backend-blk ;;
	i2c-gpio)
		echo i2c-detect i2c-eeprom i2c-eeprom-host i2c-lm75 gpio-info gpio-set gpio-set-host \
			gpio-get backend-i2c backend-gpio
		;;
	providers)
		echo gpio-names gpio-output gpio-input gpio-irq-edge gpio-irq-latched gpio-busy \
			gpio-bad-line gpio-daemon i2c-rdwr-eeprom i2c-rdwr-lm75 i2c-rdwr-absent \
			i2c-rdwr-daemon i2c-smbus-byte i2c-smbus-unsupported i2c-smbus-daemon input-config \
			input-events input-grab input-led input-release input-daemon backend-i2c
		;;
	vmsg-linux) guest_vmsg_tests ;;
	vmsg-doorbell) guest_vmsg_doorbell_tests ;;
	vmsg-hostile) guest_vmsg_hostile_tests ;;
	vmsg-restart) guest_vmsg_restart_tests ;;
	vmsg-arm64 | vmsg-arm64-dt) guest_vmsg_arm64_tests ;;
	libvirt) guest_libvirt_tests ;;
	nbd) guest_nbd_tests ;;
	vu-devices) guest_vudev_tests ;;
	*) return 1 ;;
	esac
}

# Records backend NAME's health as host-side test TEST.
guest_check_backend() {
	local name=$1 test=$2
	guest_stop_backend "$name"
	if [[ ${GUEST_HOST[$test]:-} == FAIL* ]]; then
		return 0
	elif [[ -n $GUEST_BACKEND_OK ]]; then
		GUEST_HOST[$test]="FAIL $GUEST_BACKEND_OK"
	elif [[ -z ${GUEST_HOST[$test]:-} ]]; then
		GUEST_HOST[$test]="PASS served the guest to the end, then stopped cleanly"
	fi
}

# Compares the image file with the checksum the guest printed last.
guest_check_image() {
	local image=$1 serial=$2 want got
	want=$(guest_lines "$serial" INFO | sed -n 's/^blk-md5 //p' | tail -n 1)
	got=$(guest_md5 "$image")
	if [[ -z $want ]]; then
		GUEST_HOST[blk-host-image]="FAIL the guest printed no checksum of its disk"
	elif [[ $got == "$want" ]]; then
		GUEST_HOST[blk-host-image]="PASS image file md5 $got, as the guest read its disk"
	else
		GUEST_HOST[blk-host-image]="FAIL image file md5 $got, the guest read $want"
	fi
}

# guest_add_blk BACKEND QUEUES RO SERIAL DIRECT TEST: starts the blk backend and,
# if it came up, adds its device to the boot and TEST to the guest's tests.
# A backend that did not start fails the tests of its device with its reason.
guest_add_blk() {
	local backend=$1 queues=$2 ro=$3 serial=$4 direct=$5 test=$6
	if guest_start_blk "$backend" blk "$GUEST_TMP/disk.img" "$queues" "$ro" "$serial" "$direct"; then
		GUEST_QEMU+=(-chardev "socket,id=blk,path=$GUEST_TMP/blk.sock"
			-device "vhost-user-blk-pci,chardev=blk,num-queues=$queues")
		GUEST_TESTS+=("$test")
	else
		GUEST_DOWN[blk]="the blk backend did not start: $(tail -n 1 "$GUEST_TMP/blk.log")"
		GUEST_HOST[backend-blk]="FAIL did not start: $(tail -n 1 "$GUEST_TMP/blk.log")"
	fi
}

guest_add_rng() {
	local backend=$1
	if guest_start_rng "$backend" rng; then
		GUEST_QEMU+=(-chardev "socket,id=rng,path=$GUEST_TMP/rng.sock"
			-device "vhost-user-rng-pci,chardev=rng")
		GUEST_TESTS+=(rng)
	else
		GUEST_DOWN[rng]="the rng backend did not start: $(tail -n 1 "$GUEST_TMP/rng.log")"
		GUEST_HOST[backend-rng]="FAIL did not start: $(tail -n 1 "$GUEST_TMP/rng.log")"
	fi
}

# The crash variant's console hook: at each "crash-pass N" the guest starts
# writing; one of GUEST_CRASH_DELAYS later the blk daemon is killed with SIGKILL,
# reaped, and the same command started again on the same socket, whose stale
# file is removed first so that the wait sees the new one. QEMU (reconnect=1)
# connects again by itself. Sets GUEST_CRASH_KILLS, and GUEST_CRASH_FAIL to
# what went wrong.
guest_crash_on_line() {
	local pid=${GUEST_BACKEND_PID[blk]:-} sock=$GUEST_TMP/blk.sock
	[[ $1 == "VIOPORT-INFO crash-pass "* ]] || return 0
	GUEST_CRASH_SEEN=$((GUEST_CRASH_SEEN + 1))
	[[ -z $GUEST_CRASH_FAIL ]] || return 0
	sleep "${GUEST_CRASH_DELAYS[GUEST_CRASH_KILLS % ${#GUEST_CRASH_DELAYS[@]}]}"
	if [[ -z $pid ]] || ! guest_alive "$pid"; then
		GUEST_CRASH_FAIL="the daemon was gone before kill $((GUEST_CRASH_KILLS + 1))"
		return 0
	fi
	kill -KILL "$pid"
	guest_stop_pid "$pid" 1
	GUEST_CRASH_KILLS=$((GUEST_CRASH_KILLS + 1))
	rm -f "$sock"
	echo "+ killed $pid with SIGKILL; started again: ${GUEST_CRASH_CMD[*]}" >>"$GUEST_TMP/blk.log"
	"${GUEST_CRASH_CMD[@]}" >>"$GUEST_TMP/blk.log" 2>&1 </dev/null &
	pid=$!
	GUEST_PIDS+=("$pid")
	GUEST_BACKEND_PID[blk]=$pid
	if ! guest_wait_socket "$pid" "$sock"; then
		GUEST_CRASH_FAIL="restart $GUEST_CRASH_KILLS: the daemon did not create its socket within 10 s"
	fi
}

# Prepares the crash variant: the blk daemon (two queues, O_DIRECT when the
# file system takes it) behind a chardev QEMU reconnects, and the console hook.
guest_setup_crash() {
	local image=$1 direct=true
	truncate -s "${GUEST_CRASH_DISK_MB}M" "$image"
	if ! dd if=/dev/zero of="$GUEST_TMP/direct.probe" bs=4096 count=1 oflag=direct 2>/dev/null; then
		direct=false
		guest_say "crash: $GUEST_TMP does not take O_DIRECT; the image is opened without it"
	fi
	rm -f "$GUEST_TMP/direct.probe"
	GUEST_CRASH_KILLS=0
	GUEST_CRASH_SEEN=0
	GUEST_CRASH_FAIL=""
	# info: each restart says how many requests it resubmitted
	if GUEST_BLK_LOG_LEVEL=${GUEST_BLK_LOG_LEVEL:-info} guest_start_blk vioport blk "$image" "$GUEST_MQ_QUEUES" false "" "$direct"; then
		GUEST_CRASH_CMD=("${GUEST_LAST_CMD[@]}")
		GUEST_QEMU+=(-chardev "socket,id=blk,path=$GUEST_TMP/blk.sock,reconnect=1"
			-device "vhost-user-blk-pci,chardev=blk,num-queues=$GUEST_MQ_QUEUES$GUEST_CRASH_RING")
		GUEST_TESTS+=(blk-crash)
		GUEST_ON_LINE=guest_crash_on_line
	else
		GUEST_DOWN[blk]="the blk backend did not start: $(tail -n 1 "$GUEST_TMP/blk.log")"
		GUEST_HOST[backend-blk]="FAIL did not start: $(tail -n 1 "$GUEST_TMP/blk.log")"
	fi
}

# After the crash variant's boot: were there as many kills as passes?
guest_check_crash() {
	GUEST_ON_LINE=""
	if [[ -n $GUEST_CRASH_FAIL ]]; then
		GUEST_HOST[blk-crash-kills]="FAIL $GUEST_CRASH_FAIL"
	elif [[ $GUEST_CRASH_KILLS -ne $GUEST_CRASH_SEEN ]]; then
		GUEST_HOST[blk-crash-kills]="FAIL $GUEST_CRASH_KILLS kills for $GUEST_CRASH_SEEN passes announced"
	else
		local n
		n=$(grep -c 'requests in flight before are resubmitted' "$GUEST_TMP/blk.log") || true
		GUEST_HOST[blk-crash-kills]="PASS killed with SIGKILL and started again $GUEST_CRASH_KILLS times ($GUEST_CRASH_SEEN of $GUEST_CRASH_N passes announced); $n rings resumed with requests resubmitted"
	fi
}

# Prepares the i2c-gpio variant: the EEPROM file (erased), both daemons, and
# what the guest must find: the LM75's temperature and one GPIO line driven
# high. Adds the devices to GUEST_QEMU and the test to GUEST_TESTS; sets
# GUEST_APPEND to the kernel command line words the guest test reads.
guest_setup_i2c_gpio() {
	local reply dev
	GUEST_EEPROM_TEXT=$(head -c 64 /dev/urandom | md5sum | cut -c1-16)
	GUEST_APPEND="vioport.temp=$GUEST_LM75_MC vioport.eeprom=$GUEST_EEPROM_TEXT"
	GUEST_APPEND+=" vioport.gpio_in=$GUEST_GPIO_IN vioport.gpio_out=$GUEST_GPIO_OUT"
	if [[ -n $GUEST_I2C_GPIO_DOWN ]]; then
		GUEST_DOWN[i2c]=$GUEST_I2C_GPIO_DOWN
		GUEST_DOWN[gpio]=$GUEST_I2C_GPIO_DOWN
		return 0
	fi
	head -c 256 /dev/zero | tr '\0' '\377' >"$GUEST_TMP/eeprom.bin"
	for dev in i2c gpio; do
		if ! guest_start_sim "$dev"; then
			GUEST_DOWN[$dev]="the $dev backend did not start: $(tail -n 1 "$GUEST_TMP/$dev.log")"
			GUEST_HOST[backend-$dev]="FAIL did not start: $(tail -n 1 "$GUEST_TMP/$dev.log")"
		fi
	done
	if [[ -z ${GUEST_DOWN[i2c]:-} ]]; then
		if reply=$(guest_control i2c "i2c temp $GUEST_LM75_MC"); then
			GUEST_QEMU+=(-chardev "socket,id=i2c,path=$GUEST_TMP/i2c.sock"
				-device "vhost-user-i2c-pci,chardev=i2c")
		else
			GUEST_DOWN[i2c]="control 'i2c temp $GUEST_LM75_MC': $reply"
		fi
	fi
	if [[ -z ${GUEST_DOWN[gpio]:-} ]]; then
		# The line the guest will set must start low for the check to mean
		# anything; the one it reads is driven high.
		if ! reply=$(guest_control gpio "gpio get $GUEST_GPIO_OUT") || [[ $reply != *output=0* ]]; then
			GUEST_DOWN[gpio]="control 'gpio get $GUEST_GPIO_OUT' before boot: $reply"
		elif ! reply=$(guest_control gpio "gpio set $GUEST_GPIO_IN 1"); then
			GUEST_DOWN[gpio]="control 'gpio set $GUEST_GPIO_IN 1': $reply"
		else
			GUEST_QEMU+=(-chardev "socket,id=gpio,path=$GUEST_TMP/gpio.sock"
				-device "vhost-user-gpio-pci,chardev=gpio")
		fi
	fi
	# One test script covers both devices; a device that is down fails its
	# own tests in the guest too (no adapter, no chip).
	[[ -n ${GUEST_DOWN[i2c]:-} && -n ${GUEST_DOWN[gpio]:-} ]] || GUEST_TESTS+=(i2c-gpio)
}

# The host side of the i2c-gpio variant, while the daemons still run: the
# EEPROM bytes the guest wrote are in the file, the line it set is high.
guest_check_i2c_gpio() {
	local serial=$1 got reply
	if [[ -z ${GUEST_DOWN[i2c]:-} ]]; then
		got=$(dd if="$GUEST_TMP/eeprom.bin" bs=1 skip=32 count=${#GUEST_EEPROM_TEXT} 2>/dev/null)
		if [[ $got == "$GUEST_EEPROM_TEXT" ]]; then
			GUEST_HOST[i2c-eeprom-host]="PASS eeprom file holds '$got' at offset 32, as the guest wrote"
		else
			GUEST_HOST[i2c-eeprom-host]="FAIL eeprom file holds '$got' at offset 32, the guest wrote '$GUEST_EEPROM_TEXT'"
		fi
	fi
	if [[ -z ${GUEST_DOWN[gpio]:-} ]]; then
		if ! grep -qx "gpio-set $GUEST_GPIO_OUT 1" < <(guest_lines "$serial" INFO); then
			GUEST_HOST[gpio-set-host]="FAIL the guest did not report setting line $GUEST_GPIO_OUT"
		elif reply=$(guest_control gpio "gpio get $GUEST_GPIO_OUT") && [[ $reply == *output=1* ]]; then
			GUEST_HOST[gpio-set-host]="PASS control socket: line $GUEST_GPIO_OUT $reply"
		else
			GUEST_HOST[gpio-set-host]="FAIL control socket: line $GUEST_GPIO_OUT $reply, expected output=1"
		fi
	fi
}

# Prepares the providers variant: the host's simulated I2C bus (with its
# LM75 set to GUEST_PROV_LM75_MC) behind the guest's virtio-i2c adapter; the
# guest makes its own GPIO chip and SMBus adapter. Sets GUEST_APPEND.
guest_setup_providers() {
	local reply
	GUEST_APPEND="vioport.lm75=$GUEST_PROV_LM75_MC"
	if [[ -n $GUEST_PROVIDERS_DOWN ]]; then
		GUEST_DOWN[i2c]=$GUEST_PROVIDERS_DOWN
		GUEST_DOWN[gpio]=$GUEST_PROVIDERS_DOWN
		return 0
	fi
	head -c 256 /dev/zero | tr '\0' '\377' >"$GUEST_TMP/eeprom.bin"
	if ! guest_start_sim i2c; then
		GUEST_DOWN[i2c]="the i2c backend did not start: $(tail -n 1 "$GUEST_TMP/i2c.log")"
		GUEST_HOST[backend-i2c]="FAIL did not start: $(tail -n 1 "$GUEST_TMP/i2c.log")"
	elif ! reply=$(guest_control i2c "i2c temp $GUEST_PROV_LM75_MC"); then
		GUEST_DOWN[i2c]="control 'i2c temp $GUEST_PROV_LM75_MC': $reply"
	else
		GUEST_QEMU+=(-chardev "socket,id=i2c,path=$GUEST_TMP/i2c.sock"
			-device "vhost-user-i2c-pci,chardev=i2c")
	fi
	# The GPIO cases need nothing from the host: the test runs either way.
	GUEST_TESTS+=(providers)
}

# guest_variant VARIANT BACKEND: one boot, every result reported. The image
# is $GUEST_TMP/disk.img; the backends and QEMU log next to it.
declare -A GUEST_DOWN=()
guest_variant() {
	local v=$1 backend=$2 image=$GUEST_TMP/disk.img serial=$GUEST_TMP/$1-serial.log
	local -a tests
	read -r -a tests <<<"$(guest_variant_tests "$v")"
	local nfail_before=$GUEST_NFAIL smp=1 append="" before="" after
	GUEST_BOOT=""
	GUEST_HOST=()
	GUEST_DOWN=()
	GUEST_QEMU=()
	GUEST_TESTS=()

	case $v in
	basic)
		truncate -s "${GUEST_DISK_MB}M" "$image"
		# qemu-storage-daemon answers GET_ID with a fixed serial number.
		local serial_no=$GUEST_SERIAL
		[[ $backend != qsd ]] || serial_no=vhost_user_blk
		guest_add_blk "$backend" 1 false "$GUEST_SERIAL" false blk
		guest_fio_add
		append="vioport.disk_mb=$GUEST_DISK_MB vioport.serial=$serial_no"
		if [[ $backend == vioport ]]; then
			guest_add_rng "$backend"
		else
			local why="no vhost-user entropy backend besides vioport's"
			GUEST_HOST[rng-current]="SKIP $why"
			GUEST_HOST[rng-read]="SKIP $why"
			GUEST_HOST[backend-rng]="SKIP $why"
		fi
		;;
	mq)
		truncate -s "${GUEST_DISK_MB}M" "$image"
		# Linux makes no more queues than CPUs: one CPU per queue.
		smp=$GUEST_MQ_QUEUES
		# O_DIRECT, unless the temporary directory's file system refuses it (tmpfs).
		local direct=true
		if ! dd if=/dev/zero of="$GUEST_TMP/direct.probe" bs=4096 count=1 oflag=direct 2>/dev/null; then
			direct=false
			guest_say "$v: $GUEST_TMP does not take O_DIRECT; the image is opened without it"
		fi
		rm -f "$GUEST_TMP/direct.probe"
		guest_add_blk "$backend" "$GUEST_MQ_QUEUES" false "" "$direct" blk-mq
		append="vioport.queues=$GUEST_MQ_QUEUES"
		;;
	crash | crash-packed)
		# The daemon is killed and started again: vioport's only (qsd hangs the guest).
		smp=$GUEST_MQ_QUEUES
		GUEST_CRASH_RING=""
		GUEST_CRASH_N=$GUEST_CRASH_PASSES
		if [[ $v == crash-packed ]]; then
			GUEST_CRASH_RING=,packed=on
			GUEST_CRASH_N=$(((GUEST_CRASH_PASSES + 1) / 2))
		fi
		if [[ $backend == vioport ]]; then
			guest_setup_crash "$image"
		else
			GUEST_DOWN[blk]="the crash variant kills vioport's daemon only"
			local t
			for t in blk-crash-rw blk-crash-kills blk-host-image backend-blk; do
				GUEST_HOST[$t]="SKIP ${GUEST_DOWN[blk]}"
			done
		fi
		append="vioport.passes=$GUEST_CRASH_N"
		;;
	ro)
		head -c "$((GUEST_RO_DISK_MB << 20))" /dev/urandom >"$image"
		before=$(guest_md5 "$image")
		guest_add_blk "$backend" 1 true "" false blk-ro
		append="vioport.md5=$before"
		;;
	i2c-gpio)
		guest_setup_i2c_gpio
		append=$GUEST_APPEND
		;;
	providers)
		guest_setup_providers
		append=$GUEST_APPEND
		;;
	vmsg-linux)
		guest_vmsg_setup
		append=$GUEST_APPEND
		smp=$GUEST_VMSG_QUEUES
		;;
	vmsg-doorbell)
		guest_vmsg_setup doorbell
		append=$GUEST_APPEND
		smp=$GUEST_VMSG_QUEUES
		;;
	vmsg-hostile)
		guest_vmsg_hostile_setup
		append=$GUEST_APPEND
		;;
	vmsg-restart)
		guest_vmsg_restart_setup
		append=$GUEST_APPEND
		;;
	vmsg-arm64)
		guest_vmsg_arm64_setup pci
		append=$GUEST_APPEND
		;;
	vmsg-arm64-dt)
		guest_vmsg_arm64_setup dt
		append=$GUEST_APPEND
		;;
	libvirt)
		guest_libvirt_setup
		append=$GUEST_APPEND
		;;
	nbd)
		guest_nbd_setup "$backend"
		append=$GUEST_APPEND
		;;
	vu-devices)
		guest_vudev_setup
		append=$GUEST_APPEND
		;;
	esac

	# Only the boots that run fio carry it.
	GUEST_BOOT_INITRD=""
	[[ " ${GUEST_TESTS[*]} " != *" blk-fio "* ]] || GUEST_BOOT_INITRD=$GUEST_FIO_INITRD
	[[ $v != vu-devices ]] || GUEST_BOOT_INITRD=$GUEST_VUDEV_INITRD
	if [[ ${#GUEST_TESTS[@]} -gt 0 ]]; then
		append="vioport.tests=$(IFS=,; echo "${GUEST_TESTS[*]}") $append"
		guest_say "$v: booting ($backend backend, $smp CPU, guest tests: ${GUEST_TESTS[*]})"
		if [[ $v == libvirt ]]; then
			guest_libvirt_boot "$append" "$serial"
		else
			guest_boot "$v" "$smp" "$append" "${GUEST_QEMU[@]}"
		fi
		GUEST_BOOT_INITRD=""
		guest_say "$v: guest ran for $GUEST_ELAPSED s${GUEST_BOOT:+: $GUEST_BOOT}"
	else
		GUEST_BOOT="no backend started"
		: >"$serial"
	fi

	# The simulated devices keep their state until the daemons stop: read
	# what the guest left on the control sockets first.
	if [[ $v == i2c-gpio ]]; then
		guest_check_i2c_gpio "$serial"
		guest_check_backend i2c backend-i2c
		guest_check_backend gpio backend-gpio
	elif [[ $v == providers ]]; then
		guest_check_backend i2c backend-i2c
	elif [[ $v == vmsg-linux || $v == vmsg-doorbell ]]; then
		guest_vmsg_check "$serial"
	elif [[ $v == vmsg-hostile ]]; then
		guest_vmsg_hostile_check
	elif [[ $v == vmsg-restart ]]; then
		guest_vmsg_restart_check
	elif [[ $v == vmsg-arm64 || $v == vmsg-arm64-dt ]]; then
		guest_vmsg_arm64_check "$serial"
	elif [[ $v == libvirt ]]; then
		guest_libvirt_check "$serial"
	elif [[ $v == nbd ]]; then
		guest_nbd_check
	elif [[ $v == vu-devices ]]; then
		guest_vudev_check "$serial"
	else
		guest_check_backend blk backend-blk
	fi
	[[ -z ${GUEST_BACKEND_PID[rng]:-} ]] || guest_check_backend rng backend-rng
	[[ $v != crash* || -n ${GUEST_DOWN[blk]:-} ]] || guest_check_crash
	if [[ -z ${GUEST_DOWN[blk]:-} ]]; then
		case $v in
		basic | mq | crash | crash-packed | nbd) guest_check_image "$image" "$serial" ;;
		ro)
			after=$(guest_md5 "$image")
			if [[ $after == "$before" ]]; then
				GUEST_HOST[blk-host-unchanged]="PASS image file md5 $after, unchanged"
			else
				GUEST_HOST[blk-host-unchanged]="FAIL image file md5 $after, was $before"
			fi
			;;
		esac
	fi

	guest_report "$v" "$serial" "${tests[@]}"
	rm -f "$image" "$GUEST_TMP"/*.sock
	if [[ $GUEST_NFAIL -gt $nfail_before || $GUEST_KEEP_LOGS == true ]]; then
		guest_keep_logs "$v"
		guest_say "$v: logs in ${GUEST_LOG_DIR#"$VIOPORT_ROOT"/}/guest-$v-*.log"
	else
		rm -f "$GUEST_TMP"/*.log
	fi
}

# ---------------------------------------------------------------- main

guest_usage() {
	sed -n '4,67s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

guest_main() {
	local backend="" list=false v t
	local -a variants=()
	while [[ $# -gt 0 ]]; do
		case $1 in
		--backend) backend=${2:?--backend needs vioport or qsd}; shift ;;
		--variant) variants+=("${2:?--variant needs a name}"); shift ;;
		--timeout) GUEST_TIMEOUT=${2:?--timeout needs seconds}; shift ;;
		--keep-logs) GUEST_KEEP_LOGS=true ;;
		--list) list=true ;;
		-h | --help) guest_usage; return 0 ;;
		*) guest_say "unknown argument '$1'"; guest_usage >&2; return 2 ;;
		esac
		shift
	done
	[[ ${#variants[@]} -gt 0 ]] || variants=(basic mq ro crash crash-packed i2c-gpio providers
		vmsg-linux vmsg-doorbell vmsg-hostile vmsg-restart vmsg-arm64 vmsg-arm64-dt libvirt nbd
		vu-devices)
	if [[ -z $backend ]]; then
		backend=qsd
		[[ ! -x $VIOPORT_BIN ]] || backend=vioport
	fi
	case $backend in
	vioport) [[ -x $VIOPORT_BIN ]] || { guest_say "no $VIOPORT_BIN: build it first"; return 2; } ;;
	qsd) command -v qemu-storage-daemon >/dev/null || { guest_say "no qemu-storage-daemon"; return 2; } ;;
	*) guest_say "unknown backend '$backend'"; return 2 ;;
	esac
	for v in "${variants[@]}"; do
		guest_variant_tests "$v" >/dev/null || { guest_say "unknown variant '$v'"; return 2; }
	done
	if [[ $list == true ]]; then
		for v in "${variants[@]}"; do
			for t in $(guest_variant_tests "$v"); do echo "$v/$t"; done
		done
		return 0
	fi
	command -v qemu-system-x86_64 >/dev/null || { guest_say "no qemu-system-x86_64"; return 2; }

	# Only vioport serves the simulated devices: with qsd the variant's
	# tests are skipped, and its modules not even built.
	local with_i2c_gpio=false with_providers=false
	[[ $backend != vioport || " ${variants[*]} " != *" providers "* ]] || with_providers=true
	if [[ " ${variants[*]} " == *" i2c-gpio "* || " ${variants[*]} " == *" providers "* ]]; then
		if [[ $backend == vioport ]]; then
			[[ " ${variants[*]} " != *" i2c-gpio "* ]] || with_i2c_gpio=true
		else
			local -a keep=()
			for v in "${variants[@]}"; do
				if [[ $v == i2c-gpio || $v == providers ]]; then
					for t in $(guest_variant_tests "$v"); do
						guest_emit "$v/$t" SKIP "no vhost-user I2C or GPIO backend besides vioport's"
					done
				else
					keep+=("$v")
				fi
			done
			variants=("${keep[@]}")
		fi
	fi
	[[ ${#variants[@]} -gt 0 ]] || return 0
	for v in "${variants[@]}"; do
		[[ $GUEST_FIO_VARIANTS != *" $v "* ]] || GUEST_WITH_FIO=true
	done
	if [[ " ${variants[*]} " == *" vmsg-"* ]]; then
		if [[ $backend == vioport ]]; then
			GUEST_WITH_VMSG=true
		else
			local -a rest=()
			for v in "${variants[@]}"; do
				if [[ $v == vmsg-* ]]; then
					for t in $(guest_variant_tests "$v"); do
						guest_emit "$v/$t" SKIP "only vioport serves devices over virtio-msg"
					done
				else
					rest+=("$v")
				fi
			done
			variants=("${rest[@]}")
			[[ ${#variants[@]} -gt 0 ]] || return 0
		fi
	fi
	if [[ " ${variants[*]} " == *" vu-devices "* ]]; then
		if [[ $backend == vioport ]]; then
			GUEST_WITH_VUDEV=true
		else
			for t in $(guest_variant_tests vu-devices); do
				guest_emit "vu-devices/$t" SKIP "only vioport serves vsock and input"
			done
			local -a others=()
			for v in "${variants[@]}"; do
				[[ $v == vu-devices ]] || others+=("$v")
			done
			variants=("${others[@]}")
			[[ ${#variants[@]} -gt 0 ]] || return 0
		fi
	fi

	guest_init
	if ! guest_prepare "$with_i2c_gpio" "$with_providers"; then
		# Without a kernel no variant can run: each of its tests fails.
		for v in "${variants[@]}"; do
			for t in $(guest_variant_tests "$v"); do
				guest_emit "$v/$t" FAIL "no guest kernel or initramfs (see the messages above)"
			done
		done
		return 1
	fi
	guest_say "kernel $GUEST_KVER, backend $backend, variants ${variants[*]}"
	for v in "${variants[@]}"; do
		guest_variant "$v" "$backend"
	done
	[[ $GUEST_NFAIL -eq 0 ]]
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	guest_main "$@"
fi
