# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Guest test: the device side killed and restarted under I/O. The guest
# writes a pattern to the first 4 MiB of /dev/vda and syncs it, starts a
# writer that keeps writing the disk's second half with O_DIRECT, and says
# "vmsg-kill-ready" once that writer's writes are completing; the host then
# kills the vioport process (SIGKILL) and starts it again on the same window
# and image. vioport_vmsg notices (the messages it leaves untaken, or its new
# generation), completes the writer's request in flight with an error,
# removes the devices, formats the window again and registers them anew; the
# disk comes back with what was written and synced before.
#
# Results: vmsg-restart-io (the writer's write failed with an I/O error and
# the module logged the requests it completed), vmsg-restart-readd (the
# devices were removed and re-added within 60 s), vmsg-restart-data (the new
# /dev/vda reads the pattern back, and takes a new write), vmsg-restart-clean
# (no oops, BUG, warning or hung task).

want=${VIOPORT_VMSG_DEVICES:-2}
if ! wait_for /dev/vda 10; then
	for t in vmsg-restart-io vmsg-restart-readd vmsg-restart-data vmsg-restart-clean; do
		result "$t" FAIL "no /dev/vda: the disk was not there before the restart"
	done
	exit 0
fi
dd if=/dev/urandom of=/tmp/pattern bs=1M count=4 2>/dev/null
dd if=/tmp/pattern of=/dev/vda bs=1M conv=fsync 2>/dev/null
drop_caches /dev/vda
before=$(dd if=/dev/vda bs=1M count=4 2>/dev/null | md5sum | cut -d' ' -f1)
: >/tmp/rlog
dmesg -c >>/tmp/rlog

# The writer: 16 MiB at a time to the disk's second half (the pattern is in
# the first 4 MiB), until a write fails; at most 200 rounds.
writes() { awk '{ print $5 }' /sys/block/vda/stat; }
rm -f /tmp/wdone /tmp/werr
(
	n=0
	while [ "$n" -lt 200 ] &&
		dd if=/dev/zero of=/dev/vda bs=64k seek=256 count=256 oflag=direct conv=notrunc \
			2>/tmp/werr; do
		n=$((n + 1))
	done
	echo "$n" >/tmp/wdone
) &
w0=$(writes)
started=yes
tries=300
while [ "$(writes)" -le $((w0 + 4)) ] && [ ! -e /tmp/wdone ] && [ "$tries" -gt 0 ]; do
	usleep 100000
	tries=$((tries - 1))
done
if [ -e /tmp/wdone ] || [ "$(writes)" -le $((w0 + 4)) ]; then
	result vmsg-restart-io FAIL "the writer did not get going before the kill: $(cat /tmp/werr 2>/dev/null)"
	started=no
fi
info vmsg-kill-ready "$before writing"

# Once the device side is gone, the writer's request in flight must fail.
tries=600
while [ ! -e /tmp/wdone ] && [ "$tries" -gt 0 ]; do
	usleep 100000
	dmesg -c >>/tmp/rlog
	tries=$((tries - 1))
done
dmesg -c >>/tmp/rlog
drained=$(grep -o 'device [0-9]*: [0-9]* requests* in flight completed with an error' /tmp/rlog | head -n 1)
if [ "$started" = no ]; then
	:
elif [ ! -e /tmp/wdone ]; then
	result vmsg-restart-io FAIL "the writer still waits 60 s after the kill: $(grep vioport_vmsg /tmp/rlog | tail -n 3 | tr '\n' ';')"
elif [ "$(cat /tmp/wdone)" -ge 200 ]; then
	result vmsg-restart-io FAIL "the writer never saw an error"
elif [ -z "$drained" ]; then
	result vmsg-restart-io FAIL "the writer failed but the module logged no request in flight: $(tr '\n' ';' </tmp/werr)"
else
	result vmsg-restart-io PASS "the writer's write failed ($(grep -m 1 -e error -e 'No such' /tmp/werr)); $drained; $(grep -o -m 1 'I/O error, dev vda.*' /tmp/rlog)"
fi

readded() {
	sed -n '/window formatted again/,$p' /tmp/rlog | grep -q "$want devices on the window"
}
tries=600
while ! readded && [ "$tries" -gt 0 ]; do
	usleep 100000
	dmesg -c >>/tmp/rlog
	tries=$((tries - 1))
done
if readded; then
	result vmsg-restart-readd PASS "$(sed -n '/device side restarted/,$p' /tmp/rlog |
		grep -e 'restarted' -e 'formatted again' -e 'on the window' | tr '\n' ';')"
else
	result vmsg-restart-readd FAIL "not re-added within 60 s: $(grep vioport_vmsg /tmp/rlog | tail -n 3 | tr '\n' ';')"
fi

if ! wait_for /dev/vda 10; then
	result vmsg-restart-data FAIL "no /dev/vda after the restart"
else
	drop_caches /dev/vda
	after=$(dd if=/dev/vda bs=1M count=4 2>/dev/null | md5sum | cut -d' ' -f1)
	dd if=/dev/urandom of=/tmp/pattern2 bs=64k count=1 2>/dev/null
	dd if=/tmp/pattern2 of=/dev/vda bs=64k seek=100 conv=fsync 2>/dev/null
	drop_caches /dev/vda
	if [ "$after" != "$before" ]; then
		result vmsg-restart-data FAIL "the disk reads md5 $after after the restart, $before before"
	elif ! dd if=/dev/vda bs=64k skip=100 count=1 2>/dev/null | cmp -s - /tmp/pattern2; then
		result vmsg-restart-data FAIL "a write after the restart did not read back"
	else
		result vmsg-restart-data PASS "4 MiB written before the restart read back (md5 $after); a new write reads back"
	fi
fi

dmesg -c >>/tmp/rlog
bad=$(grep -e 'BUG' -e 'Oops' -e 'Call Trace' -e 'WARNING' -e 'hung' /tmp/rlog | head -n 2 | tr '\n' ';')
if [ -n "$bad" ]; then
	result vmsg-restart-clean FAIL "$bad"
else
	result vmsg-restart-clean PASS "no oops, BUG, warning or hung task"
fi
