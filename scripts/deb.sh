#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# deb.sh [--check]
#
# Builds vioport's Debian binary packages (vioport, libvioport0,
# libvioport-dev) with Debian's own tools: a copy of the source tree in
# build-deb/src (the files git tracks, so nothing built or generated goes in),
# `dpkg-buildpackage -us -uc -b` there (debian/: debhelper and meson, the unit
# tests run), then `lintian --fail-on error` on the result. The packages end
# up in build-deb/. `make deb` runs this.
#
# --check (the package tier of `make check`): then installs the three
# packages with apt-get, checks what a user of them relies on, removes them
# with `apt-get purge`, and checks that the machine's list of installed
# packages is the one it had before. Prints TAP; a failed step fails, the rest
# still run where they can. Skips (one TAP line) when not root or without
# dpkg-buildpackage (Debian packages dpkg-dev, debhelper, lintian).
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
OUT=$ROOT/build-deb
CHECK=false
[[ ${1:-} != --check ]] || CHECK=true
PKGS=(vioport libvioport0 libvioport-dev)

# shellcheck source=scripts/tap-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/tap-lib.sh"
say() { echo "deb: $*" >&2; }

if ! command -v dpkg-buildpackage >/dev/null || ! command -v dh >/dev/null ||
	! command -v lintian >/dev/null; then
	why="no dpkg-buildpackage, dh or lintian (Debian packages dpkg-dev, debhelper, lintian)"
	if [[ $CHECK == true ]]; then
		tap_skip_all "$why"
		exit 0
	fi
	say "$why"
	exit 1
fi
if [[ $CHECK == true && $(id -u) -ne 0 ]]; then
	tap_skip_all "installing packages needs root"
	exit 0
fi
[[ $CHECK == false ]] || echo "1..9"

# The tree to build: what git tracks, or (outside a git checkout) everything but
# build output.
rm -rf "$OUT"
mkdir -p "$OUT/src"
if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
	git -C "$ROOT" ls-files -z --cached --others --exclude-standard |
		(cd "$ROOT" && xargs -0 cp --parents -t "$OUT/src" 2>/dev/null)
else
	tar -C "$ROOT" --exclude='./build*' --exclude=./.git -cf - . | tar -C "$OUT/src" -xf -
fi
say "building in ${OUT#"$ROOT"/}/src (dpkg-buildpackage -us -uc -b; log: ${OUT#"$ROOT"/}/build.log)"
if (cd "$OUT/src" && dpkg-buildpackage -us -uc -b) >"$OUT/build.log" 2>&1; then
	debs=$(cd "$OUT" && ls ./*.deb | grep -v dbgsym | tr '\n' ' ')
	[[ $CHECK == false ]] || ok "dpkg-buildpackage -us -uc -b: $debs"
else
	if [[ $CHECK == true ]]; then
		not_ok "dpkg-buildpackage failed: $(tail -n 3 "$OUT/build.log" | tr '\n' ' ')"
		exit 1
	fi
	tail -n 30 "$OUT/build.log" >&2
	say "dpkg-buildpackage failed"
	exit 1
fi

changes=$(ls "$OUT"/vioport_*.changes)
if lintian --fail-on error "$changes" >"$OUT/lintian.log" 2>&1; then
	warnings=$(grep -c '^W:' "$OUT/lintian.log")
	if [[ $CHECK == true ]]; then
		ok "lintian --fail-on error: no errors ($warnings warnings)"
	else
		cat "$OUT/lintian.log" >&2
		say "lintian: no errors ($warnings warnings)"
	fi
else
	if [[ $CHECK == true ]]; then
		not_ok "lintian: $(grep '^E:' "$OUT/lintian.log" | head -n 3 | tr '\n' ' ')"
	else
		cat "$OUT/lintian.log" >&2
		say "lintian found errors"
		exit 1
	fi
fi
if [[ $CHECK == false ]]; then
	ls "$OUT"/*.deb
	exit 0
fi

# ---------------------------------------------------------------- install, use, remove

before=$OUT/installed-before.txt after=$OUT/installed-after.txt
dpkg-query -W -f '${Package}:${Architecture} ${Version}\n' | sort >"$before"
for p in "${PKGS[@]}"; do
	if grep -q "^$p:" "$before"; then
		not_ok "$p is installed already: not touching the machine's own copy"
		exit 1
	fi
done
if apt-get install -y --no-install-recommends "$OUT"/vioport_*.deb "$OUT"/libvioport0_*.deb \
	"$OUT"/libvioport-dev_*.deb >"$OUT/install.log" 2>&1; then
	ok "apt-get install of vioport, libvioport0 and libvioport-dev"
else
	not_ok "apt-get install: $(tail -n 3 "$OUT/install.log" | tr '\n' ' ')"
fi

version=$(dpkg-parsechangelog -l "$ROOT/debian/changelog" -S Version)
got=$(/usr/bin/vioport --version 2>&1)
if [[ $got == "vioport $version" ]]; then
	ok "/usr/bin/vioport --version: $got"
else
	not_ok "/usr/bin/vioport --version said '$got', want 'vioport $version'"
fi
if /usr/bin/vioport --print-capabilities blk | python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(d["type"] != "block")' &&
	/usr/bin/vioport-rng --print-capabilities | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["type"] != "rng")'; then
	ok "/usr/bin/vioport --print-capabilities blk and vioport-rng --print-capabilities"
else
	not_ok "--print-capabilities from /usr/bin"
fi
if [[ -f /lib/systemd/system/vioport-blk@.socket && -f /usr/share/qemu/vhost-user/50-vioport-block.json &&
	-f /usr/share/man/man1/vioport.1.gz ]]; then
	ok "units in /lib/systemd/system, backend descriptions, man pages"
else
	not_ok "units, backend descriptions or man pages missing"
fi
tmp=$(mktemp -d)
if cc -std=c11 -Wall -Wextra -Werror "$ROOT/tests/install/example.c" \
	$(pkg-config --cflags --libs vioport) -o "$tmp/example" 2>"$tmp/cc.log" &&
	grep -qx 'entropy: 32 bytes' < <("$tmp/example") && grep -q '/libvioport.so.0' < <(ldd "$tmp/example"); then
	ok "an example built with pkg-config against libvioport-dev runs on libvioport0"
else
	not_ok "example against the installed packages: $(head -n 3 "$tmp/cc.log" | tr '\n' ' ')"
fi
rm -rf "$tmp"

if apt-get purge -y "${PKGS[@]}" >"$OUT/purge.log" 2>&1; then
	ok "apt-get purge of the three packages"
else
	not_ok "apt-get purge: $(tail -n 3 "$OUT/purge.log" | tr '\n' ' ')"
fi
dpkg-query -W -f '${Package}:${Architecture} ${Version}\n' | sort >"$after"
if cmp -s "$before" "$after" && [[ ! -e /usr/bin/vioport ]]; then
	ok "the machine's installed packages are what they were before"
else
	not_ok "installed packages changed: $(diff "$before" "$after" | grep '^[<>]' | head -n 3 | tr '\n' ' ')"
fi
tap_exit
