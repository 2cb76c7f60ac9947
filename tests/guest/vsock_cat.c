// SPDX-License-Identifier: BSD-3-Clause
/*
 * vsock_cat: a stream to the host over AF_VSOCK, for the guest tier's
 * vmsg-linux variant (scripts/guest/tests/vmsg-devices.sh), where busybox
 * has no vsock client.
 *
 *   vsock_cat CID PORT TIMEOUT_S <IN >OUT
 *
 * Connects to CID:PORT, sends standard input and copies what the peer sends
 * to standard output at the same time (so that neither side's buffers can
 * stop the other); at the end of its input it shuts the sending half down
 * (the peer reads its end of stream) and goes on reading until the peer's.
 * Every wait is bounded: the whole exchange fails after TIMEOUT_S seconds.
 * Exit status 0, or 1 with a message on standard error.
 *
 * Compiled statically on the host (gcc -static) and copied into the guest's
 * initramfs by scripts/guest/vmsg-linux.sh; it is not part of the build.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int fail(const char *what)
{
	fprintf(stderr, "vsock_cat: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	struct sockaddr_vm addr = {.svm_family = AF_VSOCK};
	struct timeval tv = {0};
	char in[4096], out[4096];
	size_t in_len = 0, in_off = 0;
	int in_eof = 0, peer_eof = 0, fd;
	long long deadline;

	if (argc != 4) {
		fprintf(stderr, "usage: vsock_cat CID PORT TIMEOUT_S <IN >OUT\n");
		return 2;
	}
	addr.svm_cid = (unsigned int) strtoul(argv[1], NULL, 0);
	addr.svm_port = (unsigned int) strtoul(argv[2], NULL, 0);
	deadline = now_ms() + atoll(argv[3]) * 1000;

	fd = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (fd < 0)
		return fail("socket(AF_VSOCK)");
	// Linux gives up a connection after 2 s by default; under TCG, with the
	// host's side connecting on its loop, allow the whole bound.
	tv.tv_sec = atoi(argv[3]);
	if (setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv)) < 0)
		return fail("SO_VM_SOCKETS_CONNECT_TIMEOUT");
	if (connect(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0)
		return fail("connect");

	while (!peer_eof) {
		struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = -1}};
		long long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0) {
			fprintf(stderr, "vsock_cat: timed out (input %s)\n",
				in_eof ? "sent" : "not all sent");
			return 1;
		}
		if (!in_eof && in_off == in_len)
			p[1] = (struct pollfd){.fd = 0, .events = POLLIN};
		if (in_off < in_len)
			p[0].events |= POLLOUT;
		if (poll(p, 2, (int) (left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
			return fail("poll");
		if (p[1].revents) {
			n = read(0, in, sizeof(in));
			if (n < 0)
				return fail("read standard input");
			in_len = (size_t) n;
			in_off = 0;
			if (n == 0) {
				in_eof = 1;
				// The peer learns the end of the input from it.
				if (shutdown(fd, SHUT_WR) < 0)
					return fail("shutdown");
			}
		}
		if ((p[0].revents & POLLOUT) && in_off < in_len) {
			n = write(fd, in + in_off, in_len - in_off);
			if (n < 0 && errno != EAGAIN)
				return fail("write to the stream");
			if (n > 0)
				in_off += (size_t) n;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(fd, out, sizeof(out));
			if (n < 0 && errno != EAGAIN)
				return fail("read from the stream");
			if (n == 0)
				peer_eof = 1;
			else if (n > 0 && fwrite(out, 1, (size_t) n, stdout) != (size_t) n)
				return fail("write standard output");
		}
	}
	if (!in_eof || in_off < in_len) {
		fprintf(stderr,
			"vsock_cat: the peer ended the stream before taking all the input\n");
		return 1;
	}
	close(fd);
	return fflush(stdout) == 0 ? 0 : fail("flush standard output");
}
