# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Guest test: fio on the virtio-blk device /dev/vda (Debian's fio, copied
# into the initramfs with its libraries by run-guest.sh for the variants that
# run this test). Runs after blk.sh, whose checksum it replaces.
#
# Results:
#   blk-fio-verify  random writes of 4 KiB .. 64 KiB (O_DIRECT, libaio, depth
#                   4) over the whole disk, two jobs each on its own half
#                   (pinned one to each CPU when there are two), an fsync
#                   every 8 writes; fio reads everything back and checks each
#                   block's crc32c header. fio exits 0 and reports no error,
#                   and the disk's flush counter grew
#   blk-fio-queues  every hardware queue of /dev/vda took requests during
#                   the fio runs (block_rq_issue trace events per CPU, each
#                   CPU counted for the queue whose cpu_list names it)
#   blk-fio-trim    fio randtrimwrite (trim then write, random offsets) with
#                   crc32c verify, and trim_percentage: a third of the blocks
#                   written are discarded again afterwards; when the device's
#                   discarded blocks read back as zeroes (probed first),
#                   fio checks those read as zeroes (trim_verify_zero), and
#                   the rest still carry their data. The discard counter grew
# and INFO blk-md5, the disk's checksum at the end, for the host's check.

DEV=/dev/vda
SYS=/sys/block/vda
FIO=/opt/host/bin/fio

fio_tests="blk-fio-verify blk-fio-queues blk-fio-trim"

if [ ! -x "$FIO" ]; then
	for t in $fio_tests; do
		result "$t" FAIL "no fio in the initramfs"
	done
	exit 0
fi
if ! wait_for "$DEV" 10; then
	for t in $fio_tests; do
		result "$t" FAIL "no $DEV after 10 s: the driver did not bind"
	done
	exit 0
fi

# Field N of /sys/block/vda/stat (1-based): 5 writes, 12 discards, 16 flushes.
stat_field() {
	awk -v n="$1" '{ print $n }' "$SYS/stat"
}

# The hardware queues' share of the requests is counted with the kernel's
# block_rq_issue trace event, per CPU: blk-mq issues a request to the device
# on a CPU of its hardware queue (the submitting CPU when it issues directly,
# else the queue's run, which blk-mq keeps on the queue's CPUs), so the
# events of the CPUs in /sys/block/vda/mq/N/cpu_list are queue N's requests.
# (Linux 6.1's debugfs has no per-queue request counter any more.)
TR=/sys/kernel/tracing

# Starts counting issued requests of /dev/vda; fails when tracefs is missing.
trace_start() {
	local dev
	mount -t tracefs tracefs "$TR" 2>/dev/null || true
	[ -w "$TR/events/block/block_rq_issue/enable" ] || return 1
	dev=$(cat "$SYS/dev")
	echo 0 >"$TR/tracing_on"
	echo "dev == $(((${dev%%:*} << 20) | ${dev#*:}))" >"$TR/events/block/block_rq_issue/filter"
	echo 1 >"$TR/events/block/block_rq_issue/enable"
	: >"$TR/trace"
	echo 1 >"$TR/tracing_on"
}

# Prints the requests issued on CPU N since trace_start (entries in the ring
# buffer, plus those overwritten when it filled up).
trace_cpu() {
	awk '$1 == "entries:" || $1 == "overrun:" { n += $2 } END { print n + 0 }' \
		"$TR/per_cpu/cpu$1/stats"
}

# Prints "queue0=N queue1=M ..." from the per-CPU counts.
queue_requests() {
	local q n c
	for q in "$SYS"/mq/*; do
		[ -r "$q/cpu_list" ] || continue
		n=0
		for c in $(tr ',' ' ' <"$q/cpu_list"); do
			n=$((n + $(trace_cpu "$c")))
		done
		printf 'queue%s=%s ' "${q##*/}" "$n"
	done
}

# Checks fio's terse (version 3) output in FILE: one line per job, field 5 is
# the job's error. Prints what is wrong, nothing when every job reported 0.
terse_errors() {
	awk -F';' '$1 == 3 { jobs++; if ($5 != 0) bad = bad " job " $3 " error " $5 }
		END { if (jobs == 0) print "no job reported"; else if (bad != "") print bad }' "$1"
}

# run_fio NAME ARGS...: runs fio with ARGS; its terse report in
# /tmp/fio-NAME.out, its messages in /tmp/fio-NAME.err. Prints what went
# wrong, nothing on success.
run_fio() {
	local name=$1 rc=0 bad
	shift
	"$FIO" --eta=never --output-format=terse --terse-version=3 --output="/tmp/fio-$name.out" \
		"$@" 2>"/tmp/fio-$name.err" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "fio exited with status $rc: $(grep -v '^$' "/tmp/fio-$name.err" | tail -n 2 | tr '\n' ' ')"
		return 0
	fi
	bad=$(terse_errors "/tmp/fio-$name.out")
	[ -z "$bad" ] || echo "fio reported$bad"
}

