/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The sandbox (src/os/posix/sandbox.c): each case runs in a forked child that
 * enters the same sandbox the daemon enters, makes calls inside and outside
 * the allowlist, and reports through its exit status; the parent checks the
 * status and the line the SIGSYS handler wrote on the child's stderr.
 *
 * Built twice: test_sandbox with the sandbox as the daemon links it, and
 * test_sandbox_strict with VIO_SANDBOX_NO_SANITIZER_RULES, the allowlist of a
 * build without sanitizers (no clone of processes, no ptrace, no open), which
 * the strict-only cases check.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h> /* after the headers it needs */
#include <seccomp.h>

#include "vioport/internal/sandbox.h"

#define CHILD_SKIP 77	 /* the child found nothing to test (no Landlock) */
#define WAIT_MS	   20000 /* bound on a child's run */

/* What a child did: its wait status and what it wrote on stderr. */
struct child {
	int status;
	char err[4096];
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs fn in a child with stderr on a pipe; fn's return value is the child's exit status. */
static void run_child(int (*fn)(void *), void *arg, struct child *c)
{
	int64_t deadline = now_ms() + WAIT_MS;
	size_t len = 0;
	int fds[2];
	pid_t pid;

	memset(c, 0, sizeof(*c));
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		_exit(fn(arg));
	}
	close(fds[1]);
	/* Read until the child is gone (end of file), within the bound. */
	for (;;) {
		struct pollfd p = {.fd = fds[0], .events = POLLIN};
		int left = (int) (deadline - now_ms());
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) <= 0) {
			kill(pid, SIGKILL);
			fail_msg("the child did not end within %d ms", WAIT_MS);
		}
		n = read(fds[0], c->err + len, sizeof(c->err) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t) n;
		if (len == sizeof(c->err) - 1)
			break;
	}
	c->err[len] = '\0';
	close(fds[0]);
	assert_int_equal(waitpid(pid, &c->status, 0), pid);
	printf("# child: %s %d%s%s", WIFEXITED(c->status) ? "exit status" : "signal",
	       WIFEXITED(c->status) ? WEXITSTATUS(c->status) : WTERMSIG(c->status),
	       len ? ", stderr:\n# " : "\n", c->err);
}

/* The child ended with exit status code. */
static void assert_exit(const struct child *c, int code)
{
	assert_true(WIFEXITED(c->status));
	assert_int_equal(WEXITSTATUS(c->status), code);
}

/* The child's stderr has the handler's line for call nr named name, ending with tail. */
static void assert_refusal(const struct child *c, long nr, const char *name, const char *tail)
{
	char want[160];

	snprintf(want, sizeof(want),
		 "test: sandbox: system call %ld (%s) is outside the allowlist: %s", nr, name,
		 tail);
	if (strstr(c->err, want) == NULL)
		fail_msg("no line '%s' in the child's stderr", want);
}

/* In a child: enters the sandbox in mode, or ends the child with status 100. */
static void enter(enum vio_sandbox_mode mode, struct vio_sandbox *sb)
{
	char err[200];

	if (vio_sandbox_enter(sb, err, sizeof(err)) < 0) {
		fprintf(stderr, "cannot enter the sandbox (mode %d): %s\n", (int) mode, err);
		_exit(100);
	}
}

static void enter_mode(enum vio_sandbox_mode mode)
{
	static struct vio_sandbox sb;

	vio_sandbox_init(&sb, mode, "test");
	enter(mode, &sb);
}

/* Reports a failed check of a child: its number is the exit status. */
#define CHECK(n, cond)                                                                             \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "check %d failed: %s (errno %d)\n", n, #cond, errno);      \
			return n;                                                                  \
		}                                                                                  \
	} while (0)

/* ------------------------------------------------------------------ children */

