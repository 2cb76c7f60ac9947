# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Guest test: vioport_vmsg.ko, the virtio-msg transport over the ivshmem
# window. Runs before the device tests of the vmsg-linux variant: it waits
# for the module to register the devices the host serves.
#
#   VIOPORT_VMSG_DEVICES  how many devices the host serves on the window
#   VIOPORT_VMSG_WINDOW   (optional) how the window device's name starts:
#                         "0000:" for the PCI binding, "vioport-window" for
#                         the device-tree binding
#
# Results: vmsg-probe (every device registered below the module's window and
# bound to its driver), vmsg-dma (each negotiated VIRTIO_F_ACCESS_PLATFORM, so
# virtio_ring maps every ring and buffer through the module's DMA operations,
# that is through the window).

want=${VIOPORT_VMSG_DEVICES:-0}

# Prints one line per virtio device whose parent is one of the module's
# window devices (*.vmsgN): "virtioN device-id driver window-device".
vmsg_devices() {
	local d path drv
	for d in /sys/bus/virtio/devices/virtio*; do
		[ -e "$d" ] || continue
		path=$(readlink -f "$d")
		case $path in
		*.vmsg[0-9]*) ;;
		*) continue ;;
		esac
		drv=-
		[ -e "$d/driver" ] && drv=$(basename "$(readlink -f "$d/driver")")
		path=${path%/virtio*}
		echo "${d##*/} $(cat "$d/device") $drv ${path##*/}"
	done
}

# Bring-up is one request at a time over a polled FIFO: give it time under TCG.
tries=600
while [ "$tries" -gt 0 ]; do
	bound=$(vmsg_devices | awk '$3 != "-"' | wc -l)
	[ "$bound" -lt "$want" ] || break
	usleep 100000
	tries=$((tries - 1))
done
list=$(vmsg_devices | tr '\n' ';')
other=$(vmsg_devices | awk -v w="${VIOPORT_VMSG_WINDOW:-}" 'w != "" && index($4, w) != 1 { print $4 }')
if ! grep -q '^vioport_vmsg ' /proc/modules; then
	result vmsg-probe FAIL "vioport_vmsg is not loaded"
elif [ -n "$other" ]; then
	result vmsg-probe FAIL "devices below $other, expected a window device named ${VIOPORT_VMSG_WINDOW}*"
elif [ "$bound" -eq "$want" ] && [ "$want" -gt 0 ]; then
	result vmsg-probe PASS "$bound devices on the window, each bound: $list"
else
	result vmsg-probe FAIL "$bound of $want devices bound after 60 s: ${list:-none}" \
		"($(dmesg | grep -i vmsg | tail -n 3 | tr '\n' ';'))"
fi

n=0
missing=""
for d in $(vmsg_devices | cut -d' ' -f1); do
	f=$(cat "/sys/bus/virtio/devices/$d/features" 2>/dev/null)
	# The features file is one character per bit, bit 0 first.
	if [ "$(echo "$f" | cut -c34)" = 1 ]; then
		n=$((n + 1))
	else
		missing="$missing $d"
	fi
done
if [ "$n" -gt 0 ] && [ -z "$missing" ]; then
	result vmsg-dma PASS "VIRTIO_F_ACCESS_PLATFORM negotiated by all $n devices: rings and buffers go through the window"
else
	result vmsg-dma FAIL "VIRTIO_F_ACCESS_PLATFORM missing on:${missing:- every device (none found)}"
fi
