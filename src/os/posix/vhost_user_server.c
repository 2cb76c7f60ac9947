/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user backend, POSIX glue: the unix socket (framing, SCM_RIGHTS), the
 * epoll loops and queue threads, the device lock, and the operating system
 * services the protocol engine (src/vhost_user) asks for: mmap of guest memory,
 * memfd for the inflight region, eventfd signals, closing descriptors.
 * Everything that decides something about a message is the engine's.
 *
 * The connection socket is non-blocking and a message is collected across as
 * many reads as it takes, so a frontend that stalls in the middle of a message
 * holds up nothing else on the loop. A header that is not version 1, a reply
 * where a request belongs, a payload larger than any request has, or more
 * descriptors than a message may carry cannot be resynchronised: the
 * connection ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vioport/internal/fdpass.h"
#include "vioport/internal/memguard.h"
#include "vioport/internal/unixsock.h"
#include "vioport/vhost_user.h"

/* A queue thread: its loop handles its queue's kicks. */
struct vio_vu_worker {
	struct vio_loop loop;
	pthread_t thread;
	bool loop_ready;
	bool running;
};

/* Messages handled per wake-up before other descriptors get a turn. */
#define MSGS_PER_WAKE 16

/* The engine formats every line, the glue's own too, so both read alike. */
#define srv_log(s, ...) vio_vu_engine_log(&(s)->eng, __VA_ARGS__)

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int wait_writable(int sock, int timeout_ms)
{
	struct pollfd p = {.fd = sock, .events = POLLOUT};
	int n;

	do
		n = poll(&p, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	return n > 0 ? 0 : -EAGAIN;
}

/* Sends header, payload and an optional descriptor; waits up to timeout_ms when full. */
static int op_send(void *ctx, int sock, const struct vio_vu_hdr *hdr, const void *payload, int fd,
		   int timeout_ms)
{
	union vio_fdpass_buf ctl;
	struct iovec iov[2] = {{(void *) hdr, sizeof(*hdr)}, {(void *) payload, hdr->size}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = hdr->size ? 2 : 1};

	(void) ctx;
	vio_fdpass_attach(&mh, &ctl, &fd, fd >= 0 ? 1 : 0);
	while (mh.msg_iovlen > 0) {
		ssize_t n = sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN && timeout_ms > 0 &&
			    wait_writable(sock, timeout_ms) == 0)
				continue;
			return -errno;
		}
		/* the descriptor went with the first bytes */
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
		while (mh.msg_iovlen > 0 && (size_t) n >= mh.msg_iov->iov_len) {
			n -= (ssize_t) mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen > 0) {
			mh.msg_iov->iov_base = (char *) mh.msg_iov->iov_base + n;
			mh.msg_iov->iov_len -= (size_t) n;
		}
	}
	return 0;
}

/* Hands the descriptors of one read to the engine; -EPROTO when there are too many. */
static int rx_take_fds(struct vio_vu_server *s, struct msghdr *mh)
{
	int rc = (mh->msg_flags & MSG_CTRUNC) ? -EPROTO : 0;

	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c != NULL; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (vio_vu_engine_rx_handle(&s->eng, fd) < 0)
				rc = -EPROTO;
		}
	}
	return rc;
}

/* Reads toward a whole message: 1 when one is complete, 0 for more later, < 0 to close. */
static int rx_fill(struct vio_vu_server *s)
{
	for (;;) {
		union {
			char buf[CMSG_SPACE(sizeof(int) * VIO_VU_MAX_FDS)];
			struct cmsghdr align;
		} ctl;
		struct iovec iov;
		struct msghdr mh = {.msg_iov = &iov,
				    .msg_iovlen = 1,
				    .msg_control = ctl.buf,
				    .msg_controllen = sizeof(ctl.buf)};
		ssize_t n;
		int rc;

		iov.iov_base = vio_vu_engine_rx_space(&s->eng, &iov.iov_len);
		n = recvmsg(s->conn_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n < 0)
			return errno == EINTR || errno == EAGAIN ? 0 : -errno;
		rc = rx_take_fds(s, &mh);
		if (rc < 0) {
			srv_log(s, VIO_LOG_WARN, "more than %u file descriptors in a message",
				VIO_VU_MAX_FDS);
			return rc;
		}
		if (n == 0)
			return -ECONNRESET;
		rc = vio_vu_engine_rx_done(&s->eng, (size_t) n);
		if (rc != 0)
			return rc;
	}
}

