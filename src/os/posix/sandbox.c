/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sandbox of a serving process: user drop, no_new_privs, Landlock and a
 * seccomp-BPF allowlist (libseccomp). See vioport/internal/sandbox.h and
 * docs/security.md.
 *
 * The allowlist is a table of groups below, one line of why per group, so a
 * new need is one name in the right group (or a new group). Calls whose
 * arguments decide whether they are harmless (clone, mmap, mprotect, ioctl,
 * tgkill) have their rules in add_conditional().
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/fs.h>
#include <linux/gpio.h>
#include <linux/i2c-dev.h>
#include <linux/input.h>
#include <linux/landlock.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <ucontext.h>
#include <unistd.h>

#include "vioport/internal/errmsg.h"
#include "vioport/internal/sandbox.h"

/* Sanitized builds add the sanitizers' needs; VIO_SANDBOX_NO_SANITIZER_RULES builds the list of
 * a build without them anyway (its unit test checks that list in a sanitized build). */
#if defined(VIO_SANDBOX_NO_SANITIZER_RULES)
#define SANITIZED 0
#elif defined(__SANITIZE_ADDRESS__)
#define SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED 1
#endif
#endif
#ifndef SANITIZED
#define SANITIZED 0
#endif

/* ------------------------------------------------------------------ the allowlist */

/* A group of system calls serving needs, with the reason, for the code and for errors. */
struct call_group {
	const char *why;
	const char *const *calls; /* NULL-terminated; a name this architecture lacks is skipped */
};

/*
 * Where an architecture has only the newer form of a call (arm64 has no open,
 * poll, epoll_wait, unlink, getdents), the C library uses that one: the lists
 * name both, and a name this architecture lacks is skipped.
 */

/* Descriptors already open: images (the file provider's synchronous path), the EEPROM file,
 * windows, sockets, eventfds; the C library's fatal messages use writev. */
static const char *const calls_io[] = {
    "read",    "write",	  "writev",   "pread64",   "pwrite64",	"preadv",
    "pwritev", "preadv2", "pwritev2", "close",	   "fstat",	"newfstatat",
    "lseek",   "fcntl",	  "fsync",    "fdatasync", "fallocate", NULL,
};

/* Guest memory from received fds, the allocator, thread stacks, a SIGBUS handler's
 * MAP_FIXED remap (mmap and mprotect, without PROT_EXEC, are in add_conditional). */
static const char *const calls_memory[] = {"munmap", "mremap", "madvise", "brk", NULL};

/* The inflight region shared with the frontend: a sealed memfd, sized. */
static const char *const calls_inflight[] = {"memfd_create", "ftruncate", NULL};

/* vhost-user, control and doorbell connections: new ones (a frontend reconnects) and their
 * messages with fds. No socket is created, bound or connected once serving (but see
 * calls_connect). */
static const char *const calls_sockets[] = {"accept4",	"recvmsg", "sendmsg",
					    "recvfrom", "sendto",  NULL};

/* Event loops (a queue thread's loop is made when its queue starts), kicks, calls, timers,
 * the virtio-msg doorbells. */
static const char *const calls_loop[] = {
    "epoll_create1",  "epoll_ctl",	 "epoll_wait", "epoll_pwait", "eventfd2",
    "timerfd_create", "timerfd_settime", "poll",       "ppoll",	      NULL,
};

/* io_uring for the file provider: a ring is set up when a queue starts. */
static const char *const calls_uring[] = {"io_uring_setup", "io_uring_enter", "io_uring_register",
					  NULL};

/* Threads (clone with CLONE_THREAD is in add_conditional), their locks, sleeps (the
 * virtio-msg polling loop) and ends. */
static const char *const calls_threads[] = {
    "futex",
    "set_robust_list",
    "rseq",
    "sched_yield",
    "sched_getaffinity",
    "gettid",
    "getpid",
    "nanosleep",
    "clock_nanosleep",
    "clock_gettime",
    "exit",
    "exit_group",
    "restart_syscall",
    NULL,
};

/* Signals: SIGINT/SIGTERM stop the loop, SIGSYS reports a refused call, the sanitizers'
 * alternate stacks (tgkill, to the process itself, is in add_conditional). */
static const char *const calls_signals[] = {"rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
					    "sigaltstack", NULL};

/* Entropy for virtio-rng. */
static const char *const calls_entropy[] = {"getrandom", NULL};

/* A virtio-msg doorbell peer's descriptor is checked to be an eventfd: the link in
 * /proc/self/fd (Landlock does not restrict reading a link). */
