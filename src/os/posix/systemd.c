/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Socket activation, readiness notification and journal detection without
 * libsystemd (see include/vioport/internal/systemd.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vioport/internal/systemd.h"

/* Parses a whole decimal number of at most max; false for anything else. */
static bool parse_num(const char *s, unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

int vio_sd_parse_listen(const char *pid, const char *fds, long self)
{
	unsigned long long p, n;

	if (pid == NULL || fds == NULL)
		return 0;
	if (!parse_num(pid, (unsigned long long) 1 << 62, &p) ||
	    !parse_num(fds, VIO_SD_LISTEN_FDS_MAX, &n))
		return -EINVAL;
	if (p != (unsigned long long) self)
		return 0;
	return (int) n;
}

int vio_sd_listen_fds(bool unset)
{
	int n = vio_sd_parse_listen(getenv("LISTEN_PID"), getenv("LISTEN_FDS"), (long) getpid());

	if (unset) {
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");
	}
	for (int fd = VIO_SD_LISTEN_FDS_START; n > 0 && fd < VIO_SD_LISTEN_FDS_START + n; fd++) {
		int fl = fcntl(fd, F_GETFD);

		if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
			return -errno;
	}
	return n;
}

int vio_sd_notify_open(struct vio_sd_notify *n, const char *addr)
{
	struct sockaddr_un sa;
	size_t len;
	socklen_t salen;

	n->fd = -1;
	if (addr == NULL || addr[0] == '\0')
		return 0;
	len = strlen(addr);
	if ((addr[0] != '/' && addr[0] != '@') || len < 2 || len >= sizeof(sa.sun_path))
		return -EINVAL;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, addr, len);
	if (addr[0] == '@')
		sa.sun_path[0] = '\0'; /* an abstract name: no terminating NUL counted */
	salen = (socklen_t) (offsetof(struct sockaddr_un, sun_path) + len + (addr[0] == '/'));
	n->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (n->fd < 0)
		return -errno;
	if (connect(n->fd, (const struct sockaddr *) &sa, salen) < 0) {
		int rc = -errno;

		close(n->fd);
		n->fd = -1;
		return rc;
	}
	return 0;
}

int vio_sd_notify_send(struct vio_sd_notify *n, const char *state)
{
	ssize_t got;

	if (n->fd < 0)
		return 0;
	do
		got = send(n->fd, state, strlen(state), MSG_NOSIGNAL);
	while (got < 0 && errno == EINTR);
	return got < 0 ? -errno : 0;
}

void vio_sd_notify_close(struct vio_sd_notify *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
}

bool vio_sd_journal_stream(int fd, const char *env)
{
	unsigned long long dev, ino;
	const char *colon;
	char num[24];
	struct stat st;

	if (env == NULL || (colon = strchr(env, ':')) == NULL ||
	    (size_t) (colon - env) >= sizeof(num))
		return false;
	memcpy(num, env, (size_t) (colon - env));
	num[colon - env] = '\0';
	if (!parse_num(num, ~0ull, &dev) || !parse_num(colon + 1, ~0ull, &ino))
		return false;
	if (fstat(fd, &st) < 0)
		return false;
	return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}
