#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# portability.sh [--help]
#
# Prints the portability figure: the share of vioport's virtqueue, transport
# and device code that the Linux daemon and the bare-metal firmware compile
# from the same files.
#
# Definition (also in docs/porting.md):
#   lines    non-blank lines of C that are not only comment, in .c files and
#            the folders' private .h files (public headers in include/vioport/
#            are left out of both sides: they are shared by construction);
#   scope    virtqueue, transport and device code, the device side of the
#            daemon: src/core (virtqueues, windows, device model, and the
#            loopback transport src/core/loopback.c), src/dev (devices),
#            src/vmsg (virtio-msg transport, when present), the vhost-user
#            protocol engine (src/vhost_user), the vhost-user server's POSIX glue
#            (src/os/posix/vhost_user_server.c.{c,h}: socket, mmap, eventfds, threads)
#            and the virtio-msg endpoint's POSIX thread around src/vmsg/endpoint.c
#            (src/os/posix/vmsg_endpoint.c: window file, doorbell, thread, lock);
#   shared   the part of the scope both builds compile: src/core, src/dev,
#            src/vmsg and src/vhost_user (scripts/cross-build.sh and
#            scripts/firmware.sh build them for Cortex-R5F and Cortex-M4,
#            meson for Linux); the two POSIX glues are Linux only;
#   figure   shared / scope.
# Not in the scope, and why: lib/frontend (the frontend and blk client) is
# the driver side (the project's stand-in for QEMU in tests and benchmarks),
# not part of what serves a device; src/os/posix (event loop) and
# firmware/platform are the per-OS ports; src/linux and src/sim are providers
# (hardware access and simulations). They are counted and printed, apart.
#
# Then prints what porting the platform layer took per core family: lines
# (counted the same way, linker scripts and assembly included) of each piece
# docs/porting.md lists; and, for the Linux kernel module (linux/, the
# window's driver side), its own lines beside those of src/vmsg/msg.c,
# src/vmsg/shm.c and src/vmsg/cfg.c, which it compiles unchanged.
#
# Exits 0 whatever the figure is; the target is at least 90 %.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ ${1:-} == --help || ${1:-} == -h ]]; then
	sed -n '3,37p' "$0" | sed 's/^# \{0,1\}//'
	exit 0
