/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * amp_tool: what the amp scenario's guest runs beside busybox, built static
 * for arm64. Through the GPIO character device's v2 uAPI (what libgpiod's
 * gpioinfo, gpioset and gpiomon use) and O_DIRECT block reads:
 *
 *   amp_tool info CHIP                 the chip's label and line names
 *   amp_tool edge CHIP OUT IN COUNT TIMEOUT_MS
 *   amp_tool set CHIP LINE COUNT       COUNT timed level changes of an output
 *   amp_tool blkread DEV COUNT         COUNT 4 KiB O_DIRECT reads, timed
 *   amp_tool tty DEV TIMEOUT_MS WANT [SEND WANT]...
 *
 * edge requests IN as an input with both edges detected and OUT as an output
 * (low), then COUNT times sets OUT to the other level and waits up to
 * TIMEOUT_MS for the event on IN; each event must be the edge the level
 * change makes (rising after high, falling after low). It prints one line per
 * event and a summary with the round-trip times (set to event,
 * CLOCK_MONOTONIC), and exits 0 when every edge arrived. On the R5
 * firmware's chip, jumper-out (3) drives jumper-in (4).
 *
 * tty opens a terminal (the firmware's console, /dev/hvc0), makes it raw (no
 * echo: a terminal that echoes sends the firmware's lines back to it), and
 * waits up to TIMEOUT_MS for a line that starts with the first WANT; then,
 * for each SEND WANT pair, writes SEND and a newline and waits for a line
 * that starts with WANT. It prints each line it reads ("line: ...") and each
 * match ("match N: ...", N counting from 0), and exits 0 when every WANT came.
 * An empty first WANT waits for nothing (the first command goes at once).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/gpio.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int request(int chip, unsigned line, uint64_t flags, const char *who)
{
	struct gpio_v2_line_request req;

	memset(&req, 0, sizeof(req));
	req.offsets[0] = line;
	req.num_lines = 1;
	req.config.flags = flags;
	snprintf(req.consumer, sizeof(req.consumer), "%s", who);
	if (ioctl(chip, GPIO_V2_GET_LINE_IOCTL, &req) < 0) {
		fprintf(stderr, "amp_tool: requesting line %u: %s\n", line, strerror(errno));
		return -1;
	}
	return req.fd;
}

static int edge(int argc, char **argv)
{
	struct gpio_v2_line_values val = {.mask = 1};
	struct gpio_v2_line_event ev;
	uint64_t t0, dt, sum = 0, min = UINT64_MAX, max = 0;
	unsigned out, in;
	long count, timeout_ms;
	int chip, out_fd, in_fd;

	if (argc != 6 || atol(argv[4]) < 1) {
		fprintf(stderr, "usage: amp_tool edge CHIP OUT IN COUNT TIMEOUT_MS\n");
		return 2;
	}
	out = (unsigned) strtoul(argv[2], NULL, 0);
	in = (unsigned) strtoul(argv[3], NULL, 0);
	count = strtol(argv[4], NULL, 0);
	timeout_ms = strtol(argv[5], NULL, 0);
	chip = open(argv[1], O_RDWR | O_CLOEXEC);
	if (chip < 0) {
		fprintf(stderr, "amp_tool: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	in_fd = request(chip, in,
			GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_EDGE_RISING |
			    GPIO_V2_LINE_FLAG_EDGE_FALLING,
			"amp_tool-in");
	out_fd = request(chip, out, GPIO_V2_LINE_FLAG_OUTPUT, "amp_tool-out");
	if (in_fd < 0 || out_fd < 0)
		return 1;
	for (long i = 1; i <= count; i++) {
		struct pollfd p = {.fd = in_fd, .events = POLLIN};
		uint32_t want =
		    (i & 1) ? GPIO_V2_LINE_EVENT_RISING_EDGE : GPIO_V2_LINE_EVENT_FALLING_EDGE;
		int r;

		val.bits = (uint64_t) (i & 1);
		t0 = now_ns();
		if (ioctl(out_fd, GPIO_V2_LINE_SET_VALUES_IOCTL, &val) < 0) {
			fprintf(stderr, "amp_tool: setting line %u: %s\n", out, strerror(errno));
			return 1;
		}
		r = poll(&p, 1, (int) timeout_ms);
		if (r <= 0) {
			fprintf(stderr,
				"amp_tool: no edge on line %u within %ld ms of setting line %u to "
				"%ld\n",
				in, timeout_ms, out, i & 1);
			return 1;
		}
		if (read(in_fd, &ev, sizeof(ev)) != (ssize_t) sizeof(ev)) {
			fprintf(stderr, "amp_tool: reading the event: %s\n", strerror(errno));
			return 1;
		}
		dt = now_ns() - t0;
		sum += dt;
		min = dt < min ? dt : min;
		max = dt > max ? dt : max;
		printf("event: line %u %s (seqno %u) %llu us after line %u went %ld\n", ev.offset,
		       ev.id == GPIO_V2_LINE_EVENT_RISING_EDGE ? "rising" : "falling", ev.seqno,
		       (unsigned long long) (dt / 1000), out, i & 1);
		if (ev.id != want || ev.offset != in) {
			fprintf(stderr, "amp_tool: want a %s edge on line %u\n",
				want == GPIO_V2_LINE_EVENT_RISING_EDGE ? "rising" : "falling", in);
			return 1;
		}
	}
	printf("edges %ld round-trip-us avg %llu min %llu max %llu\n", count,
	       (unsigned long long) (sum / 1000 / (uint64_t) count),
	       (unsigned long long) (min / 1000), (unsigned long long) (max / 1000));
	return 0;
}

static int info(const char *path)
{
	struct gpiochip_info ci;
	int chip = open(path, O_RDWR | O_CLOEXEC);

	if (chip < 0 || ioctl(chip, GPIO_GET_CHIPINFO_IOCTL, &ci) < 0) {
		fprintf(stderr, "amp_tool: %s: %s\n", path, strerror(errno));
		return 1;
	}
	printf("chip %s label %s lines %u\n", ci.name, ci.label, ci.lines);
	for (unsigned i = 0; i < ci.lines; i++) {
		struct gpio_v2_line_info li;

		memset(&li, 0, sizeof(li));
		li.offset = i;
		if (ioctl(chip, GPIO_V2_GET_LINEINFO_IOCTL, &li) < 0) {
			fprintf(stderr, "amp_tool: line %u: %s\n", i, strerror(errno));
			return 1;
		}
		printf("line %u %s %s\n", i, li.name[0] ? li.name : "-",
		       (li.flags & GPIO_V2_LINE_FLAG_OUTPUT) ? "output" : "input");
	}
	return 0;
}

static int blkread(const char *path, long count)
{
	uint64_t t0, dt, sum = 0, min = UINT64_MAX, max = 0;
	void *buf;
	int fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);

	if (fd < 0 || count < 1 || posix_memalign(&buf, 4096, 4096) != 0) {
		fprintf(stderr, "amp_tool: %s: %s\n", path, strerror(errno));
		return 1;
	}
	for (long i = 0; i < count; i++) {
		t0 = now_ns();
		if (pread(fd, buf, 4096, (off_t) (i % 8) * 4096) != 4096) {
			fprintf(stderr, "amp_tool: reading %s: %s\n", path, strerror(errno));
			return 1;
		}
		dt = now_ns() - t0;
		sum += dt;
		min = dt < min ? dt : min;
		max = dt > max ? dt : max;
	}
	printf("reads %ld of 4096 bytes, O_DIRECT: us avg %llu min %llu max %llu\n", count,
	       (unsigned long long) (sum / 1000 / (uint64_t) count),
	       (unsigned long long) (min / 1000), (unsigned long long) (max / 1000));
	return 0;
}

/* Each SET_VALUES ioctl returns when the device answered the request. */
static int set(const char *path, unsigned line, long count)
{
	struct gpio_v2_line_values val = {.mask = 1};
	uint64_t t0, dt, sum = 0, min = UINT64_MAX, max = 0;
	int chip = open(path, O_RDWR | O_CLOEXEC), fd;

	if (chip < 0 || count < 1) {
		fprintf(stderr, "amp_tool: %s: %s\n", path, strerror(errno));
		return 1;
	}
	fd = request(chip, line, GPIO_V2_LINE_FLAG_OUTPUT, "amp_tool-set");
	if (fd < 0)
		return 1;
	for (long i = 1; i <= count; i++) {
		val.bits = (uint64_t) (i & 1);
		t0 = now_ns();
		if (ioctl(fd, GPIO_V2_LINE_SET_VALUES_IOCTL, &val) < 0) {
			fprintf(stderr, "amp_tool: setting line %u: %s\n", line, strerror(errno));
			return 1;
		}
		dt = now_ns() - t0;
		sum += dt;
		min = dt < min ? dt : min;
		max = dt > max ? dt : max;
	}
	printf("sets %ld of line %u: us avg %llu min %llu max %llu\n", count, line,
	       (unsigned long long) (sum / 1000 / (uint64_t) count),
	       (unsigned long long) (min / 1000), (unsigned long long) (max / 1000));
	return 0;
}

/*
 * Reads lines from fd into buf (cap bytes, *len kept between calls) until one
 * starts with want or the deadline passes; returns 0 when it came.
 */
static int tty_expect(int fd, char *buf, size_t cap, size_t *len, const char *want,
		      uint64_t deadline, int n)
{
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t now;
		char *nl;
		int r;

		while ((nl = memchr(buf, '\n', *len)) != NULL) {
			size_t ll = (size_t) (nl - buf), rest;
			bool hit;

			if (ll > 0 && buf[ll - 1] == '\r')
				buf[ll - 1] = '\0';
			*nl = '\0';
			hit = strncmp(buf, want, strlen(want)) == 0;
			if (hit)
				printf("match %d: %s\n", n, buf);
			else
				printf("line: %s\n", buf);
			rest = *len - (ll + 1);
			memmove(buf, nl + 1, rest);
			*len = rest;
			if (hit)
				return 0;
		}
		if (*len == cap)
			*len = 0; /* a line longer than the buffer: not one to match */
		now = now_ns();
		if (now >= deadline) {
			fprintf(stderr, "amp_tool: no line starting with \"%s\" in time\n", want);
			return 1;
		}
		r = poll(&p, 1, (int) ((deadline - now) / 1000000u) + 1);
		if (r < 0 && errno != EINTR)
			return 1;
		if (r > 0) {
			ssize_t got = read(fd, buf + *len, cap - *len);

			if (got < 0 && errno != EAGAIN && errno != EINTR) {
				fprintf(stderr, "amp_tool: read: %s\n", strerror(errno));
				return 1;
			}
			if (got > 0)
				*len += (size_t) got;
		}
	}
}

