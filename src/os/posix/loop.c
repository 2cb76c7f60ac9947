/* SPDX-License-Identifier: BSD-3-Clause */
/* Event loop on epoll: watches, timerfd timers, posted work, eventfd stop. */
#include "vioport/posix_loop.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#if VIO_HAVE_LIBURING
#include <liburing.h>
#include <sys/syscall.h>
#endif

/* The loop this thread runs, for vio_loop_producer_shares_cpu. */
static _Thread_local struct vio_loop *current_loop;

/* The first spin after a wake-up that polling would have caught. */
#define POLL_START_NS 2000u
/* Growing on wake-ups is tried at least once in 2^POLL_BACKOFF_SHIFT wake-ups. */
#define POLL_BACKOFF_SHIFT 8u

static uint32_t to_epoll(uint32_t ev)
{
	uint32_t e = 0;

	if (ev & VIO_LOOP_IN)
		e |= EPOLLIN;
	if (ev & VIO_LOOP_OUT)
		e |= EPOLLOUT;
	return e;
}

static uint32_t from_epoll(uint32_t e)
{
	uint32_t ev = 0;

	if (e & (EPOLLIN | EPOLLPRI))
		ev |= VIO_LOOP_IN;
	if (e & EPOLLOUT)
		ev |= VIO_LOOP_OUT;
	if (e & EPOLLERR)
		ev |= VIO_LOOP_ERR;
	if (e & (EPOLLHUP | EPOLLRDHUP))
		ev |= VIO_LOOP_HUP;
	return ev;
}

/* Runs the work items queued when called; ones posted meanwhile wait for the next wake. */
static void run_posted(struct vio_loop *loop)
{
	unsigned n = 0;

	pthread_mutex_lock(&loop->post_lock);
	for (struct vio_loop_work *w = loop->post_head; w != NULL; w = w->next)
		n++;
	pthread_mutex_unlock(&loop->post_lock);
	/* one at a time under the lock: a function may post its own item again */
	while (n-- > 0) {
		struct vio_loop_work *w;
		void (*fn)(void *arg) = NULL;
		void *arg = NULL;

		pthread_mutex_lock(&loop->post_lock);
		w = loop->post_head;
		if (w != NULL) {
			loop->post_head = w->next;
			if (loop->post_head == NULL)
				loop->post_tail = NULL;
			w->next = NULL;
			w->queued = false;
			/* read under the lock: once unqueued, a new post may rewrite them */
			fn = w->fn;
			arg = w->arg;
		}
		pthread_mutex_unlock(&loop->post_lock);
		if (fn == NULL)
			break;
		fn(arg);
	}
}

static void wake_cb(struct vio_loop_watch *w, uint32_t revents)
{
	struct vio_loop *loop = w->ctx;
	uint64_t v;

	(void) revents;
	while (read(loop->wakefd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
	run_posted(loop);
}

/* ---- waiting in an io_uring ---- */

#if VIO_HAVE_LIBURING
/* Counter watches one ring can read; further ones fall back to epoll. */
#define RING_SLOTS 64u
/* room for the counters' reads and a client's batches (a disk queue's requests) */
#define RING_DEPTH 256u
/* Files clients may register with the ring (a disk's two descriptors each). */
#define RING_FILES 32u
/*
 * Linux 6.15's opt-out of iowait accounting (IORING_FEAT_NO_IOWAIT,
 * IORING_ENTER_NO_IOWAIT), newer than the liburing the build may have.
 */
#define RING_FEAT_NO_IOWAIT  (1u << 17)
#define RING_ENTER_NO_IOWAIT (1u << 7)

/*
 * user_data: kind in the low byte, slot above it, the slot's generation in
 * the high half; or a client's operation (struct vio_loop_ring_op), whose
 * address has its two low bits clear where every kind has one set.
 */
#define UD_EPOLL     1u
#define UD_COUNTER   2u
#define UD_CANCEL    3u
#define UD_KIND_MASK 3u

struct ring_slot {
	struct vio_loop_watch *w; /* NULL: free (once its read came back) */
	uint32_t gen;		  /* changes when the watch leaves: late completions are dropped */
	bool inflight;		  /* a read is in the kernel; its buffer is busy */
	bool poll_mode; /* the kernel refused to wait in the read: poll, the callback reads */
	uint64_t buf;
};

struct vio_loop_ring {
	struct io_uring uring;
	bool epoll_armed;
	/*
	 * A read that outlived its watch took a counter: the descriptor may have
	 * been one of several for the same eventfd (vhost-user passes a queue's
	 * kick eventfd again on SET_VRING_KICK), so what it took may be a kick
	 * for a watch that is still here. Every counter watch is woken once.
	 */
	bool stale_count;
	/* the epoll poll completed while a client reaped: the next wait looks at epoll */
	bool epoll_pending;
	struct vio_loop_ring_client *dirty; /* clients with completions not flushed yet */
	bool files_ok;			    /* a sparse table of RING_FILES registered files */
	bool no_iowait;			    /* the kernel can wait without counting it as iowait */
	uint32_t files_used;		    /* its slots in use, one bit each */
	struct ring_slot slots[RING_SLOTS];
};

static uint64_t ud_make(unsigned kind, unsigned slot, uint32_t gen)
{
	return (uint64_t) gen << 32 | (uint64_t) slot << 8 | kind;
}

static struct io_uring_sqe *ring_sqe(struct vio_loop_ring *r)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->uring);

	if (sqe == NULL) {
		/* full: send what is queued (never blocks), then there is room */
		io_uring_submit(&r->uring);
		sqe = io_uring_get_sqe(&r->uring);
	}
	return sqe;
}

