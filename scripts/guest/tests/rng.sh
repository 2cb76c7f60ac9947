# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Guest test: the virtio-rng device, read through the hw_random core
# (/dev/hwrng), which Linux's virtio_rng driver registers with.
#
# Results: rng-current rng-read.

CURRENT=/sys/class/misc/hw_random/rng_current

wait_for "$CURRENT" 10 || true
current=$(sysattr "$CURRENT")
features=$(virtio_features virtio_rng)
say "hardware RNG in use: $current (available: $(sysattr /sys/class/misc/hw_random/rng_available));" \
	"feature bits negotiated: ${features:-none}"
case $current in
virtio_rng*) result rng-current PASS "rng_current is $current, features ${features% }" ;;
*) result rng-current FAIL "rng_current is '$current', expected virtio_rng.N" ;;
esac

# A device that never answers would block the read for good: bound it. The
# second read only matters once the first one worked.
n=4096
fails=
for i in 1 2; do
	if ! timeout 15 dd if=/dev/hwrng of="/tmp/rng$i" bs=512 count=$((n / 512)) \
		iflag=fullblock 2>/dev/null; then
		got=$(wc -c 2>/dev/null <"/tmp/rng$i" || echo 0)
		fails="read $i of $n bytes did not complete within 15 s ($got bytes arrived)"
		break
	fi
done
nonzero=$(tr -d '\000' </tmp/rng1 2>/dev/null | wc -c)
if [ -n "$fails" ]; then
	result rng-read FAIL "$fails"
elif [ "$(wc -c </tmp/rng1)" -ne "$n" ] || [ "$(wc -c </tmp/rng2)" -ne "$n" ]; then
	result rng-read FAIL "$(wc -c </tmp/rng1) and $(wc -c </tmp/rng2) bytes, expected $n each"
elif [ "$nonzero" -eq 0 ]; then
	result rng-read FAIL "$n bytes, all zero"
elif cmp -s /tmp/rng1 /tmp/rng2; then
	result rng-read FAIL "two reads of $n bytes returned the same bytes"
else
	say "read 2 x $n bytes from /dev/hwrng: $(head -c 16 /tmp/rng1 | od -An -tx1 | tr -d ' \n')..."
	result rng-read PASS "2 x $n bytes, $nonzero of the first non-zero, reads differ"
fi
rm -f /tmp/rng1 /tmp/rng2
