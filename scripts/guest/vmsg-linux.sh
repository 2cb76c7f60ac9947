# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034,SC2054,SC2004 # run-guest.sh's variables; QEMU's comma-separated options
# SPDX-License-Identifier: BSD-3-Clause
#
# The guest tier's vmsg-linux variant, sourced by run-guest.sh: Linux's own
# virtio_blk, virtio_rng, i2c-virtio and gpio-virtio drivers over vioport's
# virtio-msg window, through vioport_vmsg.ko (linux/, docs/linux-module.md).
#
# One vioport process serves a disk (two queues; the guest has two CPUs), an
# entropy source, the simulated I2C bus and the simulated GPIO chip with
# --transport vmsg on one window file; QEMU gives the guest that file as an
# ivshmem-plain device (memory-backend-file, share=on) and nothing else of the
# daemon's: there is no vhost-user socket, and the daemon never sees guest
# memory. The guest loads vioport_vmsg.ko,
# which formats the window and registers the four devices, and runs vmsg (the
# transport itself), the same blk-mq, blk, rng and i2c-gpio tests as the
# vhost-user variants, and vmsg-gpio-irq (gpiomon receiving an edge the host
# drives on the daemon's control socket). The same process and bus also
# serve a console (the line simulation), a vsock device (the UNIX socket
# provider) and a keyboard (the input simulation), which the guest drives
# through virtio_console, vmw_vsock_virtio_transport and virtio_input with
# evdev (vmsg-devices). The host checks the image, the EEPROM file, the line
# the guest set, the console text and the vsock streams (the guest's to a
# host listener, and the host's, CONNECT on the daemon's UNIX socket, to a
# guest listener), and that the daemon maps the window file and no guest
# memory (/proc/PID/maps).

GUEST_VMSG_WINDOW_MB=16 # a power of two: ivshmem-plain needs one
GUEST_VMSG_IRQ_LINE=1   # the line the host toggles for gpiomon
GUEST_VMSG_QUEUES=2     # blk queues, and the guest's CPUs (one queue each)
GUEST_VMSG_KO=""        # vioport_vmsg.ko, from build-kmod.sh
GUEST_VMSG_DOWN=""      # why the variant cannot run, if it cannot
GUEST_VMSG_MAPS=""      # the files the daemon mapped (vmsg-maps), for demo.sh
GUEST_VMSG_X86=()       # the x86 kernel and initramfs while vmsg-arm64 boots its own
GUEST_VMSG_DTB_MACHINE=() # vmsg-arm64-dt: the machine and window arguments of its boot
GUEST_VMSG_DTB_WIN=()
GUEST_VMSG_BELL=""      # vmsg-doorbell: the daemon's --doorbell (ivshmem:SOCKET)
GUEST_VMSG_NDEV=4       # devices on the window: 7 in vmsg-linux (console, vsock, input added)
GUEST_VMSG_VSOCK_PORT=5000 # the host port the guest's vsock stream connects to
GUEST_VMSG_VSOCK_H2G=5001  # the guest port the host connects to (CONNECT 5001)
GUEST_VMSG_VSOCK_H2G_KB=4096 # KiB each way on that connection
GUEST_VMSG_KEY=30       # the key the host taps (KEY_A)
GUEST_VMSG_CONSOLE_TEXT="" # vmsg-devices: what each side writes on the console
GUEST_VMSG_GUEST_BINS=(vsock_cat evdev_reader) # tests/guest programs the guest runs (gcc -static)

guest_vmsg_tests() {
	guest_vmsg_list "console-probe console-guest-write console-host-write vsock-stream vsock-host" \
		"vsock-h2g vsock-h2g-host input-probe input-key"
}

# guest_vmsg_list [EXTRA]...: the tests of the four devices vmsg-doorbell
# serves too, with EXTRA (vmsg-linux's other devices) in the order they run.
guest_vmsg_list() {
	echo vmsg-probe vmsg-dma blk-mq-queues blk-mq-rw blk-probe blk-serial blk-rw blk-discard blk-write-zeroes \
		blk-intact blk-fio-verify blk-fio-trim blk-fio-queues blk-host-image rng-current rng-read \
		i2c-detect i2c-eeprom i2c-eeprom-host i2c-lm75 gpio-info gpio-set gpio-set-host gpio-get "$@" \
		gpio-irq-edge vmsg-clean vmsg-maps backend-vmsg
}

# vmsg-doorbell: the same tests with ivshmem-doorbell, vioport its server;
# vmsg-irq checks that the module's MSI-X interrupts arrived.
guest_vmsg_doorbell_tests() {
	echo "$(guest_vmsg_list) vmsg-irq vmsg-bell-host"
}

# vmsg-bell-host: the daemon was rung by the guest (the Doorbell register
# writes QEMU turned into eventfd signals), as it logs when QEMU disconnects;
# waits up to 10 s for that line once the guest is gone.
guest_vmsg_check_bell() {
	local log=$GUEST_TMP/vmsg.log line="" i got
	for ((i = 0; i < 100; i++)); do
		line=$(grep -o 'driver disconnected (rings: [0-9]* sent, [0-9]* received)' "$log" | tail -n 1)
		[[ -z $line ]] || break
		sleep 0.1
	done
	got=$(sed -n 's/.*, \([0-9]*\) received)$/\1/p' <<<"$line")
	if [[ -z $line ]]; then
		GUEST_HOST[vmsg-bell-host]="FAIL the daemon did not log QEMU's disconnection within 10 s: $(tail -n 1 "$log")"
	elif [[ ${got:-0} -eq 0 ]]; then
		GUEST_HOST[vmsg-bell-host]="FAIL the guest never rang the daemon: $line"
	else
		GUEST_HOST[vmsg-bell-host]="PASS $line"
	fi
}