static void listen_cb(struct vio_loop_watch *w, uint32_t revents);

/* Accepts connections or not; one frontend at a time, the next waits in the backlog. */
static int arm_listen(struct vio_vu_server *s, bool on)
{
	int rc;

	if (s->listen_fd < 0 || s->listen_armed == on)
		return 0;
	if (on) {
		rc = vio_loop_add(s->cfg.loop, &s->listen_w, s->listen_fd, VIO_LOOP_IN, listen_cb,
				  s);
		if (rc < 0) {
			srv_log(s, VIO_LOG_ERR, "cannot watch the listening socket: %s",
				strerror(-rc));
			return rc;
		}
	} else {
		vio_loop_remove(&s->listen_w);
	}
	s->listen_armed = on;
	return 0;
}

/* Ends the connection: device reset, memory unmapped, every descriptor closed. */
static void conn_close(struct vio_vu_server *s, bool tell)
{
	if (s->conn_fd < 0)
		return;
	vio_loop_remove(&s->conn_w);
	close_fd(&s->conn_fd);
	pthread_mutex_lock(&s->lock);
	vio_vu_engine_disconnect(&s->eng);
	pthread_mutex_unlock(&s->lock);
	arm_listen(s, true);
	srv_log(s, VIO_LOG_INFO, "frontend disconnected");
	if (tell && s->cfg.disconnected != NULL)
		s->cfg.disconnected(s->cfg.ctx, s->listen_fd >= 0);
}

static void conn_cb(struct vio_loop_watch *w, uint32_t revents)
{
	struct vio_vu_server *s = w->ctx;

	(void) revents;
	for (int i = 0; i < MSGS_PER_WAKE; i++) {
		struct vio_vu_msg m;
		int rc = rx_fill(s);

		if (rc == 0)
			return;
		if (rc < 0) {
			if (rc != -ECONNRESET)
				srv_log(s, VIO_LOG_WARN, "connection: %s", strerror(-rc));
			conn_close(s, true);
			return;
		}
		vio_vu_engine_rx_take(&s->eng, &m);
		pthread_mutex_lock(&s->lock);
		rc = vio_vu_engine_handle(&s->eng, &m);
		pthread_mutex_unlock(&s->lock);
		if (rc < 0) {
			srv_log(s, VIO_LOG_WARN, "ending the connection after request %u",
				m.hdr.request);
			conn_close(s, true);
			return;
		}
	}
}

static int set_flags(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0 || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
		return -errno;
	return 0;
}

static int conn_open(struct vio_vu_server *s, int fd)
{
	int rc = set_flags(fd);

	if (rc == 0)
		rc = vio_loop_add(s->cfg.loop, &s->conn_w, fd, VIO_LOOP_IN, conn_cb, s);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	s->conn_fd = fd;
	pthread_mutex_lock(&s->lock);
	vio_vu_engine_connect(&s->eng, fd);
	pthread_mutex_unlock(&s->lock);
	arm_listen(s, false);
	srv_log(s, VIO_LOG_INFO, "frontend connected");
	return 0;
}

static void listen_cb(struct vio_loop_watch *w, uint32_t revents)
{
	struct vio_vu_server *s = w->ctx;
	int fd;

	(void) revents;
	fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			srv_log(s, VIO_LOG_ERR, "accept: %s", strerror(errno));
		return;
	}
	if (s->conn_fd >= 0) {
		close(fd); /* one frontend at a time */
		return;
	}
	if (conn_open(s, fd) < 0)
		srv_log(s, VIO_LOG_ERR, "cannot serve the new connection");
}

static void *worker_main(void *arg)
{
	struct vio_vu_worker *w = arg;

	vio_loop_run(&w->loop);
	return NULL;
}

/*
 * Starts the queue threads with every signal blocked, signals being the
 * application's, except the ones an access raises on the thread that made
 * it: the kernel ends the process on a blocked one, and SIGBUS on guest
 * memory is for the guard (memguard.h) to handle.
 */
