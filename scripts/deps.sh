#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# deps.sh PACKAGE...
#
# Installs the Debian packages among PACKAGE that are not installed yet, with
# their dependencies but without recommended packages (--no-install-recommends:
# the tests need none of the desktop libraries QEMU and clang recommend), and
# prints what it installed. A machine that already has them all is left alone
# and needs no network.
# Installs as root, or through sudo when that is available; never prompts
# when CI=true.
set -euo pipefail

# Prints the packages that dpkg does not report as installed.
missing_packages() {
	local pkg status
	for pkg in "$@"; do
		status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
		if [[ $status != installed ]]; then
			echo "$pkg"
		fi
	done
}

# Sets the global array SUDO to the command prefix that gives root, or fails.
find_root() {
	SUDO=()
	if [[ $(id -u) -eq 0 ]]; then
		return 0
	fi
	if ! command -v sudo >/dev/null 2>&1; then
		return 1
	fi
	# CI has no terminal to type a password into: sudo must not ask.
	if [[ ${CI:-} == true ]]; then
		SUDO=(sudo -n)
	else
		SUDO=(sudo)
	fi
}

# Prints every installed package as name=version, sorted.
installed_list() {
	dpkg-query -W -f='${db:Status-Status} ${Package}=${Version}\n' |
		awk '$1 == "installed" { print $2 }' | LC_ALL=C sort
}

main() {
	if [[ $# -eq 0 ]]; then
		echo "usage: $0 PACKAGE..." >&2
		exit 2
	fi
	if ! command -v dpkg-query >/dev/null 2>&1; then
		echo "deps: dpkg-query not found: install these Debian 12 packages yourself: $*" >&2
		exit 1
	fi

	local -a missing
	mapfile -t missing < <(missing_packages "$@")
	if [[ ${#missing[@]} -eq 0 ]]; then
		echo "deps: all $# packages installed"
		return 0
	fi

	if ! find_root; then
		echo "deps: missing packages (${missing[*]}) and no root or sudo to install them:" \
			"run 'apt-get install ${missing[*]}' as root" >&2
		exit 1
	fi

	echo "deps: installing ${missing[*]} (and their dependencies, no recommends)"
	# The package lists may be old or absent on a new machine; refresh them first.
	"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
	local before after
	before=$(mktemp)
	after=$(mktemp)
	installed_list >"$before"
	local status=0
	"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -q -y \
		--no-install-recommends "${missing[@]}" || status=$?
	installed_list >"$after"
	local -a added
	mapfile -t added < <(comm -13 "$before" "$after")
	rm -f "$before" "$after"
	if [[ $status -ne 0 ]]; then
		echo "deps: apt-get install failed (exit status $status)" >&2
		exit "$status"
	fi
	echo "deps: installed ${#added[@]} packages: ${added[*]}"
	df -h / | awk 'NR == 2 { print "deps: " $4 " free on / afterwards" }'
}

main "$@"