# Sets GUEST_EXTRA to the mkinitramfs.sh arguments the variant adds, or
# GUEST_VMSG_DOWN to why it cannot run. HAVE_I2C_GPIO (true|false) says
# whether the i2c-gpio variant's drivers and tools are in already.
guest_vmsg_extra() {
	local have_i2c_gpio=$1 out line bin
	local -a mine=()
	GUEST_EXTRA=()
	if ! out=$("$GUEST_DIR/build-kmod.sh"); then
		GUEST_VMSG_DOWN="build-kmod.sh could not build vioport_vmsg.ko (see its messages)"
		return 0
	fi
	while IFS= read -r line; do
		case $line in VIOPORT_VMSG=*) GUEST_VMSG_KO=${line#VIOPORT_VMSG=} ;; esac
	done <<<"$out"
	if [[ ! -f $GUEST_VMSG_KO ]]; then
		GUEST_VMSG_DOWN="build-kmod.sh printed no module path"
		return 0
	fi
	if ! bin=$(command -v gpiomon); then
		GUEST_VMSG_DOWN="no gpiomon on the host: install Debian's gpiod"
		return 0
	fi
	mine=(--module-file "$GUEST_VMSG_KO" --host-bin "$bin")
	# vmsg-devices: the console, vsock and input drivers, and the guest's
	# vsock client and evdev reader (busybox has neither).
	mine+=(--module virtio_console --module vmw_vsock_virtio_transport --module virtio_input --module evdev)
	for bin in "${GUEST_VMSG_GUEST_BINS[@]}"; do
		if ! gcc -static -O2 -std=c11 -Wall -Wextra -Werror -o "$GUEST_TMP/$bin" \
			"$VIOPORT_ROOT/tests/guest/$bin.c" >"$GUEST_TMP/$bin.log" 2>&1; then
			GUEST_VMSG_DOWN="gcc -static could not build tests/guest/$bin.c: $(tail -n 1 "$GUEST_TMP/$bin.log")"
			return 0
		fi
		mine+=(--host-bin "$GUEST_TMP/$bin")
	done
	if [[ $have_i2c_gpio == false ]]; then
		guest_i2c_gpio_extra
		if [[ -n $GUEST_I2C_GPIO_DOWN ]]; then
			GUEST_VMSG_DOWN=$GUEST_I2C_GPIO_DOWN
			GUEST_EXTRA=()
			return 0
		fi
		mine+=("${GUEST_EXTRA[@]}")
	fi
	GUEST_EXTRA=("${mine[@]}")
}

# guest_vmsg_start WINDOW [NDEVICES]: starts the one daemon that serves the
# devices on the window (4: blk, rng, i2c, gpio; 2: blk and rng; 7: the four,
# console, vsock and input), and waits until it serves them and its control
# socket is up.
guest_vmsg_start() {
	local win=$1 ndev=${2:-4} log=$GUEST_TMP/vmsg.log pid i
	local -a cmd=("$VIOPORT_BIN" --control "$GUEST_TMP/vmsg.ctl" -v
		blk --transport vmsg --shm "$win" --shm-size "${GUEST_VMSG_WINDOW_MB}M"
		${GUEST_VMSG_BELL:+--doorbell "$GUEST_VMSG_BELL"}
		--image "$GUEST_TMP/disk.img" --serial "$GUEST_SERIAL" --num-queues "$GUEST_VMSG_QUEUES"
		+ rng --transport vmsg --shm "$win")
	[[ $ndev -eq 2 ]] || cmd+=(+ i2c --transport vmsg --shm "$win" --device-list sim
		--eeprom-file "$GUEST_TMP/eeprom.bin" + gpio --transport vmsg --shm "$win" --device-list s8)
	[[ $ndev -ne 7 ]] || cmd+=(+ console --transport vmsg --shm "$win" --sim line
		+ vsock --transport vmsg --shm "$win" --uds-path "$GUEST_TMP/vsock.sock" --guest-cid 3
		+ input --transport vmsg --shm "$win" --sim keyboard)
	echo "+ ${cmd[*]}" >"$log"
	"${cmd[@]}" >>"$log" 2>&1 </dev/null &
	pid=$!
	GUEST_PIDS+=("$pid")
	GUEST_BACKEND_PID[vmsg]=$pid
	for ((i = 0; i < 100; i++)); do
		if grep -q "serving $ndev devices" "$log" && [[ -S $GUEST_TMP/vmsg.ctl ]]; then
			# One control socket serves the process; guest_control names
			# it by device.
			ln -sf vmsg.ctl "$GUEST_TMP/i2c.ctl"
			ln -sf vmsg.ctl "$GUEST_TMP/gpio.ctl"
			ln -sf vmsg.ctl "$GUEST_TMP/console.ctl"
			ln -sf vmsg.ctl "$GUEST_TMP/input.ctl"
			return 0
		fi
		guest_alive "$pid" || break
		sleep 0.1
	done
	guest_say "vmsg: the daemon did not come up (see its log below)"
	sed 's/^/  | /' "$log" >&2
	return 1
}

# Toggles the GPIO line on the control socket from the moment the guest says
# gpiomon waits until it reports the result (or the boot's time is up): the
# guest takes the first rising edge after its request, whenever that is.
guest_vmsg_edges() {
	local serial=$1 end=$((SECONDS + GUEST_TIMEOUT)) v=0
	while ! grep -qas '^VIOPORT-INFO gpio-irq-ready' "$serial"; do
		((SECONDS < end)) || return 0
		sleep 0.2
	done
	while ((SECONDS < end)) && ! grep -qas '^VIOPORT-RESULT gpio-irq-edge' "$serial"; do
		v=$((1 - v))
		guest_control gpio "gpio set $GUEST_VMSG_IRQ_LINE $v" >/dev/null || true
		sleep 0.3
	done
}