static const char *const calls_doorbell[] = {"readlink", "readlinkat", NULL};

/* Removing the process's own sockets when it stops; Landlock limits where. */
static const char *const calls_cleanup[] = {"unlink", "unlinkat", NULL};

/* Outgoing connections, only when vio_sandbox_allow_connect() asked (an NBD disk reconnects):
 * libnbd makes a non-blocking socket, connects it, reads the connect's outcome with
 * getsockopt(SO_ERROR) and sets socket options with setsockopt; a vsock stream on a UNIX
 * socket passes the guest's shutdowns on with shutdown. socket() is in add_conditional,
 * limited to the families asked for. */
static const char *const calls_connect[] = {"connect", "getsockopt", "setsockopt", "shutdown",
					    NULL};

#if SANITIZED
/*
 * AddressSanitizer and LeakSanitizer, only in sanitized builds: the leak check
 * at exit stops the world from a clone without CLONE_THREAD that ptraces each
 * thread, lists /proc/self/task and reads /proc/self/maps.
 */
static const char *const calls_sanitizer[] = {
    "open",   "openat", "getdents", "getdents64", "clone",
    "ptrace", "wait4",	"prctl",    "getppid",	  NULL,
};
#endif

static const struct call_group groups[] = {
    {"open descriptors", calls_io},
    {"memory", calls_memory},
    {"inflight region", calls_inflight},
    {"connections", calls_sockets},
    {"event loops", calls_loop},
    {"io_uring", calls_uring},
    {"threads", calls_threads},
    {"signals", calls_signals},
    {"entropy", calls_entropy},
    {"doorbell peers", calls_doorbell},
    {"clean-up", calls_cleanup},
    {"outgoing connections", calls_connect},
#if SANITIZED
    {"sanitizer runtime", calls_sanitizer},
#endif
};

/* The device ioctls the providers issue on descriptors they opened before, and isatty(). */
static const unsigned long allowed_ioctls[] = {
    /* GPIO character device, uAPI v2 (src/linux/gpio_cdev.c) */
    GPIO_GET_CHIPINFO_IOCTL,
    GPIO_V2_GET_LINEINFO_IOCTL,
    GPIO_V2_GET_LINE_IOCTL,
    GPIO_V2_LINE_SET_CONFIG_IOCTL,
    GPIO_V2_LINE_GET_VALUES_IOCTL,
    GPIO_V2_LINE_SET_VALUES_IOCTL,
    /* i2c-dev (src/linux/i2c_dev.c) */
    I2C_RDWR,
    I2C_SMBUS,
    I2C_SLAVE,
    I2C_FUNCS,
    /* discard on a block device image (src/linux/blk_file.c) */
    BLKDISCARD,
    /* grabbing an evdev input device while a driver uses it (src/linux/input_evdev.c) */
    EVIOCGRAB,
    /* isatty() on stderr, which the sanitizers and stdio ask */
    TCGETS,
};

/* The argument of clone that holds its flags: the first, except on s390. */
#if defined(__s390__)
#define SCMP_CLONE_FLAGS SCMP_A1
#else
#define SCMP_CLONE_FLAGS SCMP_A0
#endif

/* Adds the rules that look at arguments; 0 or a negative errno from libseccomp. */
static int add_conditional(const struct vio_sandbox *sb, scmp_filter_ctx f)
{
	/* mmap2 is the 32-bit architectures' mmap. */
	static const char *const maps[] = {"mmap", "mmap2", "mprotect"};
	int rc = 0;

	/* No new executable memory: mappings and protection changes without PROT_EXEC. */
	for (size_t i = 0; rc == 0 && i < sizeof(maps) / sizeof(maps[0]); i++) {
		int nr = seccomp_syscall_resolve_name(maps[i]);

		if (nr >= 0)
			rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 1,
					      SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0));
	}
	/*
	 * Threads, never processes: clone only with CLONE_THREAD. clone3 passes its
	 * flags in memory a filter cannot read, so it answers ENOSYS and the C
	 * library falls back to clone. Sanitized builds allow any clone (above).
	 */
	if (rc == 0 && !SANITIZED)
		rc = seccomp_rule_add(
		    f, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
		    SCMP_CLONE_FLAGS(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD));
	if (rc == 0)
		rc = seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/* New sockets only of the families an outgoing connection needs. */
	if (rc == 0 && sb->connect_unix)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_EQ, AF_UNIX, 0));
	if (rc == 0 && sb->connect_inet)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_EQ, AF_INET, 0));
	if (rc == 0 && sb->connect_inet)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_EQ, AF_INET6, 0));
	/* Signals to the process's own threads only (raise, abort, pthread_kill). */
	if (rc == 0)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
				      SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t) getpid(), 0));
	/* The kernel reads an ioctl's request as 32 bits: compare those. */
	for (size_t i = 0; rc == 0 && i < sizeof(allowed_ioctls) / sizeof(allowed_ioctls[0]); i++)
		rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(ioctl), 1,
				      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu,
					      (scmp_datum_t) (uint32_t) allowed_ioctls[i]));
	return rc;
}

