# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Guest test: the virtio-blk device /dev/vda, read-write, through Linux's own
# virtio_blk driver.
#
#   VIOPORT_DISK_MB  the size the host gave the image, in MiB
#   VIOPORT_SERIAL   the serial number the backend was given (unset: skip)
#
# Results: blk-probe blk-serial blk-rw blk-discard blk-write-zeroes blk-intact,
# and INFO blk-md5, the checksum of the whole disk at the end, which the host
# compares with the image file once the guest is gone.

DEV=/dev/vda
SYS=/sys/block/vda
DISCARD_AT=$((4 << 20)) # 1 MiB discarded at 4 MiB
ZEROES_AT=$((8 << 20))  # 1 MiB written as zeroes at 8 MiB
RANGE=$((1 << 20))

if ! wait_for "$DEV" 10; then
	for t in blk-probe blk-serial blk-rw blk-discard blk-write-zeroes blk-intact; do
		result "$t" FAIL "no $DEV after 10 s: the driver did not bind"
	done
	exit 0
fi

# ------------------------------------------------------------------ probe

bytes=$(($(cat "$SYS/size") * 512))
mib=$((bytes >> 20))
discard_max=$(sysattr "$SYS/queue/discard_max_bytes")
zeroes_max=$(sysattr "$SYS/queue/write_zeroes_max_bytes")
say "found $DEV: $mib MiB, cache '$(sysattr "$SYS/queue/write_cache")'," \
	"discard up to $discard_max bytes, write-zeroes up to $zeroes_max bytes"
features=$(virtio_features virtio_blk)
detail="size $bytes ro $(sysattr "$SYS/ro") queues $(count_entries "$SYS/mq") cache '$(sysattr "$SYS/queue/write_cache")' features ${features% }"
if [ "$mib" -eq "${VIOPORT_DISK_MB:-0}" ] && [ $((bytes % (1 << 20))) -eq 0 ]; then
	result blk-probe PASS "$detail"
else
	result blk-probe FAIL "$detail, expected ${VIOPORT_DISK_MB:-?} MiB"
fi

if [ -z "${VIOPORT_SERIAL:-}" ]; then
	result blk-serial SKIP "no serial number given to the backend"
else
	serial=$(sysattr "$SYS/serial")
	if [ "$serial" = "$VIOPORT_SERIAL" ]; then
		result blk-serial PASS "serial '$serial'"
	else
		result blk-serial FAIL "serial '$serial', expected '$VIOPORT_SERIAL'"
	fi
fi

# ------------------------------------------------------------------ whole-disk write and read

# The pattern stays in tmpfs: it is the model the disk must match at the end.
say "writing $mib MiB of random data over the whole disk"
dd if=/dev/urandom of=/tmp/model bs=1M count="$mib" iflag=fullblock 2>/dev/null
want=$(md5_of /tmp/model)
if dd if=/tmp/model of="$DEV" bs=1M conv=fsync 2>/tmp/dd.err; then
	drop_caches "$DEV"
	got=$(md5_of "$DEV")
	say "read it back after dropping the caches: md5 $got"
	if [ "$got" = "$want" ]; then
		result blk-rw PASS "$mib MiB, md5 $got"
	else
		result blk-rw FAIL "wrote md5 $want, read back $got"
	fi
else
	result blk-rw FAIL "dd to $DEV: $(tail -n 1 /tmp/dd.err)"
fi

# ------------------------------------------------------------------ discard

# Zeroes RANGE bytes of the model at OFFSET, as the device should have.
zero_model() {
	dd if=/dev/zero of=/tmp/model bs=4096 seek=$(($1 / 4096)) count=$((RANGE / 4096)) \
		conv=notrunc 2>/dev/null
}

if [ "$discard_max" = - ] || [ "$discard_max" -eq 0 ]; then
	result blk-discard FAIL "the device offers no discard (discard_max_bytes $discard_max)"
elif ! out=$(blkdiscard -o "$DISCARD_AT" -l "$RANGE" "$DEV" 2>&1); then
	result blk-discard FAIL "blkdiscard: $out"
else
	drop_caches "$DEV"
	zero_model "$DISCARD_AT"
	if [ "$(md5_range "$DEV" "$DISCARD_AT" "$RANGE")" = "$(md5_zeros "$RANGE")" ]; then
		say "discarded 1 MiB at 4 MiB, it reads back as zeros"
		result blk-discard PASS "1 MiB at 4 MiB reads back as zeros"
	else
		result blk-discard FAIL "1 MiB at 4 MiB does not read back as zeros"
	fi
fi

# ------------------------------------------------------------------ write zeroes

# busybox blkdiscard cannot zero out; util-linux's (BLKZEROOUT) can, when the
# host's copy was put in the initramfs.
if [ ! -x /opt/host/bin/blkdiscard ]; then
	result blk-write-zeroes SKIP "no util-linux blkdiscard in the initramfs"
elif [ "$zeroes_max" = - ] || [ "$zeroes_max" -eq 0 ]; then
	result blk-write-zeroes FAIL "the device offers no write-zeroes" \
		"(write_zeroes_max_bytes $zeroes_max)"
elif ! out=$(/opt/host/bin/blkdiscard -z -o "$ZEROES_AT" -l "$RANGE" "$DEV" 2>&1); then
	result blk-write-zeroes FAIL "blkdiscard -z: $out"
else
	drop_caches "$DEV"
	zero_model "$ZEROES_AT"
	if [ "$(md5_range "$DEV" "$ZEROES_AT" "$RANGE")" = "$(md5_zeros "$RANGE")" ]; then
		say "wrote zeroes over 1 MiB at 8 MiB, it reads back as zeros"
		result blk-write-zeroes PASS "1 MiB at 8 MiB reads back as zeros"
	else
		result blk-write-zeroes FAIL "1 MiB at 8 MiB does not read back as zeros"
	fi
fi

# ------------------------------------------------------------------ nothing else moved

drop_caches "$DEV"
final=$(md5_of "$DEV")
model=$(md5_of /tmp/model)
if [ "$final" = "$model" ]; then
	result blk-intact PASS "whole disk md5 $final"
else
	result blk-intact FAIL "whole disk md5 $final, expected $model (data outside the zeroed ranges moved?)"
fi
info blk-md5 "$final"
rm -f /tmp/model /tmp/dd.err
