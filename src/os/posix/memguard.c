/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guard of shared mappings a peer can shrink: the SIGBUS handler and its
 * table. See include/vioport/internal/memguard.h and docs/memory-faults.md.
 *
 * The handler may interrupt any code, add and remove included, so it takes
 * no lock and calls only system calls (mmap, write, sigaction, raise). A slot
 * goes FREE -> BUSY (being filled) -> LIVE -> DEAD (being removed) -> FREE.
 * The handler counts itself in a slot's users before it trusts the slot
 * and looks again at its state; remove marks the slot DEAD and waits for its
 * users to leave, so a slot is never refilled under a handler that reads it.
 * Every shared field is atomic; sequentially consistent order throughout,
 * which costs nothing that matters: the handler runs once per fault, and add
 * and remove once per mapping.
 */
#include "vioport/internal/memguard.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { SLOT_FREE, SLOT_BUSY, SLOT_LIVE, SLOT_DEAD };

struct slot {
	atomic_int state;
	atomic_int users; /* handlers looking at this slot */
	atomic_uintptr_t start;
	atomic_size_t len;
	atomic_uintptr_t owner;
	atomic_int notify_fd;
	atomic_uintptr_t fault_addr; /* 0 until the first fault */
	atomic_int whole;	     /* the whole mapping is zero memory now */
};

static struct slot slots[VIO_MEMGUARD_MAX];
static atomic_uint used;      /* slots [0, used) have been filled at least once */
static atomic_uint live;      /* guarded mappings */
static uintptr_t page_mask;   /* set before the handler is installed */
static struct sigaction prev; /* the handler before ours: chained to */
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;

/* Replaces the slot's mapping (or at least addr's page) with zero memory; false if impossible. */
static bool cure(struct slot *s, uintptr_t addr)
{
	uintptr_t start = atomic_load(&s->start);
	size_t len = atomic_load(&s->len);
	int prot = PROT_READ | PROT_WRITE;
	int flags = MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	uint64_t one = 1;
	int fd;

	/* a fault raised before another thread's cure: the retry finds zero memory */
	if (atomic_load(&s->whole))
		return true;
	/* One mapping in place of one: no new VMA, no split, nothing to account in most setups. */
	if (mmap((void *) start, len, prot, flags, -1, 0) != MAP_FAILED)
		atomic_store(&s->whole, 1);
	else if (mmap((void *) (addr & page_mask), ~page_mask + 1, prot, flags, -1, 0) ==
		 MAP_FAILED)
		return false;
	{
		uintptr_t none = 0;

		atomic_compare_exchange_strong(&s->fault_addr, &none, addr);
	}
	fd = atomic_load(&s->notify_fd);
	if (fd >= 0)
		(void) !write(fd, &one, sizeof(one));
	return true;
}

/* Finds the guarded mapping holding addr and cures it; false when addr is not guarded. */
static bool guard_fault(uintptr_t addr)
{
	unsigned n = atomic_load(&used);

	for (unsigned i = 0; i < n; i++) {
		struct slot *s = &slots[i];
		bool mine, ok = false;

		if (atomic_load(&s->state) != SLOT_LIVE)
			continue;
		atomic_fetch_add(&s->users, 1);
		mine = atomic_load(&s->state) == SLOT_LIVE &&
		       addr - atomic_load(&s->start) < atomic_load(&s->len);
		if (mine)
			ok = cure(s, addr);
		atomic_fetch_sub(&s->users, 1);
		if (mine)
			return ok;
	}
	return false;
}

/* Not ours: what would have happened without the guard. */
static void chain(int sig, siginfo_t *si, void *uc)
{
	if ((prev.sa_flags & SA_SIGINFO) && prev.sa_sigaction != NULL) {
		prev.sa_sigaction(sig, si, uc);
		return;
	}
	if (prev.sa_handler != SIG_DFL && prev.sa_handler != SIG_IGN) {
		prev.sa_handler(sig);
		return;
	}
	if (prev.sa_handler == SIG_IGN && si->si_code <= 0)
		return; /* sent, and ignored before the guard came */
	{
		struct sigaction dfl;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigemptyset(&dfl.sa_mask);
		sigaction(sig, &dfl, NULL);
	}
	/* a fault repeats when the access does; a sent signal must be sent again */
	if (si->si_code <= 0)
		raise(sig);
}

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	int saved = errno;

	/* si_code > 0: the kernel raised it for an access; kill() and friends give <= 0 */
	if (si->si_code > 0 && guard_fault((uintptr_t) si->si_addr)) {
		errno = saved;
		return;
	}
	chain(sig, si, uc);
	errno = saved;
}

