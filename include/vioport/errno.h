/* SPDX-License-Identifier: BSD-3-Clause */
/* Error numbers for freestanding code: the Linux values, so POSIX callers can pass them on. */
#ifndef VIOPORT_ERRNO_H
#define VIOPORT_ERRNO_H

#define VIO_EPERM      1
#define VIO_EIO	       5
#define VIO_E2BIG      7
#define VIO_EAGAIN     11
#define VIO_ENOMEM     12
#define VIO_EFAULT     14
#define VIO_EBUSY      16
#define VIO_EINVAL     22
#define VIO_ENOSPC     28
#define VIO_EROFS      30
#define VIO_ERANGE     34
#define VIO_ENOTSUP    95
#define VIO_ELOOP      40
#define VIO_EMSGSIZE   90
#define VIO_EPROTO     71
#define VIO_EOVERFLOW  75
#define VIO_ENODEV     19
#define VIO_ENOENT     2
#define VIO_ETIMEDOUT  110
#define VIO_ECONNRESET 104
#define VIO_ENOSYS     38

#endif