/* Queues the read of slot i's counter; sent by the next wait's io_uring_enter. */
static void ring_arm(struct vio_loop_ring *r, unsigned i)
{
	struct ring_slot *sl = &r->slots[i];
	struct io_uring_sqe *sqe = ring_sqe(r);

	if (sqe == NULL)
		return; /* cannot happen with RING_DEPTH > RING_SLOTS + 2 */
	if (sl->poll_mode)
		io_uring_prep_poll_add(sqe, sl->w->fd, POLLIN);
	else
		io_uring_prep_read(sqe, sl->w->fd, &sl->buf, sizeof(sl->buf), 0);
	io_uring_sqe_set_data64(sqe, ud_make(UD_COUNTER, i, sl->gen));
	sl->inflight = true;
}

int vio_loop_enable_ring(struct vio_loop *loop)
{
	struct vio_loop_ring *r;
	int rc;

	if (loop->ring != NULL)
		return 0;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	rc = io_uring_queue_init(RING_DEPTH, &r->uring, 0);
	if (rc < 0) {
		free(r);
		return rc;
	}
	/* registered files save a file lookup per request; a kernel before 5.19 has none */
	r->files_ok = io_uring_register_files_sparse(&r->uring, RING_FILES) == 0;
	r->no_iowait = (r->uring.features & RING_FEAT_NO_IOWAIT) != 0;
	loop->ring = r;
	return 0;
}

static void ring_free(struct vio_loop *loop)
{
	if (loop->ring == NULL)
		return;
	io_uring_queue_exit(&loop->ring->uring); /* cancels what is in flight */
	free(loop->ring);
	loop->ring = NULL;
}

int vio_loop_add_counter(struct vio_loop *loop, struct vio_loop_watch *w, int fd,
			 void (*cb)(struct vio_loop_watch *w, uint32_t revents), void *ctx)
{
	struct vio_loop_ring *r = loop->ring;
	unsigned i;

	if (w->loop != NULL)
		return -EBUSY;
	if (fd < 0 || cb == NULL)
		return -EINVAL;
	w->ring_slot = 0;
	if (r == NULL)
		return vio_loop_add(loop, w, fd, VIO_LOOP_IN, cb, ctx);
	for (i = 0; i < RING_SLOTS; i++)
		if (r->slots[i].w == NULL && !r->slots[i].inflight)
			break;
	if (i == RING_SLOTS)
		return vio_loop_add(loop, w, fd, VIO_LOOP_IN, cb, ctx);
	w->fd = fd;
	w->events = VIO_LOOP_IN;
	w->cb = cb;
	w->ctx = ctx;
	w->loop = loop;
	w->count = 0;
	w->ring_slot = i + 1;
	r->slots[i].w = w;
	r->slots[i].poll_mode = false;
	ring_arm(r, i);
	return 0;
}

/* A counter watch leaves its slot; its read in flight is cancelled and its completion dropped. */
static void ring_remove(struct vio_loop_watch *w)
{
	struct vio_loop_ring *r = w->loop->ring;
	struct ring_slot *sl = &r->slots[w->ring_slot - 1];

	if (sl->inflight) {
		struct io_uring_sqe *sqe = ring_sqe(r);

		if (sqe != NULL) {
			io_uring_prep_cancel64(sqe, ud_make(UD_COUNTER, w->ring_slot - 1, sl->gen),
					       0);
			io_uring_sqe_set_data64(sqe, UD_CANCEL);
		}
	}
	sl->w = NULL;
	sl->gen++;
	w->ring_slot = 0;
	/*
	 * Sent now, with a read still queued here: the caller may close the
	 * descriptor next, and a read issued later would go to whatever took its
	 * number (a new kick) and swallow that counter.
	 */
	io_uring_submit(&r->uring);
}