# Prepares the variant: disk, EEPROM file, daemon, the LM75's temperature and
# the line the guest reads high. Sets GUEST_QEMU, GUEST_TESTS, GUEST_APPEND.
# guest_vmsg_setup [doorbell]: with "doorbell" (vmsg-doorbell), the daemon is
# the server of an ivshmem-doorbell device with one MSI-X vector, and QEMU
# takes the window from it over that socket instead of from the file.
guest_vmsg_setup() {
	local win=$GUEST_TMP/window reply kind=${1:-plain} variant=vmsg-linux
	GUEST_VMSG_BELL=""
	GUEST_VMSG_NDEV=7
	if [[ $kind == doorbell ]]; then
		GUEST_VMSG_BELL="ivshmem:$GUEST_TMP/ivshmem.sock"
		GUEST_VMSG_NDEV=4
		variant=vmsg-doorbell
	fi
	GUEST_EEPROM_TEXT=$(head -c 64 /dev/urandom | md5sum | cut -c1-16)
	GUEST_APPEND="vioport.disk_mb=$GUEST_DISK_MB vioport.serial=$GUEST_SERIAL"
	GUEST_APPEND+=" vioport.temp=$GUEST_LM75_MC vioport.eeprom=$GUEST_EEPROM_TEXT"
	GUEST_APPEND+=" vioport.gpio_in=$GUEST_GPIO_IN vioport.gpio_out=$GUEST_GPIO_OUT"
	GUEST_APPEND+=" vioport.gpio_irq=$GUEST_VMSG_IRQ_LINE vioport.vmsg_devices=$GUEST_VMSG_NDEV"
	GUEST_APPEND+=" vioport.queues=$GUEST_VMSG_QUEUES"
	if [[ $GUEST_VMSG_NDEV -eq 7 ]]; then
		GUEST_VMSG_CONSOLE_TEXT=$(head -c 64 /dev/urandom | md5sum | cut -c1-16)
		GUEST_APPEND+=" vioport.console_text=$GUEST_VMSG_CONSOLE_TEXT"
		GUEST_APPEND+=" vioport.vsock_port=$GUEST_VMSG_VSOCK_PORT vioport.key=$GUEST_VMSG_KEY"
		head -c "$((GUEST_VMSG_VSOCK_H2G_KB << 10))" /dev/urandom >"$GUEST_TMP/h2g.bin"
		GUEST_APPEND+=" vioport.vsock_h2g=$GUEST_VMSG_VSOCK_H2G vioport.vsock_h2g_kb=$GUEST_VMSG_VSOCK_H2G_KB"
		GUEST_APPEND+=" vioport.vsock_h2g_md5=$(guest_md5 "$GUEST_TMP/h2g.bin")"
	fi
	local why=$GUEST_VMSG_DOWN dev
	if [[ -z $why ]]; then
		truncate -s "${GUEST_DISK_MB}M" "$GUEST_TMP/disk.img"
		head -c 256 /dev/zero | tr '\0' '\377' >"$GUEST_TMP/eeprom.bin"
		rm -f "$win"
		if ! guest_vmsg_start "$win" "$GUEST_VMSG_NDEV"; then
			why="the daemon did not start: $(tail -n 1 "$GUEST_TMP/vmsg.log")"
		elif ! reply=$(guest_control i2c "i2c temp $GUEST_LM75_MC"); then
			why="control 'i2c temp $GUEST_LM75_MC': $reply"
		elif ! reply=$(guest_control gpio "gpio set $GUEST_GPIO_IN 1"); then
			why="control 'gpio set $GUEST_GPIO_IN 1': $reply"
		elif ! reply=$(guest_control gpio "gpio get $GUEST_GPIO_OUT") ||
			[[ $reply != *output=0* ]]; then
			why="control 'gpio get $GUEST_GPIO_OUT' before boot: $reply"
		elif [[ $GUEST_VMSG_NDEV -eq 7 ]] && ! guest_vmsg_vsock_listen; then
			why="the vsock listener at $GUEST_TMP/vsock.sock_$GUEST_VMSG_VSOCK_PORT did not start"
		fi
		[[ -z $why ]] || GUEST_HOST[backend-vmsg]="FAIL $why"
	fi
	if [[ -n $why ]]; then
		for dev in blk rng i2c gpio; do
			GUEST_DOWN[$dev]=$why
		done
		return 0
	fi
	if [[ $kind == doorbell ]]; then
		GUEST_QEMU+=(-chardev "socket,path=$GUEST_TMP/ivshmem.sock,id=ivs"
			-device ivshmem-doorbell,chardev=ivs,vectors=1)
	else
		GUEST_QEMU+=(-object "memory-backend-file,id=win,share=on,mem-path=$win,size=${GUEST_VMSG_WINDOW_MB}M"
			-device ivshmem-plain,memdev=win)
	fi
	# blk-mq before blk, blk-fio after: each ends with the disk's checksum,
	# the last of which the host compares.
	GUEST_TESTS+=(vmsg blk-mq blk)
	guest_fio_add
	GUEST_TESTS+=(rng i2c-gpio)
	# Before vmsg-gpio-irq, whose vmsg-clean looks back at the whole run.
	[[ $GUEST_VMSG_NDEV -ne 7 ]] || GUEST_TESTS+=(vmsg-devices)
	GUEST_TESTS+=(vmsg-gpio-irq)
	[[ $kind != doorbell ]] || GUEST_TESTS+=(vmsg-doorbell)
	# The edge driver ends by itself: on the guest's result or the boot's bound.
	guest_vmsg_edges "$GUEST_TMP/$variant-serial.log" &
	GUEST_PIDS+=("$!")
	if [[ $GUEST_VMSG_NDEV -eq 7 ]]; then
		guest_vmsg_devices_drive "$GUEST_TMP/$variant-serial.log" &
		GUEST_PIDS+=("$!")
		guest_vmsg_vsock_h2g "$GUEST_TMP/$variant-serial.log" &
		GUEST_PIDS+=("$!")
	fi
}

