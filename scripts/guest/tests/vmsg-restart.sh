# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Guest test: the device side killed and restarted. The guest writes a
# pattern to /dev/vda and says "vmsg-kill-ready" once it is idle; the host
# then kills the vioport process (SIGKILL) and starts it again on the same
# window and image. vioport_vmsg sees the new device generation, removes the
# devices, formats the window again and registers them anew; the disk comes
# back with what was written before.
#
# Results: vmsg-restart-readd (the devices were removed and re-added within
# 60 s), vmsg-restart-data (the new /dev/vda reads the pattern back, and takes
# a new write), vmsg-restart-clean (no oops, BUG or warning).

want=${VIOPORT_VMSG_DEVICES:-2}
if ! wait_for /dev/vda 10; then
	for t in vmsg-restart-readd vmsg-restart-data vmsg-restart-clean; do
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
info vmsg-kill-ready "$before"

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