static int start_workers(struct vio_vu_server *s)
{
	sigset_t all, old;
	int rc = 0;

	s->workers = calloc(s->nq, sizeof(*s->workers));
	if (s->workers == NULL)
		return -ENOMEM;
	sigfillset(&all);
	/* Synchronous faults stay deliverable: the memory guard recovers from SIGBUS, and a
	 * thread that blocks one is killed by the kernel whatever the handler. Except SIGSYS
	 * too: a sandbox's report of a refused system call, which the kernel would turn into
	 * a silent kill in a thread that blocks it. */
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGSYS);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (uint16_t q = 0; q < s->nq && rc == 0; q++) {
		struct vio_vu_worker *w = &s->workers[q];

		rc = vio_loop_init(&w->loop);
		if (rc < 0)
			break;
		w->loop_ready = true;
		/* kicks and the wait in one io_uring where the kernel has one; epoll otherwise */
		(void) vio_loop_enable_ring(&w->loop);
		if (s->cfg.poll)
			vio_loop_set_poll(&w->loop, s->cfg.poll_us);
		rc = -pthread_create(&w->thread, NULL, worker_main, w);
		w->running = rc == 0;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static void stop_workers(struct vio_vu_server *s)
{
	if (s->workers == NULL)
		return;
	for (uint16_t q = 0; q < s->nq; q++) {
		struct vio_vu_worker *w = &s->workers[q];

		if (w->running) {
			vio_loop_stop(&w->loop);
			pthread_join(w->thread, NULL);
			w->running = false;
		}
	}
}

static void free_workers(struct vio_vu_server *s)
{
	if (s->workers == NULL)
		return;
	for (uint16_t q = 0; q < s->nq; q++)
		if (s->workers[q].loop_ready)
			vio_loop_fini(&s->workers[q].loop);
	free(s->workers);
	s->workers = NULL;
}

/* A regular file or memfd, and the alignment of its pages (huge pages on hugetlbfs). */
static int op_describe(void *ctx, int fd, uint64_t *size, uint64_t *align)
{
	struct vio_vu_server *s = ctx;
	uint64_t page = (uint64_t) sysconf(_SC_PAGESIZE);
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || st.st_size < 0) {
		srv_log(s, VIO_LOG_WARN, "memory descriptor is not a file or memfd");
		return -EINVAL;
	}
	*size = (uint64_t) st.st_size;
	*align = page;
	if ((uint64_t) st.st_blksize > page && (st.st_blksize & (st.st_blksize - 1)) == 0 &&
	    (uint64_t) st.st_blksize <= (1ull << 30))
		*align = (uint64_t) st.st_blksize;
	return 0;
}

/*
 * Maps the frontend's object and guards the mapping: the frontend keeps the
 * descriptor and may truncate the file under it (see memguard.h). A memfd
 * sealed against shrinking cannot; the log says so, but it is guarded too,
 * since other faults (a hugetlbfs file out of pages, say) stay possible.
 */
static int op_map(void *ctx, int fd, uint64_t offset, uint64_t len, void **map)
{
	struct vio_vu_server *s = ctx;
	int seals = fcntl(fd, F_GET_SEALS);
	int rc;

	*map = mmap(NULL, (size_t) len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd,
		    (off_t) offset);
	if (*map == MAP_FAILED)
		return -errno;
	rc = vio_memguard_add(*map, (size_t) len, s, s->fault_fd);
	if (rc < 0) {
		srv_log(s, VIO_LOG_WARN, "cannot guard guest memory against truncation: %s",
			strerror(-rc));
		munmap(*map, (size_t) len);
		return rc;
	}
	srv_log(s, VIO_LOG_DEBUG, "mapped 0x%llx bytes at offset 0x%llx, %s",
		(unsigned long long) len, (unsigned long long) offset,
		seals >= 0 && (seals & F_SEAL_SHRINK) ? "sealed against shrinking"
						      : "not sealed: the frontend can shrink it");
	return 0;
}

static void op_unmap(void *ctx, void *map, size_t map_len)
{
	(void) ctx;
	vio_memguard_remove(map);
	munmap(map, map_len);
}