# The host's end of the guest's vsock stream: a listener at PATH_PORT (where
# the daemon's provider connects a guest connection to host port PORT) that
# echoes each connection until its end of stream, then ends its own, and
# writes "BYTES MD5" of what it received to vsock-host.txt (one line per
# connection). It ends with the boot's bound.
guest_vmsg_vsock_listen() {
	local sock=$GUEST_TMP/vsock.sock_$GUEST_VMSG_VSOCK_PORT i
	rm -f "$sock" "$GUEST_TMP/vsock-host.txt"
	timeout "$GUEST_TIMEOUT" python3 -c '
import hashlib, socket, sys
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(sys.argv[1])
srv.listen(4)
while True:
    conn, _ = srv.accept()
    conn.settimeout(60)
    h, n = hashlib.md5(), 0
    try:
        while True:
            b = conn.recv(65536)
            if not b:
                break
            h.update(b)
            n += len(b)
            conn.sendall(b)
        conn.shutdown(socket.SHUT_WR)
    except OSError as e:
        print("error", e, file=sys.stderr)
    conn.close()
    with open(sys.argv[2], "a") as f:
        print(n, h.hexdigest(), file=f)
' "$sock" "$GUEST_TMP/vsock-host.txt" >"$GUEST_TMP/vsock-host.log" 2>&1 </dev/null &
	GUEST_PIDS+=("$!")
	for ((i = 0; i < 50; i++)); do
		[[ ! -S $sock ]] || return 0
		sleep 0.1
	done
	return 1
}

# The host's end of the host-to-guest stream, once the guest says its
# listener is up (VIOPORT-INFO vsock-listen PORT), or not at all by the boot's
# bound: connects to the daemon's UNIX socket, asks CONNECT PORT (the
# provider's protocol, docs/devices/vsock.md), checks the "OK <host port>"
# answer, then sends h2g.bin while it reads what the guest sends back, both at
# once, shuts its sending half down at the end and reads to the guest's end
# of stream. Writes one line to vsock-h2g.txt: "OK <answer> SENT RECEIVED
# MD5" or "FAIL why".
guest_vmsg_vsock_h2g() {
	local serial=$1 end=$((SECONDS + GUEST_TIMEOUT)) port
	rm -f "$GUEST_TMP/vsock-h2g.txt"
	# awk reads to the end (no early exit): under pipefail, a reader leaving
	# early could fail the writer with SIGPIPE.
	while ! port=$(tr -d '\r' <"$serial" |
		awk '$1 == "VIOPORT-INFO" && $2 == "vsock-listen" { p = $3 } END { if (p == "") exit 1; print p }'); do
		((SECONDS < end)) || return 0
		sleep 0.2
	done
	timeout "$GUEST_TIMEOUT" python3 -c '
import hashlib, socket, sys, threading

path, port, data, out = sys.argv[1:5]
sent = [0, None]

def done(msg):
    with open(out, "w") as f:
        f.write(msg + "\n")

def send(s):
    try:
        with open(data, "rb") as f:
            while True:
                chunk = f.read(65536)
                if not chunk:
                    break
                s.sendall(chunk)
                sent[0] += len(chunk)
        s.shutdown(socket.SHUT_WR)
    except OSError as e:
        sent[1] = e

try:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(path)
    s.sendall(("CONNECT %s\n" % port).encode())
    line = b""
    while not line.endswith(b"\n"):
        b = s.recv(1)
        if not b:
            done("FAIL the daemon closed the connection after CONNECT %s (answer so far %r)" % (port, line))
            sys.exit(1)
        line += b
    line = line.decode(errors="replace").strip()
    if not line.startswith("OK "):
        done("FAIL CONNECT %s answered %r" % (port, line))
        sys.exit(1)
    t = threading.Thread(target=send, args=(s,))
    t.start()
    h, n = hashlib.md5(), 0
    while True:
        b = s.recv(65536)
        if not b:
            break
        h.update(b)
        n += len(b)
    t.join()
    if sent[1] is not None:
        done("FAIL sending after %d bytes: %s" % (sent[0], sent[1]))
        sys.exit(1)
    done("OK %s %d %d %s" % (line, sent[0], n, h.hexdigest()))
except Exception as e:
    done("FAIL %s: %s" % (type(e).__name__, e))
    sys.exit(1)
' "$GUEST_TMP/vsock.sock" "$port" "$GUEST_TMP/h2g.bin" "$GUEST_TMP/vsock-h2g.txt" \
		>"$GUEST_TMP/vsock-h2g.log" 2>&1 </dev/null
}

# vmsg-devices' host side, from the moment the guest says it waits for each
# until its result (or the boot's bound): the console text the guest reads
# (console0 write), then key taps on the keyboard (input0 tap), one every
# 0.5 s, since the guest takes the first whole tap after its reader opened.
guest_vmsg_devices_drive() {
	local serial=$1 end=$((SECONDS + GUEST_TIMEOUT))
	while ! grep -qas '^VIOPORT-INFO console-ready' "$serial"; do
		((SECONDS < end)) || return 0
		sleep 0.2
	done
	guest_control console "console0 write host-$GUEST_VMSG_CONSOLE_TEXT" >/dev/null || true
	while ! grep -qas '^VIOPORT-INFO input-ready' "$serial"; do
		((SECONDS < end)) || return 0
		sleep 0.2
	done
	while ((SECONDS < end)) && ! grep -qas '^VIOPORT-RESULT input-key' "$serial"; do
		guest_control input "input0 tap $GUEST_VMSG_KEY" >/dev/null || true
		sleep 0.5
	done
}

