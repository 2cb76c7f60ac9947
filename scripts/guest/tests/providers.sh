# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Guest test: vioport's Linux providers (GPIO character device, i2c-dev) on
# real kernel chips. Inside the guest, vioport runs as a vhost-user daemon on
# a chip and two adapters the kernel provides, and test_host_providers drives
# it through vioport's own vhost-user frontend:
#
#   - a gpio-sim chip (gpio-sim-vp.ko, the kernel's own simulator built by
#     build-modules.sh) of 8 named lines, configured here through configfs;
#     the program checks what the daemon does on its sysfs attributes;
#   - the guest's virtio-i2c adapter (i2c-virtio.ko), an I2C_FUNC_I2C
#     adapter served by the host's simulated bus (24c02 at 0x50, LM75 at
#     0x48), which the daemon drives with I2C_RDWR;
#   - i2c-stub, an SMBus-only adapter with a register file at 0x50, which
#     the daemon drives through its SMBus translation.
#
# The host passes vioport.lm75=MILLICELSIUS, the temperature it gave the LM75.
# Results: the program's own cases (see its header), one result each.

PROV_NAMES=vp-led,vp-button,vp-alert,vp-held,vp-line4,vp-line5,vp-line6,vp-line7
PROV_CASES="gpio-names gpio-output gpio-input gpio-irq-edge gpio-irq-latched gpio-busy
gpio-bad-line gpio-daemon i2c-rdwr-eeprom i2c-rdwr-lm75 i2c-rdwr-absent i2c-rdwr-daemon
i2c-smbus-byte i2c-smbus-unsupported i2c-smbus-daemon input-config input-events input-grab
input-led input-release input-daemon"

# Prints the number N of the first i2c-N adapter whose name matches PATTERN.
adapter_named() {
	local a
	for a in /sys/bus/i2c/devices/i2c-*; do
		[ -e "$a/name" ] || continue
		# shellcheck disable=SC2254 # the pattern is meant to match
		case $(cat "$a/name") in
		$1) echo "${a##*/i2c-}"; return 0 ;;
		esac
	done
	return 1
}

# Fails every case whose name starts with PREFIX, with the same reason.
FAILED_HERE=""
fail_cases() {
	local t
	for t in $PROV_CASES; do
		case $t in
		"$1"*)
			result "$t" FAIL "$2"
			FAILED_HERE="$FAILED_HERE $t "
			;;
		esac
	done
}

# Creates the gpio-sim chip "vp" and sets CHIP (gpiochipN) and SIMDIR (its
# sysfs directory with the sim_gpioK attributes), or WHY on failure.
make_gpio_sim() {
	local cfg=/sys/kernel/config/gpio-sim/vp i=0 name names
	if [ ! -d /sys/kernel/config/gpio-sim ]; then
		mount -t configfs none /sys/kernel/config 2>/dev/null || true
	fi
	if [ ! -d /sys/kernel/config/gpio-sim ]; then
		WHY="no /sys/kernel/config/gpio-sim (gpio-sim-vp.ko not loaded?)"
		return 1
	fi
	mkdir "$cfg" "$cfg/bank0" || { WHY="mkdir in configfs failed"; return 1; }
	echo 8 >"$cfg/bank0/num_lines"
	names=$(echo "$PROV_NAMES" | tr ',' ' ')
	for name in $names; do
		mkdir "$cfg/bank0/line$i"
		echo "$name" >"$cfg/bank0/line$i/name"
		i=$((i + 1))
	done
	echo 1 >"$cfg/live" || { WHY="gpio-sim refused to go live"; return 1; }
	CHIP=$(cat "$cfg/bank0/chip_name")
	SIMDIR=/sys/devices/platform/$(cat "$cfg/dev_name")/$CHIP
	[ -e "$SIMDIR/sim_gpio0/pull" ] || { WHY="no $SIMDIR/sim_gpio0/pull"; return 1; }
	[ -c "/dev/$CHIP" ] || { WHY="no /dev/$CHIP"; return 1; }
}

run_providers() {
	local rdwr="" smbus="" tries out rc seen="" name status detail t
	set --
	if make_gpio_sim; then
		say "gpio-sim chip $CHIP, lines $PROV_NAMES"
		set -- --gpio-chip "/dev/$CHIP" --gpio-sysfs "$SIMDIR" --gpio-names "$PROV_NAMES"
	else
		fail_cases gpio- "gpio-sim chip: $WHY"
	fi

	# i2c-stub needs its chip address as a parameter: /init leaves it to us.
	insmod /lib/modules/i2c_stub.ko chip_addr=0x50 2>/dev/null || true
	tries=50
	while [ "$tries" -gt 0 ]; do
		rdwr=$(adapter_named '*virtio*') || rdwr=""
		smbus=$(adapter_named 'SMBus stub*') || smbus=""
		[ -z "$rdwr" ] || [ -z "$smbus" ] || break
		usleep 100000
		tries=$((tries - 1))
	done
	if [ -n "$rdwr" ] && [ -c "/dev/i2c-$rdwr" ]; then
		say "virtio I2C adapter: i2c-$rdwr"
		set -- "$@" --i2c-rdwr "$rdwr" --lm75-mc "${VIOPORT_LM75:-25000}"
	else
		fail_cases i2c-rdwr- "no virtio I2C adapter with a /dev/i2c-N"
	fi
	if [ -n "$smbus" ] && [ -c "/dev/i2c-$smbus" ]; then
		say "i2c-stub adapter: i2c-$smbus"
		set -- "$@" --i2c-smbus "$smbus"
	else
		fail_cases i2c-smbus- "no i2c-stub adapter with a /dev/i2c-N"
	fi
	if [ -c /dev/uinput ]; then
		set -- "$@" --uinput /dev/uinput
	else
		fail_cases input- "no /dev/uinput (uinput.ko not loaded?)"
	fi
	[ $# -gt 0 ] || return 0

	rc=0
	out=$(VIOPORT_BIN=/opt/host/bin/vioport timeout 150 /opt/host/bin/test_host_providers \
		"$@" 2>&1) || rc=$?
	# What the program printed besides results (daemon logs on failure) is
	# for a person reading the console.
	echo "$out" | grep -v '^RESULT ' | grep -v '^$' | sed 's/^/VIOPORT-SAY providers: /'
	while read -r name status detail; do
		[ -n "$name" ] || continue
		result "$name" "$status" "$detail"
		seen="$seen $name "
	done <<EOF
$(echo "$out" | sed -n 's/^RESULT //p')
EOF
	# A case the program should have reported but did not (it crashed, or
	# timed out) fails; cases failed above were never asked of it.
	for t in $PROV_CASES; do
		case "$seen $FAILED_HERE" in
		*" $t "*) ;;
		*) result "$t" FAIL "test_host_providers did not report it (exit status $rc)" ;;
		esac
	done
}

run_providers
