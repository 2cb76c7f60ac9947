# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034 # run-guest.sh's variables
# SPDX-License-Identifier: BSD-3-Clause
#
# The guest tier's libvirt variant, sourced by run-guest.sh: the same guest
# and disk tests as the basic variant, but the guest is started by libvirt
# (`virsh create` on a domain with `<disk type='vhostuser'>`, docs/libvirt.md),
# not by a QEMU command line of ours. libvirt runs in session mode as an
# unprivileged user (nobody): its own libvirtd, started here by PID with a
# private runtime, configuration and cache directory and stopped at the end;
# the vioport daemon serving the disk runs as the same user, so QEMU (started
# by libvirtd as that user) may connect to its socket. Nothing of the
# machine's own libvirt (if any) is touched.
#
# Tests: the basic variant's blk tests, blk-host-image, backend-blk, and
# libvirt-domain (libvirt ran the domain: `virsh dominfo` saw it running, and
# its QEMU command line, from libvirt's log, has the vhost-user-blk device on
# the daemon's socket and the shared memfd memory).

GUEST_LIBVIRT_USER=nobody
GUEST_LIBVIRT_DOWN="" # why the variant cannot run, if it cannot
GUEST_LIBVIRT_DIR=""  # what libvirt and the daemon running as that user may reach
GUEST_LIBVIRT_PID=""  # our libvirtd
GUEST_LIBVIRT_NAME="" # the domain
GUEST_LIBVIRT_SEEN="" # libvirt-domain: what virsh dominfo said while it ran

guest_libvirt_tests() {
	echo blk-probe blk-serial blk-rw blk-discard blk-write-zeroes blk-intact blk-host-image \
		backend-blk libvirt-domain
}

# Sets GUEST_LIBVIRT_AS to the command prefix that runs a program as the
# libvirt user, in the variant's private environment. Each program in it
# execs the next, so a background job's $! is the program's own PID.
guest_libvirt_as_prefix() {
	GUEST_LIBVIRT_AS=(setpriv --reuid="$GUEST_LIBVIRT_USER" --regid="$(id -g "$GUEST_LIBVIRT_USER")"
		--clear-groups --inh-caps=-all --
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$GUEST_LIBVIRT_DIR/home"
		XDG_RUNTIME_DIR="$GUEST_LIBVIRT_DIR/run" XDG_CONFIG_HOME="$GUEST_LIBVIRT_DIR/home/.config"
		XDG_CACHE_HOME="$GUEST_LIBVIRT_DIR/home/.cache" LIBVIRT_AUTOSTART=0)
}

guest_libvirt_as() {
	guest_libvirt_as_prefix
	"${GUEST_LIBVIRT_AS[@]}" "$@"
}

guest_libvirt_virsh() {
	guest_libvirt_as timeout 30 virsh -q -c qemu:///session "$@"
}

# Why libvirt cannot run here, or nothing.
guest_libvirt_missing() {
	local t
	for t in libvirtd virsh setpriv; do
		command -v "$t" >/dev/null || { echo "no $t (Debian packages libvirt-daemon, libvirt-daemon-driver-qemu, libvirt-clients)"; return; }
	done
	[[ $(id -u) -eq 0 ]] || { echo "not root: the daemon and libvirt run as $GUEST_LIBVIRT_USER"; return; }
	id "$GUEST_LIBVIRT_USER" >/dev/null 2>&1 || echo "no user $GUEST_LIBVIRT_USER"
}

# Starts libvirtd in session mode as the libvirt user; 0 once virsh reaches it.
guest_libvirt_start_daemon() {
	local i log=$GUEST_TMP/libvirt-libvirtd.log
	mkdir -p "$GUEST_LIBVIRT_DIR/home/.config/libvirt" "$GUEST_LIBVIRT_DIR/run" \
		"$GUEST_LIBVIRT_DIR/home/.cache"
	# QEMU's output to a file, not through virtlogd (no second daemon to stop).
	echo 'stdio_handler = "file"' >"$GUEST_LIBVIRT_DIR/home/.config/libvirt/qemu.conf"
	chown -R "$GUEST_LIBVIRT_USER" "$GUEST_LIBVIRT_DIR/home" "$GUEST_LIBVIRT_DIR/run"
	chmod 700 "$GUEST_LIBVIRT_DIR/run"
	# --timeout: it also ends by itself once idle, should this script be killed.
	guest_libvirt_as_prefix
	"${GUEST_LIBVIRT_AS[@]}" libvirtd --timeout 300 >"$log" 2>&1 </dev/null &
	GUEST_LIBVIRT_PID=$!
	GUEST_PIDS+=("$GUEST_LIBVIRT_PID")
	for ((i = 0; i < 100; i++)); do
		[[ -S $GUEST_LIBVIRT_DIR/run/libvirt/libvirt-sock ]] &&
			guest_libvirt_virsh version >/dev/null 2>&1 && return 0
		guest_alive "$GUEST_LIBVIRT_PID" || break
		sleep 0.1
	done
	GUEST_LIBVIRT_DOWN="libvirtd (session mode, as $GUEST_LIBVIRT_USER) did not come up: $(tail -n 1 "$log")"
	return 1
}