# The host checks of vmsg-devices once the guest is gone, the daemon still
# running: console-guest-write (what the guest wrote on /dev/hvc0 is what
# console0 read gives) and vsock-host (the listener received what the guest
# says it sent).
guest_vmsg_devices_check() {
	local serial=$1 reply want="guest-$GUEST_VMSG_CONSOLE_TEXT" sent last
	reply=$(guest_control console "console0 read") || true
	if [[ $reply == *"$want"* ]]; then
		GUEST_HOST[console-guest-write]="PASS console0 read on the control socket gives the guest's line: $reply"
	else
		GUEST_HOST[console-guest-write]="FAIL console0 read gives '$reply', not the guest's '$want'"
	fi
	sent=$(guest_lines "$serial" INFO | awk '$1 == "vsock-sent" { print $2, $3 }' | tail -n 1)
	last=$(tail -n 1 "$GUEST_TMP/vsock-host.txt" 2>/dev/null) || last=""
	if [[ -z $sent ]]; then
		GUEST_HOST[vsock-host]="FAIL the guest did not say what it sent"
	elif [[ $last == "$sent" ]]; then
		GUEST_HOST[vsock-host]="PASS the listener at vsock.sock_$GUEST_VMSG_VSOCK_PORT received and echoed the guest's bytes: $last (bytes, md5)"
	else
		GUEST_HOST[vsock-host]="FAIL the listener received '${last:-nothing}', the guest sent '$sent' (bytes, md5)"
	fi
	guest_vmsg_vsock_h2g_check "$serial"
}

# vsock-h2g-host: the host's connection was answered OK, sent all of h2g.bin,
# and received what the guest says it sent back (bytes, md5).
guest_vmsg_vsock_h2g_check() {
	local serial=$1 sent got="" i ans nsent nrecv md5
	sent=$(guest_lines "$serial" INFO | awk '$1 == "vsock-h2g-sent" { print $2, $3 }' | tail -n 1)
	# The guest reported; the host's end, whose stream ended with the
	# guest's, writes its line at once.
	for ((i = 0; i < 50; i++)); do
		[[ ! -s $GUEST_TMP/vsock-h2g.txt ]] || break
		sleep 0.1
	done
	got=$(cat "$GUEST_TMP/vsock-h2g.txt" 2>/dev/null) || got=""
	read -r _ _ ans nsent nrecv md5 <<<"$got"
	if [[ -z $got ]]; then
		GUEST_HOST[vsock-h2g-host]="FAIL the host never connected (the guest said no vsock-listen) or wrote no result: $(tail -n 1 "$GUEST_TMP/vsock-h2g.log" 2>/dev/null)"
	elif [[ $got != OK* ]]; then
		GUEST_HOST[vsock-h2g-host]="FAIL ${got#FAIL }"
	elif [[ $nsent -ne $((GUEST_VMSG_VSOCK_H2G_KB << 10)) ]]; then
		GUEST_HOST[vsock-h2g-host]="FAIL sent $nsent bytes of $((GUEST_VMSG_VSOCK_H2G_KB << 10))"
	elif [[ -z $sent ]]; then
		GUEST_HOST[vsock-h2g-host]="FAIL the guest did not say what it sent back"
	elif [[ "$nrecv $md5" != "$sent" ]]; then
		GUEST_HOST[vsock-h2g-host]="FAIL the host received $nrecv $md5, the guest sent $sent (bytes, md5)"
	else
		GUEST_HOST[vsock-h2g-host]="PASS CONNECT $GUEST_VMSG_VSOCK_H2G on vsock.sock answered 'OK $ans' (the host port), $nsent bytes sent; received $sent (bytes, md5), as the guest sent"
	fi
	rm -f "$GUEST_TMP/h2g.bin"
}

# vmsg-maps: the daemon maps the window file and nothing of the guest (its
# /proc/PID/maps, read while it still runs).
guest_vmsg_check_maps() {
	local pid=${GUEST_BACKEND_PID[vmsg]:-} maps win=$GUEST_TMP/window bad
	maps=$(cat "/proc/$pid/maps" 2>/dev/null) || maps=""
	# Kept with the logs when a test fails, to show what was mapped.
	printf '%s\n' "$maps" >"$GUEST_TMP/vmsg-maps.log"
	GUEST_VMSG_MAPS=$(awk '$6 ~ /^\// { print $6 }' <<<"$maps" | sort -u)
	# Guest memory is QEMU's memfd; the daemon must map only its own
	# files (its program and libraries) and the window.
	bad=$(awk '$6 ~ /^\// || $6 ~ /^memfd:/ { print $6 }' <<<"$maps" |
		{ grep -v -e "^$win\$" -e '^/usr/' -e '^/lib' -e "^$VIOPORT_ROOT/" || true; } |
		sort -u | tr '\n' ' ')
	# The window is looked for by awk alone, not awk into grep -q: under
	# pipefail, grep leaving at the first match made awk's later writes fail
	# (SIGPIPE) now and then, the longer the map the likelier.
	if [[ -z $maps ]]; then
		GUEST_HOST[vmsg-maps]="FAIL cannot read /proc/$pid/maps"
	# One awk, no pipe: "grep -q" would leave at its match and, under
	# pipefail, awk's SIGPIPE on a long maps file would read as no match.
	elif ! awk -v w="$win" '$6 == w { found = 1 } END { exit !found }' <<<"$maps"; then
		GUEST_HOST[vmsg-maps]="FAIL the daemon does not map the window $win"
	elif grep -q 'memfd:' <<<"$maps" || [[ -n $bad ]]; then
		GUEST_HOST[vmsg-maps]="FAIL the daemon maps more than the window: ${bad:-a memfd}"
	else
		GUEST_HOST[vmsg-maps]="PASS the daemon maps the window file and no guest memory ($(grep -c "$win" <<<"$maps") mapping of the window, no memfd)"
	fi
}