fi
if [[ $# -gt 0 ]]; then
	echo "usage: $0 [--help]" >&2
	exit 2
fi

# Counts code lines of the given files: comments (/* */ and //) and blank
# lines removed, string and character literals respected.
count_lines() {
	[[ $# -gt 0 ]] || {
		echo 0
		return
	}
	python3 - "$@" <<'EOF'
import sys

total = 0
for path in sys.argv[1:]:
    text = open(path, encoding="utf-8", errors="replace").read()
    out, i, n, state = [], 0, len(text), None
    while i < n:
        c = text[i]
        if state == "block":
            if text.startswith("*/", i):
                state, i = None, i + 2
            else:
                if c == "\n":
                    out.append(c)
                i += 1
        elif state == "line":
            if c == "\n":
                state = None
                out.append(c)
            i += 1
        elif state in ('"', "'"):
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == state:
                state = None
            i += 1
        elif text.startswith("/*", i):
            state, i = "block", i + 2
        elif text.startswith("//", i):
            state, i = "line", i + 2
        else:
            if c in "\"'":
                state = c
            out.append(c)
            i += 1
    total += sum(1 for line in "".join(out).split("\n") if line.strip())
print(total)
EOF
}

# Prints the C files (.c and .h) under a folder, or matching a glob, sorted.
files_in() {
	local dir=$1 pattern=${2:-*}
	[[ -d $dir ]] || return 0
	find "$dir" -maxdepth 1 -type f -name "$pattern" \( -name '*.c' -o -name '*.h' \) |
		LC_ALL=C sort
}

declare -A LINES=()
count_group() {
	local name=$1
	shift
	local -a files=()
	mapfile -t files < <("$@")
	LINES[$name]=$(count_lines "${files[@]}")
}

count_group core files_in src/core
count_group dev files_in src/dev
count_group vmsg files_in src/vmsg
count_group vu_engine files_in src/vhost_user
count_group vu_server files_in src/os/posix 'vhost_user_server*'
count_group vmsg_glue files_in src/os/posix 'vmsg_endpoint*'
count_group vu_driver files_in lib/frontend
count_group os_posix files_in src/os/posix
LINES[os_posix]=$((LINES[os_posix] - LINES[vu_server] - LINES[vmsg_glue]))
count_group host files_in src/linux
count_group sim files_in src/sim
count_group platform find firmware/platform -type f \( -name '*.c' -o -name '*.h' -o -name '*.S' \)

shared=$((LINES[core] + LINES[dev] + LINES[vmsg] + LINES[vu_engine]))
scope=$((shared + LINES[vu_server] + LINES[vmsg_glue]))

row="  %-44s %6s  %s\n"
echo "vioport portability: lines of C (non-blank, non-comment)"
# shellcheck disable=SC2059 # the format is the constant above
printf "$row" "folder" "lines" "role"
# shellcheck disable=SC2059
{
	printf "$row" "src/core (incl. loopback.c)" "${LINES[core]}" "in scope, shared"
	printf "$row" "src/dev" "${LINES[dev]}" "in scope, shared"
	if [[ -d src/vmsg ]]; then
		printf "$row" "src/vmsg" "${LINES[vmsg]}" "in scope, shared"
	else
		printf "$row" "src/vmsg" "-" "not present yet"
	fi
	printf "$row" "src/vhost_user (vhost-user protocol engine)" "${LINES[vu_engine]}" "in scope, shared"
	printf "$row" "src/os/posix/vhost_user_server.c (POSIX glue)" "${LINES[vu_server]}" "in scope, Linux only"
	printf "$row" "src/os/posix/vmsg_endpoint.c (POSIX glue)" "${LINES[vmsg_glue]}" "in scope, Linux only"
	printf "$row" "lib/frontend (frontend, blk client)" "${LINES[vu_driver]}" \
		"driver side (tests, bench): out of scope"
	printf "$row" "src/os/posix (the rest)" "${LINES[os_posix]}" "OS port, Linux: out of scope"
	printf "$row" "firmware/platform" "${LINES[platform]}" "OS port, bare metal: out of scope"
	printf "$row" "src/linux" "${LINES[host]}" "providers, Linux: out of scope"
	printf "$row" "src/sim" "${LINES[sim]}" "providers, shared: out of scope"
}
awk -v s="$shared" -v t="$scope" 'BEGIN {
	printf "portability: %d of %d lines of virtqueue, transport and device code are shared " \
		"between the Linux daemon and the firmware: %.1f %%\n", s, t, t ? 100 * s / t : 0
}'

# Lines of one file, or 0 when the family does not need it (a weak default serves).
piece() {
	if [[ -f $1 ]]; then
		count_lines "$1"
	else
		echo 0
	fi
}

echo
echo "platform layer per core family (firmware/platform/<family>/): lines of C, assembly, linker script"
prow="  %-52s %8s %8s\n"
# shellcheck disable=SC2059
{
	printf "$prow" "piece" "armv7r" "armv7m"
	printf "$prow" "start-up: vectors, stacks, .data/.bss, FPU (start.S)" \
		"$(piece firmware/platform/armv7r/start.S)" "$(piece firmware/platform/armv7m/start.S)"
	printf "$prow" "linker script with the window (*.ld)" \
		"$(piece firmware/platform/armv7r/r5f.ld)" "$(piece firmware/platform/armv7m/mps2-an386.ld)"
	printf "$prow" "semihosting trap, barrier, fault report (cpu.c)" \
		"$(piece firmware/platform/armv7r/cpu.c)" "$(piece firmware/platform/armv7m/cpu.c)"
	printf "$prow" "cache clean/invalidate (cache.c; 0: weak no-op)" \
		"$(piece firmware/platform/armv7r/cache.c)" "$(piece firmware/platform/armv7m/cache.c)"
	printf "$prow" "time source (time.c)" \
		"$(piece firmware/platform/armv7r/time.c)" "$(piece firmware/platform/armv7m/time.c)"
}
mapfile -t common < <(find firmware/platform/common firmware/platform/platform.h -type f | LC_ALL=C sort)
echo "  common to every family (console, printf, exit, polling loop, window, weak hooks," \
	"TRNG provider): $(count_lines "${common[@]}") lines in ${#common[@]} files"

# The Linux kernel module: what it shares with the daemon and the firmware.
if [[ -d linux ]]; then
	mod_own=$(count_lines linux/*.c linux/*.h linux/compat/*.h)
	mod_shared=$(count_lines src/vmsg/msg.c src/vmsg/shm.c src/vmsg/cfg.c)
	echo
	echo "Linux kernel module (linux/: vioport_vmsg.ko, the window's driver side in the kernel)"
	printf "  %-52s %6d\n" "its own: binding, bus, DMA via the window, virtio ops" "$mod_own"
	printf "  %-52s %6d\n" "src/vmsg/msg.c, shm.c, cfg.c compiled in unchanged" "$mod_shared"
	awk -v s="$mod_shared" -v o="$mod_own" 'BEGIN {
		printf "  shared with the daemon and the firmware: %.1f %% of the module'"'"'s lines\n", \
			100 * s / (s + o)
	}'
fi
