# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Guest test: vioport_vmsg.ko against a hostile device side. The host runs
# tests/guest/hostile_vmsg_dev on the window, which serves one scenario
# per format of the window, in the order of VIOPORT_HOSTILE (comma
# separated): each answers as a virtio-rng device with one fault. The module
# is loaded at boot (the first scenario); for each later one it is removed
# and loaded again (recover=0: a failed bus stays failed), which formats the
# window anew. Each scenario passes when the module names the fault in the
# kernel log (within 20 s) and can be removed; the run passes when the guest
# is still here with no oops, BUG or warning in the log.
#
# "hotplug" is EVENT_DEVICE: the device side says device 0 was removed and
# added again; the module removes it (its request in flight completed) and
# registers it anew.
#
# "recover" is the module's recovery: loaded with recover=1, it sees the
# device side restart (the host's "restart" scenario), removes the device,
# formats the window again and registers the device anew (the host's next
# scenario, "good").
#
# Results: hostile-<scenario> for each, hostile-survived.

# The log line each fault must produce (the module's own words).
expect_of() {
	case $1 in
	good) echo "1 device on the window" ;;
	devices-size) echo "GET_DEVICES failed" ;;
	bad-token) echo "token no request in flight has" ;;
	wrong-id) echo "an answer that does not match its request" ;;
	config-lie) echo "bytes not believed" ;;
	status-range) echo "SET_DEVICE_STATUS answer out of range" ;;
	vqueue-index) echo "GET_VQUEUE answer for another queue" ;;
	rings-ignored) echo "the device did not take its rings" ;;
	used-queue) echo "EVENT_USED of the wrong size or for a queue it does not have" ;;
	msg-size) echo "dropped a message with a size out of range" ;;
	fifo-index) echo "a FIFO index out of range" ;;
	stopped) echo "the device side stopped" ;;
	restart) echo "the device side restarted" ;;
	mute) echo "the device side stopped taking messages" ;;
	config-length) echo "GET_CONFIG answer for another range or of the wrong size" ;;
	hotplug) echo "device 0: removing it" ;;
	recover) echo "window formatted again" ;;
	esac
}

# True once the log of this scenario (/tmp/cur) shows what it must.
seen() {
	case $1 in
	recover) sed -n '/window formatted again/,$p' /tmp/cur | grep -q '1 device on the window' ;;
	hotplug) sed -n '/device 0: removing it/,$p' /tmp/cur | grep -q '1 device on the window' ;;
	*) grep -q "$(expect_of "$1")" /tmp/cur ;;
	esac
}

ko=/lib/modules/vioport_vmsg.ko
: >/tmp/klog
first=true
removed_all=true
for sc in $(echo "${VIOPORT_HOSTILE:-}" | tr ',' ' '); do
	want=$(expect_of "$sc")
	: >/tmp/cur
	if [ "$first" = true ]; then
		first=false
	elif ! out=$(insmod "$ko" timeout_ms=1000 "recover=$([ "$sc" = recover ] && echo 1 || echo 0)" 2>&1); then
		result "hostile-$sc" FAIL "insmod failed: $out"
		continue
	fi
	tries=200
	while ! seen "$sc" && [ "$tries" -gt 0 ]; do
		dmesg -c >>/tmp/cur
		seen "$sc" || usleep 100000
		tries=$((tries - 1))
	done
	line=""
	! seen "$sc" || line=$(grep -m1 "$want" /tmp/cur | sed 's/^\[[^]]*\] //')
	[ "$sc" != recover ] || [ -z "$line" ] || line="$line; then: 1 device on the window"
	[ "$sc" != hotplug ] || [ -z "$line" ] ||
		line="$line; $(grep -o -m1 'in flight completed with an error' /tmp/cur); then: $(grep -o -m1 'device 0 added by the device side' /tmp/cur), 1 device on the window"
	if ! out=$(rmmod vioport_vmsg 2>&1); then
		removed_all=false
		result "hostile-$sc" FAIL "rmmod failed: $out"
	elif [ -n "$line" ]; then
		result "hostile-$sc" PASS "$line"
	else
		result "hostile-$sc" FAIL "no '$want' in the log within 20 s: $(grep vioport_vmsg /tmp/cur | tail -n 2 | tr '\n' ';')"
	fi
	dmesg -c >>/tmp/cur
	cat /tmp/cur >>/tmp/klog
done

bad=$(grep -e 'BUG' -e 'Oops' -e 'Call Trace' -e 'WARNING' -e 'general protection' /tmp/klog | head -n 2 | tr '\n' ';')
if [ -n "$bad" ]; then
	result hostile-survived FAIL "$bad"
elif [ "$removed_all" = false ]; then
	result hostile-survived FAIL "the module could not be removed after a scenario"
else
	result hostile-survived PASS "no oops, BUG or warning; $(grep -c vioport_vmsg /tmp/klog) lines from the module"
fi
