#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench.sh [ARGS...]
#
# Runs every benchmark and prints its figures; `make bench` calls it. Figures
# and ratios are printed, never judged: the exit status says only whether the
# benchmarks ran. ARGS go to each benchmark script (see scripts/bench-virtq.sh
# and scripts/bench-blk.sh) but the guest ones, scripts/bench-guest.sh and
# scripts/bench-vsock.sh (Linux guests under QEMU TCG, a few minutes), which
# run with their defaults.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The machine first: figures from one machine class do not carry over to another.
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
[[ -n $cpu_model ]] || cpu_model=$(uname -m)
echo "=== machine: $cpu_model, $(nproc) CPUs online, Linux $(uname -r)," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg) at start"
if grep -qw hypervisor /proc/cpuinfo 2>/dev/null; then
	echo "    (a virtual machine: cross-CPU wake-ups cost more than on bare metal)"
fi
echo

echo "=== virtqueue device side (scripts/bench-virtq.sh)"
scripts/bench-virtq.sh "$@"

echo
echo "=== vhost-user-blk daemons, vioport and qemu-storage-daemon (scripts/bench-blk.sh)"
scripts/bench-blk.sh "$@"

echo
echo "=== NBD-backed vhost-user-blk, vioport and qemu-storage-daemon (scripts/bench-nbd.sh)"
scripts/bench-nbd.sh "$@"

echo
echo "=== GPIO and RNG daemons (scripts/bench-devices.sh)"
scripts/bench-devices.sh "$@"

echo
echo "=== virtio-msg round trip over a shared-memory window (scripts/bench-vmsg.sh)"
scripts/bench-vmsg.sh

echo
echo "=== virtio-msg beside vhost-user in one Linux guest, QEMU TCG (scripts/bench-guest.sh)"
scripts/bench-guest.sh

echo
echo "=== virtio-vsock guest to host, vhost-user and virtio-msg, QEMU TCG (scripts/bench-vsock.sh)"
scripts/bench-vsock.sh || echo "    (bench-vsock.sh could not run every part: see its messages)"

echo
echo "=== Linux user space through the R5 amp firmware and through the vioport process (scripts/bench-amp.sh)"
scripts/bench-amp.sh || echo "    (bench-amp.sh could not run every part: see its messages)"

echo
echo "=== load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