/* Builds the filter: the groups, the conditional rules, SIGSYS for the rest. */
static int build_filter(const struct vio_sandbox *sb, scmp_filter_ctx *out, char *err,
			size_t errlen)
{
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_TRAP);
	int rc;

	if (f == NULL) {
		vio_errmsg(err, errlen, "seccomp: cannot start a filter");
		return -ENOMEM;
	}
	/* Calls of another ABI (i386 or x32 on x86_64) end the process at once. */
	rc = seccomp_attr_set(f, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	/* Every thread gets the filter, and a thread that cannot fails the load. */
	if (rc == 0)
		rc = seccomp_attr_set(f, SCMP_FLTATR_CTL_TSYNC, 1);
	for (size_t g = 0; rc == 0 && g < sizeof(groups) / sizeof(groups[0]); g++) {
		for (const char *const *c = groups[g].calls; rc == 0 && *c != NULL; c++) {
			int nr = seccomp_syscall_resolve_name(*c);

			if (nr == __NR_SCMP_ERROR || nr < 0)
				continue; /* not a call of this architecture */
			if (groups[g].calls == calls_connect && !sb->connect_unix &&
			    !sb->connect_inet)
				break;
			rc = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0);
			if (rc < 0)
				vio_errmsg(err, errlen, "seccomp: cannot allow %s (%s): %s", *c,
					   groups[g].why, strerror(-rc));
		}
	}
	if (rc == 0) {
		rc = add_conditional(sb, f);
		if (rc < 0)
			vio_errmsg(err, errlen, "seccomp: cannot add a rule with arguments: %s",
				   strerror(-rc));
	} else if (err != NULL && err[0] == '\0') {
		vio_errmsg(err, errlen, "seccomp: cannot set the filter's attributes: %s",
			   strerror(-rc));
	}
	if (rc < 0) {
		seccomp_release(f);
		return rc;
	}
	*out = f;
	return 0;
}

/* ------------------------------------------------------------------ SIGSYS */

/* Names of the calls of this architecture, resolved before the filter is loaded so the
 * handler needs no allocation. */
#define NAMED_CALLS  512
#define NAME_MAX_LEN 24
static char call_names[NAMED_CALLS][NAME_MAX_LEN];
static volatile sig_atomic_t trap_mode; /* enum vio_sandbox_mode */
static char trap_prog[32];

const char *vio_sandbox_syscall_name(long nr)
{
	if (nr < 0 || nr >= NAMED_CALLS || call_names[nr][0] == '\0')
		return "?";
	return call_names[nr];
}

static void resolve_names(void)
{
	for (int nr = 0; nr < NAMED_CALLS; nr++) {
		char *name;

		if (call_names[nr][0] != '\0')
			continue;
		name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, nr);
		if (name == NULL)
			continue;
		snprintf(call_names[nr], NAME_MAX_LEN, "%s", name);
		free(name);
	}
}

/* Appends s at *p, up to end; async-signal-safe. */
static void put_str(char **p, char *end, const char *s)
{
	while (*s != '\0' && *p < end)
		*(*p)++ = *s++;
}

/* Appends a decimal number; async-signal-safe. */
static void put_num(char **p, char *end, long v)
{
	char digits[24];
	int n = 0;
	unsigned long u = v < 0 ? 0ul - (unsigned long) v : (unsigned long) v;

	if (v < 0)
		put_str(p, end, "-");
	do {
		digits[n++] = (char) ('0' + u % 10u);
		u /= 10u;
	} while (u != 0 && n < (int) sizeof(digits));
	while (n > 0 && *p < end)
		*(*p)++ = digits[--n];
}

/* Whether the handler can make the interrupted call return an error on this architecture. */
#if defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || defined(__arm__) ||        \
    (defined(__riscv) && __riscv_xlen == 64)
