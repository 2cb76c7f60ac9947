#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# bench.sh [ARGS...]
#
# Runs every benchmark and prints its figures; `make bench` calls it. Figures
# and ratios are printed, never judged: the exit status says only whether the
# benchmarks ran. ARGS go to each benchmark script (see scripts/bench-virtq.sh
# and scripts/bench-blk.sh).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

echo "=== virtqueue device side (scripts/bench-virtq.sh)"
scripts/bench-virtq.sh "$@"

echo
echo "=== vhost-user-blk daemons, vioport and qemu-storage-daemon (scripts/bench-blk.sh)"
scripts/bench-blk.sh "$@"

echo
echo "=== virtio-msg round trip over a shared-memory window (scripts/bench-vmsg.sh)"
scripts/bench-vmsg.sh