/* One completion: a counter watch that fired goes into the round; true for the epoll poll. */
static bool ring_cqe(struct vio_loop *loop, const struct io_uring_cqe *cqe)
{
	struct vio_loop_ring *r = loop->ring;
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	unsigned kind = (unsigned) (ud & 0xffu);
	unsigned i = (unsigned) (ud >> 8 & 0xffffffu);
	struct ring_slot *sl;
	struct vio_loop_watch *w;
	uint32_t ev;

	if ((ud & UD_KIND_MASK) == 0 && ud != 0) {
		struct vio_loop_ring_op *op = (struct vio_loop_ring_op *) (uintptr_t) ud;
		struct vio_loop_ring_client *c = op->client;

		op->res = cqe->res;
		c->complete(c, op);
		if (!c->dirty) {
			c->dirty = true;
			c->next_dirty = r->dirty;
			r->dirty = c;
		}
		return false;
	}
	if (kind == UD_EPOLL) {
		if (!(cqe->flags & IORING_CQE_F_MORE))
			r->epoll_armed = false;
		return true;
	}
	if (kind != UD_COUNTER || i >= RING_SLOTS)
		return false;
	sl = &r->slots[i];
	sl->inflight = false;
	w = sl->w;
	if (w == NULL || sl->gen != (uint32_t) (ud >> 32)) {
		/* the watch left meanwhile; what its read took is not lost (see stale_count) */
		if (!sl->poll_mode && cqe->res == (int) sizeof(sl->buf))
			r->stale_count = true;
		return false;
	}
	if (sl->poll_mode && cqe->res >= 0) {
		/* one-shot poll, armed again before the callback, which may remove the watch
		 * and which reads the counter itself: what it leaves fires again */
		ev = (cqe->res & POLLIN ? VIO_LOOP_IN : 0) |
		     (cqe->res & POLLERR ? VIO_LOOP_ERR : 0) |
		     (cqe->res & POLLHUP ? VIO_LOOP_HUP : 0);
		if (!(ev & (VIO_LOOP_ERR | VIO_LOOP_HUP)))
			ring_arm(r, i);
	} else if (!sl->poll_mode && cqe->res == (int) sizeof(sl->buf)) {
		w->count = sl->buf;
		ev = VIO_LOOP_IN | VIO_LOOP_READ;
		ring_arm(r, i); /* as above */
	} else if (cqe->res == -EINTR) {
		ring_arm(r, i);
		return false;
	} else if (cqe->res == -EAGAIN && !sl->poll_mode) {
		/* an older kernel does not wait in a read of a non-blocking descriptor */
		sl->poll_mode = true;
		ring_arm(r, i);
		return false;
	} else {
		ev = cqe->res == 0 ? VIO_LOOP_HUP : VIO_LOOP_ERR;
	}
	loop->round[loop->round_n] = w;
	loop->round_ev[loop->round_n] = ev;
	loop->round_n++;
	return false;
}

/*
 * After a stale read took a counter: each counter watch not in this round
 * yet fires as if its read had returned 0 (a spurious wake-up, which every
 * counter callback takes as a kick with nothing new). Watches that do not fit
 * in this round keep stale_count set for the next.
 */
static void ring_wake_all(struct vio_loop *loop)
{
	struct vio_loop_ring *r = loop->ring;

	for (unsigned i = 0; i < RING_SLOTS; i++) {
		struct vio_loop_watch *w = r->slots[i].w;
		bool queued = false;

		if (w == NULL || r->slots[i].poll_mode)
			continue;
		for (unsigned k = 0; k < loop->round_n && !queued; k++)
			queued = loop->round[k] == w;
		if (queued)
			continue;
		if (loop->round_n == VIO_LOOP_BATCH)
			return;
		w->count = 0;
		loop->round[loop->round_n] = w;
		loop->round_ev[loop->round_n] = VIO_LOOP_IN | VIO_LOOP_READ;
		loop->round_n++;
	}
	r->stale_count = false;
}

static unsigned ring_take(struct vio_loop *loop);

/* timeout_ms (at least 0) as io_uring takes a timeout. */
static struct __kernel_timespec ring_timespec(int timeout_ms)
{
	return (struct __kernel_timespec){.tv_sec = timeout_ms / 1000,
					  .tv_nsec = (long long) (timeout_ms % 1000) * 1000000};
}

/*
 * A blocking wait that the kernel does not count as iowait. Since Linux 6.5
 * a task waiting in io_uring_enter with requests of its own pending (here,
 * always: every kick's read is) shows as iowait, so an idle daemon would
 * read as a CPU 100 % in iowait in top and vmstat. Linux 6.15 lets the
 * waiter opt out; liburing's wait cannot pass the flag, so this is its
 * submit-and-wait: publish the queued entries (liburing's own SQ fields,
 * as its flush does), then one io_uring_enter with the timeout as an
 * extended argument.
 */
