/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The three things a daemon started by systemd is told through its
 * environment, read without libsystemd: sockets passed to it (LISTEN_PID,
 * LISTEN_FDS, socket activation), the socket to report its state on
 * (NOTIFY_SOCKET, "READY=1"), and whether its standard error goes to the
 * journal (JOURNAL_STREAM). The semantics are those of sd_listen_fds(3),
 * sd_notify(3) and systemd.exec(5).
 */
#ifndef VIOPORT_SYSTEMD_H
#define VIOPORT_SYSTEMD_H

#include <stdbool.h>

/* The first descriptor of the passed sockets (SD_LISTEN_FDS_START). */
#define VIO_SD_LISTEN_FDS_START 3
/* The most passed sockets accepted; more is taken for a malformed LISTEN_FDS. */
#define VIO_SD_LISTEN_FDS_MAX 1024

/*
 * Interprets the values of LISTEN_PID and LISTEN_FDS (either may be NULL) for
 * the process self: the number of descriptors passed to it, from
 * VIO_SD_LISTEN_FDS_START on; 0 when none are (a variable unset, or
 * LISTEN_PID naming another process, which inherited them by mistake).
 * Returns -EINVAL when a value is not a whole decimal number or LISTEN_FDS
 * exceeds VIO_SD_LISTEN_FDS_MAX.
 */
int vio_sd_parse_listen(const char *pid, const char *fds, long self);

/*
 * sd_listen_fds: the number of sockets passed to this process, read from the
 * environment, which loses LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES when
 * unset is true (so children do not inherit them). Each passed descriptor
 * gets FD_CLOEXEC. Returns the count, 0 when there are none, or -errno
 * (-EINVAL: malformed variables, -EBADF: a passed descriptor is not open).
 */
int vio_sd_listen_fds(bool unset);

/* The notification socket: fd -1 when the process has none. */
struct vio_sd_notify {
	int fd;
};

/*
 * Connects n to addr, the value of NOTIFY_SOCKET: an absolute path or '@'
 * and an abstract name. With addr NULL or empty, n stays unused (fd -1)
 * and 0 is returned. Returns -EINVAL for an address of another form or too
 * long, or the -errno of socket or connect. Call it before a sandbox forbids
 * creating sockets; sending needs only sendto afterwards.
 */
int vio_sd_notify_open(struct vio_sd_notify *n, const char *addr);

/*
 * Sends one state message ("READY=1", "STOPPING=1", "STATUS=...", lines
 * separated by '\n') on n. Returns 0 (also when n is unused), or -errno.
 */
int vio_sd_notify_send(struct vio_sd_notify *n, const char *state);

/* Closes n's socket, if any. */
void vio_sd_notify_close(struct vio_sd_notify *n);

/*
 * Whether descriptor fd is the journal stream that env, the value of
 * JOURNAL_STREAM ("DEVICE:INODE" in decimal), names: systemd sets it when it
 * connects standard output or error to the journal, which then takes a
 * "<N>" syslog priority at the start of each line.
 */
bool vio_sd_journal_stream(int fd, const char *env);

#endif