#define CAN_FAIL_CALL 1
#else
#define CAN_FAIL_CALL 0
#endif

/* Makes the interrupted call return -err (when CAN_FAIL_CALL). */
static void fail_call(void *uc_void, long err)
{
	ucontext_t *uc = uc_void;

#if defined(__x86_64__)
	uc->uc_mcontext.gregs[REG_RAX] = -err;
#elif defined(__i386__)
	uc->uc_mcontext.gregs[REG_EAX] = -err;
#elif defined(__aarch64__)
	uc->uc_mcontext.regs[0] = (unsigned long long) -err;
#elif defined(__arm__)
	uc->uc_mcontext.arm_r0 = (unsigned long) -err;
#elif defined(__riscv) && __riscv_xlen == 64
	uc->uc_mcontext.__gregs[REG_A0] = (unsigned long) -err;
#else
	(void) uc;
	(void) err;
#endif
}

/* A call outside the allowlist: one line on stderr, then EPERM or the end of the process. */
static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	char line[160], *p = line, *end = line + sizeof(line);
	int saved = errno;
	bool go_on = CAN_FAIL_CALL && trap_mode == VIO_SANDBOX_LOG;

	(void) sig;
	put_str(&p, end, trap_prog);
	put_str(&p, end, ": sandbox: system call ");
	put_num(&p, end, si->si_syscall);
	put_str(&p, end, " (");
	put_str(&p, end, vio_sandbox_syscall_name(si->si_syscall));
	put_str(&p, end,
		go_on ? ") is outside the allowlist: failed with EPERM\n"
		      : ") is outside the allowlist: stopping\n");
	(void) !write(STDERR_FILENO, line, (size_t) (p - line));
	if (!go_on)
		_exit(VIO_SANDBOX_EXIT);
	fail_call(uc, EPERM);
	errno = saved;
}

static int install_sigsys(const struct vio_sandbox *sb, char *err, size_t errlen)
{
	struct sigaction sa;
	sigset_t set;

	snprintf(trap_prog, sizeof(trap_prog), "%s", sb->prog != NULL ? sb->prog : "sandbox");
	trap_mode = sb->mode;
	resolve_names();
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) < 0) {
		vio_errmsg(err, errlen, "cannot handle SIGSYS: %s", strerror(errno));
		return -errno;
	}
	/* A thread with SIGSYS blocked would be killed without a word: unblock it here; threads
	 * that block every signal must leave SIGSYS out. */
	sigemptyset(&set);
	sigaddset(&set, SIGSYS);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	return 0;
}

/* ------------------------------------------------------------------ Landlock */

#ifndef LANDLOCK_ACCESS_FS_REFER
#define LANDLOCK_ACCESS_FS_REFER (1ULL << 13)
#endif
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14)
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15)
#endif
#define LL_NET_BIND_TCP	   (1ULL << 0)
#define LL_NET_CONNECT_TCP (1ULL << 1)
#define LL_SCOPE_ABSTRACT  (1ULL << 0)
#define LL_SCOPE_SIGNAL	   (1ULL << 1)
#define LL_ABI_KNOWN	   6 /* the newest ABI whose rights this file names */
#define LL_RULE_NET_PORT   2 /* LANDLOCK_RULE_NET_PORT, ABI 4 */

/* struct landlock_net_port_attr (ABI 4), which older kernel headers lack. */
struct ll_net_port_attr {
	uint64_t allowed_access;
	uint64_t port;
};

/* struct landlock_ruleset_attr as of ABI 6; older kernels take a prefix of it. */
struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};

/* The file system rights ABI abi knows: all of them are handled, so all are denied unless
 * a rule grants them. */
static uint64_t ll_fs_rights(int abi)
{
	uint64_t r = (1ULL << 13) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */

	if (abi >= 2)
		r |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		r |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 5)
		r |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	return r;
}

/* Grants rights beneath dir; 0 or -errno. */
static int ll_allow(int ruleset, const char *dir, uint64_t rights, char *err, size_t errlen)
{
	struct landlock_path_beneath_attr pb = {.allowed_access = rights};
	int rc = 0;

	pb.parent_fd = open(dir, O_PATH | O_CLOEXEC | O_DIRECTORY);
	if (pb.parent_fd < 0) {
		rc = -errno;
		vio_errmsg(err, errlen, "landlock: cannot open '%s': %s", dir, strerror(errno));
		return rc;
	}
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0) {
		rc = -errno;
		vio_errmsg(err, errlen, "landlock: cannot add a rule for '%s': %s", dir,
			   strerror(errno));
	}
	close(pb.parent_fd);
	return rc;
}