static int ring_wait_no_iowait(struct vio_loop_ring *r, int timeout_ms)
{
	struct io_uring_sq *sq = &r->uring.sq;
	unsigned tail = sq->sqe_tail;
	unsigned flags = IORING_ENTER_GETEVENTS | RING_ENTER_NO_IOWAIT;
	struct __kernel_timespec ts;
	struct io_uring_getevents_arg arg;
	const void *argp = NULL;
	size_t argsz = _NSIG / 8;
	long rc;

	if (sq->sqe_head != tail) {
		sq->sqe_head = tail;
		io_uring_smp_store_release(sq->ktail, tail);
	}
	if (timeout_ms >= 0) {
		ts = ring_timespec(timeout_ms);
		memset(&arg, 0, sizeof(arg));
		arg.ts = (uint64_t) (uintptr_t) &ts;
		flags |= IORING_ENTER_EXT_ARG;
		argp = &arg;
		argsz = sizeof(arg);
	}
	rc = syscall(__NR_io_uring_enter, r->uring.ring_fd, tail - *sq->khead, 1u, flags, argp,
		     argsz);
	return rc < 0 ? -errno : (int) rc;
}

/*
 * The ring's side of a wait: sends what is queued (reads to arm again, the
 * epoll poll) and waits up to timeout_ms for one completion in the same
 * io_uring_enter; collects the counters that fired into the round and says
 * whether the epoll descriptor is readable.
 */
static int ring_wait(struct vio_loop *loop, int timeout_ms, bool *epoll_ready)
{
	struct vio_loop_ring *r = loop->ring;
	struct io_uring_cqe *cqe;
	int rc = 0;

	*epoll_ready = r->epoll_pending;
	r->epoll_pending = false;
	if (*epoll_ready || loop->round_n > 0)
		timeout_ms = 0; /* a client's reap already took something to dispatch */
	if (!r->epoll_armed) {
		struct io_uring_sqe *sqe = ring_sqe(r);

		if (sqe == NULL)
			return -EBUSY;
		/* one-shot: armed again after each epoll round, so what a round left ready
		 * (level-triggered descriptors) is seen by the next */
		io_uring_prep_poll_add(sqe, loop->epfd, POLLIN);
		io_uring_sqe_set_data64(sqe, UD_EPOLL);
		r->epoll_armed = true;
	}
	if (timeout_ms == 0) {
		if (io_uring_sq_ready(&r->uring) > 0)
			rc = io_uring_submit(&r->uring);
	} else if (r->no_iowait && io_uring_cq_ready(&r->uring) == 0) {
		rc = ring_wait_no_iowait(r, timeout_ms);
	} else if (timeout_ms < 0) {
		rc = io_uring_submit_and_wait(&r->uring, 1);
	} else {
		struct __kernel_timespec ts = ring_timespec(timeout_ms);

		rc = io_uring_submit_and_wait_timeout(&r->uring, &cqe, 1, &ts, NULL);
	}
	if (rc < 0 && rc != -ETIME && rc != -EINTR && rc != -EAGAIN && rc != -EBUSY)
		return rc;
	ring_take(loop);
	if (r->epoll_pending)
		*epoll_ready = true;
	r->epoll_pending = false;
	if (r->stale_count)
		ring_wake_all(loop);
	return 0;
}

/* Takes what the ring holds while the round has room; the epoll poll is kept for the next wait. */
static unsigned ring_take(struct vio_loop *loop)
{
	struct vio_loop_ring *r = loop->ring;
	struct io_uring_cqe *cqe;
	unsigned n = 0;

	while (loop->round_n < VIO_LOOP_BATCH && io_uring_peek_cqe(&r->uring, &cqe) == 0) {
		uint64_t ud = io_uring_cqe_get_data64(cqe);

		if ((ud & UD_KIND_MASK) == 0 && ud != 0)
			n++;
		if (ring_cqe(loop, cqe))
			r->epoll_pending = true;
		io_uring_cqe_seen(&r->uring, cqe);
	}
	return n;
}

/* Flushes the clients whose completions were taken; at the loop's top level only. */
static bool ring_flush(struct vio_loop *loop)
{
	struct vio_loop_ring *r = loop->ring;
	bool any = false;

	while (r != NULL && r->dirty != NULL) {
		struct vio_loop_ring_client *c = r->dirty;

		r->dirty = c->next_dirty;
		c->next_dirty = NULL;
		c->dirty = false;
		c->flush(c);
		any = true;
	}
	return any;
}

/* The loop's own look at its ring while it spins: clients' completions, at the top level. */
static bool ring_poll(struct vio_loop *loop)
{
	struct vio_loop_ring *r = loop->ring;

	/* a kick's read may be what completed: it goes into the round, which runs next */
	unsigned n;

	if (r == NULL || io_uring_cq_ready(&r->uring) == 0)
		return ring_flush(loop);
	n = ring_take(loop);
	/* the epoll descriptor alone is no work found: the wait after the spin looks at it */
	return ring_flush(loop) || n > 0 || loop->round_n > 0;
}

int vio_loop_ring_client_add(struct vio_loop *loop, struct vio_loop_ring_client *c,
			     void (*complete)(struct vio_loop_ring_client *c,
					      struct vio_loop_ring_op *op),
			     void (*flush)(struct vio_loop_ring_client *c), void *ctx)
{
	if (c->loop != NULL)
		return -EBUSY;
	if (complete == NULL || flush == NULL)
		return -EINVAL;
	if (loop->ring == NULL)
		return -ENOSYS;
	c->complete = complete;
	c->flush = flush;
	c->ctx = ctx;
	c->loop = loop;
	c->next_dirty = NULL;
	c->dirty = false;
	return 0;
}