# The host side once the guest is gone, the daemon still running: image,
# EEPROM file and GPIO line; what the daemon maps; then the daemon's health.
guest_vmsg_check() {
	local serial=$1 pid=${GUEST_BACKEND_PID[vmsg]:-}
	if [[ -n $pid ]]; then
		guest_check_i2c_gpio "$serial"
		guest_check_image "$GUEST_TMP/disk.img" "$serial"
		[[ $GUEST_VMSG_NDEV -ne 7 ]] || guest_vmsg_devices_check "$serial"
		guest_vmsg_check_maps
		[[ -z $GUEST_VMSG_BELL ]] || guest_vmsg_check_bell
	fi
	guest_check_backend vmsg backend-vmsg
}

# ---------------------------------------------------------------- vmsg-hostile
#
# The same module against a device side that breaks the protocol on purpose
# (tests/guest/hostile_vmsg_dev): one scenario per load of the module,
# each answering as a virtio-rng device with one fault (a wrong size, a bad
# token, a wrong ID, lying lengths, an out-of-range status, queue index or
# FIFO index, a device side that stops or restarts). The guest must name
# each fault in its log, remove the module after each, and survive.

GUEST_VMSG_HOSTILE=(good devices-size bad-token wrong-id config-lie status-range vqueue-index
	rings-ignored used-queue msg-size fifo-index stopped restart mute config-length hotplug recover)
GUEST_VMSG_HOSTILE_BIN=$VIOPORT_ROOT/build/tests/guest/hostile_vmsg_dev

guest_vmsg_hostile_tests() {
	local s
	for s in "${GUEST_VMSG_HOSTILE[@]}"; do
		printf 'hostile-%s ' "$s"
	done
	echo hostile-survived backend-hostile
}

# The device side's scenarios for the guest's: "recover" is a restart the
# module recovers from by formatting again, whereupon it finds a good device.
guest_vmsg_hostile_device_scenarios() {
	local s
	for s in "${GUEST_VMSG_HOSTILE[@]}"; do
		if [[ $s == recover ]]; then
			printf "%s\n" restart good
		else
			echo "$s"
		fi
	done
}

# Starts the hostile device side on a 1 MiB window and adds the ivshmem device.
guest_vmsg_hostile_setup() {
	local win=$GUEST_TMP/hostile-window log=$GUEST_TMP/hostile.log pid i why=$GUEST_VMSG_DOWN
	GUEST_APPEND="vioport.hostile=$(IFS=,; echo "${GUEST_VMSG_HOSTILE[*]}")"
	if [[ -z $why && ! -x $GUEST_VMSG_HOSTILE_BIN ]]; then
		why="no $GUEST_VMSG_HOSTILE_BIN: build it first"
	fi
	if [[ -z $why ]]; then
		rm -f "$win"
		# shellcheck disable=SC2046 # one word per scenario
		"$GUEST_VMSG_HOSTILE_BIN" --shm "$win" --size $((1 << 20)) --timeout-s "$GUEST_TIMEOUT" \
			$(guest_vmsg_hostile_device_scenarios) >"$log" 2>&1 </dev/null &
		pid=$!
		GUEST_PIDS+=("$pid")
		GUEST_BACKEND_PID[hostile]=$pid
		for ((i = 0; i < 100; i++)); do
			grep -q '^READY ' "$log" && break
			guest_alive "$pid" || break
			sleep 0.1
		done
		grep -q '^READY ' "$log" || why="the hostile device side did not start: $(tail -n 1 "$log")"
	fi
	if [[ -n $why ]]; then
		GUEST_DOWN[blk]=$why
		GUEST_HOST[backend-hostile]="FAIL $why"
		return 0
	fi
	GUEST_QEMU+=(-object "memory-backend-file,id=win,share=on,mem-path=$win,size=1M"
		-device ivshmem-plain,memdev=win)
	GUEST_TESTS+=(vmsg-hostile)
}

# The hostile device side served every scenario to its end and exited 0.
guest_vmsg_hostile_check() {
	local log=$GUEST_TMP/hostile.log n want
	want=$(guest_vmsg_hostile_device_scenarios | wc -l)
	guest_check_backend hostile backend-hostile
	n=$(grep -c '^SCENARIO .* done$' "$log" 2>/dev/null || true)
	if [[ ${GUEST_HOST[backend-hostile]:-} == PASS* ]]; then
		if [[ $n -eq $want ]]; then
			GUEST_HOST[backend-hostile]="PASS served all $n scenarios, each to the driver's leaving"
		else
			GUEST_HOST[backend-hostile]="FAIL served $n of $want scenarios: $(tail -n 1 "$log")"
		fi
	fi
}

# ---------------------------------------------------------------- vmsg-restart
#
# The device side killed and restarted: the daemon serves blk and rng; when
# the guest says it is idle, the host kills it with SIGKILL and starts it
# again on the same window file and image (from GUEST_ON_LINE, as the console
# lines arrive). The module must remove the devices, format the window again
# and re-add them, with the disk's contents intact.

