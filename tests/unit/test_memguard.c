/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The guard of shared mappings (vioport/internal/memguard.h): a memfd truncated under
 * a guarded mapping reads as zeros instead of killing the process, on any
 * thread, and the owner learns of it through its eventfd and
 * vio_memguard_faulted; a bus error anywhere else (an unguarded or removed
 * mapping, a SIGBUS sent by kill) still ends the process, which the cases
 * check in a child. The table's own limits: overlap, bad arguments, full.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vioport/internal/memguard.h"

#define PAGES	 4
#define SURVIVED 42 /* a child's exit status when the access did not end it */

static long page;

/* A memfd of PAGES pages, each filled with its number plus 1, mapped shared. */
static uint8_t *map_memfd(int *fd)
{
	uint8_t *p;

	*fd = memfd_create("memguard-test", MFD_CLOEXEC);
	assert_true(*fd >= 0);
	assert_int_equal(ftruncate(*fd, PAGES * page), 0);
	p = mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	assert_true(p != MAP_FAILED);
	for (int i = 0; i < PAGES; i++)
		memset(p + i * page, i + 1, (size_t) page);
	return p;
}

/* Reads a byte the compiler cannot drop or move. */
static uint8_t touch(const uint8_t *p)
{
	return *(const volatile uint8_t *) p;
}

static uint64_t eventfd_count(int efd)
{
	struct pollfd pfd = {.fd = efd, .events = POLLIN};
	uint64_t n = 0;

	if (poll(&pfd, 1, 0) == 1)
		assert_int_equal(read(efd, &n, sizeof(n)), sizeof(n));
	return n;
}

static int owner_a, owner_b; /* cookies */

static void truncated_mapping_reads_zeros(void **state)
{
	struct vio_memguard_fault f;
	unsigned base = vio_memguard_count();
	int fd, efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint8_t *p = map_memfd(&fd);

	(void) state;
	assert_true(efd >= 0);
	assert_int_equal(vio_memguard_add(p, PAGES * page, &owner_a, efd), 0);
	assert_int_equal(vio_memguard_count(), base + 1);
	assert_false(vio_memguard_faulted(&owner_a, &f));
	assert_int_equal(touch(p + 3 * page), 4); /* nothing happens while the file is whole */
	assert_int_equal(eventfd_count(efd), 0);
	/* the peer shrinks the file to one page: the next access past it faults */
	assert_int_equal(ftruncate(fd, page), 0);
	assert_int_equal(touch(p + 3 * page + 5), 0);
	assert_true(vio_memguard_faulted(&owner_a, &f));
	assert_ptr_equal(f.map, p);
	assert_int_equal(f.len, PAGES * page);
	assert_true(f.addr == (uintptr_t) (p + 3 * page + 5));
	assert_false(vio_memguard_faulted(&owner_b, NULL));
	assert_int_equal(eventfd_count(efd), 1);
	/* the whole mapping is private zero memory now: writable, and no longer the file */
	p[2 * page] = 9;
	assert_int_equal(touch(p + 2 * page), 9);
	assert_int_equal(touch(p), 0);
	/* the first fault is the one reported */
	assert_true(vio_memguard_faulted(&owner_a, &f));
	assert_true(f.addr == (uintptr_t) (p + 3 * page + 5));
	vio_memguard_remove(p);
	assert_int_equal(vio_memguard_count(), base);
	assert_false(vio_memguard_faulted(&owner_a, NULL));
	munmap(p, PAGES * page);
	close(fd);
	close(efd);
}

struct toucher {
	const uint8_t *p;
	uint8_t got;
};

/* A thread with every other signal blocked, the way the server's queue threads run. */
static void *toucher_main(void *arg)
{
	struct toucher *t = arg;
	sigset_t all;

	sigfillset(&all);
	sigdelset(&all, SIGBUS);
	pthread_sigmask(SIG_SETMASK, &all, NULL);
	t->got = touch(t->p);
	return NULL;
}

static void fault_on_another_thread(void **state)
{
	struct vio_memguard_fault f;
	int fd;
	uint8_t *p = map_memfd(&fd);
	struct toucher t = {p + 2 * page, 0xaa};
	pthread_t th;

	(void) state;
	/* no eventfd: the flag alone tells */
	assert_int_equal(vio_memguard_add(p, PAGES * page, &owner_b, -1), 0);
	assert_int_equal(ftruncate(fd, 0), 0);
	assert_int_equal(pthread_create(&th, NULL, toucher_main, &t), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(t.got, 0);
	assert_true(vio_memguard_faulted(&owner_b, &f));
	assert_true(f.addr == (uintptr_t) (p + 2 * page));
	vio_memguard_remove(p);
	munmap(p, PAGES * page);
	close(fd);
}

/*
 * Runs fn in a child and says whether a bus error ended it: killed by
 * SIGBUS, or, under AddressSanitizer (whose handler the guard chains to),
 * ended by its report with a failure status.
 */
static bool child_dies_of_sigbus(void (*fn)(void))
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fn();
		_exit(SURVIVED);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st))
		return WTERMSIG(st) == SIGBUS;
