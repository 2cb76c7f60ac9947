#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# demo.sh [--backend vioport|qsd] [--timeout SECONDS] [--keep-logs]
#
# Boots a Linux guest whose disk and entropy source are served by the vioport
# daemon, and tells what happened: the daemons it starts, what the guest's own
# virtio drivers found and did, and every check with its verdict. The guest
# is Debian's unmodified kernel under QEMU (q35, TCG) with a busybox
# initramfs; the devices are vhost-user-blk-pci and vhost-user-rng-pci.
#
# The guest writes random data over its whole disk, reads it back, discards
# and zeroes ranges, and reads /dev/hwrng; afterwards the host checks that the
# image file holds exactly what the guest read.
#
#   --backend qsd   serve the disk with qemu-storage-daemon instead (the
#                   entropy checks are then skipped): a preview without vioport
#
# Exits 0 only if every check passed (skipped ones aside).
set -euo pipefail

# shellcheck source=scripts/guest/run-guest.sh
source "$(dirname "${BASH_SOURCE[0]}")/run-guest.sh"

DEMO_PASS=0
DEMO_FAIL=0
DEMO_SKIP=0
DEMO_RESULTS=()
DEMO_BACKEND=vioport

# Progress from the helpers, indented under the step it belongs to.
guest_say() {
	echo "    ${*#basic: }"
}

# Each console line of the guest as it arrives: its own account of what it does.
demo_line() {
	case $1 in
	VIOPORT-BEGIN\ *) echo "    guest | Linux ${1#VIOPORT-BEGIN } is up, its virtio drivers are loaded" ;;
	VIOPORT-SAY\ *) echo "    guest | ${1#VIOPORT-SAY }" ;;
	VIOPORT-RESULT\ *\ FAIL\ *) echo "    guest | check failed: ${1#VIOPORT-RESULT }" ;;
	VIOPORT-END\ *) echo "    guest | done, powering off" ;;
	esac
}

# Each verdict, kept for the table at the end.
demo_result() {
	local name=${1#*/} status=$2
	shift 2
	case $status in
	PASS) DEMO_PASS=$((DEMO_PASS + 1)) ;;
	FAIL) DEMO_FAIL=$((DEMO_FAIL + 1)) ;;
	*) DEMO_SKIP=$((DEMO_SKIP + 1)) ;;
	esac
	DEMO_RESULTS+=("$(printf '  %-6s %-18s %s' "$status" "$name" "$*")")
}

# What each check means, for the table.
demo_explain() {
	cat <<'EOF'
  blk-probe         the guest found the disk with the size the image has
  blk-serial        the disk's serial number (GET_ID) is the one vioport was given
  blk-rw            random data over the whole disk reads back identical, caches dropped
  blk-discard       a discarded range reads back as zeros
  blk-write-zeroes  a range written with WRITE_ZEROES reads back as zeros
  blk-intact        nothing outside those ranges changed
  blk-host-image    on the host, the image file holds exactly what the guest read
  rng-current       Linux picked the virtio entropy device as its hardware RNG
  rng-read          /dev/hwrng delivers bytes, not all zero, different each read
  backend-*         each daemon served the guest and stopped cleanly
EOF
}

main() {
	while [[ $# -gt 0 ]]; do
		case $1 in
		--backend) DEMO_BACKEND=${2:?--backend needs vioport or qsd}; shift ;;
		--timeout) GUEST_TIMEOUT=${2:?--timeout needs seconds}; shift ;;
		--keep-logs) GUEST_KEEP_LOGS=true ;;
		-h | --help) sed -n '4,19s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; return 0 ;;
		*) echo "demo: unknown argument '$1' (try --help)" >&2; return 2 ;;
		esac
		shift
	done
	case $DEMO_BACKEND in
	vioport)
		if [[ ! -x $VIOPORT_BIN ]]; then
			echo "demo: $VIOPORT_BIN is not built yet (make build), or preview with --backend qsd" >&2
			return 1
		fi
		;;
	qsd) ;;
	*) echo "demo: unknown backend '$DEMO_BACKEND'" >&2; return 2 ;;
	esac

	echo "vioport guest demo: a Linux guest whose disk and entropy source are vioport devices"
	echo
	echo "[1/3] guest kernel and initramfs"
	guest_init
	# The first run on a machine downloads the kernel: show that as it happens.
	if ! guest_prepare 2> >(sed -u 's/^/    /' >&2); then
		wait $! || true
		echo "demo: no guest kernel (see above)" >&2
		return 1
	fi
	wait $! || true
	echo "    Debian kernel $GUEST_KVER, unmodified; busybox initramfs with virtio_pci, virtio_blk, virtio_rng"
	echo

	echo "[2/3] vioport serves a disk and an entropy source; QEMU (q35, TCG, 512 MiB) boots the guest"
	if [[ $DEMO_BACKEND == vioport ]]; then
		echo "    starting: vioport blk --socket-path blk.sock --image disk.img ($GUEST_DISK_MB MiB) --serial $GUEST_SERIAL"
		echo "    starting: vioport rng --socket-path rng.sock"
		echo "    QEMU devices: vhost-user-blk-pci on blk.sock, vhost-user-rng-pci on rng.sock"
	else
		echo "    starting: qemu-storage-daemon serving disk.img ($GUEST_DISK_MB MiB); no rng backend"
		echo "    QEMU devices: vhost-user-blk-pci on blk.sock"
	fi
	GUEST_ON_LINE=demo_line
	GUEST_EMIT=demo_result
	guest_variant basic "$DEMO_BACKEND"
	echo

	echo "[3/3] results"
	printf '%s\n' "${DEMO_RESULTS[@]}"
	echo
	echo "what was checked:"
	demo_explain
	echo
	echo "$DEMO_PASS passed, $DEMO_FAIL failed, $DEMO_SKIP skipped"
	[[ $DEMO_FAIL -eq 0 ]]
}

main "$@"