# The domain: direct kernel boot of the tier's kernel and initramfs, the disk
# as <disk type='vhostuser'>, memory a shared memfd, the serial console in a
# file, no network, no graphics, no balloon, no USB.
guest_libvirt_xml() {
	local append=$1 dir=$GUEST_LIBVIRT_DIR
	cat <<EOF
<domain type='qemu'>
  <name>$GUEST_LIBVIRT_NAME</name>
  <memory unit='MiB'>512</memory>
  <memoryBacking>
    <source type='memfd'/>
    <access mode='shared'/>
  </memoryBacking>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>$dir/vmlinuz</kernel>
    <initrd>$dir/initrd.gz</initrd>
    <cmdline>console=ttyS0 panic=-1 loglevel=4 $append</cmdline>
  </os>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>$(command -v qemu-system-x86_64)</emulator>
    <disk type='vhostuser' device='disk'>
      <driver name='qemu' type='raw'/>
      <source type='unix' path='$dir/blk.sock'>
        <reconnect enabled='yes' timeout='10'/>
      </source>
      <target dev='vda' bus='virtio'/>
    </disk>
    <controller type='usb' model='none'/>
    <serial type='file'>
      <source path='$dir/serial.log'/>
      <target port='0'/>
    </serial>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
}

# Prepares the variant: a directory the libvirt user owns with the kernel, the
# initramfs and the disk image; the blk daemon as that user; libvirtd. Sets
# GUEST_APPEND, or GUEST_LIBVIRT_DOWN and the results of its tests.
guest_libvirt_setup() {
	local t
	GUEST_APPEND=""
	GUEST_LIBVIRT_DOWN=$(guest_libvirt_missing)
	if [[ -z $GUEST_LIBVIRT_DOWN ]]; then
		GUEST_LIBVIRT_DIR=$(mktemp -d /tmp/vioport-libvirt.XXXXXX)
		chmod 755 "$GUEST_LIBVIRT_DIR"
		GUEST_LIBVIRT_NAME=vioport-guest-$$
		cp "$GUEST_VMLINUZ" "$GUEST_LIBVIRT_DIR/vmlinuz"
		cp "$GUEST_INITRD" "$GUEST_LIBVIRT_DIR/initrd.gz"
		truncate -s "${GUEST_DISK_MB}M" "$GUEST_LIBVIRT_DIR/disk.img"
		: >"$GUEST_LIBVIRT_DIR/serial.log"
		chown "$GUEST_LIBVIRT_USER" "$GUEST_LIBVIRT_DIR" "$GUEST_LIBVIRT_DIR"/*
		if ! guest_start_backend blk "$GUEST_LIBVIRT_DIR/blk.sock" \
			setpriv --reuid="$GUEST_LIBVIRT_USER" --regid="$(id -g "$GUEST_LIBVIRT_USER")" \
			--clear-groups --inh-caps=-all -- "$VIOPORT_BIN" blk \
			--socket-path "$GUEST_LIBVIRT_DIR/blk.sock" --image "$GUEST_LIBVIRT_DIR/disk.img" \
			--serial "$GUEST_SERIAL"; then
			GUEST_LIBVIRT_DOWN="the blk daemon did not start: $(tail -n 1 "$GUEST_TMP/blk.log")"
			GUEST_HOST[backend-blk]="FAIL did not start: $(tail -n 1 "$GUEST_TMP/blk.log")"
		else
			guest_libvirt_start_daemon || true
		fi
	fi
	if [[ -n $GUEST_LIBVIRT_DOWN ]]; then
		GUEST_DOWN[blk]=$GUEST_LIBVIRT_DOWN
		for t in $(guest_libvirt_tests); do
			[[ -n ${GUEST_HOST[$t]:-} ]] || GUEST_HOST[$t]="FAIL $GUEST_LIBVIRT_DOWN"
		done
		return 0
	fi
	GUEST_TESTS+=(blk)
	GUEST_APPEND="vioport.disk_mb=$GUEST_DISK_MB vioport.serial=$GUEST_SERIAL"
}

# guest_libvirt_boot APPEND: `virsh create`, then waits at most GUEST_TIMEOUT
# seconds for the domain to end by itself (the guest powers off after its
# tests), streaming its console; destroys it when it does not. Sets GUEST_BOOT
# and GUEST_ELAPSED as guest_boot does, and copies the console to SERIAL.
guest_libvirt_boot() {
	local append=$1 serial=$2 xml=$GUEST_LIBVIRT_DIR/domain.xml start=$SECONDS state out
	local t0=${EPOCHREALTIME/,/.} console=$GUEST_LIBVIRT_DIR/serial.log ended=""
	guest_libvirt_xml "$append" >"$xml"
	chown "$GUEST_LIBVIRT_USER" "$xml"
	GUEST_BOOT=""
	GUEST_SEEN=0
	if ! out=$(guest_libvirt_virsh create "$xml" 2>&1); then
		GUEST_BOOT="virsh create failed: $(echo "$out" | grep -v '^$' | tail -n 2 | tr '\n' ' ')"
	fi
	while [[ -z $GUEST_BOOT ]]; do
		state=$(guest_libvirt_virsh domstate "$GUEST_LIBVIRT_NAME" 2>/dev/null || true)
		guest_stream "$console"
		if [[ $state == running && -z $GUEST_LIBVIRT_SEEN ]]; then
			GUEST_LIBVIRT_SEEN=$(guest_libvirt_virsh dominfo "$GUEST_LIBVIRT_NAME" 2>/dev/null |
				awk -F': *' '$1 == "State" || $1 == "OS Type" { printf "%s %s; ", $1, $2 }')
		fi
		# A transient domain that ended is gone: virsh no longer knows it.
		[[ $state == running || $state == paused || $state == "in shutdown" ]] || break
		if ((SECONDS - start >= GUEST_TIMEOUT)); then
			GUEST_BOOT="timed out after $GUEST_TIMEOUT s; $(guest_last_words "$console" /dev/null)"
			break
		fi
		if [[ -z $ended ]] && grep -qa '^VIOPORT-END' "$console"; then
			ended=$SECONDS
		fi
		if [[ -n $ended ]] && ((SECONDS - ended >= 15)); then
			guest_say "libvirt: the guest finished but did not power off; destroying the domain"
			break
		fi
		sleep 0.5
	done
	guest_libvirt_virsh destroy "$GUEST_LIBVIRT_NAME" >/dev/null 2>&1 || true
	guest_stream "$console"
	cp "$console" "$serial"
	GUEST_ELAPSED=$(awk -v a="$t0" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { printf "%.1f", b - a }')
	if [[ -z $GUEST_BOOT ]] && ! grep -qa '^VIOPORT-BEGIN' "$serial"; then
		GUEST_BOOT="the guest never reached /init; $(guest_last_words "$serial" /dev/null)"
	elif [[ -z $GUEST_BOOT ]] && ! grep -qa '^VIOPORT-END' "$serial"; then
		GUEST_BOOT="the guest stopped before its tests finished; $(guest_last_words "$serial" /dev/null)"
	fi
}

# Host-side checks: libvirt ran the domain with the disk on the daemon's
# socket and shared memory; the image; the daemon's health; then libvirtd is
# stopped and the directory removed.
guest_libvirt_check() {
	local serial=$1 qlog cmdline
	[[ -z $GUEST_LIBVIRT_DOWN ]] || { guest_libvirt_stop; return 0; }
	qlog=$GUEST_LIBVIRT_DIR/home/.cache/libvirt/qemu/log/$GUEST_LIBVIRT_NAME.log
	# The command line as libvirt logged it: one argument a line, joined by '\'.
	cmdline=$(awk '/qemu-system-x86_64/ { on = 1 }
		on { cont = /\\$/; sub(/ *\\$/, ""); printf "%s ", $0; if (!cont) exit }' "$qlog" 2>/dev/null || true)
	[[ ! -f $qlog ]] || cp "$qlog" "$GUEST_TMP/libvirt-qemu.log"
	if [[ -z $GUEST_LIBVIRT_SEEN ]]; then
		GUEST_HOST[libvirt-domain]="FAIL virsh never saw the domain running${GUEST_BOOT:+: $GUEST_BOOT}"
	elif [[ $cmdline != *"vhost-user-blk-pci"* || $cmdline != *"path=$GUEST_LIBVIRT_DIR/blk.sock"* ]]; then
		GUEST_HOST[libvirt-domain]="FAIL libvirt's QEMU command line has no vhost-user-blk-pci on the daemon's socket (log: $qlog)"
	elif [[ $cmdline != *"memory-backend-memfd"* || $cmdline != *'"share":true'* && $cmdline != *"share=on"* ]]; then
		GUEST_HOST[libvirt-domain]="FAIL libvirt's QEMU command line has no shared memfd memory"
	else
		GUEST_HOST[libvirt-domain]="PASS started by virsh create (${GUEST_LIBVIRT_SEEN% }), vhost-user-blk-pci on the daemon's socket, shared memfd"
	fi
	guest_check_backend blk backend-blk
	[[ -n ${GUEST_DOWN[blk]:-} ]] || guest_check_image "$GUEST_LIBVIRT_DIR/disk.img" "$serial"
	guest_libvirt_stop
}

# Stops our libvirtd (by PID) and removes the variant's directory.
guest_libvirt_stop() {
	if [[ -n $GUEST_LIBVIRT_PID ]]; then
		guest_stop_pid "$GUEST_LIBVIRT_PID" 5
		GUEST_LIBVIRT_PID=""
	fi
	if [[ -n $GUEST_LIBVIRT_DIR && -d $GUEST_LIBVIRT_DIR ]]; then
		rm -rf "$GUEST_LIBVIRT_DIR"
	fi
	GUEST_LIBVIRT_DIR=""
}