/* Says where a faulting address was: the guest address and its region, or the inflight area. */
static void fault_where(struct vio_vu_server *s, const struct vio_memguard_fault *f, char *buf,
			size_t cap)
{
	const struct vio_vu_engine *e = &s->eng;

	snprintf(buf, cap, "at offset 0x%llx of the inflight region",
		 (unsigned long long) (f->addr - (uintptr_t) f->map));
	for (uint32_t i = 0; i < e->nregions; i++) {
		const struct vio_vu_mapping *r = &e->regions[i];
		uintptr_t local = (uintptr_t) r->local;

		if (r->map != f->map)
			continue;
		if (f->addr >= local && f->addr - local < r->size)
			snprintf(buf, cap, "at gpa 0x%llx (region gpa 0x%llx size 0x%llx)",
				 (unsigned long long) (r->gpa + (f->addr - local)),
				 (unsigned long long) r->gpa, (unsigned long long) r->size);
		else
			snprintf(buf, cap, "next to the region at gpa 0x%llx size 0x%llx",
				 (unsigned long long) r->gpa, (unsigned long long) r->size);
		break;
	}
}

/*
 * The guard cured a fault in this connection's memory: the frontend shrank a
 * file it shared. The memory reads as zeros now; the session cannot go on.
 */
static void fault_cb(struct vio_loop_watch *w, uint32_t revents)
{
	struct vio_vu_server *s = w->ctx;
	struct vio_memguard_fault f;
	uint64_t n;
	char where[128];

	(void) revents;
	while (read(s->fault_fd, &n, sizeof(n)) < 0 && errno == EINTR)
		;
	/* a count left from a connection already ended finds no faulted mapping */
	if (s->conn_fd < 0 || !vio_memguard_faulted(s, &f))
		return;
	pthread_mutex_lock(&s->lock);
	fault_where(s, &f, where, sizeof(where));
	pthread_mutex_unlock(&s->lock);
	srv_log(s, VIO_LOG_ERR,
		"bus error on guest memory %s: the frontend shrank the file it shared; "
		"ending the connection",
		where);
	conn_close(s, true);
}

/* A sealed memfd of bytes, mapped at *map; the frontend cannot shrink it under the mapping. */
static int op_alloc_shared(void *ctx, uint64_t bytes, void **map)
{
	int fd = memfd_create("vioport-inflight", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	int rc = 0;

	(void) ctx;
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t) bytes) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
		rc = -errno;
	} else {
		*map = mmap(NULL, (size_t) bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (*map == MAP_FAILED)
			rc = -errno;
	}
	if (rc < 0) {
		close(fd);
		return rc;
	}
	return fd;
}

