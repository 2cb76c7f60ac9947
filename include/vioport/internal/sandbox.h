/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sandbox of a serving process (Linux): once its sockets are bound and its
 * images and devices open, a process that reads requests from untrusted peers
 * keeps only what serving needs.
 *
 *   1. --user: supplementary groups cleared, real, effective and saved group
 *      and user ids set to an unprivileged user, and checked that root cannot
 *      be regained;
 *   2. no_new_privs: no exec can ever give privileges back;
 *   3. Landlock (when the kernel has it): no path can be opened, made, linked
 *      or renamed; files can be removed only in the directories given (where
 *      the process removes its own sockets when it stops);
 *   4. seccomp-BPF: an allowlist of the system calls serving uses, grouped and
 *      explained in sandbox.c. A call outside it never runs: the SIGSYS handler
 *      writes "PROG: sandbox: system call NR (NAME) ..." to stderr with
 *      write(2), then ends the process (VIO_SANDBOX_ON) or makes the call fail
 *      with EPERM and lets the process go on (VIO_SANDBOX_LOG, to find in one
 *      run every call a new code path needs).
 *
 * File descriptors open before vio_sandbox_enter() keep working: Landlock
 * checks paths when they are opened, and the allowlist covers reading,
 * writing, mapping and the device ioctls of what is open. Enter the sandbox
 * on the only thread of the process (Landlock binds the calling thread and
 * the threads it creates afterwards); threads created later inherit it all.
 */
#ifndef VIOPORT_SANDBOX_H
#define VIOPORT_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* What the sandbox does; see the top of this file. */
enum vio_sandbox_mode {
	VIO_SANDBOX_OFF, /* nothing but --user */
	VIO_SANDBOX_ON,	 /* a call outside the allowlist is logged and ends the process */
	VIO_SANDBOX_LOG, /* a call outside the allowlist is logged and fails with EPERM */
};

#define VIO_SANDBOX_DIRS    32	/* directories a process may remove files from */
#define VIO_SANDBOX_DIR_MAX 256 /* bytes of each, NUL included */
#define VIO_SANDBOX_PORTS   16	/* TCP ports a process may connect to */

/* Exit status of a process that made a call outside the allowlist in VIO_SANDBOX_ON. */
#define VIO_SANDBOX_EXIT 1

/* What to build; fill with vio_sandbox_init() and the setters below. */
struct vio_sandbox {
	enum vio_sandbox_mode mode;
	const char *prog; /* starts the lines of the SIGSYS handler, for example "vioport" */
	char dirs[VIO_SANDBOX_DIRS][VIO_SANDBOX_DIR_MAX];
	unsigned ndirs;
	/*
	 * New outgoing connections (an NBD disk reconnecting): none unless
	 * vio_sandbox_allow_connect() asked for them.
	 */
	bool connect_unix;
	bool connect_inet;
	uint16_t ports[VIO_SANDBOX_PORTS];
	unsigned nports;
	bool drop_user;
	uid_t uid;
	gid_t gid;
	char user[64];
	/* After vio_sandbox_enter(): the Landlock ABI in force, or 0 and why not. */
	int landlock_abi;
	char landlock_note[128];
};

/* Starts a sandbox description: mode, no directories, no user. */
void vio_sandbox_init(struct vio_sandbox *sb, enum vio_sandbox_mode mode, const char *prog);

/* Parses "on", "off" or "log"; false for anything else. */
bool vio_sandbox_parse_mode(const char *s, enum vio_sandbox_mode *mode);

/* Looks user up now (the sandbox later has no access to the user database); 0 or -errno. */
int vio_sandbox_set_user(struct vio_sandbox *sb, const char *user, char *err, size_t errlen);

/* Lets the sandboxed process remove files in the directory that holds path; 0 or -errno. */
int vio_sandbox_allow_remove(struct vio_sandbox *sb, const char *path, char *err, size_t errlen);

/*
 * Lets the sandboxed process create sockets of family (AF_UNIX, AF_INET or
 * AF_INET6) and connect them: to any UNIX socket path (Landlock does not
 * restrict connecting to one), or to TCP port (Landlock ABI 4 and later
 * restrict TCP connections to the ports given here). 0 or -errno.
 */
int vio_sandbox_allow_connect(struct vio_sandbox *sb, int family, uint16_t port, char *err,
			      size_t errlen);

/* Drops the user, then enters the sandbox the mode asks for; 0 or -errno with err filled. */
int vio_sandbox_enter(struct vio_sandbox *sb, char *err, size_t errlen);

/* The name of system call nr on this architecture, or "?"; safe in a signal handler once
 * vio_sandbox_enter() ran. */
const char *vio_sandbox_syscall_name(long nr);

#endif
