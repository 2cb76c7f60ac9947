#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# test-libvirt-xml.sh DOC
#
# Every ```xml block of DOC (docs/libvirt.md) is a domain libvirt accepts:
# virt-xml-validate checks it against libvirt's own schemas, and `virsh define
# --validate` on libvirt's test driver (test:///default, nothing started,
# nothing kept) parses it as libvirt does. Blocks naming a vhost-user device
# must also give the guest shared memory. Prints TAP; skips without
# virt-xml-validate (Debian package libvirt-clients).
set -uo pipefail

doc=$1
# shellcheck source=scripts/tap-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/tap-lib.sh"

if ! command -v virt-xml-validate >/dev/null || ! command -v virsh >/dev/null; then
	tap_skip_all "no virt-xml-validate or virsh (Debian package libvirt-clients)"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Cut the blocks out into files 1.xml, 2.xml, ...
awk -v dir="$tmp" '
	/^```xml$/ { inside = 1; count++; file = dir "/" count ".xml"; next }
	/^```$/ && inside { inside = 0; close(file); next }
	inside { print > file }
' "$doc"
blocks=$(find "$tmp" -name '*.xml' | wc -l)
if [[ $blocks -eq 0 ]]; then
	echo "1..1"
	not_ok "no xml blocks in $doc"
	exit 1
fi
echo "1..$((blocks * 3))"
for ((i = 1; i <= blocks; i++)); do
	f=$tmp/$i.xml
	name=$(sed -n "s|.*<name>\(.*\)</name>.*|\1|p" "$f" | head -n 1)
	if out=$(virt-xml-validate "$f" domain 2>&1); then
		ok "$name: virt-xml-validate against libvirt's domain schema"
	else
		not_ok "$name: virt-xml-validate: $(echo "$out" | head -n 3 | tr '\n' ' ')"
	fi
	if out=$(virsh -q -c test:///default define --validate "$f" 2>&1); then
		ok "$name: virsh define --validate on the test driver"
	else
		not_ok "$name: virsh define: $(echo "$out" | head -n 3 | tr '\n' ' ')"
	fi
	if grep -Eq "type='vhostuser'|vhost-user-" "$f"; then
		if grep -q "<access mode='shared'/>" "$f" || grep -q "memAccess='shared'" "$f"; then
			ok "$name: vhost-user devices, and the guest's memory is shared"
		else
			not_ok "$name: vhost-user devices without shared guest memory"
		fi
	else
		ok "$name: no vhost-user device, no shared guest memory needed"
	fi
done
tap_exit
