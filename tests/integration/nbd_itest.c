/* SPDX-License-Identifier: BSD-3-Clause */
/* Helpers of the NBD integration tests; see nbd_itest.h. */
#include "nbd_itest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libnbd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* The executable name found in PATH (or in $env), into a static buffer; NULL when absent. */
static const char *find_bin(const char *env, const char *name, char *out, size_t cap)
{
	const char *e = getenv(env);
	const char *path = getenv("PATH");

	if (e != NULL && e[0] != '\0')
		return access(e, X_OK) == 0 ? e : NULL;
	if (path == NULL)
		path = "/usr/bin:/bin";
	while (*path != '\0') {
		const char *colon = strchr(path, ':');
		size_t n = colon != NULL ? (size_t) (colon - path) : strlen(path);

		if (n > 0 && (size_t) snprintf(out, cap, "%.*s/%s", (int) n, path, name) < cap &&
		    access(out, X_OK) == 0)
			return out;
		path += n + (colon != NULL);
	}
	return NULL;
}

const char *nit_nbdkit_bin(void)
{
	static char buf[IT_PATH];

	return find_bin("NBDKIT_BIN", "nbdkit", buf, sizeof(buf));
}

const char *nit_qemu_nbd_bin(void)
{
	static char buf[IT_PATH];

	return find_bin("QEMU_NBD_BIN", "qemu-nbd", buf, sizeof(buf));
}

/* Splits args at spaces into argv after the given head; returns the count. */
static int split_args(char *args, char **argv, int at, int cap)
{
	for (char *tok = strtok(args, " "); tok != NULL && at < cap - 1; tok = strtok(NULL, " "))
		argv[at++] = tok;
	argv[at] = NULL;
	return at;
}

int nit_wait_listening(const char *path, int timeout_ms)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};

	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	memcpy(a.sun_path, path, strlen(path) + 1);
	for (int waited = 0; waited <= timeout_ms; waited += 5) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int rc;

		if (fd < 0)
			return -errno;
		rc = connect(fd, (struct sockaddr *) &a, sizeof(a));
		close(fd);
		if (rc == 0)
			return 0;
		if (errno != ECONNREFUSED && errno != EAGAIN && errno != ENOENT)
			return -errno;
		usleep(5000);
	}
	printf("# nothing accepted connections on %s within %d ms\n", path, timeout_ms);
	return -ETIMEDOUT;
}

int nit_nbdkit_start(struct it_proc *p, const char *args)
{
	int rc;

	const char *bin = nit_nbdkit_bin();
	char words[1024];
	char *argv[40];

	if (bin == NULL)
		return -ENOENT;
	snprintf(words, sizeof(words), "%s", args);
	argv[0] = (char *) bin;
	argv[1] = "-f";
	argv[2] = "--exit-with-parent";
	argv[3] = "--unix";
	argv[4] = p->sock;
	split_args(words, argv, 5, 40);
	rc = it_start(p, argv, 10000);
	return rc < 0 ? rc : nit_wait_listening(p->sock, 10000);
}

int nit_nbdkit_start_fd(struct it_proc *p, int listen_fd, const char *args)
{
	const char *bin = nit_nbdkit_bin();
	static char script[1400];
	char *argv[] = {"/bin/sh", "-c", script, NULL};

	if (bin == NULL)
		return -ENOENT;
	/* $$ is the shell's pid, which exec hands to nbdkit: LISTEN_PID matches. */
	snprintf(script, sizeof(script),
		 "LISTEN_FDS=1 LISTEN_PID=$$ exec %s -f --exit-with-parent %s", bin, args);
	return it_spawn(p, argv, listen_fd, 3);
}

int nit_listen_loopback(uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(fd, 16) < 0 ||
	    getsockname(fd, (struct sockaddr *) &a, &len) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

void nit_unix_uri(char *out, size_t cap, const char *sock)
{
	snprintf(out, cap, "nbd+unix:///?socket=%s", sock);
}

/* A handle connected to uri, or NULL after printing why. */
static struct nbd_handle *open_uri(const char *uri)
{
	struct nbd_handle *h = nbd_create();

	if (h == NULL || nbd_connect_uri(h, uri) < 0) {
		printf("# libnbd: %s: %s\n", uri, nbd_get_error());
		if (h != NULL)
			nbd_close(h);
		return NULL;
	}
	return h;
}

int nit_fill_pattern(const char *uri, uint64_t bytes)
{
	static uint8_t buf[1 << 16];
	struct nbd_handle *h = open_uri(uri);
	int rc = 0;

	if (h == NULL)
		return -1;
	for (uint64_t off = 0; rc == 0 && off < bytes; off += sizeof(buf)) {
		size_t n = bytes - off < sizeof(buf) ? (size_t) (bytes - off) : sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = it_pattern(off + i);
		rc = nbd_pwrite(h, buf, n, off, 0);
	}
	if (rc == 0 && nbd_can_flush(h) > 0)
		rc = nbd_flush(h, 0);
	if (rc < 0)
		printf("# libnbd: filling %s: %s\n", uri, nbd_get_error());
	nbd_close(h);
	return rc < 0 ? -1 : 0;
}

int nit_read(const char *uri, uint64_t offset, void *buf, size_t len)
{
	struct nbd_handle *h = open_uri(uri);
	int rc;

	if (h == NULL)
		return -1;
	rc = nbd_pread(h, buf, len, offset, 0);
	if (rc < 0)
		printf("# libnbd: reading %s: %s\n", uri, nbd_get_error());
	nbd_close(h);
	return rc < 0 ? -1 : 0;
}

int nit_count_lines(const char *file, const char *needle, const char * not )
{
	char line[1024];
	int n = 0;
	FILE *f = fopen(file, "r");

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL && (not == NULL || strstr(line, not ) == NULL))
			n++;
	fclose(f);
	return n;
}
