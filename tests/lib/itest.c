/* SPDX-License-Identifier: BSD-3-Clause */
/* Integration test helpers: processes by PID, temporary files, patterns. */
#include "itest.h"
#include "disk_pattern.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h> /* after the headers it needs */

#define MAX_PROCS 16

/* Children still running, killed by the exit and signal handlers. */
static volatile pid_t children[MAX_PROCS];
static bool handlers_installed;

static void kill_children(void)
{
	for (unsigned i = 0; i < MAX_PROCS; i++) {
		pid_t pid = children[i];

		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			children[i] = 0;
		}
	}
}

static void on_signal(int sig)
{
	kill_children();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_handlers(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGABRT, SIGSEGV, SIGBUS};

	if (handlers_installed)
		return;
	handlers_installed = true;
	atexit(kill_children);
	for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], on_signal);
	/* A backend that closes a socket under a write must not kill the test. */
	signal(SIGPIPE, SIG_IGN);
}

static void remember(pid_t pid)
{
	for (unsigned i = 0; i < MAX_PROCS; i++) {
		if (children[i] == 0) {
			children[i] = pid;
			return;
		}
	}
}

static void forget(pid_t pid)
{
	for (unsigned i = 0; i < MAX_PROCS; i++)
		if (children[i] == pid)
			children[i] = 0;
}

int64_t it_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int it_tmpdir(char dir[IT_PATH], const char *tag)
{
	const char *base = getenv("TMPDIR");

	if (base == NULL || *base == '\0')
		base = "/tmp";
	/* Unix socket paths are short (108 bytes): keep the directory name small. */
	snprintf(dir, IT_PATH, "%s/vio-%s.XXXXXX", base, tag);
	if (mkdtemp(dir) == NULL)
		return -errno;
	return 0;
}

int it_path(char out[IT_PATH], const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);

	if (a + 1 + b >= IT_PATH)
		return -ENAMETOOLONG;
	memcpy(out, dir, a);
	out[a] = '/';
	memcpy(out + a + 1, name, b + 1);
	return 0;
}

void it_rmtree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		char path[2 * IT_PATH];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

uint8_t it_pattern(uint64_t offset)
{
	return disk_pattern(offset);
}

int it_make_image(const char *path, uint64_t bytes)
{
	static uint8_t buf[1 << 16];
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	for (uint64_t off = 0; off < bytes; off += sizeof(buf)) {
		size_t n = bytes - off < sizeof(buf) ? (size_t) (bytes - off) : sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = it_pattern(off + i);
		if (write(fd, buf, n) != (ssize_t) n) {
			int e = errno;

			close(fd);
			return -e;
		}
	}
	close(fd);
	return 0;
}

void it_fill(void *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1u;
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t) x;
	}
}

int it_spawn(struct it_proc *p, char *const argv[], int pass_fd, int as_fd)
{
	pid_t parent = getpid();
	pid_t pid;

	install_handlers();
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int fd = open(p->log, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		/* dup2 clears close-on-exec on the copy; a descriptor already in place needs fcntl.
		 */
		if (pass_fd >= 0 && pass_fd != as_fd && dup2(pass_fd, as_fd) < 0)
			_exit(127);
		if (pass_fd >= 0 && pass_fd == as_fd && fcntl(as_fd, F_SETFD, 0) < 0)
			_exit(127);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	p->pid = pid;
	remember(pid);
	return 0;
}

int it_start(struct it_proc *p, char *const argv[], int timeout_ms)
{
	int64_t deadline = it_now_ms() + timeout_ms;
	int r;

	/* Probing by connecting would take the backend's one connection slot: watch the path. */
	unlink(p->sock);
	r = it_spawn(p, argv, -1, -1);
	if (r < 0)
		return r;
	while (it_now_ms() < deadline) {
		struct stat st;

		if (!it_alive(p))
			break;
		if (stat(p->sock, &st) == 0 && S_ISSOCK(st.st_mode))
			return 0;
		usleep(5000);
	}
	printf("# %s did not create %s\n", argv[0], p->sock);
	it_stop(p, 1000, NULL);
	it_print_log(p->log, 20);
	return -ETIMEDOUT;
}

bool it_alive(struct it_proc *p)
{
	int status;

	if (p->pid <= 0)
		return false;
	if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
		printf("# process %d ended: %s %d\n", (int) p->pid,
		       WIFEXITED(status) ? "exit status" : "signal",
		       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		forget(p->pid);
		p->pid = -p->pid; /* remembered as gone, with its status printed */
		return false;
	}
	return true;
}

int it_wait_exit(struct it_proc *p, int timeout_ms)
{
	int64_t deadline = it_now_ms() + timeout_ms;
	int status;

	if (p->pid <= 0)
		return -1;
	while (it_now_ms() < deadline) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);

		if (r == p->pid) {
			forget(p->pid);
			p->pid = 0;
			return status;
		}
		if (r < 0)
			break;
		usleep(2000);
	}
	it_stop(p, 1000, NULL);
	return -1;
}

static bool log_has_sanitizer_report(const char *log)
{
	FILE *f = fopen(log, "r");
	char line[512];
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, "ERROR: AddressSanitizer") != NULL ||
			strstr(line, "ERROR: LeakSanitizer") != NULL ||
			strstr(line, "runtime error:") != NULL;
	fclose(f);
	return found;
}

