/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's sandbox seen from outside: a serving daemon has no_new_privs and
 * one more seccomp filter than the test (/proc/PID/status), --sandbox off (on
 * the command line or in a configuration file) has neither, --user nobody serves as nobody with no
 * way back (run as root; skipped otherwise), and bad --sandbox and --user values are usage errors.
 * Every other integration test runs its daemon with the sandbox on too (it is
 * the default). The daemon is $VIOPORT_BIN; without it every case skips.
 */
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "vioport/vhost_user_frontend.h"
#include "vioport/virtio.h"

#define WAIT_MS 5000

static struct {
	char dir[IT_PATH];
	char bin[IT_PATH];
	const char *skip;
} T;

static struct vio_vu_fe fe;

static int group_setup(void **state)
{
	const char *b = it_vioport_bin();

	(void) state;
	if (b == NULL) {
		T.skip = "no vioport daemon at $VIOPORT_BIN (build apps/vioport first): sandbox "
			 "cases skipped";
		return 0;
	}
	snprintf(T.bin, sizeof(T.bin), "%s", b);
	return it_tmpdir(T.dir, "sandbox") < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void) state;
	if (T.dir[0] != '\0')
		it_rmtree(T.dir);
	return 0;
}

/* One field of /proc/PID/status ("Seccomp", "Uid", ...), its value after the blanks; false
 * when the kernel does not show it. */
static bool status_field(pid_t pid, const char *name, char *out, size_t cap)
{
	char path[64], line[256];
	size_t n = strlen(name);
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, name, n) != 0 || line[n] != ':')
			continue;
		snprintf(out, cap, "%s", line + n + 1 + strspn(line + n + 1, " \t"));
		out[strcspn(out, "\n")] = '\0';
		found = true;
	}
	fclose(f);
	return found;
}

/* A numeric field of /proc/PID/status, or -1 when absent. */
static long status_num(pid_t pid, const char *name)
{
	char v[64];

	return status_field(pid, name, v, sizeof(v)) ? strtol(v, NULL, 10) : -1;
}

/*
 * Starts `vioport rng` with the extra options, and makes one request of it:
 * the daemon serves only after it entered its sandbox, so from then on its
 * status shows it.
 */
static void start_and_serve(struct it_proc *p, const char *tag, const char *o1, const char *o2)
{
	char *argv[] = {T.bin, "rng",	    "--socket-path", p->sock,
			"-v",  (char *) o1, (char *) o2,     NULL};
	struct vio_vu_fe_params params = {.features = VIO_BIT(VIO_F_VERSION_1)};
	char sock[64], log[64];
	uint32_t len = 0;
	void *tok = NULL;
	struct vio_buf b;
	uint64_t gpa;
	int r;

	snprintf(sock, sizeof(sock), "%s.sock", tag);
	snprintf(log, sizeof(log), "%s.log", tag);
	assert_int_equal(it_path(p->sock, T.dir, sock), 0);
	assert_int_equal(it_path(p->log, T.dir, log), 0);
	if (it_start(p, argv, 10000) < 0)
		fail_msg("the daemon did not start");
	r = vio_vu_fe_start(&fe, p->sock, &params);
	if (r != 0)
		fail_msg("start: %d (%s)", r, vio_vu_fe_error(&fe));
	assert_non_null(vio_vu_fe_alloc(&fe, 64, 64, &gpa));
	b = (struct vio_buf){gpa, 64};
	assert_int_equal(vio_vu_fe_add(&fe, 0, NULL, 0, &b, 1, &fe), 0);
	assert_true(vio_vu_fe_kick(&fe, 0) >= 0);
	assert_int_equal(vio_vu_fe_wait_used(&fe, 0, &tok, &len, WAIT_MS), 1);
	assert_int_equal(len, 64);
}

/* Stops the daemon: it must end cleanly on SIGTERM, without a sanitizer report. */
static void stop_clean(struct it_proc *p)
{
	bool san = false;
	int st;

	vio_vu_fe_close(&fe);
	st = it_stop(p, WAIT_MS, &san);
	if (san || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		it_print_log(p->log, 40);
		fail_msg("daemon wait status %#x after SIGTERM%s", st,
			 san ? ", with a sanitizer report" : "");
	}
}

/* Whether the daemon's log has a line containing s. */
static bool log_has(const struct it_proc *p, const char *s)
{
	char line[512];
	bool found = false;
	FILE *f = fopen(p->log, "r");

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL)
		found = strstr(line, s) != NULL;
	fclose(f);
	return found;
}

static void sandbox_on_by_default(void **state)
{
	struct it_proc p = {0};
	long own = status_num(getpid(), "Seccomp_filters");

	(void) state;
	if (T.skip != NULL) {
		print_message("# %s\n", T.skip);
		skip();
	}
	start_and_serve(&p, "on", NULL, NULL);
	assert_int_equal(status_num(p.pid, "NoNewPrivs"), 1);
	assert_int_equal(status_num(p.pid, "Seccomp"), 2);
	/* Its own filter, not only one inherited from whatever runs the tests. */
	if (own >= 0)
		assert_int_equal(status_num(p.pid, "Seccomp_filters"), own + 1);
	assert_true(log_has(&p, "sandbox on: no_new_privs, seccomp allowlist"));
	/* A frontend reconnects: accepting and mapping anew are on the list. */
	vio_vu_fe_close(&fe);
	{
		struct vio_vu_fe_params params = {.features = VIO_BIT(VIO_F_VERSION_1)};

		assert_int_equal(vio_vu_fe_start(&fe, p.sock, &params), 0);
	}
	stop_clean(&p);
	assert_false(log_has(&p, "outside the allowlist"));
}