bytes=$(($(cat "$SYS/size") * 512))
half=$((bytes / 2))
cpus=$(grep -c '^processor' /proc/cpuinfo)
queues=$(count_entries "$SYS/mq")
tracing=false
! trace_start || tracing=true

# ------------------------------------------------------------------ verify

# One job per half of the disk; with two CPUs each job runs on its own, and
# Linux maps each CPU to its own queue.
pin=""
[ "$cpus" -lt 2 ] || pin="--cpus_allowed=0-1 --cpus_allowed_policy=split"
say "fio: random 4k..64k writes with crc32c verify over $((bytes >> 20)) MiB, 2 jobs on $cpus CPUs, fsync every 8 writes"
writes0=$(stat_field 5)
flushes0=$(stat_field 16)
# shellcheck disable=SC2086 # pin is empty or two words
bad=$(run_fio verify --name=verify --filename="$DEV" --direct=1 --ioengine=libaio \
	--iodepth=4 --rw=randwrite --bsrange=4k-64k --verify=crc32c --verify_fatal=1 \
	--numjobs=2 --size="$half" --offset_increment="$half" --fsync=8 $pin)
writes=$(($(stat_field 5) - writes0))
flushes=$(($(stat_field 16) - flushes0))
if [ -n "$bad" ]; then
	result blk-fio-verify FAIL "$bad"
elif [ "$flushes" -eq 0 ]; then
	result blk-fio-verify FAIL "fio passed but the disk saw no flush ($writes writes)"
else
	result blk-fio-verify PASS "2 jobs, crc32c verified, no error; $writes writes, $flushes flushes"
fi

# ------------------------------------------------------------------ trim

# Do discarded blocks read back as zeroes? 64 KiB of ones at the disk's last
# 64 KiB, discarded, read back.
probe_at=$(((bytes >> 16) - 1))
zeroes=false
if dd if=/dev/zero bs=65536 count=1 2>/dev/null | tr '\0' '\377' |
	dd of="$DEV" bs=65536 seek="$probe_at" oflag=direct 2>/dev/null &&
	blkdiscard -o $((probe_at << 16)) -l 65536 "$DEV" 2>/dev/null; then
	if [ "$(dd if="$DEV" bs=65536 skip="$probe_at" count=1 iflag=direct 2>/dev/null |
		md5sum | cut -d' ' -f1)" = "$(md5_zeros 65536)" ]; then
		zeroes=true
	fi
fi
say "fio: randtrimwrite with crc32c verify, a third of the blocks trimmed again (discard reads zeroes: $zeroes)"
discards0=$(stat_field 12)
bad=$(run_fio trim --name=trim --filename="$DEV" --direct=1 --ioengine=libaio \
	--iodepth=4 --rw=randtrimwrite --bsrange=4k-64k --verify=crc32c --verify_fatal=1 \
	--trim_percentage=33 --trim_backlog=8 --trim_verify_zero="$([ $zeroes = true ] && echo 1 || echo 0)" \
	--size="$bytes")
discards=$(($(stat_field 12) - discards0))
if [ -n "$bad" ]; then
	result blk-fio-trim FAIL "$bad"
elif [ "$discards" -eq 0 ]; then
	result blk-fio-trim FAIL "fio passed but the disk saw no discard"
elif [ $zeroes = true ]; then
	result blk-fio-trim PASS "$discards discards; trimmed blocks read as zeroes, the others verified (crc32c)"
else
	result blk-fio-trim PASS "$discards discards; the device does not read discarded blocks as zeroes: the blocks not trimmed verified (crc32c)"
fi

# ------------------------------------------------------------------ queues

if [ $tracing = false ]; then
	result blk-fio-queues FAIL "no block_rq_issue event in $TR (tracefs)"
else
	echo 0 >"$TR/tracing_on"
	counts=$(queue_requests)
	echo 0 >"$TR/events/block/block_rq_issue/enable"
	idle=""
	n=0
	for q in $counts; do
		[ "${q#*=}" -gt 0 ] || idle="$idle ${q%%=*}"
		n=$((n + 1))
	done
	if [ "$n" -ne "$queues" ] || [ "$n" -eq 0 ]; then
		result blk-fio-queues FAIL "$n queues counted, $queues in $SYS/mq"
	elif [ -n "$idle" ]; then
		result blk-fio-queues FAIL "no request issued on$idle during fio: $counts"
	else
		result blk-fio-queues PASS "requests issued during fio, per queue: $counts"
	fi
fi

drop_caches "$DEV"
info blk-md5 "$(md5_of "$DEV")"
rm -f /tmp/fio-*.out /tmp/fio-*.err