static int child_execve(void *arg)
{
	char *const argv[] = {"true", NULL};

	(void) arg;
	enter_mode(VIO_SANDBOX_ON);
	execve("/bin/true", argv, argv + 1);
	return 10; /* not reached: the handler ends the process */
}

static int child_socket_log(void *arg)
{
	int fd;

	(void) arg;
	enter_mode(VIO_SANDBOX_LOG);
	errno = 0;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(10, fd == -1 && errno == EPERM);
	/* The process goes on after a refusal in log mode, with the allowlist in force. */
	CHECK(11, getpid() > 0);
	errno = 0;
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK(12, fd == -1 && errno == EPERM);
	return 0;
}

static int child_socket_on(void *arg)
{
	(void) arg;
	enter_mode(VIO_SANDBOX_ON);
	(void) socket(AF_INET, SOCK_STREAM, 0);
	return 10;
}

static void *thread_main(void *arg)
{
	int *v = arg;

	*v = 42;
	return NULL;
}

/* What serving uses works: memory, eventfds, epoll, threads, entropy, device ioctls. */
static int child_allowed(void *arg)
{
	struct epoll_event ev = {.events = EPOLLIN};
	uint64_t one = 1, got = 0;
	struct termios t;
	pthread_t th;
	uint8_t rnd[16];
	int efd, ep, v = 0, sv[2];
	void *m;

	(void) arg;
	CHECK(9, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	enter_mode(VIO_SANDBOX_ON);
	m = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(11, m != MAP_FAILED);
	/* A remap in place, as a SIGBUS handler does over a truncated window. */
	CHECK(12, mmap(m, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
		       0) == m);
	CHECK(13, munmap(m, 1 << 20) == 0);
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	CHECK(14, efd >= 0 && ep >= 0);
	CHECK(15, epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0);
	CHECK(16, write(efd, &one, sizeof(one)) == sizeof(one));
	CHECK(17, epoll_wait(ep, &ev, 1, 1000) == 1);
	CHECK(18, read(efd, &got, sizeof(got)) == sizeof(got) && got == 1);
#if !defined(VIO_SANDBOX_NO_SANITIZER_RULES) || !defined(__SANITIZE_ADDRESS__)
	/* (A sanitized thread start needs the sanitizer's calls: not with the strict list.) */
	CHECK(19, pthread_create(&th, NULL, thread_main, &v) == 0);
	CHECK(20, pthread_join(th, NULL) == 0 && v == 42);
#else
	(void) th;
	(void) v;
	(void) thread_main;
#endif
	CHECK(21, getrandom(rnd, sizeof(rnd), 0) == (ssize_t) sizeof(rnd));
	/* An allowed ioctl reaches the kernel: a socket is no terminal. */
	errno = 0;
	CHECK(22, ioctl(sv[0], TCGETS, &t) == -1 && errno == ENOTTY);
	CHECK(23,
	      sendmsg(sv[0], &(struct msghdr){.msg_iov = &(struct iovec){&one, 8}, .msg_iovlen = 1},
		      0) == 8);
	CHECK(24, recv(sv[1], &got, sizeof(got), 0) == 8);
	/* clone3 answers ENOSYS so the C library falls back to clone, whose flags a filter sees. */
	errno = 0;
	CHECK(25, syscall(SYS_clone3, NULL, 0) == -1 && errno == ENOSYS);
	close(efd);
	close(ep);
	return 0;
}

/* No new executable memory, and ioctls outside the list are refused. */
static int child_exec_memory(void *arg)
{
	char c = 'x';
	void *m;

	(void) arg;
	enter_mode(VIO_SANDBOX_LOG);
	errno = 0;
	m = mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(10, m == MAP_FAILED && errno == EPERM);
	m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK(11, m != MAP_FAILED);
	errno = 0;
	CHECK(12, mprotect(m, 4096, PROT_READ | PROT_EXEC) == -1 && errno == EPERM);
	errno = 0;
	CHECK(13, ioctl(STDIN_FILENO, TIOCSTI, &c) == -1 && errno == EPERM);
	return 0;
}

/* The file system: files can be removed only in the directories given, nothing opened. */
static int child_landlock(void *arg)
{
	const char *dir = arg;
	static struct vio_sandbox sb;
	char a[256], b[256], err[200];

	snprintf(a, sizeof(a), "%s/a/f", dir);
	snprintf(b, sizeof(b), "%s/b/f", dir);
	vio_sandbox_init(&sb, VIO_SANDBOX_LOG, "test");
	CHECK(9, vio_sandbox_allow_remove(&sb, a, err, sizeof(err)) == 0);
	enter(VIO_SANDBOX_LOG, &sb);
	if (sb.landlock_abi == 0) {
		fprintf(stderr, "%s\n", sb.landlock_note);
		return CHILD_SKIP;
	}
	errno = 0;
	CHECK(10, unlink(b) == -1 && errno == EACCES);
	CHECK(11, unlink(a) == 0);
	/* Refused by Landlock, or by the filter where open is not on the list. */
	errno = 0;
	CHECK(12, open("/etc/passwd", O_RDONLY | O_CLOEXEC) == -1 &&
		      (errno == EACCES || errno == EPERM));
	return 0;
}

/* The user a --user case becomes, copied out of getpwnam's storage. */
struct user {
	char name[64];
	uid_t uid;
	gid_t gid;
};

/*
 * A kernel without Landlock (arg: the errno its probe gives, ENOSYS when not
 * built, EOPNOTSUPP when not enabled at boot), made by a filter of the test's
 * own loaded first: the sandbox notes it and applies the rest.
 */
static int child_no_landlock(void *arg)
{
	int e = *(const int *) arg;
	static struct vio_sandbox sb;
	char err[200];
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);

	CHECK(9, f != NULL && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
		     seccomp_rule_add(f, SCMP_ACT_ERRNO((unsigned) e),
				      SCMP_SYS(landlock_create_ruleset), 0) == 0 &&
		     seccomp_load(f) == 0);
	seccomp_release(f);
	vio_sandbox_init(&sb, VIO_SANDBOX_ON, "test");
	CHECK(10, vio_sandbox_enter(&sb, err, sizeof(err)) == 0);
	CHECK(11, sb.landlock_abi == 0);
	fprintf(stderr, "note: %s\n", sb.landlock_note);
	/* The filter is in force all the same. */
	(void) socket(AF_INET, SOCK_STREAM, 0);
	return 10;
}