static void sandbox_off(void **state)
{
	struct it_proc p = {0};

	(void) state;
	if (T.skip != NULL) {
		print_message("# %s\n", T.skip);
		skip();
	}
	start_and_serve(&p, "off", "--sandbox", "off");
	assert_int_equal(status_num(p.pid, "NoNewPrivs"), status_num(getpid(), "NoNewPrivs"));
	assert_int_equal(status_num(p.pid, "Seccomp"), status_num(getpid(), "Seccomp"));
	assert_true(log_has(&p, "sandbox off"));
	stop_clean(&p);
}

/* The same from a configuration file: options before the first section are the process's. */
static void sandbox_off_in_config(void **state)
{
	struct it_proc p = {0};
	char conf[IT_PATH];
	FILE *f;

	(void) state;
	if (T.skip != NULL) {
		print_message("# %s\n", T.skip);
		skip();
	}
	assert_int_equal(it_path(conf, T.dir, "off.conf"), 0);
	f = fopen(conf, "w");
	assert_non_null(f);
	fputs("# no sandbox, for debugging\nsandbox = off\n", f);
	assert_int_equal(fclose(f), 0);
	start_and_serve(&p, "conf", "--config", conf);
	assert_int_equal(status_num(p.pid, "Seccomp"), status_num(getpid(), "Seccomp"));
	assert_true(log_has(&p, "sandbox off"));
	stop_clean(&p);
}

static void sandbox_user_nobody(void **state)
{
	struct passwd *pw;
	struct it_proc p = {0};
	char want[64], v[128];
	unsigned uid, gid;

	(void) state;
	if (T.skip != NULL) {
		print_message("# %s\n", T.skip);
		skip();
	}
	if (geteuid() != 0) {
		print_message("# --user needs root to start the daemon: case skipped\n");
		skip();
	}
	pw = getpwnam("nobody");
	if (pw == NULL) {
		print_message("# no user 'nobody': case skipped\n");
		skip();
	}
	uid = (unsigned) pw->pw_uid;
	gid = (unsigned) pw->pw_gid;
	start_and_serve(&p, "user", "--user", "nobody");
	/* Real, effective, saved and file system ids, all nobody's; no groups. */
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", uid, uid, uid, uid);
	assert_true(status_field(p.pid, "Uid", v, sizeof(v)));
	assert_string_equal(v, want);
	snprintf(want, sizeof(want), "%u\t%u\t%u\t%u", gid, gid, gid, gid);
	assert_true(status_field(p.pid, "Gid", v, sizeof(v)));
	assert_string_equal(v, want);
	assert_true(status_field(p.pid, "Groups", v, sizeof(v)));
	assert_string_equal(v, "");
	/* No capability left to regain anything with. */
	assert_true(status_field(p.pid, "CapEff", v, sizeof(v)));
	assert_string_equal(v, "0000000000000000");
	assert_true(status_field(p.pid, "CapPrm", v, sizeof(v)));
	assert_string_equal(v, "0000000000000000");
	assert_int_equal(status_num(p.pid, "Seccomp"), 2);
	stop_clean(&p);
}

/* Runs the daemon with argv until it exits by itself; returns its exit status. */
static int run_to_exit(char *const argv[], const char *tag)
{
	struct it_proc p = {0};
	char log[64];
	int st;

	snprintf(log, sizeof(log), "%s.log", tag);
	assert_int_equal(it_path(p.log, T.dir, log), 0);
	assert_int_equal(it_spawn(&p, argv, -1, -1), 0);
	st = it_wait_exit(&p, 10000);
	if (st < 0 || !WIFEXITED(st))
		fail_msg("the daemon did not exit by itself (%#x)", st);
	return WEXITSTATUS(st);
}

static void sandbox_usage_errors(void **state)
{
	char sock[IT_PATH];

	(void) state;
	if (T.skip != NULL) {
		print_message("# %s\n", T.skip);
		skip();
	}
	assert_int_equal(it_path(sock, T.dir, "usage.sock"), 0);
	{
		char *argv[] = {T.bin, "rng", "--socket-path", sock, "--sandbox", "maybe", NULL};

		assert_int_equal(run_to_exit(argv, "usage-mode"), 2);
	}
	{
		char *argv[] = {T.bin, "rng", "--socket-path", sock, "--user", "no-such-user-vp",
				NULL};

		assert_int_equal(run_to_exit(argv, "usage-user"), 2);
	}
	{
		char *argv[] = {T.bin, "rng", "--socket-path", sock, "--user", "root", NULL};

		assert_int_equal(run_to_exit(argv, "usage-root"), 2);
	}
	assert_int_equal(access(sock, F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(sandbox_on_by_default), cmocka_unit_test(sandbox_off),
	    cmocka_unit_test(sandbox_off_in_config), cmocka_unit_test(sandbox_user_nobody),
	    cmocka_unit_test(sandbox_usage_errors),
	};

	return cmocka_run_group_tests_name("vioport's sandbox", tests, group_setup, group_teardown);
}
