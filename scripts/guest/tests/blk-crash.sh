# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Guest test: a virtio-blk device /dev/vda whose backend the host kills with
# SIGKILL and starts again on the same socket while this guest's writes are
# in flight (QEMU reconnects; the new backend resubmits what the inflight
# region records). Each pass announces itself with INFO crash-pass N, which
# is the host's cue to kill, then writes fresh random data over the disk with
# O_DIRECT, several writers per CPU each on its own part, and reads it all back with
# O_DIRECT: a request lost leaves a writer stalled, a request completed twice
# breaks the ring or the data. Every wait is bounded.
#
#   VIOPORT_PASSES  passes, one kill each (default 8)
#   VIOPORT_PASS_S  seconds a pass may take before it is declared stalled (default 60)
#   VIOPORT_WRITERS writers per CPU (default 8)
#
# Results: blk-crash-rw, and INFO blk-md5 for the host's check.

DEV=/dev/vda
SYS=/sys/block/vda
passes=${VIOPORT_PASSES:-8}
limit=${VIOPORT_PASS_S:-60}

if ! wait_for "$DEV" 10; then
	result blk-crash-rw FAIL "no $DEV after 10 s: the driver did not bind"
	exit 0
fi

cpus=$(grep -c '^processor' /proc/cpuinfo)
mib=$(($(cat "$SYS/size") / 2048))
# Several writers per CPU: many requests at once on every queue, so that a
# kill finds some in the backend's hands, some behind others completed.
nw=$((cpus * ${VIOPORT_WRITERS:-8}))
part=$((mib / nw))
ring=split
case " $(virtio_features virtio_blk)" in *" 34 "*) ring=packed ;; esac
say "found $DEV ($mib MiB, $(count_entries "$SYS/mq") queues, $ring rings); $passes passes of $nw writers of $part MiB on $cpus CPUs, O_DIRECT"

# wait_pids SECONDS PID...: true when every PID ended within SECONDS.
wait_pids() {
	local tries=$(($1 * 10)) p left
	shift
	while [ "$tries" -gt 0 ]; do
		left=""
		for p in "$@"; do
			[ ! -d "/proc/$p" ] || left="$left $p"
		done
		[ -n "$left" ] || return 0
		usleep 100000
		tries=$((tries - 1))
	done
	return 1
}

pass=1
verdict=""
while [ "$pass" -le "$passes" ] && [ -z "$verdict" ]; do
	dd if=/dev/urandom of=/tmp/model bs=1M count=$((part * nw)) iflag=fullblock 2>/dev/null
	want=$(md5_of /tmp/model)
	info crash-pass "$pass"
	: >/tmp/crash.err
	pids=""
	w=0
	while [ "$w" -lt "$nw" ]; do
		# Alternately 1 MiB and 4 KiB requests: on one queue small ones
		# complete while a large one is still being written, out of order.
		kib=4
		[ $(((w / cpus) % 2)) -eq 1 ] || kib=1024
		taskset -c $((w % cpus)) dd if=/tmp/model of="$DEV" bs=${kib}k \
			skip=$((w * part * 1024 / kib)) seek=$((w * part * 1024 / kib)) \
			count=$((part * 1024 / kib)) oflag=direct conv=notrunc 2>/dev/null ||
			echo "pass $pass: writer $w failed" >>/tmp/crash.err &
		pids="$pids $!"
		w=$((w + 1))
	done
	# shellcheck disable=SC2086
	if ! wait_pids "$limit" $pids; then
		verdict="pass $pass: a writer did not finish within $limit s (a request was lost)"
	elif [ -s /tmp/crash.err ]; then
		verdict=$(head -n 1 /tmp/crash.err)
	else
		got=$(dd if="$DEV" bs=1M count=$((part * nw)) iflag=direct 2>/dev/null |
			md5sum | cut -d' ' -f1)
		[ "$got" = "$want" ] || verdict="pass $pass: wrote md5 $want, read back $got"
	fi
	pass=$((pass + 1))
done
if [ -z "$verdict" ]; then
	result blk-crash-rw PASS "$passes passes of $((part * nw)) MiB written and read back intact ($ring rings)"
	info blk-md5 "$(md5_of "$DEV")"
else
	result blk-crash-rw FAIL "$verdict"
fi
rm -f /tmp/model /tmp/crash.err