/* Restricts the file system; a kernel without Landlock is noted and not an error. */
static int enter_landlock(struct vio_sandbox *sb, char *err, size_t errlen)
{
	struct ll_ruleset_attr attr;
	size_t attr_size;
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	int fd, rc = 0;

	if (abi < 0) {
		/* ENOSYS: built without it; EOPNOTSUPP: built in but not enabled at boot. */
		sb->landlock_abi = 0;
		snprintf(sb->landlock_note, sizeof(sb->landlock_note),
			 "Landlock unavailable (%s): the file system is not restricted",
			 errno == EOPNOTSUPP ? "disabled at boot"
			 : errno == ENOSYS   ? "not in this kernel"
					     : strerror(errno));
		return 0;
	}
	if (abi > LL_ABI_KNOWN)
		abi = LL_ABI_KNOWN;
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = ll_fs_rights((int) abi);
	attr_size = sizeof(attr.handled_access_fs);
	if (abi >= 4) {
		/* No TCP at all: nothing binds or connects one once serving. */
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
		attr_size += sizeof(attr.handled_access_net);
	}
	if (abi >= 6) {
		/* No abstract sockets and no signals outside the sandbox. */
		attr.scoped = LL_SCOPE_ABSTRACT | LL_SCOPE_SIGNAL;
		attr_size += sizeof(attr.scoped);
	}
	fd = (int) syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0);
	if (fd < 0) {
		rc = -errno;
		vio_errmsg(err, errlen, "landlock: cannot create a ruleset: %s", strerror(errno));
		return rc;
	}
	for (unsigned i = 0; rc == 0 && i < sb->ndirs; i++)
		rc = ll_allow(fd, sb->dirs[i], LANDLOCK_ACCESS_FS_REMOVE_FILE, err, errlen);
	/* TCP connections to the ports vio_sandbox_allow_connect() named, and no others. */
	for (unsigned i = 0; rc == 0 && abi >= 4 && i < sb->nports; i++) {
		struct ll_net_port_attr np = {.allowed_access = LL_NET_CONNECT_TCP,
					      .port = sb->ports[i]};

		if (syscall(SYS_landlock_add_rule, fd, LL_RULE_NET_PORT, &np, 0) < 0) {
			rc = -errno;
			vio_errmsg(err, errlen, "landlock: cannot allow TCP port %u: %s",
				   sb->ports[i], strerror(errno));
		}
	}
	/* The leak check at exit and sanitizer reports read /proc/self. */
	if (rc == 0 && SANITIZED)
		rc = ll_allow(fd, "/proc",
			      LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR, err,
			      errlen);
	if (rc == 0 && syscall(SYS_landlock_restrict_self, fd, 0) < 0) {
		rc = -errno;
		vio_errmsg(err, errlen, "landlock: cannot restrict the process: %s",
			   strerror(errno));
	}
	close(fd);
	if (rc == 0) {
		sb->landlock_abi = (int) abi;
		snprintf(sb->landlock_note, sizeof(sb->landlock_note), "Landlock ABI %ld", abi);
	}
	return rc;
}

/* ------------------------------------------------------------------ the user */

static int drop_user(const struct vio_sandbox *sb, char *err, size_t errlen)
{
	uid_t r, e, s;
	gid_t rg, eg, sg;

	if (setgroups(0, NULL) < 0 || setresgid(sb->gid, sb->gid, sb->gid) < 0 ||
	    setresuid(sb->uid, sb->uid, sb->uid) < 0) {
		int rc = -errno;

		vio_errmsg(err, errlen, "cannot become user '%s': %s%s", sb->user, strerror(errno),
			   errno == EPERM ? " (--user needs root)" : "");
		return rc;
	}
	/* Neither way back may work: the saved ids are gone with the real ones. */
	if (getresuid(&r, &e, &s) < 0 || getresgid(&rg, &eg, &sg) < 0 || r != sb->uid ||
	    e != sb->uid || s != sb->uid || rg != sb->gid || eg != sb->gid || sg != sb->gid ||
	    setuid(0) == 0 || seteuid(0) == 0 || setegid(0) == 0) {
		vio_errmsg(err, errlen, "became user '%s' but root could be regained", sb->user);
		return -EPERM;
	}
	return 0;
}

/* ------------------------------------------------------------------ entry points */

