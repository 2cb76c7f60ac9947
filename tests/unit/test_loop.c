/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * POSIX event loop: watches, removal inside a round, timers, work posted from
 * another thread, stop from another thread and from a signal handler, and
 * adaptive polling (notifications off while spinning, on with a re-check
 * before sleeping, the spin shrinking to zero when it finds nothing), each on
 * epoll and again on a loop that waits in an io_uring (where the kernel lets
 * the process have one), and counter watches on both.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h> /* after the headers it needs */

#if __has_include(<liburing.h>)
#include <liburing.h>
#define HAVE_URING 1
#else
#define HAVE_URING 0
#endif

#include "vioport/posix_loop.h"

static struct {
	struct vio_loop loop;
	struct vio_loop_watch w[2];
	struct vio_loop_timer t;
	struct vio_loop_work work;
	int efd[2];
	int hits[2];
	int timer_hits;
	int work_runs;
} F;

static int setup(void **state)
{
	(void) state;
	memset(&F, 0, sizeof(F));
	assert_int_equal(vio_loop_init(&F.loop), 0);
	for (int i = 0; i < 2; i++) {
		F.efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		assert_true(F.efd[i] >= 0);
	}
	return 0;
}

/* The same, on a loop that waits in an io_uring; on epoll where no ring can be had. */
static int setup_ring(void **state)
{
	int rc;

	setup(state);
	rc = vio_loop_enable_ring(&F.loop);
	if (rc < 0)
		print_message("no io_uring here (%s): this run is on epoll\n", strerror(-rc));
	assert_int_equal(vio_loop_has_ring(&F.loop), rc == 0);
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	vio_loop_timer_stop(&F.t);
	for (int i = 0; i < 2; i++) {
		vio_loop_remove(&F.w[i]);
		close(F.efd[i]);
	}
	vio_loop_fini(&F.loop);
	return 0;
}

