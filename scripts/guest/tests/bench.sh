# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Guest side of scripts/bench-guest.sh (not a test of the guest tier): the
# guest has a disk and a GPIO chip over vhost-user (PCI) and the same over
# virtio-msg (vioport_vmsg.ko's window), and measures each pair in turn.
#
#   VIOPORT_RUNS     runs of each measurement per transport (default 5)
#   VIOPORT_SECONDS  seconds of each fio run (default 5, after 1 s ramp)
#   VIOPORT_ROUNDS   GPIO round trips per run (default 2000)
#
# Prints, for the host to parse:
#   INFO bench-fio vhost-user|virtio-msg RUN IOPS P50_US
#   INFO bench-gpio vhost-user|virtio-msg RUN ROUNDS_PER_S US_PER_ROUND
# and the result "bench" (FAIL when a device is missing or a run failed).

FIO=/opt/host/bin/fio
GPIO_RT=/opt/host/bin/gpio_roundtrip
runs=${VIOPORT_RUNS:-5}
secs=${VIOPORT_SECONDS:-5}
rounds=${VIOPORT_ROUNDS:-2000}

# Sets vu_disk, vm_disk, vu_chip, vm_chip from sysfs: a device whose path
# runs through one of the module's window devices (*.vmsgN) is virtio-msg's.
find_devices() {
	local d p
	vu_disk="" vm_disk="" vu_chip="" vm_chip=""
	for d in /sys/block/vd*; do
		[ -e "$d" ] || continue
		p=$(readlink -f "$d")
		case $p in
		*.vmsg[0-9]*) vm_disk=/dev/${d##*/} ;;
		*) vu_disk=/dev/${d##*/} ;;
		esac
	done
	for d in /sys/bus/gpio/devices/gpiochip*; do
		[ -e "$d" ] || continue
		p=$(readlink -f "$d")
		case $p in
		*.vmsg[0-9]*) vm_chip=/dev/${d##*/} ;;
		*) vu_chip=/dev/${d##*/} ;;
		esac
	done
}

# Waits up to 60 s for the four devices.
tries=600
find_devices
while [ -z "$vu_disk" ] || [ -z "$vm_disk" ] || [ -z "$vu_chip" ] || [ -z "$vm_chip" ]; do
	if [ "$tries" -le 0 ]; then
		result bench FAIL "devices after 60 s: disks vhost-user '$vu_disk' virtio-msg '$vm_disk'," \
			"GPIO chips vhost-user '$vu_chip' virtio-msg '$vm_chip'"
		exit 0
	fi
	usleep 100000
	tries=$((tries - 1))
	find_devices
done
say "disks: vhost-user $vu_disk, virtio-msg $vm_disk; GPIO chips: vhost-user $vu_chip, virtio-msg $vm_chip"

failed=""

# fio_run KIND DEV RUN: one 4 KiB random-read run at depth 16.
fio_run() {
	local kind=$1 dev=$2 run=$3 line
	if ! "$FIO" --eta=never --name=randread --filename="$dev" --direct=1 --ioengine=libaio --iodepth=16 \
		--rw=randread --bs=4k --norandommap --randrepeat=0 --time_based --ramp_time=1 \
		--runtime="$secs" --output-format=terse --terse-version=3 --output=/tmp/bench.out \
		2>/tmp/bench.err; then
		failed="$failed fio-$kind-$run($(tail -n 1 /tmp/bench.err))"
		return 0
	fi
	# Terse v3: 5 error, 8 read IOPS, 24 the completion latency's 50th
	# percentile ("50.000000%=N", microseconds).
	line=$(awk -F';' '$1 == 3 { split($24, p, "="); print $5, $8, p[2]; exit }' /tmp/bench.out)
	# shellcheck disable=SC2086 # one word per field
	set -- $line
	if [ "${1:-1}" != 0 ]; then
		failed="$failed fio-$kind-$run(error ${1:-none})"
		return 0
	fi
	info bench-fio "$kind" "$run" "$2" "$3"
	say "fio $kind run $run: $2 IOPS, p50 $3 us"
}

# gpio_run KIND CHIP RUN: ROUNDS set + get round trips on line 0.
gpio_run() {
	local kind=$1 chip=$2 run=$3 line
	if ! line=$("$GPIO_RT" "$chip" 0 "$rounds" 2>&1); then
		failed="$failed gpio-$kind-$run($line)"
		return 0
	fi
	# gpio-rt rounds N seconds S rounds_per_s R us_per_round U us_per_request Q
	# shellcheck disable=SC2086 # one word per field
	set -- $line
	info bench-gpio "$kind" "$run" "$7" "$9"
	say "GPIO $kind run $run: $7 round trips/s, $9 us each"
}

# Each run measures both transports, the order swapped from one run to the
# next so that a drift in the host's load falls on both alike.
run=1
while [ "$run" -le "$runs" ]; do
	if [ $((run % 2)) -eq 1 ]; then
		fio_run vhost-user "$vu_disk" "$run"
		fio_run virtio-msg "$vm_disk" "$run"
	else
		fio_run virtio-msg "$vm_disk" "$run"
		fio_run vhost-user "$vu_disk" "$run"
	fi
	run=$((run + 1))
done
run=1
while [ "$run" -le "$runs" ]; do
	if [ $((run % 2)) -eq 1 ]; then
		gpio_run vhost-user "$vu_chip" "$run"
		gpio_run virtio-msg "$vm_chip" "$run"
	else
		gpio_run virtio-msg "$vm_chip" "$run"
		gpio_run vhost-user "$vu_chip" "$run"
	fi
	run=$((run + 1))
done

if [ -n "$failed" ]; then
	result bench FAIL "failed:$failed"
else
	result bench PASS "$runs runs of each measurement on each transport"
fi
rm -f /tmp/bench.out /tmp/bench.err