void vio_loop_ring_client_remove(struct vio_loop_ring_client *c)
{
	struct vio_loop_ring *r;

	if (c->loop == NULL)
		return;
	r = c->loop->ring;
	for (struct vio_loop_ring_client **pp = &r->dirty; *pp != NULL; pp = &(*pp)->next_dirty) {
		if (*pp == c) {
			*pp = c->next_dirty;
			break;
		}
	}
	c->next_dirty = NULL;
	c->dirty = false;
	c->loop = NULL;
}

struct io_uring_sqe *vio_loop_ring_sqe(struct vio_loop_ring_client *c, struct vio_loop_ring_op *op)
{
	struct io_uring_sqe *sqe;

	if (c->loop == NULL || ((uintptr_t) op & UD_KIND_MASK) != 0)
		return NULL;
	sqe = ring_sqe(c->loop->ring);
	if (sqe == NULL)
		return NULL;
	op->client = c;
	io_uring_sqe_set_data64(sqe, (uint64_t) (uintptr_t) op);
	return sqe;
}

int vio_loop_ring_file(struct vio_loop *loop, int fd)
{
	struct vio_loop_ring *r = loop->ring;

	if (r == NULL || !r->files_ok)
		return -ENOSYS;
	for (unsigned i = 0; i < RING_FILES; i++) {
		int rc;

		if (r->files_used & (1u << i))
			continue;
		rc = io_uring_register_files_update(&r->uring, i, &fd, 1);
		if (rc < 0)
			return rc;
		if (rc != 1)
			return -EIO;
		r->files_used |= 1u << i;
		return (int) i;
	}
	return -ENOSPC;
}

void vio_loop_ring_file_release(struct vio_loop *loop, int index)
{
	struct vio_loop_ring *r = loop->ring;
	int none = -1;

	if (r == NULL || index < 0 || (unsigned) index >= RING_FILES ||
	    !(r->files_used & (1u << index)))
		return;
	(void) io_uring_register_files_update(&r->uring, (unsigned) index, &none, 1);
	r->files_used &= ~(1u << index);
}

int vio_loop_ring_submit(struct vio_loop *loop)
{
	if (loop->ring == NULL)
		return -ENOSYS;
	if (io_uring_sq_ready(&loop->ring->uring) == 0)
		return 0;
	return io_uring_submit(&loop->ring->uring);
}

unsigned vio_loop_ring_reap(struct vio_loop *loop)
{
	if (loop->ring == NULL || io_uring_cq_ready(&loop->ring->uring) == 0)
		return 0;
	return ring_take(loop);
}

unsigned vio_loop_ring_wait(struct vio_loop *loop, int timeout_ms)
{
	struct vio_loop_ring *r = loop->ring;
	struct io_uring_cqe *cqe;

	if (r == NULL)
		return 0;
	if (io_uring_cq_ready(&r->uring) == 0) {
		struct __kernel_timespec ts = ring_timespec(timeout_ms);

		(void) io_uring_submit_and_wait_timeout(&r->uring, &cqe, 1, &ts, NULL);
	}
	return ring_take(loop);
}
#else
int vio_loop_enable_ring(struct vio_loop *loop)
{
	(void) loop;
	return -ENOSYS;
}

static bool ring_flush(struct vio_loop *loop)
{
	(void) loop;
	return false;
}

static bool ring_poll(struct vio_loop *loop)
{
	(void) loop;
	return false;
}

int vio_loop_ring_client_add(struct vio_loop *loop, struct vio_loop_ring_client *c,
			     void (*complete)(struct vio_loop_ring_client *c,
					      struct vio_loop_ring_op *op),
			     void (*flush)(struct vio_loop_ring_client *c), void *ctx)
{
	(void) loop;
	(void) c;
	(void) complete;
	(void) flush;
	(void) ctx;
	return -ENOSYS;
}

void vio_loop_ring_client_remove(struct vio_loop_ring_client *c)
{
	c->loop = NULL;
}

struct io_uring_sqe *vio_loop_ring_sqe(struct vio_loop_ring_client *c, struct vio_loop_ring_op *op)
{
	(void) c;
	(void) op;
	return NULL;
}

int vio_loop_ring_file(struct vio_loop *loop, int fd)
{
	(void) loop;
	(void) fd;
	return -ENOSYS;
}

void vio_loop_ring_file_release(struct vio_loop *loop, int index)
{
	(void) loop;
	(void) index;
}

int vio_loop_ring_submit(struct vio_loop *loop)
{
	(void) loop;
	return -ENOSYS;
}

