// SPDX-License-Identifier: BSD-3-Clause
/*
 * evdev_reader DEVICE COUNT SECONDS: the guest tier's input reader
 * (scripts/guest/tests/input.sh, vu-devices; scripts/guest/tests/vmsg-devices.sh,
 * vmsg-linux), built with `gcc -static` by scripts/guest/devices.sh and
 * scripts/guest/vmsg-linux.sh into the initramfs, where there is no C library.
 *
 * Opens the evdev node DEVICE, prints "ready <device name>" once it is open
 * (evdev gives a reader only the events that come after its open, so the host
 * must not send before this line), then one line per event, "TYPE CODE VALUE"
 * in decimal, until COUNT events have arrived or SECONDS have passed. Key
 * autorepeat (EV_KEY value 2, which the input core makes by itself when a key
 * stays down past its delay) and the SYN_REPORT after it are printed with a
 * leading "# " and not counted: they are the guest's own, not the device's.
 *
 * Exits 0 after COUNT events, 1 on an error, 2 on the timeout; every line is
 * flushed at once so that the test can wait for it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static long parse(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > max)
		return -1;
	return v;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	char name[256] = "";
	struct input_event ev[64];
	long count, secs, deadline, got = 0;
	bool after_repeat = false;
	int fd;

	if (argc != 4 || (count = parse(argv[2], 100000)) < 0 ||
	    (secs = parse(argv[3], 3600)) < 0) {
		fprintf(stderr, "usage: evdev_reader DEVICE COUNT SECONDS\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open(argv[1], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "evdev_reader: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (ioctl(fd, EVIOCGNAME(sizeof(name) - 1), name) < 0) {
		fprintf(stderr, "evdev_reader: %s: EVIOCGNAME: %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf("ready %s\n", name);
	deadline = now_ms() + secs * 1000;
	while (got < count) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0) {
			fprintf(stderr, "evdev_reader: %ld of %ld events within %ld s\n", got,
				count, secs);
			return 2;
		}
		if (poll(&p, 1, (int) left) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "evdev_reader: poll: %s\n", strerror(errno));
			return 1;
		}
		n = read(fd, ev, sizeof(ev));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			fprintf(stderr, "evdev_reader: read: %s\n", strerror(errno));
			return 1;
		}
		/* evdev hands out whole records only. */
		if (n == 0 || n % (ssize_t) sizeof(ev[0]) != 0) {
			fprintf(stderr, "evdev_reader: read %zd bytes, not whole events\n", n);
			return 1;
		}
		for (size_t i = 0; i < (size_t) n / sizeof(ev[0]) && got < count; i++) {
			bool repeat = ev[i].type == EV_KEY && ev[i].value == 2;
			bool skip = repeat || (after_repeat && ev[i].type == EV_SYN &&
					       ev[i].code == SYN_REPORT);

			after_repeat = repeat;
			printf("%s%u %u %d\n", skip ? "# " : "", ev[i].type, ev[i].code,
			       ev[i].value);
			if (!skip)
				got++;
		}
	}
	return 0;
}
