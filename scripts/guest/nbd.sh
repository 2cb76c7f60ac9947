# shellcheck shell=bash
# shellcheck disable=SC2154,SC2034,SC2004 # run-guest.sh's variables
# SPDX-License-Identifier: BSD-3-Clause
#
# The nbd variant's host side, sourced by run-guest.sh: the guest's disk is an
# NBD export. qemu-nbd serves the image file on a UNIX socket and the blk
# backend is its client (vioport with --image nbd+unix:///?socket=..., or
# qemu-storage-daemon with its nbd block driver); the guest runs the basic
# variant's blk tests and the host checks the image file afterwards, so the
# data crossed vhost-user and NBD both ways.

# The nbd variant's tests, in report order.
guest_nbd_tests() {
	echo blk-probe blk-serial blk-rw blk-discard blk-write-zeroes blk-intact blk-host-image \
		backend-nbd backend-blk
}

# Starts qemu-nbd on $GUEST_TMP/disk.img and the blk backend on it; sets
# GUEST_APPEND. A server or backend that did not start fails the tests.
guest_nbd_setup() {
	local backend=$1 image=$GUEST_TMP/disk.img nsock=$GUEST_TMP/nbd.sock
	local serial_no=$GUEST_SERIAL t
	truncate -s "${GUEST_DISK_MB}M" "$image"
	[[ $backend != qsd ]] || serial_no=vhost_user_blk
	GUEST_APPEND="vioport.disk_mb=$GUEST_DISK_MB vioport.serial=$serial_no"
	if ! command -v qemu-nbd >/dev/null; then
		GUEST_DOWN[blk]="qemu-nbd not found (Debian package qemu-utils)"
		for t in $(guest_nbd_tests); do GUEST_HOST[$t]="SKIP ${GUEST_DOWN[blk]}"; done
		return 0
	fi
	# --persistent: the backend reconnects after a loss; --discard=unmap: the
	# guest's discards reach the file.
	if ! guest_start_backend nbd "$nsock" qemu-nbd --persistent --shared=4 --format=raw \
		--discard=unmap --cache=writeback --socket "$nsock" "$image"; then
		GUEST_DOWN[blk]="qemu-nbd did not start: $(tail -n 1 "$GUEST_TMP/nbd.log")"
		GUEST_HOST[backend-nbd]="FAIL ${GUEST_DOWN[blk]}"
		return 0
	fi
	local -a cmd
	local sock=$GUEST_TMP/blk.sock
	case $backend in
	vioport)
		cmd=("$VIOPORT_BIN" blk --socket-path "$sock" --image "nbd+unix:///?socket=$nsock"
			--serial "$GUEST_SERIAL")
		[[ -z ${GUEST_BLK_LOG_LEVEL:-} ]] || cmd+=(--log-level "$GUEST_BLK_LOG_LEVEL")
		;;
	qsd)
		# discard=unmap: without it the block layer drops the guest's discards.
		cmd=(qemu-storage-daemon
			--blockdev "driver=nbd,node-name=n0,server.type=unix,server.path=$nsock,discard=unmap"
			--export "type=vhost-user-blk,id=e0,node-name=n0,addr.type=unix,addr.path=$sock,writable=on")
		;;
	esac
	if guest_start_backend blk "$sock" "${cmd[@]}"; then
		GUEST_QEMU+=(-chardev "socket,id=blk,path=$sock"
			-device "vhost-user-blk-pci,chardev=blk,num-queues=1")
		GUEST_TESTS+=(blk)
	else
		GUEST_DOWN[blk]="the blk backend did not start: $(tail -n 1 "$GUEST_TMP/blk.log")"
		GUEST_HOST[backend-blk]="FAIL did not start: $(tail -n 1 "$GUEST_TMP/blk.log")"
	fi
}

# After the boot: the blk backend, then the NBD server, each stopped and checked.
guest_nbd_check() {
	guest_check_backend blk backend-blk
	[[ -z ${GUEST_BACKEND_PID[nbd]:-} ]] || guest_check_backend nbd backend-nbd
}
