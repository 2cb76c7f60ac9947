# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034,SC2004 # run-guest.sh's variables
# SPDX-License-Identifier: BSD-3-Clause
#
# The vu-devices variant's host side, sourced by run-guest.sh: vsock and input
# served by vioport over vhost-user (vhost-user-vsock-pci,
# vhost-user-input-pci), used by the guest's stock vsock and virtio_input
# drivers. The guest runs tests/vsock.sh and tests/input.sh with Debian's
# socat and tests/guest/evdev_reader (built here with gcc -static), both in an
# archive appended to this boot's initramfs only.
#
#   vsock  guest to host: the guest's socat connects to host port
#          GUEST_VUDEV_G2H_PORT, a listener here on the daemon's
#          --uds-path PATH_PORT takes the bytes and their sha256; host to
#          guest: once the guest says its socat listens on
#          GUEST_VUDEV_H2G_PORT, a program here connects to PATH, writes
#          "CONNECT <port>", reads "OK <host port>" and sends the bytes, whose
#          sha256 the guest has from the kernel command line.
#   input  once the guest says its reader has the keyboard's event node
#          open, the control socket taps a key and types a text; the guest
#          checks the EV_KEY events (1 then 0, each followed by SYN_REPORT).

GUEST_VUDEV_CID=3
GUEST_VUDEV_G2H_PORT=5000  # the host port the guest connects to
GUEST_VUDEV_H2G_PORT=5001  # the guest port the host connects to
GUEST_VUDEV_MB=4           # bytes each way, in MiB
GUEST_VUDEV_TAP=30         # KEY_A
GUEST_VUDEV_TEXT=Hi
# What `input0 type Hi` must give the guest, in order, each event followed by
# SYN_REPORT: KEY_LEFTSHIFT (42) around KEY_H (35), then KEY_I (23).
GUEST_VUDEV_TEXT_KEYS=42:1,35:1,35:0,42:0,23:1,23:0
GUEST_WITH_VUDEV=false  # whether the vu-devices variant runs (its modules and programs)
GUEST_VUDEV_INITRD=""   # the initramfs with socat and the reader appended
GUEST_VUDEV_DOWN=""     # why they cannot be had, if they cannot
GUEST_VUDEV_CTL=""      # the control socket's replies, for input-control

# The variant's tests, in report order.
guest_vudev_tests() {
	echo vsock-probe vsock-g2h vsock-g2h-host vsock-h2g vsock-h2g-host input-probe \
		input-control input-tap input-type backend-vsock backend-input
}

# The modules the guest loads, for the shared initramfs (GUEST_EXTRA).
guest_vudev_extra() {
	GUEST_EXTRA=(--module vsock --module vmw_vsock_virtio_transport_common
		--module vmw_vsock_virtio_transport --module virtio_input --module evdev)
}

# Sets GUEST_VUDEV_INITRD to GUEST_INITRD with socat and the static reader
# appended, or GUEST_VUDEV_DOWN to why it cannot.
guest_vudev_initrd() {
	local socat reader=$GUEST_TMP/evdev_reader
	if ! socat=$(command -v socat); then
		GUEST_VUDEV_DOWN="no socat on the host: install Debian's socat (make deps)"
		return 0
	fi
	if ! gcc -static -O2 -Wall -Wextra -Werror -o "$reader" \
		"$VIOPORT_ROOT/tests/guest/evdev_reader.c" 2>"$GUEST_TMP/evdev_reader.err"; then
		GUEST_VUDEV_DOWN="gcc -static could not build tests/guest/evdev_reader.c: $(head -n 1 "$GUEST_TMP/evdev_reader.err")"
		return 0
	fi
	rm -f "$GUEST_TMP/evdev_reader.err"
	if ! "$GUEST_DIR/mkinitramfs.sh" --bins-only --output "$GUEST_TMP/vudev.gz" \
		--host-bin "$socat" --host-bin "$reader"; then
		GUEST_VUDEV_DOWN="mkinitramfs.sh --bins-only could not pack $socat and $reader"
		return 0
	fi
	cat "$GUEST_INITRD" "$GUEST_TMP/vudev.gz" >"$GUEST_TMP/initrd-vudev.gz"
	rm -f "$GUEST_TMP/vudev.gz"
	GUEST_VUDEV_INITRD=$GUEST_TMP/initrd-vudev.gz
}

