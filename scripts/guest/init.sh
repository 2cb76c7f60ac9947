#!/bin/busybox sh
# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# /init of the guest-tier initramfs (busybox, no other userland).
#
# Loads the modules listed in /etc/vioport/modules (dependencies first), runs
# the guest tests named on the kernel command line, prints their results on
# the console (ttyS0) and ends the guest with `reboot -f`, which QEMU started
# with -no-reboot turns into an exit.
#
# Kernel command line words of the form vioport.KEY=VALUE become environment
# variables VIOPORT_KEY=VALUE for the tests (the kernel keeps dotted words to
# itself, so they are read from /proc/cmdline). vioport.tests=a,b runs
# /vioport/tests/a.sh then b.sh; without it every test script runs.
#
# Console protocol, one line each, read back by run-guest.sh:
#   VIOPORT-BEGIN <kernel release>
#   VIOPORT-RESULT <test> PASS|FAIL|SKIP <detail>
#   VIOPORT-INFO <key> <value>
#   VIOPORT-SAY <text>              progress meant for a person
#   VIOPORT-END <number of failed tests>

/bin/busybox mkdir -p /proc /sys /dev /tmp /bin /sbin
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/opt/host/bin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || true
# An archive built without root has no /dev/console node, and the kernel then
# starts /init with no output at all: take the console from devtmpfs.
exec </dev/console >/dev/console 2>&1

# Every word vioport.key=value of the command line, as VIOPORT_KEY=value.
read -r cmdline </proc/cmdline
for word in $cmdline; do
	case $word in
	vioport.*=*)
		key=${word%%=*}
		key=$(echo "${key#vioport.}" | tr 'a-z-' 'A-Z_')
		export "VIOPORT_$key=${word#*=}"
		;;
	esac
done

echo "VIOPORT-BEGIN $(uname -r)"

while read -r mod; do
	[ -n "$mod" ] || continue
	if ! out=$(insmod "/lib/modules/$mod.ko" 2>&1); then
		echo "VIOPORT-SAY insmod $mod failed: $out"
	fi
done </etc/vioport/modules

# From here on only emergencies reach the console, so that kernel messages
# cannot split a result line. Everything is still in dmesg, printed at the end
# when a test failed.
echo 1 >/proc/sys/kernel/printk

: >/tmp/failed
tests=$(echo "${VIOPORT_TESTS:-}" | tr ',' ' ')
if [ -z "$tests" ]; then
	for t in /vioport/tests/*.sh; do
		t=${t##*/}
		tests="$tests ${t%.sh}"
	done
fi

for t in $tests; do
	if [ ! -f "/vioport/tests/$t.sh" ]; then
		echo "VIOPORT-RESULT $t FAIL no test script $t.sh in the initramfs"
		echo "$t" >>/tmp/failed
		continue
	fi
	# A subshell, so that a test that exits or breaks cannot stop the others.
	(
		# shellcheck source=scripts/guest/guest-lib.sh
		. /vioport/lib.sh
		# shellcheck source=/dev/null
		. "/vioport/tests/$t.sh"
	) || echo "VIOPORT-SAY test script $t.sh exited with status $?"
done

nfailed=$(wc -l </tmp/failed)
if [ "$nfailed" -gt 0 ]; then
	dmesg | tail -n 80 | sed 's/^/dmesg: /'
fi
echo "VIOPORT-END $nfailed"

# The UART drains its buffer after write() returns; give it that time before
# the reboot cuts the machine off.
sync
sleep 1
reboot -f