/* --user: every id is the user's, and root cannot be regained. */
static int child_user(void *arg)
{
	const struct user *pw = arg;
	static struct vio_sandbox sb;
	uid_t r, e, s;
	gid_t rg, eg, sg;
	char err[200];

	/* Without the filter, so the checks may call what serving never does. */
	vio_sandbox_init(&sb, VIO_SANDBOX_OFF, "test");
	if (vio_sandbox_set_user(&sb, pw->name, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 9;
	}
	enter(VIO_SANDBOX_OFF, &sb);
	CHECK(10, getresuid(&r, &e, &s) == 0 && r == pw->uid && e == r && s == r);
	CHECK(11, getresgid(&rg, &eg, &sg) == 0 && rg == pw->gid && eg == rg && sg == rg);
	CHECK(12, getgroups(0, NULL) == 0);
	errno = 0;
	CHECK(13, setuid(0) == -1 && errno == EPERM);
	errno = 0;
	CHECK(14, setegid(0) == -1 && errno == EPERM);
	return 0;
}

#ifdef VIO_SANDBOX_NO_SANITIZER_RULES
/* The allowlist of a build without sanitizers: no processes, no tracing, no opening. */
static int child_strict(void *arg)
{
	pid_t pid, parent = getppid();

	(void) arg;
	enter_mode(VIO_SANDBOX_LOG);
	errno = 0;
	pid = fork();
	if (pid == 0)
		_exit(0);
	CHECK(10, pid == -1 && errno == EPERM);
	errno = 0;
	CHECK(11, ptrace(PTRACE_TRACEME, 0, NULL, NULL) == -1 && errno == EPERM);
	errno = 0;
	CHECK(12, openat(AT_FDCWD, "/", O_RDONLY | O_DIRECTORY) == -1 && errno == EPERM);
	errno = 0;
	CHECK(13, kill(parent, 0) == -1 && errno == EPERM);
	errno = 0;
	CHECK(14, syscall(SYS_tgkill, parent, parent, 0) == -1 && errno == EPERM);
	return 0;
}
#endif

/* ------------------------------------------------------------------ cases */

static void test_execve_ends_process(void **state)
{
	struct child c;

	(void) state;
	run_child(child_execve, NULL, &c);
	assert_exit(&c, VIO_SANDBOX_EXIT);
	assert_refusal(&c, SYS_execve, "execve", "stopping");
}

static void test_socket_refused_in_log_mode(void **state)
{
	struct child c;

	(void) state;
	run_child(child_socket_log, NULL, &c);
	assert_exit(&c, 0);
	assert_refusal(&c, SYS_socket, "socket", "failed with EPERM");
}

static void test_socket_ends_process(void **state)
{
	struct child c;

	(void) state;
	run_child(child_socket_on, NULL, &c);
	assert_exit(&c, VIO_SANDBOX_EXIT);
	assert_refusal(&c, SYS_socket, "socket", "stopping");
}

static void test_serving_calls_allowed(void **state)
{
	struct child c;

	(void) state;
	run_child(child_allowed, NULL, &c);
	assert_exit(&c, 0);
	assert_null(strstr(c.err, "outside the allowlist"));
}

static void test_no_exec_memory_nor_other_ioctls(void **state)
{
	struct child c;

	(void) state;
	run_child(child_exec_memory, NULL, &c);
	assert_exit(&c, 0);
	assert_refusal(&c, SYS_mmap, "mmap", "failed with EPERM");
	assert_refusal(&c, SYS_mprotect, "mprotect", "failed with EPERM");
	assert_refusal(&c, SYS_ioctl, "ioctl", "failed with EPERM");
}

static void test_landlock_limits_removal(void **state)
{
	char dir[] = "/tmp/vioport-sandbox-XXXXXX", path[256];
	struct child c;

	(void) state;
	assert_non_null(mkdtemp(dir));
	for (int i = 0; i < 2; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%c", dir, "ab"[i]);
		assert_int_equal(mkdir(path, 0700), 0);
		snprintf(path, sizeof(path), "%s/%c/f", dir, "ab"[i]);
		fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	run_child(child_landlock, dir, &c);
	/* Clean up whatever the child left, then judge. */
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%c/f", dir, "ab"[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%c", dir, "ab"[i]);
		rmdir(path);
	}
	rmdir(dir);
	if (WIFEXITED(c.status) && WEXITSTATUS(c.status) == CHILD_SKIP)
		skip();
	assert_exit(&c, 0);
}