void vio_sandbox_init(struct vio_sandbox *sb, enum vio_sandbox_mode mode, const char *prog)
{
	memset(sb, 0, sizeof(*sb));
	sb->mode = mode;
	sb->prog = prog;
}

bool vio_sandbox_parse_mode(const char *s, enum vio_sandbox_mode *mode)
{
	if (strcmp(s, "on") == 0)
		*mode = VIO_SANDBOX_ON;
	else if (strcmp(s, "off") == 0)
		*mode = VIO_SANDBOX_OFF;
	else if (strcmp(s, "log") == 0)
		*mode = VIO_SANDBOX_LOG;
	else
		return false;
	return true;
}

int vio_sandbox_set_user(struct vio_sandbox *sb, const char *user, char *err, size_t errlen)
{
	struct passwd *pw;

	errno = 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		vio_errmsg(err, errlen, "no user '%s'%s%s", user, errno ? ": " : "",
			   errno ? strerror(errno) : "");
		return errno ? -errno : -ENOENT;
	}
	if (pw->pw_uid == 0 || pw->pw_gid == 0) {
		vio_errmsg(err, errlen, "user '%s' has root's user or group id: nothing dropped",
			   user);
		return -EINVAL;
	}
	sb->drop_user = true;
	sb->uid = pw->pw_uid;
	sb->gid = pw->pw_gid;
	snprintf(sb->user, sizeof(sb->user), "%s", user);
	return 0;
}

int vio_sandbox_allow_remove(struct vio_sandbox *sb, const char *path, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char dir[VIO_SANDBOX_DIR_MAX];
	size_t n;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((n = (size_t) (slash - path)) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int) n, path);
	else {
		vio_errmsg(err, errlen, "sandbox: directory of '%s' too long", path);
		return -ENAMETOOLONG;
	}
	for (unsigned i = 0; i < sb->ndirs; i++)
		if (strcmp(sb->dirs[i], dir) == 0)
			return 0;
	if (sb->ndirs == VIO_SANDBOX_DIRS) {
		vio_errmsg(err, errlen, "sandbox: more than %d directories", VIO_SANDBOX_DIRS);
		return -ENOSPC;
	}
	memcpy(sb->dirs[sb->ndirs++], dir, sizeof(dir));
	return 0;
}

int vio_sandbox_allow_connect(struct vio_sandbox *sb, int family, uint16_t port, char *err,
			      size_t errlen)
{
	if (family == AF_UNIX) {
		sb->connect_unix = true;
		return 0;
	}
	if (family != AF_INET && family != AF_INET6) {
		vio_errmsg(err, errlen, "sandbox: connections of family %d not supported", family);
		return -EAFNOSUPPORT;
	}
	sb->connect_inet = true;
	for (unsigned i = 0; i < sb->nports; i++)
		if (sb->ports[i] == port)
			return 0;
	if (sb->nports == VIO_SANDBOX_PORTS) {
		vio_errmsg(err, errlen, "sandbox: more than %d TCP ports", VIO_SANDBOX_PORTS);
		return -ENOSPC;
	}
	sb->ports[sb->nports++] = port;
	return 0;
}

int vio_sandbox_enter(struct vio_sandbox *sb, char *err, size_t errlen)
{
	scmp_filter_ctx f;
	int rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	sb->landlock_abi = 0;
	snprintf(sb->landlock_note, sizeof(sb->landlock_note), "no sandbox");
	if (sb->drop_user) {
		rc = drop_user(sb, err, errlen);
		if (rc < 0)
			return rc;
	}
	if (sb->mode == VIO_SANDBOX_OFF)
		return 0;
	if (sb->mode == VIO_SANDBOX_LOG && !CAN_FAIL_CALL) {
		vio_errmsg(err, errlen, "sandbox: 'log' is not supported on this architecture");
		return -ENOTSUP;
	}
	rc = install_sigsys(sb, err, errlen);
	if (rc < 0)
		return rc;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		rc = -errno;
		vio_errmsg(err, errlen, "no_new_privs: %s", strerror(errno));
		return rc;
	}
	rc = enter_landlock(sb, err, errlen);
	if (rc < 0)
		return rc;
	rc = build_filter(sb, &f, err, errlen);
	if (rc < 0)
		return rc;
	rc = seccomp_load(f);
	if (rc < 0)
		vio_errmsg(err, errlen, "seccomp: cannot load the filter: %s", strerror(-rc));
	seccomp_release(f);
	return rc;
}