guest_vmsg_restart_tests() {
	echo vmsg-probe vmsg-dma vmsg-restart-io vmsg-restart-readd vmsg-restart-data vmsg-restart-clean \
		vmsg-restarted backend-vmsg
}

guest_vmsg_restart_setup() {
	local win=$GUEST_TMP/window why=$GUEST_VMSG_DOWN
	GUEST_VMSG_BELL="" # polling: no doorbell left over from vmsg-doorbell
	GUEST_APPEND="vioport.vmsg_devices=2"
	if [[ -z $why ]]; then
		truncate -s "${GUEST_DISK_MB}M" "$GUEST_TMP/disk.img"
		rm -f "$win"
		guest_vmsg_start "$win" 2 || why="the daemon did not start: $(tail -n 1 "$GUEST_TMP/vmsg.log")"
	fi
	if [[ -n $why ]]; then
		GUEST_DOWN[blk]=$why
		GUEST_HOST[backend-vmsg]="FAIL $why"
		return 0
	fi
	GUEST_QEMU+=(-object "memory-backend-file,id=win,share=on,mem-path=$win,size=${GUEST_VMSG_WINDOW_MB}M"
		-device ivshmem-plain,memdev=win)
	GUEST_TESTS+=(vmsg vmsg-restart)
	GUEST_HOST[vmsg-restarted]="FAIL the guest never said it was ready for the restart"
	GUEST_ON_LINE=guest_vmsg_restart_line
}

# GUEST_ON_LINE: on the guest's "vmsg-kill-ready", SIGKILL the daemon and
# start it again (its first log kept as vmsg-first.log).
guest_vmsg_restart_line() {
	local pid=${GUEST_BACKEND_PID[vmsg]:-}
	[[ $1 == "VIOPORT-INFO vmsg-kill-ready"* && -n $pid ]] || return 0
	kill -KILL "$pid" 2>/dev/null || true
	guest_stop_pid "$pid" 1
	mv "$GUEST_TMP/vmsg.log" "$GUEST_TMP/vmsg-first.log"
	if guest_vmsg_start "$GUEST_TMP/window" 2; then
		GUEST_HOST[vmsg-restarted]="PASS killed PID $pid (SIGKILL) while the guest was writing; PID ${GUEST_BACKEND_PID[vmsg]} serves the window again"
	else
		GUEST_HOST[vmsg-restarted]="FAIL the daemon did not start again: $(tail -n 1 "$GUEST_TMP/vmsg.log")"
	fi
}

guest_vmsg_restart_check() {
	GUEST_ON_LINE=""
	guest_check_backend vmsg backend-vmsg
}

# ---------------------------------------------------------------- vmsg-arm64
#
# The arm64 build of the module on an arm64 guest: Debian's arm64 kernel
# under qemu-system-aarch64 (virt, TCG) (fetch-arm64.sh: kernel, static
# busybox and the cross-built module); the daemon serves blk and rng; the
# guest runs vmsg, blk and rng. vmsg-arm64 gives the guest the window as an
# ivshmem-plain device (the PCI binding); vmsg-arm64-dt as memory: a second
# NUMA node backed by the window file, which the device tree reserves
# (reserved-memory, no-map) and names in a "vioport,vmsg-window" node (the
# device-tree binding). The device tree is QEMU's own (dumpdtb) with those
# two nodes added (dtc).

guest_vmsg_arm64_tests() {
	echo vmsg-probe vmsg-dma blk-probe blk-serial blk-rw blk-discard blk-intact \
		blk-host-image rng-current rng-read vmsg-maps backend-vmsg
}

# Builds the arm64 initramfs and points the boot at the arm64 kernel and QEMU
# (the x86 values are put back by guest_vmsg_arm64_check).
guest_vmsg_arm64_setup() {
	local binding=${1:-pci} out line kver="" vmlinuz="" modules="" busybox="" ko="" why="" t
	local -a tests=() machine=(qemu-system-aarch64 -M virt -cpu max,pauth-impdef=on -accel tcg)
	local -a win=()
	GUEST_VMSG_BELL="" # polling: no doorbell left over from vmsg-doorbell
	GUEST_APPEND="vioport.vmsg_devices=2 vioport.disk_mb=$GUEST_DISK_MB vioport.serial=$GUEST_SERIAL"
	if [[ $binding == pci ]]; then
		GUEST_APPEND+=" vioport.vmsg_window=0000:"
	else
		GUEST_APPEND+=" vioport.vmsg_window=vioport-window"
	fi
	if ! command -v qemu-system-aarch64 >/dev/null; then
		why="no qemu-system-aarch64: install Debian's qemu-system-arm"
	elif ! out=$("$GUEST_DIR/fetch-arm64.sh"); then
		why="fetch-arm64.sh could not provide the arm64 kernel and module (see its messages)"
	else
		while IFS= read -r line; do
			case $line in
			KVER=*) kver=${line#KVER=} ;;
			VMLINUZ=*) vmlinuz=${line#VMLINUZ=} ;;
			MODULES=*) modules=${line#MODULES=} ;;
			BUSYBOX=*) busybox=${line#BUSYBOX=} ;;
			VIOPORT_VMSG=*) ko=${line#VIOPORT_VMSG=} ;;
			esac
		done <<<"$out"
		for t in vmsg blk rng; do
			tests+=(--test "$GUEST_DIR/tests/$t.sh")
		done
		if ! "$GUEST_DIR/mkinitramfs.sh" --modules "$modules" --output "$GUEST_TMP/initrd-arm64.gz" \
			--busybox "$busybox" --module-file "$ko" --host-bin none "${tests[@]}" >&2; then
			why="mkinitramfs.sh could not build the arm64 initramfs"
		fi
	fi
	if [[ -z $why ]]; then
		truncate -s "${GUEST_DISK_MB}M" "$GUEST_TMP/disk.img"
		rm -f "$GUEST_TMP/window"
		guest_vmsg_start "$GUEST_TMP/window" 2 ||
			why="the daemon did not start: $(tail -n 1 "$GUEST_TMP/vmsg.log")"
	fi
	win=(-object "memory-backend-file,id=win,share=on,mem-path=$GUEST_TMP/window,size=${GUEST_VMSG_WINDOW_MB}M")
	if [[ -z $why && $binding == pci ]]; then
		machine+=(-m 512)
		win+=(-device ivshmem-plain,memdev=win)
	elif [[ -z $why ]]; then
		# guest_boot adds 512 MiB of RAM as NUMA node 0: the window is node 1.
		machine+=(-m $((512 + GUEST_VMSG_WINDOW_MB))M)
		win+=(-numa node,memdev=win)
		GUEST_VMSG_DTB_MACHINE=("${machine[@]}")
		GUEST_VMSG_DTB_WIN=("${win[@]}")
		guest_vmsg_dtb "$GUEST_TMP/vmsg.dtb" || why=$GUEST_VMSG_DTB_ERR
		win+=(-dtb "$GUEST_TMP/vmsg.dtb")
	fi
	if [[ -n $why ]]; then
		GUEST_DOWN[blk]=$why
		GUEST_DOWN[rng]=$why
		GUEST_HOST[backend-vmsg]="FAIL $why"
		return 0
	fi
	GUEST_VMSG_X86=("$GUEST_VMLINUZ" "$GUEST_INITRD")
	GUEST_VMLINUZ=$vmlinuz
	GUEST_INITRD=$GUEST_TMP/initrd-arm64.gz
	GUEST_MACHINE=("${machine[@]}")
	GUEST_CONSOLE=ttyAMA0
	guest_say "vmsg-arm64: Debian $kver, vioport_vmsg.ko cross-built for it ($binding binding)"
	GUEST_QEMU+=("${win[@]}")
	GUEST_TESTS+=(vmsg blk rng)
}