static void test_without_landlock(void **state)
{
	static const int errs[] = {ENOSYS, EOPNOTSUPP};
	static const char *const why[] = {"not in this kernel", "disabled at boot"};
	char want[160];
	struct child c;

	(void) state;
	for (int i = 0; i < 2; i++) {
		run_child(child_no_landlock, (void *) &errs[i], &c);
		snprintf(want, sizeof(want),
			 "note: Landlock unavailable (%s): the file system is not restricted",
			 why[i]);
		if (strstr(c.err, want) == NULL)
			fail_msg("no line '%s' in the child's stderr", want);
		assert_exit(&c, VIO_SANDBOX_EXIT);
		assert_refusal(&c, SYS_socket, "socket", "stopping");
	}
}

static void test_user_drop(void **state)
{
	struct passwd *pw;
	struct user u;
	struct child c;

	(void) state;
	if (geteuid() != 0) {
		printf("# --user needs root\n");
		skip();
	}
	pw = getpwnam("nobody");
	if (pw == NULL) {
		printf("# no user 'nobody'\n");
		skip();
	}
	snprintf(u.name, sizeof(u.name), "%s", pw->pw_name);
	u.uid = pw->pw_uid;
	u.gid = pw->pw_gid;
	run_child(child_user, &u, &c);
	assert_exit(&c, 0);
}

