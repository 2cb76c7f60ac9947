# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Helpers for the guest tests, sourced by /init before each test script
# (installed as /vioport/lib.sh). busybox ash; POSIX sh plus `local`.

# result NAME PASS|FAIL|SKIP DETAIL...: one test's verdict, for the host.
result() {
	local name=$1 status=$2
	shift 2
	echo "VIOPORT-RESULT $name $status $*"
	# Tests run in subshells; the count of failures lives in a file.
	[ "$status" != FAIL ] || echo "$name" >>/tmp/failed
}

# say TEXT...: what the guest is doing, for a person watching the demo.
say() {
	echo "VIOPORT-SAY $*"
}

# info KEY VALUE: a value the host checks or shows (a checksum, a size).
info() {
	echo "VIOPORT-INFO $*"
}

# Prints the md5 of a file or device, nothing else.
md5_of() {
	md5sum "$1" | cut -d' ' -f1
}

# Prints the md5 of COUNT bytes of DEV from byte OFFSET (both multiples of 4096).
md5_range() {
	dd if="$1" bs=4096 skip=$(($2 / 4096)) count=$(($3 / 4096)) 2>/dev/null |
		md5sum | cut -d' ' -f1
}

# Prints the md5 of COUNT zero bytes (a multiple of 4096).
md5_zeros() {
	dd if=/dev/zero bs=4096 count=$(($1 / 4096)) 2>/dev/null | md5sum | cut -d' ' -f1
}

# Makes the next read of a block device come from the device, not the cache.
drop_caches() {
	sync
	blockdev --flushbufs "$1" 2>/dev/null || true
	echo 3 >/proc/sys/vm/drop_caches
}

# Waits up to SECONDS for a path to appear; true if it did.
wait_for() {
	local path=$1 tries=$(($2 * 10))
	while [ ! -e "$path" ] && [ "$tries" -gt 0 ]; do
		usleep 100000
		tries=$((tries - 1))
	done
	[ -e "$path" ]
}

# Prints the number of entries in a directory (0 if it does not exist).
count_entries() {
	set -- "$1"/*
	if [ -e "$1" ]; then echo $#; else echo 0; fi
}

# Prints the feature bits the driver DRIVER negotiated with its (first)
# device, as bit numbers: "0 1 5 32 ...". Empty if no device is bound.
virtio_features() {
	local f bits="" i=0 c
	for f in /sys/bus/virtio/drivers/"$1"/virtio*/features; do
		[ -r "$f" ] || continue
		bits=$(cat "$f")
		break
	done
	while [ -n "$bits" ]; do
		c=${bits%"${bits#?}"}
		bits=${bits#?}
		[ "$c" != 1 ] || printf '%d ' "$i"
		i=$((i + 1))
	done
}

# Reads a sysfs attribute, or prints "-" when it does not exist.
sysattr() {
	cat "$1" 2>/dev/null || echo -
}