unsigned vio_loop_ring_reap(struct vio_loop *loop)
{
	(void) loop;
	return 0;
}

unsigned vio_loop_ring_wait(struct vio_loop *loop, int timeout_ms)
{
	(void) loop;
	(void) timeout_ms;
	return 0;
}

static void ring_free(struct vio_loop *loop)
{
	(void) loop;
}

int vio_loop_add_counter(struct vio_loop *loop, struct vio_loop_watch *w, int fd,
			 void (*cb)(struct vio_loop_watch *w, uint32_t revents), void *ctx)
{
	if (w->loop == NULL)
		w->ring_slot = 0;
	return vio_loop_add(loop, w, fd, VIO_LOOP_IN, cb, ctx);
}

static void ring_remove(struct vio_loop_watch *w)
{
	w->ring_slot = 0;
}

static int ring_wait(struct vio_loop *loop, int timeout_ms, bool *epoll_ready)
{
	(void) loop;
	(void) timeout_ms;
	*epoll_ready = false;
	return -ENOSYS;
}
#endif

bool vio_loop_has_ring(const struct vio_loop *loop)
{
	return loop->ring != NULL;
}

int vio_loop_init(struct vio_loop *loop)
{
	int rc;

	memset(loop, 0, sizeof(*loop));
	loop->wakefd = -1;
	atomic_init(&loop->stop, 0);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0)
		return -errno;
	loop->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (loop->wakefd < 0) {
		rc = -errno;
		close(loop->epfd);
		return rc;
	}
	rc = pthread_mutex_init(&loop->post_lock, NULL);
	if (rc == 0)
		rc = vio_loop_add(loop, &loop->wake, loop->wakefd, VIO_LOOP_IN, wake_cb, loop);
	else
		rc = -rc;
	if (rc < 0) {
		close(loop->wakefd);
		close(loop->epfd);
	}
	return rc;
}

void vio_loop_fini(struct vio_loop *loop)
{
	if (loop->epfd < 0)
		return;
	ring_free(loop);
	close(loop->wakefd);
	close(loop->epfd);
	pthread_mutex_destroy(&loop->post_lock);
	loop->epfd = -1;
	loop->wakefd = -1;
}

int vio_loop_add(struct vio_loop *loop, struct vio_loop_watch *w, int fd, uint32_t events,
		 void (*cb)(struct vio_loop_watch *w, uint32_t revents), void *ctx)
{
	struct epoll_event ev = {.events = to_epoll(events), .data.ptr = w};

	if (w->loop != NULL)
		return -EBUSY;
	if (fd < 0 || cb == NULL)
		return -EINVAL;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
		return -errno;
	w->ring_slot = 0;
	w->fd = fd;
	w->events = events;
	w->cb = cb;
	w->ctx = ctx;
	w->loop = loop;
	return 0;
}