# guest_vmsg_dtb OUT: QEMU's device tree (dumpdtb) for the machine
# GUEST_VMSG_DTB_MACHINE with the window GUEST_VMSG_DTB_WIN, arguments in the
# order guest_boot gives them (so that the NUMA nodes are numbered alike),
# with the window's node reserved and the vioport node added; sets
# GUEST_VMSG_DTB_ERR on failure.
guest_vmsg_dtb() {
	local out=$1 base size dts=$GUEST_TMP/vmsg.dts
	GUEST_VMSG_DTB_ERR=""
	if ! command -v dtc >/dev/null; then
		GUEST_VMSG_DTB_ERR="no dtc: install Debian's device-tree-compiler"
		return 1
	fi
	if ! "${GUEST_VMSG_DTB_MACHINE[@]}" -smp 1 -nodefaults -no-user-config -display none \
		-object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \
		"${GUEST_VMSG_DTB_WIN[@]}" -machine "dumpdtb=$GUEST_TMP/virt.dtb" \
		>"$GUEST_TMP/dumpdtb.log" 2>&1 ||
		! dtc -q -I dtb -O dts -o "$dts" "$GUEST_TMP/virt.dtb" 2>>"$GUEST_TMP/dumpdtb.log"; then
		GUEST_VMSG_DTB_ERR="QEMU's device tree could not be had: $(tail -n 1 "$GUEST_TMP/dumpdtb.log")"
		return 1
	fi
	# The memory node of NUMA node 1 is the window: its address and size.
	read -r base size < <(awk '/memory@/ { m = 1 } m && /numa-node-id = <0x01>/ { n = 1 }
		m && /reg = / { r = $0 } /};/ && m { if (n) { print r; exit } m = n = 0 }' "$dts" |
		sed 's/.*<0x00 \(0x[0-9a-f]*\) 0x00 \(0x[0-9a-f]*\)>.*/\1 \2/')
	if [[ ! $base =~ ^0x[0-9a-f]+$ || ! $size =~ ^0x[0-9a-f]+$ ]]; then
		GUEST_VMSG_DTB_ERR="no memory node for NUMA node 1 in QEMU's device tree"
		return 1
	fi
	cat >>"$dts" <<-EOF

		/ {
			reserved-memory {
				#address-cells = <2>;
				#size-cells = <2>;
				ranges;
				vmsg_window: window@${base#0x} {
					reg = <0x0 $base 0x0 $size>;
					no-map;
				};
			};
			vioport-window {
				compatible = "vioport,vmsg-window";
				memory-region = <&vmsg_window>;
			};
		};
	EOF
	if ! dtc -q -I dts -O dtb -o "$out" "$dts" 2>>"$GUEST_TMP/dumpdtb.log"; then
		GUEST_VMSG_DTB_ERR="dtc refused the device tree: $(tail -n 1 "$GUEST_TMP/dumpdtb.log")"
		return 1
	fi
}

guest_vmsg_arm64_check() {
	local serial=$1
	if [[ ${#GUEST_VMSG_X86[@]} -eq 2 ]]; then
		GUEST_VMLINUZ=${GUEST_VMSG_X86[0]}
		GUEST_INITRD=${GUEST_VMSG_X86[1]}
		GUEST_VMSG_X86=()
	fi
	GUEST_MACHINE=(qemu-system-x86_64 -M q35 -accel tcg -m 512)
	GUEST_CONSOLE=ttyS0
	if [[ -n ${GUEST_BACKEND_PID[vmsg]:-} ]]; then
		guest_check_image "$GUEST_TMP/disk.img" "$serial"
		guest_vmsg_check_maps
	fi
	guest_check_backend vmsg backend-vmsg
}
