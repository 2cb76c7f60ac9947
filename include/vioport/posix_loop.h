/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Event loop for the POSIX layer: file descriptor watches, timers, work posted
 * from other threads, and a stop that is safe from any thread and from a
 * signal handler. Linux implementation: epoll, timerfd and eventfd.
 *
 * No allocation (but for the optional ring's state) and no global state: the
 * loop, each watch, timer and work item live in caller storage, and several loops may run in one
 * process (one per thread). A callback may add, change or remove any watch of its own loop, itself
 * included; a removed watch is never called again, not even for events already collected in the
 * same round.
 *
 * Adaptive polling (vio_loop_set_poll): before it sleeps, the loop may spin
 * over its pollers, sources whose work it can see without a system call (a
 * virtqueue's avail ring, an io_uring completion ring), with their
 * notifications suppressed. A poll that finds work grows the time the loop
 * spins, up to the bound; a spin that finds nothing shrinks it, down to zero,
 * so an idle loop or one that shares its CPU gives the CPU back. Before it
 * sleeps the loop turns every poller's notifications back on, and each
 * poller takes what arrived meanwhile, so nothing waits for a wake-up that
 * will not come.
 *
 * Waiting in an io_uring (vio_loop_enable_ring, Linux with liburing): the
 * loop then sleeps in io_uring_enter instead of epoll_wait. The epoll
 * descriptor itself is watched by a poll request on the ring, and the counter
 * watches (vio_loop_add_counter: eventfds such as a virtqueue's kick) by a
 * read request each, so a kick wakes the loop with its counter already read:
 * one system call where epoll took two (epoll_wait, read), and the read is
 * re-armed by the next wait's own io_uring_enter. Where io_uring is missing
 * or refused the loop stays on epoll and counter watches are plain watches.
 *
 * Ring clients (struct vio_loop_ring_client) put operations of their own on
 * that ring (a disk's I/O for the queue the loop serves), so the loop's wait
 * also sends them and their completions wake this loop: one io_uring per
 * thread for kicks and I/O alike.
 *
 * Threading: one thread runs a loop. Watches and timers are added, changed and
 * removed on that thread, or while the loop is not running. vio_loop_post()
 * and vio_loop_stop() may be called from any thread; vio_loop_stop() also from
 * a signal handler.
 */
#ifndef VIOPORT_LOOP_H
#define VIOPORT_LOOP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Events a watch asks for and receives. */
#define VIO_LOOP_IN  1u /* readable */
#define VIO_LOOP_OUT 2u /* writable */
#define VIO_LOOP_ERR 4u /* error condition; reported whether asked for or not */
#define VIO_LOOP_HUP 8u /* peer hung up; reported whether asked for or not */
/* Counter watches on a ring: the loop read the counter itself, its value is in w->count. */
#define VIO_LOOP_READ 16u

/* Events collected per wait; more pending events wait for the next round. */
#define VIO_LOOP_BATCH 32

/* While polling finds work, descriptors are still looked at at least this often. */
#define VIO_LOOP_POLL_EPOLL_NS 20000u

struct vio_loop;
struct vio_loop_ring; /* the optional io_uring wait's state, src/os/posix/loop.c */
struct io_uring_sqe;
struct vio_loop_ring_client;

/*
 * An operation a client queues on a loop's ring (vio_loop_ring_sqe). Caller
 * storage, at least 4-byte aligned: its address is the submission's user data.
 */
struct vio_loop_ring_op {
	struct vio_loop_ring_client *client;
	int32_t res; /* the completion's result, set before client->complete */
};

/*
 * A user of a loop's ring other than the loop itself: a disk that submits its
 * I/O to the ring its queue's kicks wait in, so a wait also sends the I/O and
 * a completion wakes the same thread. Caller storage; fields are the loop's.
 *
 * complete runs for each of the client's completions as the loop (or
 * vio_loop_ring_reap) takes it from the ring, possibly nested in another
 * callback of the loop: it only records the result (it may queue more
 * operations). flush runs at the loop's top level, with no callback of the
 * loop active, once after a batch of the client's completions was taken: the
 * place to finish them under the client's own locks.
 */
struct vio_loop_ring_client {
	void (*complete)(struct vio_loop_ring_client *c, struct vio_loop_ring_op *op);
	void (*flush)(struct vio_loop_ring_client *c);
	void *ctx;
	struct vio_loop *loop; /* NULL while not added */
	struct vio_loop_ring_client *next_dirty;
	bool dirty; /* completions were taken since the last flush */
};

/* A file descriptor the loop watches. Caller storage; fields are the loop's. */
struct vio_loop_watch {
	int fd;
	uint32_t events;
	void (*cb)(struct vio_loop_watch *w, uint32_t revents);
	void *ctx;	       /* for the callback */
	struct vio_loop *loop; /* NULL while not added */
	uint64_t count;	       /* counter watches on a ring: the value read (VIO_LOOP_READ) */
	unsigned ring_slot;    /* counter watches on a ring: its slot + 1; 0: on epoll */
};

/* A one-shot or periodic timer (a timerfd). Caller storage. */
struct vio_loop_timer {
	struct vio_loop_watch w;
	void (*cb)(struct vio_loop_timer *t);
	void *ctx;
};

/* A function to run on the loop's thread, posted from anywhere. Caller storage. */
struct vio_loop_work {
	void (*fn)(void *arg);
	void *arg;
	struct vio_loop_work *next;
	bool queued;
};

/*
 * A source of work the loop polls between waits. Caller storage; fields are
 * the loop's. poll looks for work and does it, and says whether it found any
 * (it made progress); it may skip a look it cannot make now (a lock held
 * elsewhere). notify (may be NULL) turns the source's notifications off
 * (false) while the loop spins, or back on (true) before it sleeps: then it
 * must itself do the work that arrived before the source saw the change (no
 * notification will come for it), without skipping, and return true if it
 * did any.
 */
struct vio_loop_poller {
	bool (*poll)(struct vio_loop_poller *p);
	bool (*notify)(struct vio_loop_poller *p, bool on);
	void *ctx;
	struct vio_loop_poller *next;
	struct vio_loop *loop; /* NULL while not added */
};

/* Polling counters of a loop, for benchmarks and tests. */
struct vio_loop_poll_stats {
	uint64_t rounds;    /* spins started */
	uint64_t found;	    /* spins that found work */
	uint64_t fruitless; /* spins that ended without work: the loop slept after them */
	uint64_t sleeps;    /* waits that could block */
};

struct vio_loop {
	int epfd;
	int wakefd;
	atomic_int stop; /* lock-free, so a signal handler may set it */
	struct vio_loop_watch wake;
	pthread_mutex_t post_lock;
	struct vio_loop_work *post_head;
	struct vio_loop_work *post_tail;
	/* the round being dispatched; removal clears entries here */
	struct vio_loop_watch *round[VIO_LOOP_BATCH];
	uint32_t round_ev[VIO_LOOP_BATCH];
	unsigned round_n;
	unsigned round_i;
	/* adaptive polling */
	struct vio_loop_poller *pollers;
	unsigned poll_gen;     /* changes when a poller is added or removed */
	bool poll_quiet;       /* the pollers' notifications are off */
	uint64_t poll_max_ns;  /* bound of one spin; 0: no polling */
	uint64_t poll_ns;      /* the current spin */
	uint64_t last_wait_ns; /* when epoll was last asked */
	bool poll_probe;       /* the spin was grown by a wake-up, not by finding work */
	unsigned poll_backoff; /* wake-up growths that found nothing, in a row */
	unsigned poll_skip;    /* wake-ups to let pass before growing again */
	struct vio_loop_poll_stats poll_stats;
	struct vio_loop_ring *ring; /* NULL: the loop waits in epoll */
};

/* Creates the loop's epoll and wake descriptors; 0 or a negative errno. */
int vio_loop_init(struct vio_loop *loop);

/* Releases the loop. Watches still added are forgotten; their descriptors stay open. */
void vio_loop_fini(struct vio_loop *loop);

/*
 * Watches fd for events (VIO_LOOP_IN / VIO_LOOP_OUT); cb runs on the loop
 * thread with what fired. Returns 0, -EBUSY if w is already added, or the
 * epoll error (-EPERM for a descriptor epoll cannot watch, such as a file).
 */
int vio_loop_add(struct vio_loop *loop, struct vio_loop_watch *w, int fd, uint32_t events,
		 void (*cb)(struct vio_loop_watch *w, uint32_t revents), void *ctx);

/*
 * Makes the loop wait in an io_uring of its own (see above). Returns 0, or a
 * negative errno when no ring can be had (-ENOSYS built without liburing, or
 * what io_uring_setup said: -ENOSYS, -EPERM under a seccomp filter or
 * kernel.io_uring_disabled, -ENOMEM): the loop then stays on epoll, which
 * serves the same watches. Call before adding counter watches, on the loop's
 * thread or while it is not running.
 */
int vio_loop_enable_ring(struct vio_loop *loop);

/* Says whether the loop waits in an io_uring. */
bool vio_loop_has_ring(const struct vio_loop *loop);

/*
 * Watches an eventfd-like counter fd for VIO_LOOP_IN. On a loop with a ring
 * the loop reads the counter itself and calls cb with VIO_LOOP_IN |
 * VIO_LOOP_READ and the value in w->count (VIO_LOOP_HUP when a read returned
 * 0, VIO_LOOP_ERR when it failed; after either the watch stays added but
 * silent). Without a ring, and when the ring's counter slots are all taken,
 * this is vio_loop_add(... VIO_LOOP_IN ...); whenever VIO_LOOP_READ is not
 * set cb reads the counter itself (an older kernel that will not wait in a
 * read of a non-blocking descriptor makes the ring poll it instead). Same
 * return values as vio_loop_add. vio_loop_modify does not apply to it.
 */
int vio_loop_add_counter(struct vio_loop *loop, struct vio_loop_watch *w, int fd,
			 void (*cb)(struct vio_loop_watch *w, uint32_t revents), void *ctx);

/* Changes the events an added watch asks for; 0 or a negative errno. */
int vio_loop_modify(struct vio_loop_watch *w, uint32_t events);

/* Stops watching; w may be freed or reused at once. Does nothing if w is not added. */
void vio_loop_remove(struct vio_loop_watch *w);

/* Prepares a timer; call once before the first vio_loop_timer_start. */
void vio_loop_timer_init(struct vio_loop_timer *t);

/*
 * Arms t to fire after first_ns nanoseconds (at least 1), then every
 * period_ns (0 for once). Re-arming a running timer moves it. Returns 0 or a
 * negative errno.
 */
int vio_loop_timer_start(struct vio_loop *loop, struct vio_loop_timer *t, uint64_t first_ns,
			 uint64_t period_ns, void (*cb)(struct vio_loop_timer *t), void *ctx);

/* Disarms t and releases its descriptor; safe on a timer that is not running. */
void vio_loop_timer_stop(struct vio_loop_timer *t);

/* Says whether t is armed. */
bool vio_loop_timer_running(const struct vio_loop_timer *t);

/*
 * Adds a ring client (see struct vio_loop_ring_client) to a loop that waits in
 * an io_uring. Returns 0, -EBUSY if c is already added, -ENOSYS when the loop
 * has no ring (the caller then uses a ring of its own). On the loop's thread or
 * while it is not running.
 */
int vio_loop_ring_client_add(struct vio_loop *loop, struct vio_loop_ring_client *c,
			     void (*complete)(struct vio_loop_ring_client *c,
					      struct vio_loop_ring_op *op),
			     void (*flush)(struct vio_loop_ring_client *c), void *ctx);

/*
 * Removes a client; it must have nothing in flight (its completions would be
 * taken for memory it gave back). Does nothing if c is not added.
 */
void vio_loop_ring_client_remove(struct vio_loop_ring_client *c);

/*
 * A submission entry on c's loop's ring for op, its user data set (the
 * caller must not change it), or NULL when the ring has no room even after
 * sending what is queued. On the loop's thread only: the ring has one
 * producer. The entry goes to the kernel with the loop's next wait, or with
 * vio_loop_ring_submit.
 */
struct io_uring_sqe *vio_loop_ring_sqe(struct vio_loop_ring_client *c, struct vio_loop_ring_op *op);

/*
 * Registers fd with the loop's ring (the kernel then skips a file lookup per
 * operation: set IOSQE_FIXED_FILE and give the index as the descriptor).
 * Returns the index, or -ENOSYS (no ring, or a kernel without sparse file
 * tables), -ENOSPC, or the kernel's error. From any thread, but one at a time
 * for a loop. vio_loop_ring_file_release gives the index back once no
 * operation uses it; the ring's end releases every file.
 */
int vio_loop_ring_file(struct vio_loop *loop, int fd);
void vio_loop_ring_file_release(struct vio_loop *loop, int index);

/* Sends what is queued on the loop's ring now; on its thread. Returns the count or -errno. */
int vio_loop_ring_submit(struct vio_loop *loop);

/*
 * Takes what the loop's ring completed without waiting, on its thread, also
 * from inside one of its callbacks: clients' completions go to their complete
 * (flush follows at the loop's top level), the loop's own (kicks, the epoll
 * descriptor) wait for its dispatch. Returns the number of client completions.
 */
unsigned vio_loop_ring_reap(struct vio_loop *loop);

/*
 * Waits up to timeout_ms for a completion on the loop's ring, then reaps as
 * vio_loop_ring_reap; for a client that must see its operations finish before
 * it returns (a reset draining a disk). On the loop's thread.
 */
unsigned vio_loop_ring_wait(struct vio_loop *loop, int timeout_ms);

/* The loop the calling thread runs (its last vio_loop_run_once), or NULL. */
struct vio_loop *vio_loop_current(void);

/*
 * Bounds the loop's busy polling to max_us microseconds per spin (0: never
 * poll, sleep as soon as nothing is ready). On the loop's thread, or while it
 * is not running.
 */
void vio_loop_set_poll(struct vio_loop *loop, uint32_t max_us);

/*
 * Says whether the loop the calling thread runs (the last one it ran
 * vio_loop_run_once on) has concluded, from its adaptive polling, that its
 * sources' producer shares its CPU: a spin grown after a quick wake-up found
 * nothing, and none has found work since. Work that would wake the producer
 * early to let it run in parallel is better batched then. False without
 * polling, or on a thread that runs no loop.
 */
bool vio_loop_producer_shares_cpu(void);

/*
 * Adds a poller; poll and notify run on the loop thread. Same threading as
 * watches. Returns 0, -EBUSY if p is already added, -EINVAL without poll.
 */
int vio_loop_poller_add(struct vio_loop *loop, struct vio_loop_poller *p,
			bool (*poll)(struct vio_loop_poller *p),
			bool (*notify)(struct vio_loop_poller *p, bool on), void *ctx);

/*
 * Removes a poller without calling it; p may be freed at once. The caller
 * turns its source's notifications back on if it keeps the source. Does
 * nothing if p is not added.
 */
void vio_loop_poller_remove(struct vio_loop_poller *p);

/*
 * Runs fn(arg) on the loop thread soon; thread-safe. Posting a work item that
 * is still queued does nothing (it runs once), so a work item can stand for
 * "something changed, look again".
 */
void vio_loop_post(struct vio_loop *loop, struct vio_loop_work *work, void (*fn)(void *arg),
		   void *arg);

/*
 * Waits up to timeout_ms (-1 forever, 0 not at all) and dispatches one round
 * of events. A wait that could block polls first (see vio_loop_set_poll); a
 * poll that found work may take the round's place when epoll was asked less
 * than VIO_LOOP_POLL_EPOLL_NS ago. Returns the number of callbacks run (a
 * productive poll counts one) or a negative errno.
 */
int vio_loop_run_once(struct vio_loop *loop, int timeout_ms);

/*
 * Dispatches until vio_loop_stop(); returns 0 then, or a negative errno if
 * waiting failed. A stop requested before the call makes it return at once;
 * each stop ends one run.
 */
int vio_loop_run(struct vio_loop *loop);

/* Makes vio_loop_run return; thread-safe and async-signal-safe. */
void vio_loop_stop(struct vio_loop *loop);

#endif
