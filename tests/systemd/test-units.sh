#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# test-units.sh UNITDIR VIOPORT
#
# The systemd units meson generated in UNITDIR, checked by systemd itself:
# `systemd-analyze verify` must load every socket and service of every device
# kind without a single complaint (unknown keys, bad values, a missing
# program), with ExecStart pointed at the built daemon VIOPORT. Also checks
# that each service runs the daemon on its kind's configuration file and that
# each socket listens where the service's documentation says. Prints TAP.
set -uo pipefail

unitdir=$1 vioport=$2
kinds=(blk rng gpio i2c console vsock input)
# shellcheck source=scripts/tap-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/tap-lib.sh"

if ! command -v systemd-analyze >/dev/null; then
	tap_skip_all "no systemd-analyze (Debian package systemd)"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "1..$((${#kinds[@]} * 3))"
for k in "${kinds[@]}"; do
	svc=$unitdir/vioport-$k@.service sock=$unitdir/vioport-$k@.socket
	if [[ ! -f $svc || ! -f $sock ]]; then
		not_ok "$k: units generated"
		not_ok "$k: ExecStart"
		not_ok "$k: ListenStream"
		continue
	fi
	# An instance of each template, its program the built daemon.
	sed "s|^ExecStart=[^ ]*/vioport |ExecStart=$vioport |" "$svc" >"$tmp/vioport-$k@t.service"
	cp "$sock" "$tmp/vioport-$k@t.socket"
	out=$(cd "$tmp" && systemd-analyze verify --man=no "./vioport-$k@t.service" \
		"./vioport-$k@t.socket" 2>&1)
	if [[ $? -eq 0 && -z $out ]]; then
		ok "$k: systemd-analyze verify loads both units without a complaint"
	else
		not_ok "$k: systemd-analyze verify: $(echo "$out" | head -n 3 | tr '\n' ' ')"
	fi
	if grep -Eq "^ExecStart=/.*/vioport --config /.*/vioport/$k-%i\.conf$" "$svc" &&
		grep -qx "Type=notify" "$svc" && grep -qx "Requires=vioport-$k@%i.socket" "$svc"; then
		ok "$k: the service runs vioport --config .../vioport/$k-%i.conf, Type=notify"
	else
		not_ok "$k: ExecStart, Type or Requires of $svc"
	fi
	if grep -qx "ListenStream=/run/vioport/$k-%i.sock" "$sock"; then
		ok "$k: the socket listens on /run/vioport/$k-%i.sock"
	else
		not_ok "$k: ListenStream of $sock"
	fi
done
tap_exit