# The host ends of the vsock streams, each bounded by its timeouts; the
# outcome goes to the file OUT as one line, "OK ..." or "FAIL why".
#   listen PATH OUT SECONDS      accept one connection on PATH within SECONDS,
#                                read to end of stream: "OK <bytes> <sha256>"
#   connect PATH OUT PORT FILE   CONNECT PORT on the daemon's PATH, send FILE,
#                                shut down writing and wait for the guest's
#                                close: "OK <the daemon's answer> <bytes>"
GUEST_VUDEV_PY='
import hashlib, os, socket, sys

mode, path, out = sys.argv[1:4]

def done(msg):
    with open(out + ".tmp", "w") as f:
        f.write(msg + "\n")
    os.rename(out + ".tmp", out)
    print(msg)

try:
    if mode == "listen":
        secs = float(sys.argv[4])
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(1)
        srv.settimeout(secs)
        try:
            c, _ = srv.accept()
        except socket.timeout:
            done("FAIL nobody connected to %s within %g s" % (path, secs))
            sys.exit(1)
        finally:
            os.unlink(path)
        c.settimeout(30)
        h = hashlib.sha256()
        n = 0
        while True:
            b = c.recv(65536)
            if not b:
                break
            h.update(b)
            n += len(b)
        done("OK %d %s" % (n, h.hexdigest()))
    else:
        port, data = sys.argv[4], sys.argv[5]
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(30)
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
        n = 0
        with open(data, "rb") as f:
            while True:
                chunk = f.read(65536)
                if not chunk:
                    break
                s.sendall(chunk)
                n += len(chunk)
        s.shutdown(socket.SHUT_WR)
        extra = 0
        while True:
            b = s.recv(65536)
            if not b:
                break
            extra += len(b)
        if extra:
            done("FAIL the guest sent %d bytes back; it should send none" % extra)
            sys.exit(1)
        done("OK %s %d" % (line, n))
except Exception as e:
    done("FAIL %s: %s" % (type(e).__name__, e))
    sys.exit(1)
'

# guest_vudev_helper NAME ARGS...: one of the host ends above, in the
# background, logging to $GUEST_TMP/NAME.log; sets GUEST_VUDEV_PID[NAME].
declare -A GUEST_VUDEV_PID=()
guest_vudev_helper() {
	local name=$1
	shift
	echo "+ python3 (vsock $1) ${*:2}" >"$GUEST_TMP/$name.log"
	python3 -c "$GUEST_VUDEV_PY" "$@" >>"$GUEST_TMP/$name.log" 2>&1 </dev/null &
	GUEST_PIDS+=("$!")
	GUEST_VUDEV_PID[$name]=$!
}

# Marks every test of device DEV (vsock, input) failed with WHY.
guest_vudev_down() {
	local dev=$1 why=$2 t
	for t in $(guest_vudev_tests); do
		[[ $t != "$dev"-* && $t != backend-"$dev" ]] || GUEST_HOST[$t]="FAIL $why"
	done
}

# Marks every test of device DEV skipped with WHY.
guest_vudev_skip() {
	local dev=$1 why=$2 t
	for t in $(guest_vudev_tests); do
		[[ $t != "$dev"-* && $t != backend-"$dev" ]] || GUEST_HOST[$t]="SKIP $why"
	done
}

# Whether this QEMU, with the tier's accelerator, realizes a
# vhost-user-input-pci device; GUEST_VUDEV_WHY says why not. QEMU 7.2 builds
# it on its vhost-user-backend object, whose setup refuses to run without
# KVM's ioeventfds ("vhost initialization failed: requires kvm",
# backends/vhost-user.c), so under TCG it never does. The probe asks QEMU
# rather than assuming: a stopped machine (-S) with the device on a socket
# nobody serves; a refusal exits at once, a device it would take leaves QEMU
# waiting for its backend or stopped, and the timeout ends it.
guest_vudev_input_probe() {
	local out sock=$GUEST_TMP/input-probe.sock
	GUEST_VUDEV_WHY=""
	out=$(timeout 10 "${GUEST_MACHINE[@]}" -nodefaults -no-user-config -display none -S \
		-monitor none -chardev "socket,id=p,path=$sock,server=on,wait=off" \
		-device vhost-user-input-pci,chardev=p 2>&1 </dev/null) || true
	rm -f "$sock"
	if [[ $out == *"requires kvm"* || $out == *"is not a valid device"* ]]; then
		GUEST_VUDEV_WHY="this QEMU does not take vhost-user-input-pci with ${GUEST_MACHINE[*]:1} (${out##*chardev=p: })"
		return 1
	fi
}

