/* SPDX-License-Identifier: BSD-3-Clause */
/* Listening UNIX stream sockets at a path (vioport/internal/unixsock.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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

/* A socket file at path: 0 none, 1 a stale socket, or -errno (-EADDRINUSE: live). */
static int path_state(const char *path, const struct sockaddr_un *sa, char *err, size_t errlen)
{
	int live = socket_live(path, sa);
	struct stat st;

	if (live == 0)
		return lstat(path, &st) == 0 ? 1 : 0;
	vio_errmsg(err, errlen, "%s: %s", path,
		   live == 1	     ? "in use by a running server"
		   : live == -EEXIST ? "exists and is not a socket"
				     : strerror(-live));
	return live == 1 ? -EADDRINUSE : live;
}

/*
 * Binds and listens under a temporary name beside path, then renames it to
 * path: a client that finds the file can connect at once, never between
 * bind and listen (ECONNREFUSED). Returns the descriptor, -ENAMETOOLONG when
 * the temporary name does not fit (the caller binds path directly), or
 * -errno with err set.
 */
static int listen_renamed(const char *path, bool replace, int backlog, char *err, size_t errlen)
{
	struct sockaddr_un tmp = {.sun_family = AF_UNIX};
	int fd, rc, n;

	n = snprintf(tmp.sun_path, sizeof(tmp.sun_path), "%s.%ld.new", path, (long) getpid());
	if (n < 0 || (size_t) n >= sizeof(tmp.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		vio_errmsg(err, errlen, "socket: %s", strerror(errno));
		return rc;
	}
	(void) unlink(tmp.sun_path); /* this process's own leftover, if any */
	if (bind(fd, (struct sockaddr *) &tmp, sizeof(tmp)) < 0 || listen(fd, backlog) < 0) {
		rc = -errno;
		vio_errmsg(err, errlen, "%s: %s", tmp.sun_path, strerror(errno));
		goto fail;
	}
	/* over a stale socket, or only where nothing is: two servers starting at once */
	if ((replace ? rename(tmp.sun_path, path)
		     : renameat2(AT_FDCWD, tmp.sun_path, AT_FDCWD, path, RENAME_NOREPLACE)) < 0) {
		rc = -errno;
		if (!replace && rc == -EINVAL) /* a filesystem without RENAME_NOREPLACE */
			rc = link(tmp.sun_path, path) < 0 ? -errno : 0;
		if (rc < 0) {
			vio_errmsg(err, errlen, "%s: %s", path,
				   rc == -EEXIST ? "in use by a running server" : strerror(-rc));
			if (rc == -EEXIST)
				rc = -EADDRINUSE;
			unlink(tmp.sun_path);
			goto fail;
		}
		unlink(tmp.sun_path);
	}
	return fd;
fail:
	close(fd);
	return rc;
}

int vio_unix_listen(const char *path, int backlog, bool *replaced, char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd, state, rc;

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
	state = path_state(path, &sa, err, errlen);
	if (state < 0)
		return state;
	fd = listen_renamed(path, state == 1, backlog, err, errlen);
	if (fd != -ENAMETOOLONG) {
		if (fd >= 0 && replaced != NULL)
			*replaced = state == 1;
		return fd;
	}
	/* No room for a temporary name: bind path itself (a stale socket removed first). */
	if (state == 1 && unlink(path) < 0 && errno != ENOENT) {
		rc = -errno;
		vio_errmsg(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		vio_errmsg(err, errlen, "socket: %s", strerror(errno));
		return rc;
	}
	if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
		rc = errno == EADDRINUSE ? -EADDRINUSE : -errno;
		vio_errmsg(err, errlen, "%s: %s", path,
			   errno == EADDRINUSE ? "in use by a running server" : strerror(errno));
		goto fail;
	}
	if (listen(fd, backlog) < 0) {
		rc = -errno;
		vio_errmsg(err, errlen, "%s: cannot listen: %s", path, strerror(errno));
		goto fail;
	}
	if (replaced != NULL)
		*replaced = state == 1;
	return fd;
fail:
	close(fd);
	return rc;
}
