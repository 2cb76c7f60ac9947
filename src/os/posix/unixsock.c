/* SPDX-License-Identifier: BSD-3-Clause */
/* Listening UNIX stream sockets at a path (vioport/internal/unixsock.h). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vioport/internal/errmsg.h"
#include "vioport/internal/unixsock.h"

/* Whether a socket file at path has a listener behind it: 1 yes, 0 stale, < 0 error. */
static int socket_live(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *) sa, sizeof(*sa));
	if (rc == 0 || errno == EAGAIN || errno == EINPROGRESS)
		rc = 1; /* a full backlog is a live server too */
	else
		rc = errno == ECONNREFUSED ? 0 : -errno;
	close(fd);
	return rc;
}

int vio_unix_listen(const char *path, int backlog, bool *replaced, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, live, rc;

	if (replaced != NULL)
		*replaced = false;
	if (path == NULL || path[0] == '\0') {
		vio_errmsg(err, errlen, "no socket path");
		return -EINVAL;
	}
	if (strlen(path) >= sizeof(sa.sun_path)) {
		vio_errmsg(err, errlen, "%s: path too long for a socket", path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		vio_errmsg(err, errlen, "socket: %s", strerror(errno));
		return rc;
	}
	if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
		if (errno != EADDRINUSE) {
			rc = -errno;
			vio_errmsg(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		live = socket_live(path, &sa);
		if (live != 0) {
			rc = live == 1 ? -EADDRINUSE : live;
			vio_errmsg(err, errlen, "%s: %s", path,
				   live == 1	     ? "in use by a running server"
				   : live == -EEXIST ? "exists and is not a socket"
						     : strerror(-live));
			goto fail;
		}
		/* A stale socket file, nobody behind it: an earlier run's. */
		if ((unlink(path) < 0 && errno != ENOENT) ||
		    bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
			rc = -errno;
			vio_errmsg(err, errlen, "%s: %s", path, strerror(errno));
			goto fail;
		}
		if (replaced != NULL)
			*replaced = true;
	}
	if (listen(fd, backlog) < 0) {
		rc = -errno;
		vio_errmsg(err, errlen, "%s: cannot listen: %s", path, strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return rc;
}
