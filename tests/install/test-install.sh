#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# test-install.sh BUILDDIR SRCDIR
#
# `meson install` of BUILDDIR into a temporary destination, then what a user
# of the installed tree relies on:
#   - the programs, the vioport-KIND names, man pages, systemd units, QEMU's
#     vhost-user backend descriptions, the library (shared and static),
#     vioport.pc and the public headers are in place, internal headers are not;
#   - every public header compiles on its own (-std=c11 -Wall -Wextra -Werror);
#   - tests/install/example.c builds with `pkg-config --cflags --libs vioport`
#     against the shared library and with `--static` against the static one,
#     and both run;
#   - the shared library exports vio_* symbols only, under its soname;
#   - each backend description names an installed program whose
#     --print-capabilities reports the description's type.
# Prints TAP. The build's sanitizer flags (b_sanitize) are used for the
# example, whose library they instrument.
set -uo pipefail

build=$(cd "$1" && pwd) src=$(cd "$2" && pwd)
# shellcheck source=scripts/tap-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/tap-lib.sh"
check() { # check DESCRIPTION COMMAND...: ok when COMMAND succeeds
	local what=$1
	shift
	if out=$("$@" 2>&1); then
		ok "$what"
	else
		not_ok "$what: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
	fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
echo "1..17"
if ! out=$(meson install -C "$build" --no-rebuild --quiet --destdir "$dest" 2>&1); then
	not_ok "meson install: $(echo "$out" | tail -n 3 | tr '\n' ' ')"
	exit 1
fi
ok "meson install into a temporary destination"

opts=$(meson introspect --buildoptions "$build")
opt() { python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == sys.argv[1]))' "$1" <<<"$opts"; }
prefix=$dest$(opt prefix)
bindir=$prefix/$(opt bindir) libdir=$prefix/$(opt libdir) incdir=$prefix/$(opt includedir)
datadir=$prefix/$(opt datadir) mandir=$prefix/$(opt mandir)
sanitize=$(opt b_sanitize)
san_flags=()
[[ $sanitize == none ]] || san_flags=(-fsanitize="$sanitize")

missing=()
for f in "$bindir"/vioport "$bindir"/vioport-drv "$bindir"/vioport-{blk,rng,gpio,i2c,console,vsock,input} \
	"$mandir"/man1/vioport.1 "$mandir"/man1/vioport-drv.1 \
	"$libdir"/libvioport.so "$libdir"/libvioport.a "$libdir"/pkgconfig/vioport.pc \
	"$datadir"/qemu/vhost-user/50-vioport-block.json "$datadir"/qemu/vhost-user/50-vioport-rng.json; do
	[[ -e $f ]] || missing+=("${f#"$dest"}")
done
units=$(find "$dest" -path '*systemd/system/vioport-*@.s*' | wc -l)
if [[ ${#missing[@]} -eq 0 && $units -eq 14 ]]; then
	ok "programs, vioport-KIND names, man pages, library, vioport.pc, backend descriptions, 14 units"
else
	not_ok "missing: ${missing[*]}; $units units of 14"
fi

internal=$(cd "$incdir/vioport" && ls -d internal errmsg.h fdpass.h memguard.h sandbox.h systemd.h 2>/dev/null)
public=$(find "$incdir/vioport" -name '*.h' | wc -l)
if [[ -z $internal && $public -gt 20 ]]; then
	ok "$public public headers installed, the programs' internal ones not"
else
	not_ok "headers: $public public, internal ones installed: $internal"
fi

bad=""
for h in "$incdir"/vioport/*.h; do
	printf '#include <vioport/%s>\n' "$(basename "$h")" >"$tmp/h.c"
	cc -std=c11 -Wall -Wextra -Werror -I"$incdir" -c "$tmp/h.c" -o "$tmp/h.o" 2>"$tmp/h.err" ||
		bad+=" $(basename "$h")"
done
if [[ -z $bad ]]; then
	ok "every installed header compiles on its own (-std=c11 -Wall -Wextra -Werror)"
else
	not_ok "headers that do not compile alone:$bad ($(head -n 2 "$tmp/h.err" | tr '\n' ' '))"
fi

# vioport.pc from the temporary tree, its prefix moved there; the packages it
# requires (liburing) from the system.
export PKG_CONFIG_PATH=$libdir/pkgconfig
pc() { pkg-config --define-variable=prefix="$prefix" "$@"; }
check "pkg-config --modversion vioport is the project's version" \
	test "$(pc --modversion vioport)" = "$(meson introspect --projectinfo "$build" | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')"
read -r -a flags <<<"$(pc --cflags --libs vioport)"
check "example.c builds with pkg-config --cflags --libs vioport (shared)" \
	cc -std=c11 -Wall -Wextra -Werror "${san_flags[@]}" "$src/tests/install/example.c" "${flags[@]}" -o "$tmp/example"
check "the example runs on the installed shared library" \
	sh -c "LD_LIBRARY_PATH='$libdir' '$tmp/example' | grep -qx 'entropy: 32 bytes'"
check "the example's library is the installed libvioport.so.0" \
	sh -c "LD_LIBRARY_PATH='$libdir' ldd '$tmp/example' | grep -q '$libdir/libvioport.so.0'"
read -r -a all <<<"$(pc --static --cflags --libs vioport)"
sflags=()
for f in "${all[@]}"; do
	[[ $f == -lvioport ]] || sflags+=("$f")
done
check "example.c builds with pkg-config --static against libvioport.a" \
	cc -std=c11 -Wall -Wextra -Werror "${san_flags[@]}" "$src/tests/install/example.c" \
	-Wl,-Bstatic -lvioport -Wl,-Bdynamic "${sflags[@]}" -o "$tmp/example-static"
check "the statically linked example runs without the shared library" \
	sh -c "! ldd '$tmp/example-static' | grep -q libvioport && '$tmp/example-static' | grep -qx 'entropy: 32 bytes'"

soname=$(readelf -d "$libdir/libvioport.so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
others=$(nm -D --defined-only "$libdir/libvioport.so" | awk '$2 ~ /[TDBRV]/ && $3 !~ /^vio_/ && $3 !~ /^VIOPORT_/ { print $3 }' | head -n 5)
nvio=$(nm -D --defined-only "$libdir/libvioport.so" | awk '$3 ~ /^vio_/' | wc -l)
if [[ $soname == libvioport.so.0 && -z $others && $nvio -gt 100 ]]; then
	ok "libvioport.so.0 exports $nvio vio_* symbols and nothing else"
else
	not_ok "soname '$soname', $nvio vio_* symbols, others: $others"
fi

for type in block rng console vsock input; do
	json=$datadir/qemu/vhost-user/50-vioport-$type.json
	bin=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["type"]==sys.argv[2]; print(d["binary"])' "$json" "$type" 2>/dev/null)
	if [[ -n $bin && -x $dest$bin ]] &&
		"$dest$bin" --print-capabilities | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)["type"] != sys.argv[1])' "$type"; then
		ok "50-vioport-$type.json: type $type, binary ${bin##*/} prints the same type"
	else
		not_ok "50-vioport-$type.json: binary '$bin' missing or its capabilities differ"
	fi
done
check "vioport-blk serves blk options without naming the device (--help exits 0, bad option 2)" \
	sh -c "'$bindir/vioport-blk' --help >/dev/null && { '$bindir/vioport-blk' --socket-path /nonexistent/x; test \$? -eq 2; }"
tap_exit