static int tty(int argc, char **argv)
{
	static char buf[4096];
	size_t len = 0;
	struct termios t;
	long timeout_ms;
	int fd;

	if (argc < 4 || argc % 2 != 0) {
		fprintf(stderr, "usage: amp_tool tty DEV TIMEOUT_MS WANT [SEND WANT]...\n");
		return 2;
	}
	timeout_ms = strtol(argv[2], NULL, 0);
	fd = open(argv[1], O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 || tcgetattr(fd, &t) < 0) {
		fprintf(stderr, "amp_tool: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	cfmakeraw(&t);
	if (tcsetattr(fd, TCSANOW, &t) < 0) {
		fprintf(stderr, "amp_tool: raw mode on %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	for (int i = 3, n = 0; i < argc; i += 2, n++) {
		uint64_t deadline = now_ns() + (uint64_t) timeout_ms * 1000000u;

		if (i > 3) {
			size_t sl = strlen(argv[i - 1]);

			if (write(fd, argv[i - 1], sl) != (ssize_t) sl || write(fd, "\n", 1) != 1) {
				fprintf(stderr, "amp_tool: write: %s\n", strerror(errno));
				return 1;
			}
		}
		if (argv[i][0] == '\0')
			continue;
		if (tty_expect(fd, buf, sizeof(buf), &len, argv[i], deadline, n) != 0)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "info") == 0)
		return info(argv[2]);
	if (argc >= 2 && strcmp(argv[1], "edge") == 0)
		return edge(argc - 1, argv + 1);
	if (argc == 5 && strcmp(argv[1], "set") == 0)
		return set(argv[2], (unsigned) strtoul(argv[3], NULL, 0), strtol(argv[4], NULL, 0));
	if (argc == 4 && strcmp(argv[1], "blkread") == 0)
		return blkread(argv[2], strtol(argv[3], NULL, 0));
	if (argc >= 2 && strcmp(argv[1], "tty") == 0)
		return tty(argc - 1, argv + 1);
	fprintf(stderr, "usage: amp_tool info CHIP | edge CHIP OUT IN COUNT TIMEOUT_MS | "
			"set CHIP LINE COUNT | blkread DEV COUNT | tty DEV TIMEOUT_MS WANT [SEND "
			"WANT]...\n");
	return 2;
}