static void op_own_event(void *ctx, int fd)
{
	int fl = fcntl(fd, F_GETFL);

	(void) ctx;
	if (fl >= 0)
		(void) fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* eventfd (or pipe) set non-blocking: a full counter means a signal is pending anyway */
static void op_signal(void *ctx, int fd)
{
	uint64_t one = 1;

	(void) ctx;
	while (write(fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void op_close(void *ctx, int fd)
{
	(void) ctx;
	close(fd);
}

/* Releases the lock while the hook waits: completions the device waits for need it. */
static void op_quiesce(void *ctx)
{
	struct vio_vu_server *s = ctx;

	pthread_mutex_unlock(&s->lock);
	s->cfg.quiesce(s->cfg.ctx, s->dev);
	pthread_mutex_lock(&s->lock);
}

static void op_log(void *ctx, int level, const char *msg)
{
	struct vio_vu_server *s = ctx;

	s->cfg.log(s->cfg.ctx, level, msg);
}

static const char *op_errstr(void *ctx, int err)
{
	(void) ctx;
	return strerror(err);
}

static void kick_cb(struct vio_loop_watch *w, uint32_t revents)
{
	struct vio_vu_vring *v = w->ctx;
	struct vio_vu_server *s = v->s;
	bool dead;

	if (revents & VIO_LOOP_READ) {
		dead = false; /* a loop that waits in an io_uring read the counter itself */
	} else if (w->ring_slot != 0) {
		dead = true; /* the ring's read of the counter failed or hit an end */
	} else {
		uint64_t count;
		ssize_t n = read(w->fd, &count, sizeof(count));

		dead = n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) ||
		       (n < 0 && (revents & (VIO_LOOP_ERR | VIO_LOOP_HUP)));
	}
	pthread_mutex_lock(&s->lock);
	if (dead) {
		/* a hung-up pipe would fire forever: stop watching, keep the descriptor */
		srv_log(s, VIO_LOG_WARN, "queue %u: kick descriptor failed; no longer watched",
			v->index);
		vio_loop_remove(w);
	} else if (v->kick_watched == w->fd) {
		vio_vu_engine_kick(&s->eng, v->index);
	}
	pthread_mutex_unlock(&s->lock);
}

static void poll_cb(struct vio_loop_timer *t)
{
	struct vio_vu_vring *v = t->ctx;
	struct vio_vu_server *s = v->s;

	pthread_mutex_lock(&s->lock);
	vio_vu_engine_kick(&s->eng, v->index);
	pthread_mutex_unlock(&s->lock);
}

static struct vio_vq *live_vq(struct vio_vu_server *s, uint16_t q)
{
	return vio_device_queue_live(s->dev, q) ? &s->dev->queues[q].vq : NULL;
}

/* Lets the device take what the driver made available; true when it took something. */
static bool vring_take_locked(struct vio_vu_server *s, struct vio_vu_vring *v, struct vio_vq *vq)
{
	uint16_t before = vq->last_avail;
	bool wrap = vq->avail_wrap;

	vio_vu_engine_kick(&s->eng, v->index);
	/* progress is what the device took: a full device leaves the ring as it was */
	return vq->last_avail != before || vq->avail_wrap != wrap;
}

/*
 * Adaptive polling of one ring: takes what the driver made available since
 * the last look. A device busy on another thread is not waited for, so a
 * spinning queue never holds up the socket or another queue.
 */
static bool vring_poll(struct vio_loop_poller *p)
{
	struct vio_vu_vring *v = p->ctx;
	struct vio_vu_server *s = v->s;
	struct vio_vq *vq;
	bool found = false;

	if (pthread_mutex_trylock(&s->lock) != 0)
		return false;
	vq = live_vq(s, v->index);
	if (vq != NULL && vio_vq_has_avail(vq))
		found = vring_take_locked(s, v, vq);
	pthread_mutex_unlock(&s->lock);
	return found;
}

/*
 * Kicks off while the loop spins over the ring (event idx, or the ring's
 * flag). Back on before it sleeps, under the lock whoever holds it: what the
 * driver made available before it saw the change would get no kick, so it is
 * taken here.
 */
static bool vring_notify(struct vio_loop_poller *p, bool on)
{
	struct vio_vu_vring *v = p->ctx;
	struct vio_vu_server *s = v->s;
	struct vio_vq *vq;
	bool found = false;

	pthread_mutex_lock(&s->lock);
	vq = live_vq(s, v->index);
	if (vq != NULL) {
		if (!on)
			vio_vq_notify_disable(vq);
		else if (vio_vq_notify_enable(vq))
			found = vring_take_locked(s, v, vq);
	}
	pthread_mutex_unlock(&s->lock);
	return found;
}

/* Brings the queue loop's watch and poll timer in line with the ring; on that loop's thread. */
static void kick_sync_locked(struct vio_vu_server *s, struct vio_vu_vring *v)
{
	struct vio_vu_ering *r = &s->rings[v->index];
	bool poll = r->kick_poll && r->started;
	bool adaptive = s->cfg.poll && r->started && !r->kick_poll;

	if (v->kick_watched != r->kick) {
		if (v->kick_watched >= 0) {
			vio_loop_remove(&v->kick_w);
			close(v->kick_watched);
			v->kick_watched = -1;
		}
		if (r->kick >= 0) {
			int rc = vio_loop_add_counter(v->loop, &v->kick_w, r->kick, kick_cb, v);

			if (rc == 0) {
				v->kick_watched = r->kick;
			} else {
				srv_log(s, VIO_LOG_WARN, "queue %u: cannot watch kick fd: %s",
					v->index, strerror(-rc));
				close_fd(&r->kick);
			}
		}
	}
	if (poll && !vio_loop_timer_running(&v->poll_t)) {
		if (vio_loop_timer_start(v->loop, &v->poll_t, VIO_VU_POLL_NS, VIO_VU_POLL_NS,
					 poll_cb, v) < 0)
			srv_log(s, VIO_LOG_WARN, "queue %u: cannot start polling", v->index);
	} else if (!poll && vio_loop_timer_running(&v->poll_t)) {
		vio_loop_timer_stop(&v->poll_t);
	}
	if (adaptive && v->poller.loop == NULL) {
		vio_loop_poller_add(v->loop, &v->poller, vring_poll, vring_notify, v);
	} else if (!adaptive && v->poller.loop != NULL) {
		struct vio_vq *vq = live_vq(s, v->index);

		vio_loop_poller_remove(&v->poller);
		if (vq !=
		    NULL) /* the loop may have stopped while the driver was told not to kick */
			(void) vio_vq_notify_enable(vq);
	}
}

static void kick_sync_work(void *arg)
{
	struct vio_vu_vring *v = arg;

	pthread_mutex_lock(&v->s->lock);
	kick_sync_locked(v->s, v);
	pthread_mutex_unlock(&v->s->lock);
}

/* The ring's kick changed: close the old descriptor unless watched, then resync the watch. */
static void op_kick(void *ctx, uint16_t q, int old)
{
	struct vio_vu_server *s = ctx;
	struct vio_vu_vring *v = &s->vrings[q];

	if (old >= 0 && old != v->kick_watched && old != s->rings[q].kick)
		close(old);
	if (s->workers != NULL)
		vio_loop_post(v->loop, &v->sync_work, kick_sync_work, v);
	else
		kick_sync_locked(s, v);
}

static const struct vio_vu_engine_ops glue_ops = {
    .describe = op_describe,
    .map = op_map,
    .unmap = op_unmap,
    .alloc_shared = op_alloc_shared,
    .own_event = op_own_event,
    .signal = op_signal,
    .close = op_close,
    .send = op_send,
    .kick = op_kick,
    .errstr = op_errstr,
};

/* Closes what the queue's loop watches; the loop must not be running. */
static void vring_release(struct vio_vu_server *s, struct vio_vu_vring *v)
{
	struct vio_vu_ering *r = &s->rings[v->index];

	vio_loop_remove(&v->kick_w);
	if (v->kick_watched >= 0 && v->kick_watched != r->kick)
		close(v->kick_watched);
	v->kick_watched = -1;
	close_fd(&r->kick);
	vio_loop_timer_stop(&v->poll_t);
	vio_loop_poller_remove(&v->poller);
	close_fd(&r->call);
	close_fd(&r->err);
}

int vio_vu_server_init(struct vio_vu_server *s, const struct vio_vu_server_config *cfg)
{
	struct vio_device *dev = cfg != NULL ? cfg->dev : NULL;
	struct vio_vu_engine_config ec;
	int rc, nq = vio_vu_engine_queues(dev, cfg != NULL ? cfg->num_queues : 0);

	if (nq < 0 || cfg->loop == NULL)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	s->dev = dev;
	s->nq = (uint16_t) nq;
	s->ops = glue_ops;
	s->ops.quiesce = cfg->quiesce != NULL ? op_quiesce : NULL;
	s->ops.log = cfg->log != NULL ? op_log : NULL;
	s->eng.ops = &s->ops; /* for the log until the engine starts */
	s->listen_fd = s->conn_fd = -1;
	s->listen_w.fd = s->conn_w.fd = s->fault_w.fd = -1;
	s->fault_fd = -1;
	rc = -pthread_mutex_init(&s->lock, NULL);
	if (rc < 0)
		return rc;
	s->lock_ready = true;
	s->fault_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	rc = s->fault_fd < 0 ? -errno : vio_memguard_install();
	if (rc == 0)
		rc = vio_loop_add(cfg->loop, &s->fault_w, s->fault_fd, VIO_LOOP_IN, fault_cb, s);
	if (rc < 0) {
		vio_vu_server_fini(s);
		return rc;
	}
	s->vrings = calloc(s->nq, sizeof(*s->vrings));
	s->rings = calloc(s->nq, sizeof(*s->rings));
	if (s->vrings == NULL || s->rings == NULL) {
		vio_vu_server_fini(s);
		return -ENOMEM;
	}
	if (cfg->queue_workers && (rc = start_workers(s)) < 0) {
		vio_vu_server_fini(s);
		return rc;
	}
	for (uint16_t q = 0; q < s->nq; q++) {
		struct vio_vu_vring *v = &s->vrings[q];

		v->s = s;
		v->index = q;
		v->loop = s->workers ? &s->workers[q].loop : cfg->loop;
		v->kick_watched = -1;
		v->kick_w.fd = -1;
		vio_loop_timer_init(&v->poll_t);
	}
	ec = (struct vio_vu_engine_config){dev, s->nq, s->rings, &s->ops, s};
	return vio_vu_engine_init(&s->eng, &ec);
}

static void listen_close(struct vio_vu_server *s)
{
	struct stat st;

	arm_listen(s, false);
	close_fd(&s->listen_fd);
	/* remove the socket file only if it is still the one this server created */
	if (s->unlink_path && lstat(s->path, &st) == 0 && st.st_dev == s->path_dev &&
	    st.st_ino == s->path_ino)
		unlink(s->path);
	s->unlink_path = false;
}

int vio_vu_server_listen(struct vio_vu_server *s, const char *path)
{
	struct stat st;
	char err[256];
	bool replaced;
	int fd, rc;

	if (s->listen_fd >= 0 || path == NULL || path[0] == '\0')
		return -EINVAL;
	if (strlen(path) >= sizeof(s->path))
		return -ENAMETOOLONG;
	fd = vio_unix_listen(path, 8, &replaced, err, sizeof(err));
	if (fd < 0) {
		srv_log(s, VIO_LOG_ERR, "%s", err);
		return fd;
	}
	if (replaced)
		srv_log(s, VIO_LOG_INFO, "replaced stale socket %s", path);
	if (lstat(path, &st) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	memcpy(s->path, path, strlen(path) + 1);
	s->path_dev = st.st_dev;
	s->path_ino = st.st_ino;
	s->unlink_path = true;
	s->listen_fd = fd;
	rc = arm_listen(s, s->conn_fd < 0);
	if (rc < 0) {
		listen_close(s);
		return rc;
	}
	srv_log(s, VIO_LOG_INFO, "listening on %s", path);
	return 0;
}

int vio_vu_server_adopt_fd(struct vio_vu_server *s, int fd)
{
	int listening = 0, type = 0, rc;
	socklen_t len = sizeof(listening), tlen = sizeof(type);

	if (fd < 0)
		return -EBADF;
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) < 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (type != SOCK_STREAM || (listening ? s->listen_fd : s->conn_fd) >= 0) {
		close(fd);
		return type != SOCK_STREAM ? -ENOTSOCK : -EBUSY;
	}
	if (!listening)
		return conn_open(s, fd);
	rc = set_flags(fd);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	s->listen_fd = fd;
	rc = arm_listen(s, s->conn_fd < 0);
	if (rc < 0)
		listen_close(s);
	return rc;
}

bool vio_vu_server_connected(const struct vio_vu_server *s)
{
	return s->conn_fd >= 0;
}

void vio_vu_server_disconnect(struct vio_vu_server *s)
{
	conn_close(s, true);
}

void vio_vu_server_fini(struct vio_vu_server *s)
{
	conn_close(s, false);
	listen_close(s);
	stop_workers(s);
	if (s->vrings != NULL && s->rings != NULL)
		for (uint16_t q = 0; q < s->nq; q++)
			vring_release(s, &s->vrings[q]);
	free_workers(s);
	vio_vu_engine_fini(&s->eng);
	free(s->vrings);
	free(s->rings);
	s->vrings = NULL;
	s->rings = NULL;
	if (s->fault_w.loop != NULL)
		vio_loop_remove(&s->fault_w);
	close_fd(&s->fault_fd);
	if (s->lock_ready)
		pthread_mutex_destroy(&s->lock);
	s->lock_ready = false;
}

struct vio_loop *vio_vu_server_queue_loop(struct vio_vu_server *s, uint16_t q)
{
	return q < s->nq ? s->vrings[q].loop : NULL;
}

void vio_vu_server_lock(struct vio_vu_server *s)
{
	pthread_mutex_lock(&s->lock);
}

void vio_vu_server_unlock(struct vio_vu_server *s)
{
	pthread_mutex_unlock(&s->lock);
}
