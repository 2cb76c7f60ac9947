/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Helpers of the integration tests: temporary directories, images, and
 * backend processes started, watched and stopped by PID. Every process
 * started here is killed when the test program ends, however it ends (exit,
 * fatal signal, or its parent dying: PR_SET_PDEATHSIG).
 */
#ifndef VIOPORT_ITEST_H
#define VIOPORT_ITEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IT_PATH 256

/* A backend process with its socket and log in a private temporary directory. */
struct it_proc {
	pid_t pid;
	char sock[IT_PATH];
	char log[IT_PATH];
};

/* Stops the daemon p and removes its directory dir; does nothing when dir is empty. */
void it_finish(struct it_proc *p, const char *dir);

/*
 * After a case: when no skip reason is set yet and the daemon has died, prints
 * the tail of its log, sets *skip for the cases left and returns -1; else 0.
 */
int it_daemon_lives(struct it_proc *p, const char **skip);

/* Milliseconds of CLOCK_MONOTONIC, for the tests' bounded waits. */
int64_t it_now_ms(void);

/* Creates a private directory under $TMPDIR (or /tmp); returns 0 or -errno. */
int it_tmpdir(char dir[IT_PATH], const char *tag);

/* Sets out to dir/name; -ENAMETOOLONG when it does not fit. */
int it_path(char out[IT_PATH], const char *dir, const char *name);

/* Removes the files of dir (one level) and dir itself. */
void it_rmtree(const char *dir);

/* Creates path with bytes bytes, every 512-byte sector filled with pattern(sector). */
int it_make_image(const char *path, uint64_t bytes);

/* The byte an image made by it_make_image holds at offset. */
uint8_t it_pattern(uint64_t offset);

/*
 * Starts argv (argv[0] a path) with stdout and stderr going to p->log and
 * waits up to timeout_ms for p->sock to accept connections. Returns 0, or
 * -errno with the process stopped (its log printed as TAP comments).
 */
int it_start(struct it_proc *p, char *const argv[], int timeout_ms);

/*
 * Starts argv like it_start but waits for nothing, handing pass_fd to the
 * child as descriptor as_fd (pass_fd < 0: none).
 */
int it_spawn(struct it_proc *p, char *const argv[], int pass_fd, int as_fd);

/* Whether the process still runs (false once it exited or was reaped). */
bool it_alive(struct it_proc *p);

/*
 * Stops the process: SIGTERM, then SIGKILL after timeout_ms. Returns its
 * wait status, or -1 when there was none to stop. The log is scanned for
 * sanitizer reports: *sanitizer (may be NULL) is set when one was found.
 */
int it_stop(struct it_proc *p, int timeout_ms, bool *sanitizer);

/*
 * Waits up to timeout_ms for the process to end by itself and returns its
 * wait status; when it is still running then, stops it and returns -1.
 */
int it_wait_exit(struct it_proc *p, int timeout_ms);

/* Prints the end of a log as TAP comments ("# ..."). */
void it_print_log(const char *log, int lines);

/* Open descriptors of a process, from /proc; -1 when unknown. */
int it_count_fds(pid_t pid);

/* In a cmocka case: skips it, printing the reason, when reason is not NULL. */
#define IT_SKIP_IF(reason)                                                                         \
	do {                                                                                       \
		if ((reason) != NULL) {                                                            \
			print_message("# %s\n", (reason));                                         \
			skip();                                                                    \
		}                                                                                  \
	} while (0)

/* The vioport daemon to test ($VIOPORT_BIN), or NULL when it is not an executable. */
const char *it_vioport_bin(void);

/* qemu-storage-daemon ($QSD_BIN, else found in PATH), or NULL when absent. */
const char *it_qsd_bin(void);

/*
 * Sends one command line to a daemon's control socket at path and reads the
 * one reply line (newline stripped) into reply. Returns 0, or -errno.
 */
int it_control(const char *path, const char *cmd, char *reply, size_t cap, int timeout_ms);

/*
 * In a cmocka case: sends cmd to the control socket at path and fails the
 * case unless the reply starts with "ok"; the rest of the reply (after "ok "
 * or "ok") goes to out (cap bytes; out may be NULL).
 */
void it_control_ok(const char *path, const char *cmd, char *out, size_t cap);

/*
 * In a cmocka case: stops the daemon p with SIGTERM and fails the case unless
 * it exited 0 within 5 s with no sanitizer report (its log is printed then);
 * *skip is set for the cases after it.
 */
void it_expect_clean_stop(struct it_proc *p, const char **skip);

/* Fills buf with a pattern derived from seed. */
void it_fill(void *buf, size_t len, uint32_t seed);

#endif
