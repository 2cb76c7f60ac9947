// SPDX-License-Identifier: BSD-3-Clause
/*
 * evread: reads events from an evdev device, for the guest tier's
 * vmsg-linux variant (scripts/guest/tests/vmsg-devices.sh), where busybox
 * has no evdev reader.
 *
 *   evread DEVICE COUNT TIMEOUT_S
 *
 * Opens DEVICE (/dev/input/eventN), prints "ready" once it is open (so that
 * the caller knows events from then on reach it), then prints one line per
 * event, "type code value" in decimal, until COUNT events or TIMEOUT_S
 * seconds. Exit status 0 when COUNT events came, 1 otherwise (with a message
 * on standard error).
 *
 * Compiled statically on the host (gcc -static) and copied into the guest's
 * initramfs by scripts/guest/vmsg-linux.sh; it is not part of the build.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	struct input_event ev;
	long long deadline;
	int fd, want, got = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: evread DEVICE COUNT TIMEOUT_S\n");
		return 2;
	}
	want = atoi(argv[2]);
	deadline = now_ms() + atoll(argv[3]) * 1000;
	fd = open(argv[1], O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		fprintf(stderr, "evread: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (got < want) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0) {
			fprintf(stderr, "evread: %d of %d events in %s s\n", got, want, argv[3]);
			return 1;
		}
		if (poll(&p, 1, (int) left) < 0 && errno != EINTR) {
			fprintf(stderr, "evread: poll: %s\n", strerror(errno));
			return 1;
		}
		n = read(fd, &ev, sizeof(ev));
		if (n < 0 && errno == EAGAIN)
			continue;
		if (n != (ssize_t) sizeof(ev)) {
			fprintf(stderr, "evread: read %zd bytes: %s\n", n,
				n < 0 ? strerror(errno) : "short");
			return 1;
		}
		printf("%u %u %d\n", ev.type, ev.code, ev.value);
		fflush(stdout);
		got++;
	}
	return 0;
}
