/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Error messages for callers: the POSIX layers' functions that can fail for
 * reasons a user must read (a file, a device node, a socket) fill a caller's
 * buffer with one line, and return the negative errno as well.
 */
#ifndef VIOPORT_ERRMSG_H
#define VIOPORT_ERRMSG_H

#include <stddef.h>

/* Formats one message into err (errlen bytes, truncated); does nothing when err is NULL or 0. */
void vio_errmsg(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
