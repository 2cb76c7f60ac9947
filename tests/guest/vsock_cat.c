// SPDX-License-Identifier: BSD-3-Clause
/*
 * vsock_cat: a stream over AF_VSOCK, for the guest tier's vmsg-linux variant
 * (scripts/guest/tests/vmsg-devices.sh), where busybox has no vsock client.
 *
 *   vsock_cat CID PORT TIMEOUT_S <IN >OUT
 *   vsock_cat -l PORT TIMEOUT_S <IN >OUT
 *
 * Connects to CID:PORT (or, with -l, listens on PORT of any CID, says
 * "listening on port PORT" on standard error once the host may connect, and
 * takes one connection), sends standard input and copies what the peer sends
 * to standard output at the same time (so that neither side's buffers can
 * stop the other); at the end of its input it shuts the sending half down
 * (the peer reads its end of stream). It ends when both halves have: the
 * peer's end of stream may come first (a host program that sends, then
 * reads), and the input still goes out.
 * Every wait is bounded: the whole exchange fails after TIMEOUT_S seconds.
 * Exit status 0, or 1 with a message on standard error.
 *
 * Compiled statically on the host (gcc -static) and copied into the guest's
 * initramfs by scripts/guest/vmsg-linux.sh; it is not part of the build.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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

// Listens on port of any CID and returns the one connection taken before the deadline.
static int accept_one(unsigned int port, long long deadline)
{
	struct sockaddr_vm addr = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY};
	int srv = socket(AF_VSOCK, SOCK_STREAM, 0), fd;

	if (srv < 0)
		return -fail("socket(AF_VSOCK)");
	addr.svm_port = port;
	if (bind(srv, (struct sockaddr *) &addr, sizeof(addr)) < 0)
		return -fail("bind");
	if (listen(srv, 1) < 0)
		return -fail("listen");
	fprintf(stderr, "listening on port %u\n", port);
	fflush(stderr);
	for (;;) {
		struct pollfd p = {.fd = srv, .events = POLLIN};
		long long left = deadline - now_ms();

		if (left <= 0) {
			fprintf(stderr, "vsock_cat: nobody connected to port %u in time\n", port);
			return -1;
		}
		if (poll(&p, 1, (int) (left > 1000 ? 1000 : left)) < 0 && errno != EINTR)
			return -fail("poll");
		if (p.revents & POLLIN)
			break;
	}
	fd = accept(srv, NULL, NULL);
	if (fd < 0)
		return -fail("accept");
	close(srv);
	return fd;
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
		fprintf(stderr, "usage: vsock_cat CID PORT TIMEOUT_S <IN >OUT\n"
				"       vsock_cat -l PORT TIMEOUT_S <IN >OUT\n");
		return 2;
	}
	deadline = now_ms() + atoll(argv[3]) * 1000;
	if (strcmp(argv[1], "-l") == 0) {
		fd = accept_one((unsigned int) strtoul(argv[2], NULL, 0), deadline);
		if (fd < 0)
			return 1;
	} else {
		addr.svm_cid = (unsigned int) strtoul(argv[1], NULL, 0);
		addr.svm_port = (unsigned int) strtoul(argv[2], NULL, 0);
		fd = socket(AF_VSOCK, SOCK_STREAM, 0);
		if (fd < 0)
			return fail("socket(AF_VSOCK)");
		// Linux gives up a connection after 2 s by default; under TCG, with
		// the host's side connecting on its loop, allow the whole bound.
		tv.tv_sec = atoi(argv[3]);
		if (setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv)) < 0)
			return fail("SO_VM_SOCKETS_CONNECT_TIMEOUT");
		if (connect(fd, (struct sockaddr *) &addr, sizeof(addr)) < 0)
			return fail("connect");
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
		return fail("O_NONBLOCK");

	// Both halves to their end: the peer may end its sending first (a host
	// program that sends, then reads) while the input still goes out.
	while (!peer_eof || !in_eof || in_off < in_len) {
		struct pollfd p[2] = {{.fd = fd}, {.fd = -1}};
		long long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0) {
			fprintf(stderr, "vsock_cat: timed out (input %s, peer %s)\n",
				in_eof ? "sent" : "not all sent",
				peer_eof ? "done" : "still sending");
			return 1;
		}
		if (!peer_eof)
			p[0].events |= POLLIN;
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
		if (peer_eof && (p[0].revents & (POLLHUP | POLLERR))) {
			// Closed both ways: what is left of the input cannot go.
			fprintf(
			    stderr,
			    "vsock_cat: the peer ended the stream before taking all the input\n");
			return 1;
		}
		if (!peer_eof && (p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			n = read(fd, out, sizeof(out));
			if (n < 0 && errno != EAGAIN)
				return fail("read from the stream");
			if (n == 0)
				peer_eof = 1;
			else if (n > 0 && fwrite(out, 1, (size_t) n, stdout) != (size_t) n)
				return fail("write standard output");
		}
	}
	close(fd);
	return fflush(stdout) == 0 ? 0 : fail("flush standard output");
}
