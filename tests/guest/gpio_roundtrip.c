// SPDX-License-Identifier: BSD-3-Clause
/*
 * gpio_roundtrip: the GPIO round trip of `make bench`'s guest rows
 * (scripts/bench-guest.sh), run inside the guest on a virtio-gpio chip.
 *
 *   gpio_roundtrip CHIP LINE ROUNDS [WARMUP]
 *
 * Requests LINE of CHIP (/dev/gpiochipN) as an output through the GPIO
 * character device, uAPI v2 (linux/gpio.h), then ROUNDS times sets its value
 * (alternately 1 and 0) and reads it back; each set and each get is one
 * request the guest's gpio-virtio driver sends to the device and waits for.
 * A read that does not return the value just set ends the run with an error.
 * WARMUP rounds (default ROUNDS / 10) come first and are not timed.
 *
 * Prints one line:
 *   gpio-rt rounds N seconds S rounds_per_s R us_per_round U us_per_request Q
 * Exit status 0, or 1 with a message on standard error.
 *
 * Compiled statically on the host (gcc -static) and copied into the guest's
 * initramfs by the benchmark; it is not part of the build.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int parse_count(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return (errno != 0 || end == s || *end != '\0' || *out > max) ? -EINVAL : 0;
}

/* One set then one get of the line; -EIO when the value read is not the one set. */
static int round_trip(int fd, unsigned long i)
{
	struct gpio_v2_line_values set = {.bits = i & 1u, .mask = 1};
	struct gpio_v2_line_values get = {.bits = 0, .mask = 1};

	if (ioctl(fd, GPIO_V2_LINE_SET_VALUES_IOCTL, &set) < 0)
		return -errno;
	if (ioctl(fd, GPIO_V2_LINE_GET_VALUES_IOCTL, &get) < 0)
		return -errno;
	return (get.bits & 1u) == (i & 1u) ? 0 : -EIO;
}

int main(int argc, char **argv)
{
	unsigned long line, rounds, warmup, i;
	struct gpio_v2_line_request req;
	double t0, t1, secs;
	int chip, err = 0;

	if (argc < 4 || argc > 5 || parse_count(argv[2], 63, &line) < 0 ||
	    parse_count(argv[3], 100000000ul, &rounds) < 0 || rounds == 0) {
		fprintf(stderr, "usage: %s CHIP LINE ROUNDS [WARMUP]\n", argv[0]);
		return 1;
	}
	warmup = rounds / 10;
	if (argc == 5 && parse_count(argv[4], 100000000ul, &warmup) < 0) {
		fprintf(stderr, "%s: bad WARMUP '%s'\n", argv[0], argv[4]);
		return 1;
	}

	chip = open(argv[1], O_RDWR | O_CLOEXEC);
	if (chip < 0) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], argv[1], strerror(errno));
		return 1;
	}
	memset(&req, 0, sizeof(req));
	req.offsets[0] = (unsigned int) line;
	req.num_lines = 1;
	req.config.flags = GPIO_V2_LINE_FLAG_OUTPUT;
	snprintf(req.consumer, sizeof(req.consumer), "vioport-bench");
	if (ioctl(chip, GPIO_V2_GET_LINE_IOCTL, &req) < 0) {
		fprintf(stderr, "%s: %s line %lu as output: %s\n", argv[0], argv[1], line,
			strerror(errno));
		close(chip);
		return 1;
	}

	for (i = 0; i < warmup && err == 0; i++)
		err = round_trip(req.fd, i);
	t0 = now_s();
	for (i = 0; i < rounds && err == 0; i++)
		err = round_trip(req.fd, i);
	t1 = now_s();
	close(req.fd);
	close(chip);
	if (err < 0) {
		fprintf(stderr, "%s: %s line %lu, round %lu: %s\n", argv[0], argv[1], line, i,
			err == -EIO ? "read back another value than the one set" : strerror(-err));
		return 1;
	}
	secs = t1 - t0;
	if (secs <= 0)
		secs = 1e-9;
	printf("gpio-rt rounds %lu seconds %.3f rounds_per_s %.1f us_per_round %.1f"
	       " us_per_request %.1f\n",
	       rounds, secs, (double) rounds / secs, secs * 1e6 / (double) rounds,
	       secs * 1e6 / (2.0 * (double) rounds));
	return 0;
}