static void test_user_root_refused(void **state)
{
	struct vio_sandbox sb;
	char err[200];

	(void) state;
	vio_sandbox_init(&sb, VIO_SANDBOX_ON, "test");
	assert_int_equal(vio_sandbox_set_user(&sb, "root", err, sizeof(err)), -EINVAL);
	assert_int_equal(vio_sandbox_set_user(&sb, "no-such-user-vioport", err, sizeof(err)),
			 -ENOENT);
	assert_false(sb.drop_user);
}

static void test_modes_and_dirs(void **state)
{
	enum vio_sandbox_mode m;
	struct vio_sandbox sb;
	char err[200];

	(void) state;
	assert_true(vio_sandbox_parse_mode("on", &m) && m == VIO_SANDBOX_ON);
	assert_true(vio_sandbox_parse_mode("off", &m) && m == VIO_SANDBOX_OFF);
	assert_true(vio_sandbox_parse_mode("log", &m) && m == VIO_SANDBOX_LOG);
	assert_false(vio_sandbox_parse_mode("yes", &m));
	vio_sandbox_init(&sb, VIO_SANDBOX_ON, "test");
	assert_int_equal(vio_sandbox_allow_remove(&sb, "/run/vioport/a.sock", err, sizeof(err)), 0);
	assert_int_equal(vio_sandbox_allow_remove(&sb, "/run/vioport/b.sock", err, sizeof(err)), 0);
	assert_int_equal(vio_sandbox_allow_remove(&sb, "/x.sock", err, sizeof(err)), 0);
	assert_int_equal(vio_sandbox_allow_remove(&sb, "rel.sock", err, sizeof(err)), 0);
	assert_int_equal(sb.ndirs, 3);
	assert_string_equal(sb.dirs[0], "/run/vioport");
	assert_string_equal(sb.dirs[1], "/");
	assert_string_equal(sb.dirs[2], ".");
	assert_string_equal(vio_sandbox_syscall_name(-1), "?");
}

#ifdef VIO_SANDBOX_NO_SANITIZER_RULES
static void test_strict_list(void **state)
{
	struct child c;

	(void) state;
	run_child(child_strict, NULL, &c);
	assert_exit(&c, 0);
	assert_refusal(&c, SYS_clone, "clone", "failed with EPERM");
	assert_refusal(&c, SYS_ptrace, "ptrace", "failed with EPERM");
	assert_refusal(&c, SYS_openat, "openat", "failed with EPERM");
	assert_refusal(&c, SYS_kill, "kill", "failed with EPERM");
	assert_refusal(&c, SYS_tgkill, "tgkill", "failed with EPERM");
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_modes_and_dirs),
	    cmocka_unit_test(test_execve_ends_process),
	    cmocka_unit_test(test_socket_refused_in_log_mode),
	    cmocka_unit_test(test_socket_ends_process),
	    cmocka_unit_test(test_serving_calls_allowed),
	    cmocka_unit_test(test_no_exec_memory_nor_other_ioctls),
	    cmocka_unit_test(test_landlock_limits_removal),
	    cmocka_unit_test(test_without_landlock),
	    cmocka_unit_test(test_user_drop),
	    cmocka_unit_test(test_user_root_refused),
#ifdef VIO_SANDBOX_NO_SANITIZER_RULES
	    cmocka_unit_test(test_strict_list),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