int it_stop(struct it_proc *p, int timeout_ms, bool *sanitizer)
{
	int64_t deadline = it_now_ms() + timeout_ms;
	int status = -1;

	if (sanitizer != NULL)
		*sanitizer = log_has_sanitizer_report(p->log);
	if (p->pid <= 0)
		return -1;
	kill(p->pid, SIGTERM);
	for (;;) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);

		if (r == p->pid)
			break;
		if (r < 0) {
			status = -1;
			break;
		}
		if (it_now_ms() >= deadline) {
			printf("# process %d ignored SIGTERM for %d ms: killed\n", (int) p->pid,
			       timeout_ms);
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
			break;
		}
		usleep(2000);
	}
	forget(p->pid);
	p->pid = 0;
	if (sanitizer != NULL)
		*sanitizer = log_has_sanitizer_report(p->log);
	return status;
}

void it_print_log(const char *log, int lines)
{
	FILE *f = fopen(log, "r");
	char buf[64][256];
	int n = 0;

	if (f == NULL)
		return;
	if (lines > 64)
		lines = 64;
	while (fgets(buf[n % lines], sizeof(buf[0]), f) != NULL)
		n++;
	fclose(f);
	printf("# --- %s (last %d lines)\n", log, n < lines ? n : lines);
	for (int i = n > lines ? n - lines : 0; i < n; i++) {
		char *s = buf[i % lines];

		s[strcspn(s, "\n")] = '\0';
		printf("# | %s\n", s);
	}
}

int it_count_fds(pid_t pid)
{
	char path[64];
	DIR *d;
	struct dirent *e;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int) pid);
	d = opendir(path);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

const char *it_vioport_bin(void)
{
	const char *b = getenv("VIOPORT_BIN");

	if (b == NULL || *b == '\0' || access(b, X_OK) != 0)
		return NULL;
	return b;
}

const char *it_qsd_bin(void)
{
	static char found[IT_PATH];
	const char *b = getenv("QSD_BIN");
	const char *path = getenv("PATH");

	if (b != NULL && *b != '\0')
		return access(b, X_OK) == 0 ? b : NULL;
	if (path == NULL)
		path = "/usr/bin:/bin";
	while (*path != '\0') {
		size_t n = strcspn(path, ":");

		snprintf(found, sizeof(found), "%.*s/qemu-storage-daemon", (int) n, path);
		if (n > 0 && access(found, X_OK) == 0)
			return found;
		path += n;
		if (*path == ':')
			path++;
	}
	return NULL;
}

/* A fresh connection per command keeps the helper stateless; the daemon serves many. */
int it_control(const char *path, const char *cmd, char *reply, size_t cap, int timeout_ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int64_t deadline = it_now_ms() + timeout_ms;
	size_t len = 0, n = strlen(cmd);
	int fd, r = -ETIMEDOUT;

	if (cap == 0 || strlen(path) >= sizeof(sa.sun_path))
		return -EINVAL;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
	    send(fd, cmd, n, MSG_NOSIGNAL) != (ssize_t) n || send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		r = -errno;
		close(fd);
		return r;
	}
	while (it_now_ms() < deadline) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t got;
		char *nl;

		if (poll(&pfd, 1, (int) (deadline - it_now_ms())) <= 0)
			continue;
		got = recv(fd, reply + len, cap - 1 - len, 0);
		if (got <= 0) {
			r = got == 0 ? -ECONNRESET : -errno;
			break;
		}
		len += (size_t) got;
		reply[len] = '\0';
		nl = strchr(reply, '\n');
		if (nl != NULL) {
			*nl = '\0';
			r = 0;
			break;
		}
		if (len == cap - 1) {
			r = -EMSGSIZE;
			break;
		}
	}
	close(fd);
	return r;
}

void it_finish(struct it_proc *p, const char *dir)
{
	if (dir[0] == '\0')
		return;
	it_stop(p, 5000, NULL);
	it_rmtree(dir);
}

int it_daemon_lives(struct it_proc *p, const char **skip)
{
	if (*skip != NULL || it_alive(p))
		return 0;
	it_print_log(p->log, 30);
	*skip = "the daemon died in an earlier case";
	return -1;
}

void it_control_ok(const char *path, const char *cmd, char *out, size_t cap)
{
	char reply[1024];
	int r = it_control(path, cmd, reply, sizeof(reply), 5000);

	if (r != 0)
		fail_msg("control '%s': %d", cmd, r);
	if (strncmp(reply, "ok", 2) != 0)
		fail_msg("control '%s': %s", cmd, reply);
	if (out != NULL && cap > 0) {
		const char *rest = reply[2] == ' ' ? reply + 3 : reply + 2;
		size_t n = strlen(rest) < cap ? strlen(rest) : cap - 1;

		memcpy(out, rest, n);
		out[n] = '\0';
	}
}

void it_expect_clean_stop(struct it_proc *p, const char **skip)
{
	bool san = false;
	int st = it_stop(p, 5000, &san);

	*skip = "the daemon was stopped";
	if (san || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		it_print_log(p->log, 60);
	assert_false(san);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("daemon wait status %#x after SIGTERM", st);
}
