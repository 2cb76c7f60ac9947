# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Guest part of the demo's second boot (scripts/guest/demo.sh): blinks a
# simulated GPIO line while the host watches it on the control socket, reads
# the message the host left in the EEPROM and the temperature it gave the LM75.
#
#   vioport.gpio_out=LINE  the line to blink: high, low, high, low
#   vioport.temp=MILLICELSIUS  the LM75's temperature, as the host set it
#
# Results: demo-gpio-blink demo-eeprom demo-lm75. The EEPROM's text is also
# printed as "VIOPORT-INFO eeprom-text TEXT" for the host to compare.

# The chip is the one whose lines carry the simulated names.
chip=""
tries=50
while [ -z "$chip" ] && [ "$tries" -gt 0 ]; do
	chip=$(gpiofind sim-gpio-0 2>/dev/null | cut -d' ' -f1) || true
	[ -n "$chip" ] || usleep 100000
	tries=$((tries - 1))
done

if [ -z "$chip" ]; then
	result demo-gpio-blink FAIL "no GPIO chip with a line named sim-gpio-0"
else
	say "blinking sim-gpio-$VIOPORT_GPIO_OUT on $chip with gpioset"
	ok=true
	for level in 1 0 1 0; do
		word=low
		[ "$level" = 0 ] || word=high
		if timeout 10 gpioset "$chip" "$VIOPORT_GPIO_OUT=$level" 2>/dev/null; then
			say "sim-gpio-$VIOPORT_GPIO_OUT set $word"
		else
			ok=false
			say "gpioset $chip $VIOPORT_GPIO_OUT=$level failed"
		fi
		sleep 1
	done
	if [ "$ok" = true ]; then
		result demo-gpio-blink PASS "gpioset drove sim-gpio-$VIOPORT_GPIO_OUT high, low, high, low"
	else
		result demo-gpio-blink FAIL "gpioset failed on sim-gpio-$VIOPORT_GPIO_OUT"
	fi
fi

# The first virtio I2C adapter, once the driver has registered it.
bus=""
tries=50
while [ -z "$bus" ] && [ "$tries" -gt 0 ]; do
	for a in /sys/bus/i2c/devices/i2c-*; do
		[ -e "$a/name" ] || continue
		case $(cat "$a/name") in
		*virtio*) bus=${a##*/i2c-}; break ;;
		esac
	done
	[ -n "$bus" ] || usleep 100000
	tries=$((tries - 1))
done

if [ -z "$bus" ]; then
	for t in demo-eeprom demo-lm75; do
		result "$t" FAIL "no virtio I2C adapter in /sys/bus/i2c/devices"
	done
else
	# at24 shows the 24c02 as a file; the erased bytes (0xff) after the
	# message are left out.
	eeprom=/sys/bus/i2c/devices/$bus-0050/eeprom
	echo 24c02 0x50 >"/sys/bus/i2c/devices/i2c-$bus/new_device" 2>/dev/null || true
	if ! wait_for "$eeprom" 10; then
		result demo-eeprom FAIL "no $eeprom after instantiating a 24c02"
	else
		text=$(dd if="$eeprom" bs=64 count=1 2>/dev/null | tr -d '\377\000')
		info eeprom-text "$text"
		say "EEPROM at 0x50 says: $text"
		if [ -n "$text" ]; then
			result demo-eeprom PASS "read '$text' from $eeprom"
		else
			result demo-eeprom FAIL "$eeprom holds no text"
		fi
	fi

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
	say "LM75 at 0x48 reads ${temp:-nothing} m°C"
	if [ "$temp" = "$VIOPORT_TEMP" ]; then
		result demo-lm75 PASS "temp1_input $temp, as the host set it"
	else
		result demo-lm75 FAIL "temp1_input '$temp', the host set $VIOPORT_TEMP"
	fi
fi