static void signal_efd(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

static void drain_cb(struct vio_loop_watch *w, uint32_t revents)
{
	uint64_t v;
	int i = (int) (w - F.w);

	assert_true(revents & VIO_LOOP_IN);
	assert_int_equal(read(w->fd, &v, sizeof(v)), sizeof(v));
	F.hits[i]++;
}

/* Removes the other watch: it must not be called, even though its event is in this round. */
static void remove_other_cb(struct vio_loop_watch *w, uint32_t revents)
{
	int i = (int) (w - F.w);

	drain_cb(w, revents);
	vio_loop_remove(&F.w[1 - i]);
}

static void test_watch_fires(void **state)
{
	(void) state;
	assert_int_equal(vio_loop_add(&F.loop, &F.w[0], F.efd[0], VIO_LOOP_IN, drain_cb, NULL), 0);
	assert_int_equal(vio_loop_add(&F.loop, &F.w[0], F.efd[0], VIO_LOOP_IN, drain_cb, NULL),
			 -EBUSY);
	assert_int_equal(vio_loop_run_once(&F.loop, 0), 0);
	signal_efd(F.efd[0]);
	assert_int_equal(vio_loop_run_once(&F.loop, 1000), 1);
	assert_int_equal(F.hits[0], 1);
	/* modify to no events: no callback although readable */
	assert_int_equal(vio_loop_modify(&F.w[0], 0), 0);
	signal_efd(F.efd[0]);
	assert_int_equal(vio_loop_run_once(&F.loop, 0), 0);
	assert_int_equal(vio_loop_modify(&F.w[0], VIO_LOOP_IN), 0);
	assert_int_equal(vio_loop_run_once(&F.loop, 0), 1);
	assert_int_equal(F.hits[0], 2);
}

static void test_add_rejects_file(void **state)
{
	struct vio_loop_watch w = {0};
	int fd;

	(void) state;
	fd = open("/proc/self/stat", 0);
	assert_true(fd >= 0);
	assert_int_equal(vio_loop_add(&F.loop, &w, fd, VIO_LOOP_IN, drain_cb, NULL), -EPERM);
	assert_null(w.loop);
	close(fd);
	assert_int_equal(vio_loop_add(&F.loop, &w, -1, VIO_LOOP_IN, drain_cb, NULL), -EINVAL);
}

static void test_remove_in_round(void **state)
{
	(void) state;
	assert_int_equal(
	    vio_loop_add(&F.loop, &F.w[0], F.efd[0], VIO_LOOP_IN, remove_other_cb, NULL), 0);
	assert_int_equal(
	    vio_loop_add(&F.loop, &F.w[1], F.efd[1], VIO_LOOP_IN, remove_other_cb, NULL), 0);
	signal_efd(F.efd[0]);
	signal_efd(F.efd[1]);
	/* both are ready in one round; whichever runs first removes the other */
	assert_int_equal(vio_loop_run_once(&F.loop, 1000), 1);
	assert_int_equal(F.hits[0] + F.hits[1], 1);
	assert_int_equal(vio_loop_run_once(&F.loop, 0), 0);
}

static void timer_cb(struct vio_loop_timer *t)
{
	F.timer_hits++;
	if (F.timer_hits == 3)
		vio_loop_timer_stop(t);
}

static void test_timer(void **state)
{
	(void) state;
	vio_loop_timer_init(&F.t);
	assert_false(vio_loop_timer_running(&F.t));
	assert_int_equal(vio_loop_timer_start(&F.loop, &F.t, 1000000, 1000000, timer_cb, NULL), 0);
	assert_true(vio_loop_timer_running(&F.t));
	for (int i = 0; i < 100 && F.timer_hits < 3; i++)
		assert_true(vio_loop_run_once(&F.loop, 1000) >= 0);
	assert_int_equal(F.timer_hits, 3);
	assert_false(vio_loop_timer_running(&F.t));
	/* one-shot */
	assert_int_equal(vio_loop_timer_start(&F.loop, &F.t, 1000, 0, timer_cb, NULL), 0);
	assert_int_equal(vio_loop_run_once(&F.loop, 1000), 1);
	assert_int_equal(F.timer_hits, 4);
	assert_int_equal(vio_loop_run_once(&F.loop, 20), 0);
}

static void work_fn(void *arg)
{
	struct vio_loop *loop = arg;

	F.work_runs++;
	if (F.work_runs == 2)
		vio_loop_stop(loop);
}

static void *poster(void *arg)
{
	(void) arg;
	vio_loop_post(&F.loop, &F.work, work_fn, &F.loop);
	usleep(10000);
	vio_loop_post(&F.loop, &F.work, work_fn, &F.loop);
	return NULL;
}

static void test_post_and_stop_from_thread(void **state)
{
	pthread_t th;

	(void) state;
	assert_int_equal(pthread_create(&th, NULL, poster, NULL), 0);
	assert_int_equal(vio_loop_run(&F.loop), 0);
	pthread_join(th, NULL);
	assert_int_equal(F.work_runs, 2);
}

static void test_post_twice_runs_once(void **state)
{
	(void) state;
	vio_loop_post(&F.loop, &F.work, work_fn, &F.loop);
	vio_loop_post(&F.loop, &F.work, work_fn, &F.loop);
	assert_int_equal(vio_loop_run_once(&F.loop, 0), 1);
	assert_int_equal(F.work_runs, 1);
}

static struct vio_loop *sig_loop;

static void on_alarm(int sig)
{
	(void) sig;
	vio_loop_stop(sig_loop);
}

static void test_stop_from_signal(void **state)
{
	struct sigaction sa = {.sa_handler = on_alarm}, old;

	(void) state;
	sig_loop = &F.loop;
	sigaction(SIGALRM, &sa, &old);
	ualarm(20000, 0);
	assert_int_equal(vio_loop_run(&F.loop), 0);
	sigaction(SIGALRM, &old, NULL);
	/* a stop before run makes the run return at once, and is used up by it */
	vio_loop_stop(&F.loop);
	assert_int_equal(vio_loop_run(&F.loop), 0);
	assert_true(vio_loop_run_once(&F.loop, 0) >= 0);
}

/* A polled source: items the loop takes one per poll, and its notification state. */
static struct {
	struct vio_loop_poller p;
	int pending;
	int taken;
	bool notify_on;
	int notify_calls;
	int add_on_enable; /* items that "arrive" as notifications are turned back on */
	int hide;	   /* looks that find nothing before pending work shows */
} S;

static bool src_poll(struct vio_loop_poller *p)
{
	assert_ptr_equal(p, &S.p);
	if (S.pending == 0)
		return false;
	if (S.hide > 0) {
		S.hide--;
		return false;
	}
	S.pending--;
	S.taken++;
	return true;
}

static bool src_notify(struct vio_loop_poller *p, bool on)
{
	assert_ptr_equal(p->ctx, &S);
	S.notify_on = on;
	S.notify_calls++;
	if (on && S.add_on_enable > 0) {
		S.pending += S.add_on_enable;
		S.add_on_enable = 0;
	}
	/* turning notifications on takes what arrived before the change */
	return on && src_poll(p);
}

static void src_add(uint32_t max_us)
{
	memset(&S, 0, sizeof(S));
	S.notify_on = true;
	vio_loop_set_poll(&F.loop, max_us);
	assert_int_equal(vio_loop_poller_add(&F.loop, &S.p, src_poll, src_notify, &S), 0);
	assert_int_equal(vio_loop_poller_add(&F.loop, &S.p, src_poll, src_notify, &S), -EBUSY);
}

/* Work found by polling is done without a descriptor firing; kicks stay off meanwhile. */
static void test_poll_takes_work(void **state)
{
	(void) state;
	src_add(1000);
	S.pending = 3;
	for (int i = 1; i <= 3; i++) {
		assert_int_equal(vio_loop_run_once(&F.loop, 1000), 1);
		assert_int_equal(S.taken, i);
		assert_false(S.notify_on);
	}
	assert_true(F.loop.poll_ns > 0); /* finding work grew the spin */
	vio_loop_poller_remove(&S.p);
	vio_loop_poller_remove(&S.p); /* twice is harmless */
}

/* Nothing to find: the spin shrinks, notifications are back on, the loop sleeps. */
static void test_poll_sleeps_with_notify_on(void **state)
{
	uint64_t grown;

	(void) state;
	src_add(200);
	assert_int_equal(vio_loop_add(&F.loop, &F.w[0], F.efd[0], VIO_LOOP_IN, drain_cb, NULL), 0);
	S.pending = 4;
	for (int i = 0; i < 4; i++)
		assert_int_equal(vio_loop_run_once(&F.loop, 1000), 1);
	grown = F.loop.poll_ns;
	assert_true(grown > 0);
	/* the sleep ends on the descriptor, which is the only thing that can end it */
	signal_efd(F.efd[0]);
	assert_int_equal(vio_loop_run_once(&F.loop, 1000), 1);
	assert_int_equal(F.hits[0], 1);
	assert_true(S.notify_on);
	assert_true(F.loop.poll_ns < grown);
	/* fruitless spins shrink it to zero */
	for (int i = 0; i < 8 && F.loop.poll_ns > 0; i++) {
		signal_efd(F.efd[0]);
		assert_int_equal(vio_loop_run_once(&F.loop, 1000), 1);
	}
	assert_int_equal(F.loop.poll_ns, 0);
	assert_true(F.loop.poll_stats.fruitless > 0);
	assert_true(S.notify_on);
	vio_loop_poller_remove(&S.p);
}

/* Work that arrives as notifications come back on is taken before the loop would sleep. */
static void test_poll_rechecks_after_enable(void **state)
{
	(void) state;
	src_add(50);
	S.add_on_enable = 1;
	/* nothing else can wake the loop: sleeping would run into the 1 s timeout, return 0 */
	assert_int_equal(vio_loop_run_once(&F.loop, 1000), 1);
	assert_int_equal(S.taken, 1);
	vio_loop_poller_remove(&S.p);
}

static void *ask_other_thread(void *arg)
{
	*(bool *) arg = vio_loop_producer_shares_cpu();
	return NULL;
}

/*
 * A spin grown by a quick wake-up that finds nothing says the producer shares
 * the loop's CPU; a spin that finds work after its first look says the
 * opposite.
 */
static void test_poll_producer_shares_cpu(void **state)
{
	pthread_t t;
	bool other = true;

	(void) state;
	src_add(1000000); /* a 1 s bound: every wake-up here counts as quick */
	assert_int_equal(vio_loop_add(&F.loop, &F.w[0], F.efd[0], VIO_LOOP_IN, drain_cb, NULL), 0);
	signal_efd(F.efd[0]);
	assert_int_equal(vio_loop_run_once(&F.loop, 1000), 1); /* quick wake-up: spin grown */
	assert_false(vio_loop_producer_shares_cpu());
	signal_efd(F.efd[0]);
	assert_int_equal(vio_loop_run_once(&F.loop, 1000), 1); /* the grown spin found nothing */
	assert_true(vio_loop_producer_shares_cpu());
	assert_int_equal(pthread_create(&t, NULL, ask_other_thread, &other), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_false(other); /* that thread runs no loop */

	/* grow the spin by finding work at the first look (which proves nothing either way) */
	for (int i = 0; i < 24; i++) {
		S.pending = 1;
		assert_int_equal(vio_loop_run_once(&F.loop, 1000), 1);
	}
	assert_true(vio_loop_producer_shares_cpu());
	assert_int_equal(F.loop.poll_ns, 1000000000u);
	/* work that shows only at the second look: another CPU feeds the source */
	S.pending = 1;
	S.hide = 1;
	assert_int_equal(vio_loop_run_once(&F.loop, 1000), 1);
	assert_int_equal(S.taken, 25);
	assert_false(vio_loop_producer_shares_cpu());

	/* without polling the answer is no */
	vio_loop_set_poll(&F.loop, 0);
	assert_false(vio_loop_producer_shares_cpu());
	vio_loop_poller_remove(&S.p);
}

/* --poll-us 0: pollers are never called and their notifications stay on. */
static void test_poll_off(void **state)
{
	(void) state;
	src_add(0);
	S.pending = 1;
	assert_int_equal(vio_loop_add(&F.loop, &F.w[0], F.efd[0], VIO_LOOP_IN, drain_cb, NULL), 0);
	signal_efd(F.efd[0]);
	assert_int_equal(vio_loop_run_once(&F.loop, 1000), 1);
	assert_int_equal(S.taken, 0);
	assert_int_equal(S.notify_calls, 0);
	/* turning it off while notifications are suppressed turns them back on */
	vio_loop_set_poll(&F.loop, 100);
	assert_int_equal(vio_loop_run_once(&F.loop, 1000), 1);
	assert_false(S.notify_on);
	vio_loop_set_poll(&F.loop, 0);
	signal_efd(F.efd[0]);
	assert_int_equal(vio_loop_run_once(&F.loop, 1000), 1);
	assert_true(S.notify_on);
	vio_loop_poller_remove(&S.p);
}

/* A counter watch: the loop read the counter on a ring, the callback reads it on epoll. */
static uint32_t counter_ev[2];
static uint64_t counter_val[2];

static void counter_cb(struct vio_loop_watch *w, uint32_t revents)
{
	int i = (int) (w - F.w);

	counter_ev[i] |= revents;
	if (revents & VIO_LOOP_READ) {
		counter_val[i] += w->count;
	} else if (revents & VIO_LOOP_IN) {
		uint64_t v;

		assert_int_equal(read(w->fd, &v, sizeof(v)), sizeof(v));
		counter_val[i] += v;
	}
	if (revents & (VIO_LOOP_HUP | VIO_LOOP_ERR))
		vio_loop_remove(w);
	F.hits[i]++;
}

/* Runs rounds until hits[i] reaches n; bounded, with a clear message. */
static void run_until_hits(int i, int n)
{
	for (int round = 0; F.hits[i] < n; round++) {
		if (round == 20)
			fail_msg("watch %d: %d calls after 20 rounds, %d wanted", i, F.hits[i], n);
		assert_true(vio_loop_run_once(&F.loop, 500) >= 0);
	}
}

static void test_counter_fires(void **state)
{
	uint64_t five = 5;

	(void) state;
	memset(counter_ev, 0, sizeof(counter_ev));
	memset(counter_val, 0, sizeof(counter_val));
	assert_int_equal(vio_loop_add_counter(&F.loop, &F.w[0], F.efd[0], counter_cb, NULL), 0);
	assert_int_equal(vio_loop_add_counter(&F.loop, &F.w[0], F.efd[0], counter_cb, NULL),
			 -EBUSY);
	assert_int_equal(vio_loop_run_once(&F.loop, 0), 0);
	assert_int_equal(write(F.efd[0], &five, sizeof(five)), sizeof(five));
	run_until_hits(0, 1);
	assert_int_equal(counter_val[0], 5);
	assert_true(counter_ev[0] & VIO_LOOP_IN);
	/* on a ring the loop did the read; the callback did on epoll */
	assert_int_equal(!!(counter_ev[0] & VIO_LOOP_READ), vio_loop_has_ring(&F.loop));
	if (vio_loop_has_ring(&F.loop))
		assert_int_equal(vio_loop_modify(&F.w[0], 0), -EINVAL);
	/* armed again: a second kick is seen, and nothing fires without one */
	signal_efd(F.efd[0]);
	signal_efd(F.efd[0]);
	run_until_hits(0, 2);
	assert_int_equal(counter_val[0], 7);
	assert_int_equal(vio_loop_run_once(&F.loop, 0), 0);
	assert_int_equal(vio_loop_run_once(&F.loop, 10), 0);
	assert_int_equal(F.hits[0], 2);
}

/*
 * A counter watch removed with its read in flight, its descriptor closed and
 * a new watch added: only the new one is ever called.
 */
static void test_counter_remove_then_new(void **state)
{
	(void) state;
	assert_int_equal(vio_loop_add_counter(&F.loop, &F.w[0], F.efd[0], counter_cb, NULL), 0);
	assert_int_equal(vio_loop_run_once(&F.loop, 0), 0); /* its read is in the kernel */
	vio_loop_remove(&F.w[0]);
	assert_null(F.w[0].loop);
	close(F.efd[0]);
	F.efd[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(F.efd[0] >= 0);
	assert_int_equal(vio_loop_add_counter(&F.loop, &F.w[1], F.efd[1], counter_cb, NULL), 0);
	signal_efd(F.efd[1]);
	run_until_hits(1, 1);
	assert_int_equal(F.hits[0], 0);
	assert_int_equal(vio_loop_run_once(&F.loop, 10), 0);
	assert_int_equal(F.hits[0], 0);
	/* the removed watch can be added again, to the new descriptor */
	assert_int_equal(vio_loop_add_counter(&F.loop, &F.w[0], F.efd[0], counter_cb, NULL), 0);
	signal_efd(F.efd[0]);
	run_until_hits(0, 1);
	assert_int_equal(F.hits[1], 1);
}

/*
 * The same with the read not yet sent to the kernel when the watch leaves:
 * the new descriptor most likely gets the old one's number, and a read sent
 * late would swallow its counter.
 */
static void test_counter_remove_unsent(void **state)
{
	int old = F.efd[0];

	(void) state;
	assert_int_equal(vio_loop_add_counter(&F.loop, &F.w[0], F.efd[0], counter_cb, NULL), 0);
	vio_loop_remove(&F.w[0]);
	close(F.efd[0]);
	F.efd[0] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(F.efd[0] >= 0);
	if (F.efd[0] != old)
		print_message("the new eventfd got another number (%d, was %d)\n", F.efd[0], old);
	assert_int_equal(vio_loop_add_counter(&F.loop, &F.w[1], F.efd[0], counter_cb, NULL), 0);
	signal_efd(F.efd[0]);
	run_until_hits(1, 1);
	assert_int_equal(F.hits[0], 0);
	vio_loop_remove(&F.w[1]);
}

/*
 * A read in flight takes a kick, then its watch leaves and another descriptor
 * of the same eventfd is watched (vhost-user's SET_VRING_KICK may pass a
 * queue's eventfd again): the kick the old read took must still wake the new
 * watch, else the queue would wait for a kick that never comes again.
 */
static void test_counter_same_file_again(void **state)
{
	int again;

	(void) state;
	assert_int_equal(vio_loop_add_counter(&F.loop, &F.w[0], F.efd[0], counter_cb, NULL), 0);
	assert_true(vio_loop_run_once(&F.loop, 0) >= 0); /* the read goes to the kernel */
	signal_efd(F.efd[0]);				 /* and takes this kick */
	vio_loop_remove(&F.w[0]);
	again = dup(F.efd[0]);
	assert_true(again >= 0);
	assert_int_equal(vio_loop_add_counter(&F.loop, &F.w[1], again, counter_cb, NULL), 0);
	run_until_hits(1, 1);
	assert_int_equal(F.hits[0], 0);
	vio_loop_remove(&F.w[1]);
	close(again);
}

/* A counter that hits its end (a pipe whose writer closed) is reported once, then silent. */
static void test_counter_hangup(void **state)
{
	int p[2];

	(void) state;
	memset(counter_ev, 0, sizeof(counter_ev));
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(vio_loop_add_counter(&F.loop, &F.w[0], p[0], counter_cb, NULL), 0);
	close(p[1]);
	run_until_hits(0, 1);
	assert_true(counter_ev[0] & (VIO_LOOP_HUP | VIO_LOOP_ERR));
	assert_null(F.w[0].loop); /* the callback removed it */
	assert_int_equal(vio_loop_run_once(&F.loop, 10), 0);
	assert_int_equal(F.hits[0], 1);
	close(p[0]);
}

/* A counter and a plain watch in one loop: both fire, posted work too. */
static void test_counter_and_watch(void **state)
{
	(void) state;
	assert_int_equal(vio_loop_add_counter(&F.loop, &F.w[0], F.efd[0], counter_cb, NULL), 0);
	assert_int_equal(vio_loop_add(&F.loop, &F.w[1], F.efd[1], VIO_LOOP_IN, drain_cb, NULL), 0);
	signal_efd(F.efd[0]);
	signal_efd(F.efd[1]);
	run_until_hits(0, 1);
	run_until_hits(1, 1);
	vio_loop_post(&F.loop, &F.work, work_fn, &F.loop);
	for (int round = 0; F.work_runs == 0; round++) {
		assert_true(round < 100);
		assert_true(vio_loop_run_once(&F.loop, 2000) >= 0);
	}
	assert_int_equal(F.hits[0], 1);
	assert_int_equal(F.hits[1], 1);
}

/* ---- ring clients: other users of the loop's io_uring ---- */

static struct {
	struct vio_loop_ring_client c;
	struct vio_loop_ring_op op[4];
	int done[4];	   /* complete calls per op */
	int32_t res[4];	   /* their results */
	int flushes;	   /* flush calls */
	int flushes_in_cb; /* flushes seen while a loop callback ran */
	int reaped;	   /* what a nested reap returned */
	bool in_cb;
} RC;

static void rc_complete(struct vio_loop_ring_client *c, struct vio_loop_ring_op *op)
{
	int i = (int) (op - RC.op);

	assert_ptr_equal(c, &RC.c);
	assert_true(i >= 0 && i < 4);
	RC.done[i]++;
	RC.res[i] = op->res;
}

static void rc_flush(struct vio_loop_ring_client *c)
{
	assert_ptr_equal(c, &RC.c);
	RC.flushes++;
	if (RC.in_cb)
		RC.flushes_in_cb++;
}

#if HAVE_URING
/* Queues a no-op for RC.op[i], its result the kernel's 0. */
static void rc_nop(int i)
{
	struct io_uring_sqe *sqe = vio_loop_ring_sqe(&RC.c, &RC.op[i]);

	assert_non_null(sqe);
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data(sqe, &RC.op[i]);
}
#endif

/* Without a ring there is nothing to add to; the caller keeps its own ring. */
static void test_client_needs_ring(void **state)
{
	(void) state;
	memset(&RC, 0, sizeof(RC));
	assert_int_equal(vio_loop_ring_client_add(&F.loop, &RC.c, rc_complete, rc_flush, NULL),
			 -ENOSYS);
	assert_null(vio_loop_ring_sqe(&RC.c, &RC.op[0]));
	assert_int_equal(vio_loop_ring_reap(&F.loop), 0);
}

static int setup_client(void **state)
{
	setup_ring(state);
	memset(&RC, 0, sizeof(RC));
	if (!vio_loop_has_ring(&F.loop))
		return 0;
	assert_int_equal(vio_loop_ring_client_add(&F.loop, &RC.c, rc_complete, rc_flush, NULL), 0);
	assert_int_equal(vio_loop_ring_client_add(&F.loop, &RC.c, rc_complete, rc_flush, NULL),
			 -EBUSY);
	return 0;
}

static int teardown_client(void **state)
{
	vio_loop_ring_client_remove(&RC.c);
	return teardown(state);
}

/* Operations queued on the loop's ring go with its wait; one flush follows their completions. */
static void test_client_ops_complete(void **state)
{
	(void) state;
	if (!vio_loop_has_ring(&F.loop) || !HAVE_URING)
		skip();
#if HAVE_URING
	rc_nop(0);
	rc_nop(1);
	assert_int_equal(vio_loop_run_once(&F.loop, 1000), 1); /* the flush */
	assert_int_equal(RC.done[0], 1);
	assert_int_equal(RC.done[1], 1);
	assert_int_equal(RC.res[0], 0);
	assert_int_equal(RC.flushes, 1);
	/* nothing more: a wait that finds nothing flushes nothing */
	assert_int_equal(vio_loop_run_once(&F.loop, 0), 0);
	assert_int_equal(RC.flushes, 1);
	/* a misaligned operation is refused: its address would read as one of the loop's */
	assert_null(vio_loop_ring_sqe(&RC.c, (struct vio_loop_ring_op *) ((char *) &RC.op[2] + 1)));
#endif
}

#if HAVE_URING
/*
 * Inside a kick's callback: queue, send, reap. The client's completion is
 * taken at once, its flush waits for the loop's top level, and a kick the
 * reap took from the ring is dispatched in the same round.
 */
static void nested_cb(struct vio_loop_watch *w, uint32_t revents)
{
	(void) revents;
	RC.in_cb = true;
	F.hits[0]++;
	signal_efd(F.efd[1]); /* completes w[1]'s read on the ring now */
	rc_nop(0);
	assert_true(vio_loop_ring_submit(w->loop) >= 1);
	RC.reaped = (int) vio_loop_ring_reap(w->loop);
	RC.in_cb = false;
}
#endif

static void test_client_nested_reap(void **state)
{
	(void) state;
	if (!vio_loop_has_ring(&F.loop) || !HAVE_URING)
		skip();
#if HAVE_URING
	memset(counter_val, 0, sizeof(counter_val));
	assert_int_equal(vio_loop_add_counter(&F.loop, &F.w[0], F.efd[0], nested_cb, NULL), 0);
	assert_int_equal(vio_loop_add_counter(&F.loop, &F.w[1], F.efd[1], counter_cb, NULL), 0);
	assert_int_equal(vio_loop_run_once(&F.loop, 0), 0); /* both reads armed */
	signal_efd(F.efd[0]);
	for (int round = 0; F.hits[0] == 0; round++) {
		assert_true(round < 100);
		assert_true(vio_loop_run_once(&F.loop, 1000) >= 0);
	}
	assert_int_equal(RC.reaped, 1);
	assert_int_equal(RC.done[0], 1);
	assert_int_equal(RC.flushes_in_cb, 0);
	assert_int_equal(RC.flushes, 1); /* after the round, in the same run */
	assert_int_equal(F.hits[1], 1);	 /* w[1]'s kick, taken by the nested reap, same run */
	assert_int_equal(counter_val[1], 1);
#endif
}

/* A client removed with completions taken but not flushed is never flushed. */
static void test_client_remove_unflushed(void **state)
{
	(void) state;
	if (!vio_loop_has_ring(&F.loop) || !HAVE_URING)
		skip();
#if HAVE_URING
	rc_nop(0);
	assert_int_equal(vio_loop_ring_submit(&F.loop), 1);
	assert_int_equal(vio_loop_ring_wait(&F.loop, 1000), 1);
	assert_int_equal(RC.done[0], 1);
	vio_loop_ring_client_remove(&RC.c);
	assert_int_equal(vio_loop_run_once(&F.loop, 0), 0);
	assert_int_equal(RC.flushes, 0);
#endif
}

/* Files registered with the ring: indexes handed out and back, and a read through one. */
static void test_client_fixed_file(void **state)
{
	(void) state;
	if (!vio_loop_has_ring(&F.loop) || !HAVE_URING)
		skip();
#if HAVE_URING
	uint64_t buf = 0;
	int a = vio_loop_ring_file(&F.loop, F.efd[0]), b;
	struct io_uring_sqe *sqe;

	if (a == -ENOSYS) {
		print_message("no sparse file table here: skipped\n");
		skip();
	}
	assert_true(a >= 0);
	b = vio_loop_ring_file(&F.loop, F.efd[1]);
	assert_true(b >= 0 && b != a);
	vio_loop_ring_file_release(&F.loop, a);
	assert_int_equal(vio_loop_ring_file(&F.loop, F.efd[0]), a); /* the freed slot again */
	signal_efd(F.efd[1]);
	sqe = vio_loop_ring_sqe(&RC.c, &RC.op[0]);
	assert_non_null(sqe);
	io_uring_prep_read(sqe, b, &buf, sizeof(buf), 0);
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data(sqe, &RC.op[0]);
	assert_int_equal(vio_loop_run_once(&F.loop, 1000), 1);
	assert_int_equal(RC.res[0], (int32_t) sizeof(buf));
	assert_int_equal(buf, 1);
	vio_loop_ring_file_release(&F.loop, a);
	vio_loop_ring_file_release(&F.loop, b);
#endif
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_watch_fires, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_add_rejects_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_remove_in_round, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_post_and_stop_from_thread, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_post_twice_runs_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_from_signal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_poll_takes_work, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_poll_sleeps_with_notify_on, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_poll_rechecks_after_enable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_poll_off, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_poll_producer_shares_cpu, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_counter_fires, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_counter_remove_then_new, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_counter_remove_unsent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_counter_same_file_again, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_counter_hangup, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_counter_and_watch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_watch_fires, setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_add_rejects_file, setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_remove_in_round, setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_timer, setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_post_and_stop_from_thread, setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_post_twice_runs_once, setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_from_signal, setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_poll_takes_work, setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_poll_sleeps_with_notify_on, setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_poll_rechecks_after_enable, setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_poll_off, setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_poll_producer_shares_cpu, setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_counter_fires, setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_counter_remove_then_new, setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_counter_remove_unsent, setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_counter_same_file_again, setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_counter_hangup, setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_counter_and_watch, setup_ring, teardown),
	    cmocka_unit_test_setup_teardown(test_client_needs_ring, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_client_ops_complete, setup_client,
					    teardown_client),
	    cmocka_unit_test_setup_teardown(test_client_nested_reap, setup_client, teardown_client),
	    cmocka_unit_test_setup_teardown(test_client_remove_unflushed, setup_client,
					    teardown_client),
	    cmocka_unit_test_setup_teardown(test_client_fixed_file, setup_client, teardown_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