int vio_loop_modify(struct vio_loop_watch *w, uint32_t events)
{
	struct epoll_event ev = {.events = to_epoll(events), .data.ptr = w};

	if (w->loop == NULL || w->ring_slot != 0)
		return -EINVAL;
	if (epoll_ctl(w->loop->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0)
		return -errno;
	w->events = events;
	return 0;
}

void vio_loop_remove(struct vio_loop_watch *w)
{
	struct vio_loop *loop = w->loop;

	if (loop == NULL)
		return;
	if (w->ring_slot != 0)
		ring_remove(w);
	else /* the descriptor may be closed already, which removed it from the set */
		(void) epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	for (unsigned i = loop->round_i; i < loop->round_n; i++)
		if (loop->round[i] == w)
			loop->round[i] = NULL;
	w->loop = NULL;
}

void vio_loop_timer_init(struct vio_loop_timer *t)
{
	memset(t, 0, sizeof(*t));
	t->w.fd = -1;
}

static void timer_cb(struct vio_loop_watch *w, uint32_t revents)
{
	struct vio_loop_timer *t = w->ctx;
	uint64_t expirations;

	(void) revents;
	if (read(w->fd, &expirations, sizeof(expirations)) != (ssize_t) sizeof(expirations))
		return; /* nothing expired (moved meanwhile) */
	t->cb(t);
}

static struct timespec ns_to_ts(uint64_t ns)
{
	struct timespec ts = {.tv_sec = (time_t) (ns / 1000000000u),
			      .tv_nsec = (long) (ns % 1000000000u)};

	return ts;
}

int vio_loop_timer_start(struct vio_loop *loop, struct vio_loop_timer *t, uint64_t first_ns,
			 uint64_t period_ns, void (*cb)(struct vio_loop_timer *t), void *ctx)
{
	struct itimerspec its = {.it_value = ns_to_ts(first_ns ? first_ns : 1),
				 .it_interval = ns_to_ts(period_ns)};
	int rc;

	if (cb == NULL)
		return -EINVAL;
	if (t->w.loop != NULL && t->w.loop != loop)
		vio_loop_timer_stop(t);
	t->cb = cb;
	t->ctx = ctx;
	if (t->w.fd < 0) {
		t->w.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (t->w.fd < 0)
			return -errno;
	}
	if (t->w.loop == NULL) {
		rc = vio_loop_add(loop, &t->w, t->w.fd, VIO_LOOP_IN, timer_cb, t);
		if (rc < 0) {
			vio_loop_timer_stop(t);
			return rc;
		}
	}
	if (timerfd_settime(t->w.fd, 0, &its, NULL) < 0) {
		rc = -errno;
		vio_loop_timer_stop(t);
		return rc;
	}
	return 0;
}

void vio_loop_timer_stop(struct vio_loop_timer *t)
{
	vio_loop_remove(&t->w);
	if (t->w.fd >= 0)
		close(t->w.fd);
	t->w.fd = -1;
}

bool vio_loop_timer_running(const struct vio_loop_timer *t)
{
	return t->w.loop != NULL;
}

static void wake(struct vio_loop *loop)
{
	uint64_t one = 1;

	/* a full counter (EAGAIN) means a wake is pending already */
	while (write(loop->wakefd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

void vio_loop_post(struct vio_loop *loop, struct vio_loop_work *work, void (*fn)(void *arg),
		   void *arg)
{
	pthread_mutex_lock(&loop->post_lock);
	if (!work->queued) {
		work->fn = fn;
		work->arg = arg;
		work->next = NULL;
		work->queued = true;
		if (loop->post_tail != NULL)
			loop->post_tail->next = work;
		else
			loop->post_head = work;
		loop->post_tail = work;
	}
	pthread_mutex_unlock(&loop->post_lock);
	wake(loop);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

void vio_loop_set_poll(struct vio_loop *loop, uint32_t max_us)
{
	loop->poll_max_ns = (uint64_t) max_us * 1000u;
	if (loop->poll_ns > loop->poll_max_ns)
		loop->poll_ns = loop->poll_max_ns;
}

int vio_loop_poller_add(struct vio_loop *loop, struct vio_loop_poller *p,
			bool (*poll)(struct vio_loop_poller *p),
			bool (*notify)(struct vio_loop_poller *p, bool on), void *ctx)
{
	if (p->loop != NULL)
		return -EBUSY;
	if (poll == NULL)
		return -EINVAL;
	p->poll = poll;
	p->notify = notify;
	p->ctx = ctx;
	p->next = loop->pollers;
	p->loop = loop;
	loop->pollers = p;
	loop->poll_gen++;
	return 0;
}

void vio_loop_poller_remove(struct vio_loop_poller *p)
{
	struct vio_loop *loop = p->loop;

	if (loop == NULL)
		return;
	for (struct vio_loop_poller **pp = &loop->pollers; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	}
	p->next = NULL;
	p->loop = NULL;
	loop->poll_gen++;
}

/* One pass over the pollers; stops early when a poller changed the list. */
static bool poll_pass(struct vio_loop *loop)
{
	unsigned gen = loop->poll_gen;
	bool found = ring_poll(loop);

	for (struct vio_loop_poller *p = loop->pollers; p != NULL; p = p->next) {
		if (p->poll(p))
			found = true;
		if (loop->poll_gen != gen)
			break;
	}
	/* a poller may have reaped clients' completions nested (after a submission) */
	if (ring_flush(loop))
		found = true;
	return found;
}

/* Turns every poller's notifications on or off; true when turning on found work. */
static bool poll_notify(struct vio_loop *loop, bool on)
{
	unsigned gen = loop->poll_gen;
	bool more = false;

	loop->poll_quiet = !on;
	for (struct vio_loop_poller *p = loop->pollers; p != NULL; p = p->next) {
		if (p->notify != NULL && p->notify(p, on))
			more = true;
		if (loop->poll_gen != gen) {
			/* the list changed under us: start again, each call is idempotent */
			gen = loop->poll_gen;
			p = loop->pollers;
			if (p == NULL)
				break;
			if (p->notify != NULL && p->notify(p, on))
				more = true;
		}
	}
	return more;
}

static uint64_t poll_grow(const struct vio_loop *loop)
{
	uint64_t ns = loop->poll_ns ? loop->poll_ns * 2 : POLL_START_NS;

	return ns < loop->poll_max_ns ? ns : loop->poll_max_ns;
}

/*
 * Spins over the pollers for up to the current spin time with their
 * notifications off. Returns true when one found work (the spin grows),
 * false when the spin ran out (it shrinks, toward zero) and notifications are
 * back on with nothing waiting: the caller may sleep.
 *
 * A spin that finds work after its first pass proves another CPU feeds the
 * sources while the loop spins. A spin grown after a quick wake-up that then
 * finds nothing says the opposite (typically the producer shares this CPU and
 * cannot run while the loop spins): the loop then tries growing on wake-ups
 * exponentially less often, down to once in 2^POLL_BACKOFF_SHIFT wake-ups.
 */
static bool poll_spin(struct vio_loop *loop)
{
	bool first = true;
	uint64_t end;

	loop->poll_stats.rounds++;
	if (!loop->poll_quiet)
		poll_notify(loop, false);
	end = now_ns() + loop->poll_ns;
	do {
		if (poll_pass(loop)) {
			loop->poll_ns = poll_grow(loop);
			loop->poll_stats.found++;
			if (!first)
				loop->poll_backoff = 0;
			loop->poll_probe = false;
			return true;
		}
		first = false;
	} while (loop->poll_ns > 0 && now_ns() < end);
	loop->poll_stats.fruitless++;
	loop->poll_ns /= 4;
	if (loop->poll_ns < POLL_START_NS)
		loop->poll_ns = 0;
	if (loop->poll_probe) {
		loop->poll_probe = false;
		if (loop->poll_backoff < POLL_BACKOFF_SHIFT)
			loop->poll_backoff++;
		loop->poll_skip = 1u << loop->poll_backoff;
	}
	/* back on; each source takes what arrived before it saw the change */
	return poll_notify(loop, true);
}

/* After a wait: a wake-up a longer spin would have caught grows the spin, unless backing off. */
static void poll_woken(struct vio_loop *loop, uint64_t slept_ns)
{
	if (slept_ns + loop->poll_ns > loop->poll_max_ns)
		return;
	if (loop->poll_skip > 0) {
		loop->poll_skip--;
		return;
	}
	loop->poll_ns = poll_grow(loop);
	loop->poll_probe = true;
}

struct vio_loop *vio_loop_current(void)
{
	return current_loop;
}

bool vio_loop_producer_shares_cpu(void)
{
	const struct vio_loop *loop = current_loop;

	return loop != NULL && loop->poll_max_ns > 0 && loop->poll_backoff > 0;
}

int vio_loop_run_once(struct vio_loop *loop, int timeout_ms)
{
	struct epoll_event evs[VIO_LOOP_BATCH];
	bool polling = timeout_ms != 0 && loop->pollers != NULL && loop->poll_max_ns > 0;
	uint64_t before = 0;
	int n, ran = 0;

	current_loop = loop;
	if (polling) {
		if (poll_spin(loop)) {
			before = now_ns();
			/* descriptors were looked at a moment ago, and a reap left no kick waiting
			 */
			if (before - loop->last_wait_ns < VIO_LOOP_POLL_EPOLL_NS &&
			    loop->round_n == 0)
				return 1;
			timeout_ms = 0;
			polling = false;
			ran = 1;
		} else {
			loop->poll_stats.sleeps++;
			before = now_ns();
		}
	} else if (loop->poll_quiet) {
		/* polling was switched off while notifications were suppressed */
		poll_notify(loop, true);
	}
	/* the round may hold kicks a client's reap took from the ring (ring_take) */
	if (loop->ring != NULL) {
		bool epoll_ready;
		int rc = ring_wait(loop, timeout_ms, &epoll_ready);

		if (rc < 0) {
			loop->round_n = 0;
			return rc;
		}
		if (ring_flush(loop))
			ran++;
		n = 0;
		if (epoll_ready && loop->round_n < VIO_LOOP_BATCH) {
			n = epoll_wait(loop->epfd, evs, (int) (VIO_LOOP_BATCH - loop->round_n), 0);
			if (n < 0)
				n = 0; /* EINTR: the poll is armed again and fires again */
		}
	} else {
		n = epoll_wait(loop->epfd, evs, VIO_LOOP_BATCH, timeout_ms);
		if (n < 0)
			return errno == EINTR ? 0 : -errno;
	}
	if (loop->poll_max_ns > 0) {
		uint64_t now = now_ns();

		loop->last_wait_ns = now;
		if (polling && n + (int) loop->round_n > 0)
			poll_woken(loop, now - before);
	}
	for (int i = 0; i < n; i++) {
		loop->round[loop->round_n] = evs[i].data.ptr;
		loop->round_ev[loop->round_n] = from_epoll(evs[i].events);
		loop->round_n++;
	}
	for (loop->round_i = 0; loop->round_i < loop->round_n; loop->round_i++) {
		struct vio_loop_watch *w = loop->round[loop->round_i];

		if (w == NULL)
			continue; /* removed by an earlier callback of this round */
		w->cb(w, loop->round_ev[loop->round_i]);
		ran++;
	}
	loop->round_n = 0;
	loop->round_i = 0;
	if (ring_flush(loop)) /* what callbacks reaped nested */
		ran++;
	return ran;
}

int vio_loop_run(struct vio_loop *loop)
{
	int rc = 0;

	while (atomic_exchange(&loop->stop, 0) == 0) {
		rc = vio_loop_run_once(loop, -1);
		if (rc < 0)
			break;
		rc = 0;
	}
	return rc;
}

void vio_loop_stop(struct vio_loop *loop)
{
	atomic_store(&loop->stop, 1);
	wake(loop);
}
