# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Guest test: a read-only virtio-blk device /dev/vda (VIRTIO_BLK_F_RO).
#
#   VIOPORT_MD5  md5 of the image the host filled before the boot
#
# Results: blk-ro-flag blk-ro-write blk-ro-read. The host checks afterwards
# that the image did not change.

DEV=/dev/vda
SYS=/sys/block/vda

if ! wait_for "$DEV" 10; then
	for t in blk-ro-flag blk-ro-write blk-ro-read; do
		result "$t" FAIL "no $DEV after 10 s: the driver did not bind"
	done
	exit 0
fi

ro=$(sysattr "$SYS/ro")
say "found $DEV, read-only flag $ro"
if [ "$ro" = 1 ]; then
	result blk-ro-flag PASS "$SYS/ro is 1"
else
	result blk-ro-flag FAIL "$SYS/ro is $ro, expected 1"
fi

# Both a buffered write with fsync and a direct one must be refused.
if dd if=/dev/zero of="$DEV" bs=4096 count=1 conv=notrunc,fsync 2>/tmp/ro.err; then
	result blk-ro-write FAIL "a write to $DEV succeeded"
elif dd if=/dev/zero of="$DEV" bs=4096 count=1 oflag=direct 2>>/tmp/ro.err; then
	result blk-ro-write FAIL "a direct write to $DEV succeeded"
else
	say "writes to $DEV are refused: $(head -n 1 /tmp/ro.err)"
	result blk-ro-write PASS "$(head -n 1 /tmp/ro.err)"
fi

drop_caches "$DEV"
got=$(md5_of "$DEV")
if [ "$got" = "${VIOPORT_MD5:-}" ]; then
	result blk-ro-read PASS "whole disk md5 $got, as the host wrote it"
else
	result blk-ro-read FAIL "whole disk md5 $got, the host wrote ${VIOPORT_MD5:-?}"
fi
rm -f /tmp/ro.err