/* With reg_lock held. */
static int install_locked(void)
{
	struct sigaction sa, cur;
	long page = sysconf(_SC_PAGESIZE);

	if (sigaction(SIGBUS, NULL, &cur) < 0)
		return -errno;
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_sigbus)
		return 0;
	page_mask = ~((uintptr_t) (page > 0 ? page : 4096) - 1);
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	/* whatever was there before becomes the handler bus errors not ours go to */
	prev = cur;
	return sigaction(SIGBUS, &sa, NULL) < 0 ? -errno : 0;
}

int vio_memguard_install(void)
{
	int rc;

	pthread_mutex_lock(&reg_lock);
	rc = install_locked();
	pthread_mutex_unlock(&reg_lock);
	return rc;
}

static bool overlaps(uintptr_t a, size_t alen, uintptr_t b, size_t blen)
{
	return a < b + blen && b < a + alen;
}

int vio_memguard_add(void *map, size_t len, const void *owner, int notify_fd)
{
	uintptr_t start = (uintptr_t) map;
	unsigned n, free_slot = VIO_MEMGUARD_MAX;
	struct slot *s;
	int rc;

	if (len == 0 || owner == NULL || start + len < start)
		return -EINVAL;
	pthread_mutex_lock(&reg_lock);
	rc = install_locked();
	if (rc < 0) {
		pthread_mutex_unlock(&reg_lock);
		return rc;
	}
	n = atomic_load(&used);
	for (unsigned i = 0; i < n; i++) {
		s = &slots[i];
		if (atomic_load(&s->state) == SLOT_FREE) {
			if (free_slot == VIO_MEMGUARD_MAX)
				free_slot = i;
		} else if (overlaps(start, len, atomic_load(&s->start), atomic_load(&s->len))) {
			pthread_mutex_unlock(&reg_lock);
			return -EEXIST;
		}
	}
	if (free_slot == VIO_MEMGUARD_MAX && n < VIO_MEMGUARD_MAX)
		free_slot = n;
	if (free_slot == VIO_MEMGUARD_MAX) {
		pthread_mutex_unlock(&reg_lock);
		return -ENOSPC;
	}
	s = &slots[free_slot];
	atomic_store(&s->state, SLOT_BUSY);
	atomic_store(&s->start, start);
	atomic_store(&s->len, len);
	atomic_store(&s->owner, (uintptr_t) owner);
	atomic_store(&s->notify_fd, notify_fd);
	atomic_store(&s->fault_addr, 0);
	atomic_store(&s->whole, 0);
	if (free_slot == n)
		atomic_store(&used, n + 1);
	atomic_store(&s->state, SLOT_LIVE);
	atomic_fetch_add(&live, 1);
	pthread_mutex_unlock(&reg_lock);
	return 0;
}

void vio_memguard_remove(void *map)
{
	unsigned n;

	pthread_mutex_lock(&reg_lock);
	n = atomic_load(&used);
	for (unsigned i = 0; i < n; i++) {
		struct slot *s = &slots[i];

		if (atomic_load(&s->state) != SLOT_LIVE ||
		    atomic_load(&s->start) != (uintptr_t) map)
			continue;
		atomic_store(&s->state, SLOT_DEAD);
		/* a handler inside finishes one mmap and one write: a short wait */
		while (atomic_load(&s->users) != 0)
			sched_yield();
		atomic_store(&s->start, 0);
		atomic_store(&s->len, 0);
		atomic_store(&s->owner, 0);
		atomic_store(&s->notify_fd, -1);
		atomic_store(&s->state, SLOT_FREE);
		atomic_fetch_sub(&live, 1);
		break;
	}
	pthread_mutex_unlock(&reg_lock);
}

bool vio_memguard_faulted(const void *owner, struct vio_memguard_fault *f)
{
	bool found = false;
	unsigned n;

	pthread_mutex_lock(&reg_lock);
	n = atomic_load(&used);
	for (unsigned i = 0; i < n && !found; i++) {
		struct slot *s = &slots[i];
		uintptr_t addr = atomic_load(&s->fault_addr);

		if (atomic_load(&s->state) != SLOT_LIVE || addr == 0 ||
		    atomic_load(&s->owner) != (uintptr_t) owner)
			continue;
		found = true;
		if (f != NULL) {
			f->map = (void *) atomic_load(&s->start);
			f->len = atomic_load(&s->len);
			f->addr = addr;
		}
	}
	pthread_mutex_unlock(&reg_lock);
	return found;
}

unsigned vio_memguard_count(void)
{
	return atomic_load(&live);
}