# Prepares the variant: the data for the guest, both daemons, the listener
# for the guest's connection; adds the devices to GUEST_QEMU, the tests to
# GUEST_TESTS, the console hook, and sets GUEST_APPEND.
guest_vudev_setup() {
	local uds=$GUEST_TMP/vsock.uds sha
	GUEST_VUDEV_CTL=""
	GUEST_VUDEV_PID=()
	GUEST_APPEND="vioport.vsock_g2h=$GUEST_VUDEV_G2H_PORT vioport.vsock_h2g=$GUEST_VUDEV_H2G_PORT"
	GUEST_APPEND+=" vioport.vsock_mb=$GUEST_VUDEV_MB vioport.vsock_cid=$GUEST_VUDEV_CID"
	GUEST_APPEND+=" vioport.input_tap=$GUEST_VUDEV_TAP vioport.input_text=$GUEST_VUDEV_TEXT"
	GUEST_APPEND+=" vioport.input_keys=$GUEST_VUDEV_TEXT_KEYS"
	if [[ -n $GUEST_VUDEV_DOWN || -z $GUEST_VUDEV_INITRD ]]; then
		guest_vudev_down vsock "${GUEST_VUDEV_DOWN:-no initramfs with socat}"
		guest_vudev_down input "${GUEST_VUDEV_DOWN:-no initramfs with the reader}"
		return 0
	fi

	head -c "$((GUEST_VUDEV_MB << 20))" /dev/urandom >"$GUEST_TMP/h2g.bin"
	sha=$(sha256sum "$GUEST_TMP/h2g.bin" | cut -d' ' -f1)
	GUEST_APPEND+=" vioport.vsock_sha=$sha"
	if ! guest_start_backend vsock "$GUEST_TMP/vsock.sock" "$VIOPORT_BIN" vsock \
		--socket-path "$GUEST_TMP/vsock.sock" --uds-path "$uds" --guest-cid "$GUEST_VUDEV_CID"; then
		guest_vudev_down vsock "the vsock backend did not start: $(tail -n 1 "$GUEST_TMP/vsock.log")"
	else
		guest_vudev_helper vsock-g2h listen "${uds}_$GUEST_VUDEV_G2H_PORT" \
			"$GUEST_TMP/g2h.result" "$GUEST_TIMEOUT"
		if ! guest_wait_socket "${GUEST_VUDEV_PID[vsock-g2h]}" "${uds}_$GUEST_VUDEV_G2H_PORT"; then
			guest_vudev_down vsock "the host listener did not start: $(tail -n 1 "$GUEST_TMP/vsock-g2h.log")"
		else
			GUEST_QEMU+=(-chardev "socket,id=vsock,path=$GUEST_TMP/vsock.sock"
				-device "vhost-user-vsock-pci,chardev=vsock")
			GUEST_TESTS+=(vsock)
		fi
	fi
	if ! guest_vudev_input_probe; then
		guest_vudev_skip input "$GUEST_VUDEV_WHY"
	elif ! guest_start_backend input "$GUEST_TMP/input.sock" "$VIOPORT_BIN" input \
		--socket-path "$GUEST_TMP/input.sock" --sim keyboard --control "$GUEST_TMP/input.ctl"; then
		guest_vudev_down input "the input backend did not start: $(tail -n 1 "$GUEST_TMP/input.log")"
	elif ! guest_vudev_wait_ctl; then
		guest_vudev_down input "the input backend made no control socket $GUEST_TMP/input.ctl within 5 s"
	else
		GUEST_QEMU+=(-chardev "socket,id=input,path=$GUEST_TMP/input.sock"
			-device "vhost-user-input-pci,chardev=input")
		GUEST_TESTS+=(input)
	fi
	GUEST_ON_LINE=guest_vudev_on_line
}

# The control socket may come up a moment after the vhost-user one.
guest_vudev_wait_ctl() {
	local i
	for ((i = 0; i < 50; i++)); do
		[[ ! -S $GUEST_TMP/input.ctl ]] || return 0
		guest_alive "${GUEST_BACKEND_PID[input]}" || return 1
		sleep 0.1
	done
	return 1
}

