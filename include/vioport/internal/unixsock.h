/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Listening UNIX stream sockets at a path: the one place that decides what
 * happens to a file already there, for the vhost-user server, the control
 * socket, the virtio-msg doorbells and the console and vsock providers.
 */
#ifndef VIOPORT_UNIXSOCK_H
#define VIOPORT_UNIXSOCK_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Listens on a non-blocking, close-on-exec UNIX stream socket bound to path
 * with backlog. A socket file a server still answers on is left alone
 * (-EADDRINUSE), a stale one (nobody listening: an earlier run's) is
 * replaced, and any other file at path is refused (-EEXIST); *replaced (may
 * be NULL) says whether a stale socket was replaced. The socket listens
 * under a temporary name beside path and is then renamed to path, so a
 * client that finds the file (QEMU started once it appears, a test waiting
 * for it) can connect at once, never in the moment between bind and listen;
 * a path too long for the temporary name is bound directly. Returns the
 * descriptor, or -errno with err (errlen bytes, may be 0) saying why.
 */
int vio_unix_listen(const char *path, int backlog, bool *replaced, char *err, size_t errlen);

#endif
