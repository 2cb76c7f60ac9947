# shellcheck shell=dash
# SPDX-License-Identifier: BSD-3-Clause
#
# Guest test: a multiqueue virtio-blk device /dev/vda. Needs a guest with at
# least VIOPORT_QUEUES CPUs: Linux creates no more queues than CPUs.
#
#   VIOPORT_QUEUES  the number of queues the backend and QEMU were given
#
# Results: blk-mq-queues blk-mq-rw, and INFO blk-md5 for the host's check.

DEV=/dev/vda
SYS=/sys/block/vda
want_queues=${VIOPORT_QUEUES:-2}

if ! wait_for "$DEV" 10; then
	for t in blk-mq-queues blk-mq-rw; do
		result "$t" FAIL "no $DEV after 10 s: the driver did not bind"
	done
	exit 0
fi

queues=$(count_entries "$SYS/mq")
cpus=$(grep -c '^processor' /proc/cpuinfo)
say "found $DEV with $queues request queues on $cpus CPUs"
if [ "$queues" -eq "$want_queues" ]; then
	result blk-mq-queues PASS "$queues queues in $SYS/mq"
else
	result blk-mq-queues FAIL "$queues queues in $SYS/mq, expected $want_queues ($cpus CPUs)"
fi

# One writer per CPU, each on its own slice of the disk: Linux maps each CPU
# to its own queue, so every queue carries requests at the same time.
mib=$(($(cat "$SYS/size") / 2048))
slice=$((mib / cpus))
say "writing $mib MiB of random data, $slice MiB from each of $cpus CPUs at once"
dd if=/dev/urandom of=/tmp/model bs=1M count="$mib" iflag=fullblock 2>/dev/null
want=$(md5_of /tmp/model)
cpu=0
: >/tmp/mq.err
while [ "$cpu" -lt "$cpus" ]; do
	taskset -c "$cpu" dd if=/tmp/model of="$DEV" bs=1M skip=$((cpu * slice)) \
		seek=$((cpu * slice)) count="$slice" conv=notrunc,fsync 2>/dev/null ||
		echo "writer on CPU $cpu failed" >>/tmp/mq.err &
	cpu=$((cpu + 1))
done
wait
if [ -s /tmp/mq.err ]; then
	result blk-mq-rw FAIL "$(head -n 1 /tmp/mq.err)"
else
	drop_caches "$DEV"
	got=$(md5_of "$DEV")
	# The disk's tail beyond cpus * slice kept whatever was there: compare
	# only the part that was written, unless it is the whole disk.
	if [ $((slice * cpus)) -ne "$mib" ]; then
		want=$(dd if=/tmp/model bs=1M count=$((slice * cpus)) 2>/dev/null | md5sum | cut -d' ' -f1)
		got=$(dd if="$DEV" bs=1M count=$((slice * cpus)) 2>/dev/null | md5sum | cut -d' ' -f1)
	fi
	if [ "$got" = "$want" ]; then
		result blk-mq-rw PASS "$mib MiB from $cpus CPUs, md5 $got"
	else
		result blk-mq-rw FAIL "wrote md5 $want, read back $got"
	fi
fi
info blk-md5 "$(md5_of "$DEV")"
rm -f /tmp/model /tmp/mq.err
