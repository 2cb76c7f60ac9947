#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# meson-build.sh DIR [-Dname=value ...]
#
# Configures the Meson build directory DIR on first use, then builds it with
# ninja. On later runs each -Dname=value that differs from DIR's current setting
# is applied with `meson configure`, so a directory first set up by hand (say
# without sanitizers) still ends up with the options the caller asked for.
# The compiler (CC) is fixed when DIR is first configured; `make clean` resets it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
	echo "usage: $0 DIR [-Dname=value ...]" >&2
	exit 2
}

# Prints the -D options whose value differs from what DIR is configured with.
changed_options() {
	local dir=$1
	shift
	meson introspect --buildoptions "$dir" | python3 -c '
import json, sys

current = {}
for opt in json.load(sys.stdin):
    value = opt["value"]
    if isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, list):
        value = ",".join(str(v) for v in value)
    current[opt["name"]] = str(value)

for arg in sys.argv[1:]:
    name, _, value = arg[2:].partition("=")
    if current.get(name) != value:
        print(arg)
' "$@"
}

main() {
	[[ $# -ge 1 ]] || usage
	local dir=$1
	shift
	local arg
	for arg in "$@"; do
		[[ $arg == -D?*=* ]] || usage
	done

	if [[ ! -f $dir/build.ninja ]]; then
		meson setup "$dir" "$@"
	elif [[ $# -gt 0 ]]; then
		local -a changed
		mapfile -t changed < <(changed_options "$dir" "$@")
		if [[ ${#changed[@]} -gt 0 ]]; then
			meson configure "$dir" "${changed[@]}"
		fi
	fi
	ninja -C "$dir"
}

main "$@"