#if defined(__SANITIZE_ADDRESS__)
	return WIFEXITED(st) && WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != SURVIVED;
#else
	return false;
#endif
}

static int efd_child = -1;

/*
 * A guarded mapping elsewhere, so the handler is installed and has a table
 * to search; over the default action, not over the test framework's handler
 * of the running case.
 */
static void guard_something(void)
{
	static uint8_t *q;
	int fd;

	signal(SIGBUS, SIG_DFL);
	q = map_memfd(&fd);
	efd_child = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vio_memguard_add(q, PAGES * page, &owner_a, efd_child) != 0)
		_exit(1);
}

static void unguarded_fault(void)
{
	int fd;
	uint8_t *p;

	guard_something();
	p = map_memfd(&fd);
	if (ftruncate(fd, 0) != 0)
		_exit(1);
	touch(p + page);
}

static void removed_fault(void)
{
	int fd;
	uint8_t *p;

	guard_something();
	p = map_memfd(&fd);
	if (vio_memguard_add(p, PAGES * page, &owner_b, -1) != 0)
		_exit(1);
	vio_memguard_remove(p);
	if (ftruncate(fd, 0) != 0)
		_exit(1);
	touch(p + page);
}

static void sent_sigbus(void)
{
	guard_something();
	raise(SIGBUS);
}

static void guarded_fault(void)
{
	int fd;
	uint8_t *p;

	guard_something();
	p = map_memfd(&fd);
	if (vio_memguard_add(p, PAGES * page, &owner_b, -1) != 0 || ftruncate(fd, 0) != 0)
		_exit(1);
	touch(p + page);
}

static void other_bus_errors_still_kill(void **state)
{
	(void) state;
	/* the control: a guarded mapping survives in a child too */
	assert_false(child_dies_of_sigbus(guarded_fault));
	assert_true(child_dies_of_sigbus(unguarded_fault));
	assert_true(child_dies_of_sigbus(removed_fault));
	assert_true(child_dies_of_sigbus(sent_sigbus));
}

static void table_limits(void **state)
{
	static uint8_t area[2 * 4096];
	unsigned base = vio_memguard_count(), added = 0;
	uintptr_t fake = (uintptr_t) 1 << 40; /* addresses only: nothing is touched */

	(void) state;
	assert_int_equal(vio_memguard_add(area, 0, &owner_a, -1), -EINVAL);
	assert_int_equal(vio_memguard_add(area, sizeof(area), NULL, -1), -EINVAL);
	assert_int_equal(vio_memguard_add((void *) (UINTPTR_MAX - 10), 100, &owner_a, -1), -EINVAL);
	assert_int_equal(vio_memguard_add(area, sizeof(area), &owner_a, -1), 0);
	assert_int_equal(vio_memguard_add(area + 4096, 1, &owner_a, -1), -EEXIST);
	assert_int_equal(vio_memguard_add(area + sizeof(area) - 1, 4096, &owner_b, -1), -EEXIST);
	vio_memguard_remove(area + 4096); /* not the start of a guarded mapping: nothing */
	assert_int_equal(vio_memguard_count(), base + 1);
	vio_memguard_remove(area);
	assert_int_equal(vio_memguard_count(), base);
	/* fill the table */
	while (vio_memguard_add((void *) (fake + added * 4096), 4096, &owner_b, -1) == 0)
		added++;
	assert_int_equal(added + base, VIO_MEMGUARD_MAX);
	assert_int_equal(vio_memguard_add((void *) (fake - 4096), 4096, &owner_b, -1), -ENOSPC);
	/* a freed slot is taken again */
	vio_memguard_remove((void *) (fake + 7 * 4096));
	assert_int_equal(vio_memguard_add((void *) (fake - 4096), 4096, &owner_b, -1), 0);
	vio_memguard_remove((void *) (fake - 4096));
	for (unsigned i = 0; i < added; i++)
		vio_memguard_remove((void *) (fake + i * 4096));
	assert_int_equal(vio_memguard_count(), base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(truncated_mapping_reads_zeros),
	    cmocka_unit_test(fault_on_another_thread),
	    cmocka_unit_test(other_bus_errors_still_kill),
	    cmocka_unit_test(table_limits),
	};

	page = sysconf(_SC_PAGESIZE);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
