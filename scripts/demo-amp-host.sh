#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# demo-amp-host.sh: the amp firmware on QEMU's ZCU102 model driven from this
# host (make demo-amp shows Linux on the A53 driving it: demo-amp.sh). The
# `amp` firmware runs on a Cortex-R5F of the MPSoC's RPU (qemu-system-aarch64
# -M xlnx-zcu102, rpu-cpu[0]); this host is the driver, through vioport-drv
# over the machine's DDR, which QEMU keeps in a shared memory-backend-file:
# the window is at DDR address 0x3EE00000, so at that offset of the file.
#
# It lists the devices the R5 serves, blinks a GPIO line, reads the EEPROM and
# the temperature sensor, reads blocks and entropy, then asks the firmware to
# exit (vioport-drv exit, the window's control words) and checks the status
# QEMU returns through semihosting. Everything is bounded by timeouts; the
# emulator is stopped by PID and its files removed on any exit.
#
# Environment: DEMO_TIMEOUT (seconds for the whole emulator run, default 240).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

QEMU=${QEMU:-qemu-system-aarch64}
DEMO_TIMEOUT=${DEMO_TIMEOUT:-240}
OUT=build-fw/zcu102
ELF=build-fw/r5f-zcu102/amp.elf
DRV_BIN=build/apps/vioport-drv
RAM=$OUT/ddr.ram
QMP=$OUT/qmp.sock
LOG=$OUT/qemu.log
DDR_SIZE=1G            # the window at 0x3EE00000 needs a little more than 1000 MiB
WIN_OFF=0x3EE00000     # __vio_shm_base in firmware/platform/armv7r/zcu102-r5.ld
WIN_SIZE=0x100000      # __vio_shm_size there
RPU_CPU_INDEX=4        # QEMU numbers the four A53s 0-3, then the R5s
EXIT_STATUS=0
QPID=

die() {
	echo "demo-amp-host: $*" >&2
	exit 1
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
	rm -f "$RAM" "$QMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step() {
	printf '\n== %s\n' "$*"
}

# Runs vioport-drv on the R5's window, echoing the command line.
drv() {
	echo "\$ vioport-drv ... $*"
	"$DRV_BIN" --shm "$RAM" --shm-offset "$WIN_OFF" --shm-size "$WIN_SIZE" --timeout 10000 "$@"
}

# Sends QMP commands (one JSON object a line on stdin) to the paused emulator;
# fails on the first error reply or after 20 s.
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
    print("  qmp:", json.loads(line)["execute"], "->", json.dumps(r["return"])[:60])
' "$QMP"
}

command -v "$QEMU" >/dev/null 2>&1 || die "$QEMU not found: install qemu-system-arm (make deps)"
command -v python3 >/dev/null 2>&1 || die "python3 not found (it speaks QMP to the emulator)"

step "build: the amp image for the ZCU102's R5 (DDR at 0x3ED00000) and vioport-drv"
bash scripts/firmware.sh build r5f-zcu102
if [[ ! -x $DRV_BIN ]]; then
	if [[ -d build ]]; then
		ninja -C build apps/vioport-drv >/dev/null
	else
		bash scripts/meson-build.sh build
	fi
fi
[[ -x $DRV_BIN ]] || die "no $DRV_BIN after the build"

step "boot: xlnx-zcu102, DDR in $RAM, the image loaded for CPU $RPU_CPU_INDEX (rpu-cpu[0])"
mkdir -p "$OUT"
rm -f "$RAM" "$QMP"
# -S: nothing runs until the R5 is powered on below. The ZCU102 model's audio
# device wants a backend; none keeps host audio out of it.
QEMU_AUDIO_DRV=none timeout --kill-after=5 "$DEMO_TIMEOUT" "$QEMU" \
	-M xlnx-zcu102,memory-backend=ddr -smp 6 -m "$DDR_SIZE" \
	-object "memory-backend-file,id=ddr,size=$DDR_SIZE,share=on,mem-path=$RAM" \
	-device "loader,file=$ELF,cpu-num=$RPU_CPU_INDEX" \
	-semihosting-config enable=on,target=native \
	-display none -monitor none -serial null -serial null \
	-qmp "unix:$QMP,server=on,wait=off" -S >"$LOG" 2>&1 </dev/null &
QPID=$!
# The R5s start powered off, the first A53 powered on: swap that, so only the
# R5 runs (the A53 would execute whatever the DDR holds). A reset applies the
# power-on states and the loader's entry point; cont starts the machine.
qmp <<'EOF' || die "QMP failed (log: $LOG)"
{"execute": "qom-set", "arguments": {"path": "/machine/soc/apu-cluster/apu-cpu[0]", "property": "start-powered-off", "value": true}}
{"execute": "qom-set", "arguments": {"path": "/machine/soc/rpu-cluster/rpu-cpu[0]", "property": "start-powered-off", "value": false}}
{"execute": "system_reset"}
{"execute": "cont"}
EOF

step "the R5's devices (each vioport-drv run is a new driver: the R5 resets its devices and re-attaches)"
drv list
drv gpio 2 names

step "blink led0 (GPIO line 0) three times"
for _ in 1 2 3; do
	drv gpio 2 set 0 1
	drv gpio 2 set 0 0
done
step "the board's jumper: jumper-out (line 3) drives jumper-in (line 4)"
drv gpio 2 set 3 1
drv gpio 2 get 4

step "I2C: write \"vioport\" into the 24c02 EEPROM at 0x50, read it back; the LM75 at 0x48"
drv i2c 3 0x50 write 1076696f706f7274
drv i2c 3 0x50 writeread 10 7
drv i2c 3 0x48 writeread 00 2

step "blk: sector 0 of the R5's RAM disk, then write and read back sector 5"
drv blk 0 read 0 1 | head -4
printf 'written by the host, served by the R5\n' >"$OUT/sector.txt"
drv blk 0 write 5 "$OUT/sector.txt"
drv blk 0 read 5 1 | head -3

step "rng: 16 bytes from the R5 (its platform TRNG hook, or the simulation)"
drv rng 1 16

step "stop: ask the firmware to exit with status $EXIT_STATUS"
drv exit "$EXIT_STATUS"
status=0
for _ in $(seq 1 200); do
	kill -0 "$QPID" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$QPID" 2>/dev/null; then
	die "the emulator did not exit within 20 s of the request (log: $LOG)"
fi
wait "$QPID" || status=$?
QPID=

step "what the R5 printed (semihosting)"
# One attach and one reset per vioport-drv run: counted, not listed.
grep '^amp:' "$LOG" | grep -v -e 'amp: attached' -e 'amp: the driver left' | sed 's/^/  R5| /'
echo "  R5| ($(grep -c '^amp: attached' "$LOG") attaches, one per vioport-drv run, each after a device reset)"
if [[ $status -ne $EXIT_STATUS ]]; then
	die "qemu-system-aarch64 exited with $status, expected $EXIT_STATUS (log: $LOG)"
fi
printf '\ndemo-amp-host: the R5 served every request and exited with status %d through semihosting\n' \
	"$status"