# The console hook: the guest says when each of its ends is ready.
guest_vudev_on_line() {
	local reply
	case $1 in
	"VIOPORT-INFO vsock-listen "*)
		guest_vudev_helper vsock-h2g connect "$GUEST_TMP/vsock.uds" "$GUEST_TMP/h2g.result" \
			"${1##* }" "$GUEST_TMP/h2g.bin"
		;;
	"VIOPORT-INFO input-ready "*)
		reply=$(guest_control input "input0 tap $GUEST_VUDEV_TAP") || true
		GUEST_VUDEV_CTL="tap $GUEST_VUDEV_TAP: $reply"
		reply=$(guest_control input "input0 type $GUEST_VUDEV_TEXT") || true
		GUEST_VUDEV_CTL+="; type $GUEST_VUDEV_TEXT: $reply"
		;;
	esac
}

# guest_vudev_result NAME: waits up to 10 s for host end NAME to finish (it
# has its own timeouts), stops it if it did not, and prints its result line.
guest_vudev_result() {
	local name=$1 file=$2 pid=${GUEST_VUDEV_PID[$1]:-} i
	if [[ -z $pid ]]; then
		echo "FAIL never started (the guest did not ask for it)"
		return 0
	fi
	for ((i = 0; i < 100; i++)); do
		guest_alive "$pid" || break
		sleep 0.1
	done
	guest_stop_pid "$pid" 1
	if [[ -s $file ]]; then
		cat "$file"
	else
		echo "FAIL no result; its log: $(tail -n 1 "$GUEST_TMP/$name.log")"
	fi
}

# After the boot: what the host ends saw, the control socket's replies, the
# daemons stopped and checked.
guest_vudev_check() {
	local serial=$1 got want
	GUEST_ON_LINE=""
	if [[ -z ${GUEST_HOST[vsock-g2h-host]:-} ]]; then
		got=$(guest_vudev_result vsock-g2h "$GUEST_TMP/g2h.result")
		want=$(guest_lines "$serial" INFO | sed -n 's/^vsock-g2h //p' | tail -n 1)
		if [[ $got != OK* ]]; then
			GUEST_HOST[vsock-g2h-host]="FAIL listener on port $GUEST_VUDEV_G2H_PORT: ${got#FAIL }"
		elif [[ -z $want ]]; then
			GUEST_HOST[vsock-g2h-host]="FAIL the guest printed no checksum of what it sent (the listener got ${got#OK })"
		elif [[ ${got#OK } == "$want" ]]; then
			GUEST_HOST[vsock-g2h-host]="PASS listener on ${GUEST_TMP##*/}/vsock.uds_$GUEST_VUDEV_G2H_PORT read $want (bytes, sha256), as the guest sent"
		else
			GUEST_HOST[vsock-g2h-host]="FAIL listener read ${got#OK }, the guest sent $want"
		fi
		got=$(guest_vudev_result vsock-h2g "$GUEST_TMP/h2g.result")
		if [[ $got == OK* ]]; then
			GUEST_HOST[vsock-h2g-host]="PASS CONNECT $GUEST_VUDEV_H2G_PORT answered '$(cut -d' ' -f2-3 <<<"$got")', $(cut -d' ' -f4 <<<"$got") bytes sent, the guest's close seen"
		else
			GUEST_HOST[vsock-h2g-host]="FAIL ${got#FAIL }"
		fi
	fi
	if [[ -z ${GUEST_HOST[input-control]:-} ]]; then
		if [[ -z $GUEST_VUDEV_CTL ]]; then
			GUEST_HOST[input-control]="FAIL the guest never said its reader was ready"
		elif [[ $GUEST_VUDEV_CTL == "tap $GUEST_VUDEV_TAP: ok; type $GUEST_VUDEV_TEXT: ok "* ]]; then
			GUEST_HOST[input-control]="PASS $GUEST_VUDEV_CTL"
		else
			GUEST_HOST[input-control]="FAIL $GUEST_VUDEV_CTL"
		fi
	fi
	rm -f "$GUEST_TMP/h2g.bin" "$GUEST_TMP"/*.result
	guest_check_backend vsock backend-vsock
	guest_check_backend input backend-input
}
