# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Guest test: the simulated I2C bus (24c02 EEPROM at 0x50, LM75 at 0x48) and
# the simulated 8-line GPIO chip, through Linux's i2c-virtio and gpio-virtio
# drivers, busybox's i2c tools and libgpiod's command line tools.
#
# The host prepares what the guest must find and passes it on the command line:
#   vioport.temp=MILLICELSIUS  the LM75's temperature, set on the control socket
#   vioport.eeprom=TEXT        16 characters to write into the EEPROM at 0x20
#   vioport.gpio_in=LINE       a line the host drove high before boot
#   vioport.gpio_out=LINE      the line the guest sets high; the host reads it
#                              back on the control socket after the guest is gone
#
# Results: i2c-detect i2c-eeprom i2c-lm75 gpio-info gpio-set gpio-get.

EEPROM_OFFSET=32

# Prints the number N of the first i2c-N adapter whose name says virtio.
virtio_adapter() {
	local a
	for a in /sys/bus/i2c/devices/i2c-*; do
		[ -e "$a/name" ] || continue
		case $(cat "$a/name") in
		*virtio*) echo "${a##*/i2c-}"; return 0 ;;
		esac
	done
	return 1
}

# The driver registers the adapter once the device is probed: give it time.
bus=""
tries=50
while [ -z "$bus" ] && [ "$tries" -gt 0 ]; do
	bus=$(virtio_adapter) || usleep 100000
	tries=$((tries - 1))
done

if [ -z "$bus" ]; then
	for t in i2c-detect i2c-eeprom i2c-lm75; do
		result "$t" FAIL "no virtio I2C adapter in /sys/bus/i2c/devices"
	done
else
	say "virtio I2C adapter: i2c-$bus ($(cat "/sys/bus/i2c/devices/i2c-$bus/name"))"
	# i2cdetect's grid, without its header line and row labels: the addresses
	# that answered, one word each.
	found=$(timeout 20 i2cdetect -y "$bus" 2>&1 | tail -n +2 | sed 's/^[0-9a-f]*://' |
		tr ' ' '\n' | grep -E '^[0-9a-f]{2}$' | tr '\n' ' ')
	if echo " $found" | grep -q ' 48 ' && echo " $found" | grep -q ' 50 '; then
		result i2c-detect PASS "i2c-$bus answers at: ${found% }"
	else
		result i2c-detect FAIL "i2c-$bus answers at '${found% }', expected 48 and 50"
	fi

	# The at24 driver exposes the EEPROM as a file; what it writes the
	# daemon keeps in its --eeprom-file, which the host checks afterwards.
	eeprom=/sys/bus/i2c/devices/$bus-0050/eeprom
	echo 24c02 0x50 >"/sys/bus/i2c/devices/i2c-$bus/new_device" 2>/dev/null || true
	if ! wait_for "$eeprom" 10; then
		result i2c-eeprom FAIL "no $eeprom after instantiating a 24c02"
	elif ! printf '%s' "$VIOPORT_EEPROM" |
		dd of="$eeprom" bs=1 seek="$EEPROM_OFFSET" conv=notrunc 2>/dev/null; then
		result i2c-eeprom FAIL "writing ${#VIOPORT_EEPROM} bytes to $eeprom failed"
	else
		got=$(dd if="$eeprom" bs=1 skip="$EEPROM_OFFSET" count="${#VIOPORT_EEPROM}" 2>/dev/null)
		if [ "$got" = "$VIOPORT_EEPROM" ]; then
			result i2c-eeprom PASS "wrote and read back '$got' at offset $EEPROM_OFFSET"
		else
			result i2c-eeprom FAIL "read back '$got', wrote '$VIOPORT_EEPROM'"
		fi
	fi

	# The lm75 driver reports through hwmon, in millidegrees Celsius.
	echo lm75 0x48 >"/sys/bus/i2c/devices/i2c-$bus/new_device" 2>/dev/null || true
	temp=""
	tries=50
	while [ "$tries" -gt 0 ]; do
		for f in /sys/bus/i2c/devices/"$bus"-0048/hwmon/hwmon*/temp1_input; do
			[ -r "$f" ] && temp=$(cat "$f" 2>/dev/null)
		done
		[ -z "$temp" ] || break
		usleep 100000
		tries=$((tries - 1))
	done
	if [ "$temp" = "$VIOPORT_TEMP" ]; then
		result i2c-lm75 PASS "temp1_input $temp, as the host set it"
	else
		result i2c-lm75 FAIL "temp1_input '$temp', the host set $VIOPORT_TEMP"
	fi
fi

# The chip is the one whose lines carry the simulated names.
chip=""
tries=50
while [ -z "$chip" ] && [ "$tries" -gt 0 ]; do
	chip=$(gpiofind sim-gpio-0 2>/dev/null | cut -d' ' -f1) || true
	[ -n "$chip" ] || usleep 100000
	tries=$((tries - 1))
done

if [ -z "$chip" ]; then
	for t in gpio-info gpio-set gpio-get; do
		result "$t" FAIL "no GPIO chip with a line named sim-gpio-0 ($(gpiodetect 2>&1 | tr '\n' ';'))"
	done
else
	say "virtio GPIO chip: $(gpiodetect | grep "^$chip ")"
	names=$(gpioinfo "$chip" | grep -o '"sim-gpio-[0-9]*"' | tr -d '"' | tr '\n' ' ')
	if [ "$names" = "sim-gpio-0 sim-gpio-1 sim-gpio-2 sim-gpio-3 sim-gpio-4 sim-gpio-5 sim-gpio-6 sim-gpio-7 " ]; then
		result gpio-info PASS "$chip lines named sim-gpio-0 .. sim-gpio-7"
	else
		result gpio-info FAIL "$chip line names: '${names% }'"
	fi

	# gpioset drives the line and releases it on exit; the daemon keeps the
	# output level, which the host reads on the control socket.
	if out=$(timeout 10 gpioset "$chip" "$VIOPORT_GPIO_OUT=1" 2>&1); then
		info gpio-set "$VIOPORT_GPIO_OUT 1"
		result gpio-set PASS "gpioset $chip $VIOPORT_GPIO_OUT=1"
	else
		result gpio-set FAIL "gpioset $chip $VIOPORT_GPIO_OUT=1: $out"
	fi

	# The host drove gpio_in high and left its neighbour low before boot.
	low=$((VIOPORT_GPIO_IN - 1))
	got=$(timeout 10 gpioget "$chip" "$VIOPORT_GPIO_IN" "$low" 2>&1)
	if [ "$got" = "1 0" ]; then
		result gpio-get PASS "gpioget $chip $VIOPORT_GPIO_IN $low: $got, as the host drove them"
	else
		result gpio-get FAIL "gpioget $chip $VIOPORT_GPIO_IN $low: '$got', expected '1 0'"
	fi
fi
