/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * virtio-msg on POSIX: window files (create, reopen, refusals), doorbell specs,
 * the eventfd exchange between two processes, and an endpoint serving the rng
 * device to the driver library over a real window file: bring-up, requests,
 * a driver restart, a corrupt FIFO head that stops the endpoint until the
 * driver formats the window again, and a re-format while the device waits for
 * room in a full FIFO. Both doorbells.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "vioport/byteorder.h"
#include "vioport/errno.h"
#include "vioport/log.h"
#include "vioport/rng.h"
#include "vioport/sim_entropy.h"
#include "vioport/virtio.h"
#include "vioport/vmsg_drv.h"
#include "vioport/vmsg_drv_dev.h"
#include "vioport/vmsg_posix.h"

#define WIN_SIZE   65536u
#define SEED	   0x5eed1234u
#define RNG_QSIZE  16u
#define TIMEOUT_MS 5000

static char dir[64];

static int setup_dir(void **state)
{
	(void) state;
	snprintf(dir, sizeof(dir), "/tmp/vmsg-posix-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void) state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* --- window files ---------------------------------------------------------------------- */

static void test_window_create_and_reopen(void **state)
{
	struct vio_vmsg_window a, b;
	char path[128], err[256] = "";
	struct stat st;

	(void) state;
	path_of(path, sizeof(path), "win-create");
	assert_int_equal(vio_vmsg_window_open(&a, path, 8192, err, sizeof(err)), 0);
	assert_int_equal(a.size, 8192);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 8192);
	assert_true(S_ISREG(st.st_mode));
	/* Size 0 takes the file's size; the two mappings share memory. */
	assert_int_equal(vio_vmsg_window_open(&b, path, 0, err, sizeof(err)), 0);
	assert_int_equal(b.size, 8192);
	a.base[100] = 0x5A;
	assert_int_equal(b.base[100], 0x5A);
	/* The same size again is fine; a different one is refused with both sizes named. */
	vio_vmsg_window_close(&b);
	assert_int_equal(vio_vmsg_window_open(&b, path, 8192, err, sizeof(err)), 0);
	vio_vmsg_window_close(&b);
	assert_int_equal(vio_vmsg_window_open(&b, path, 4096, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is 8192 bytes, expected 4096"));
	assert_null(b.base);
	vio_vmsg_window_close(&a);
	vio_vmsg_window_close(&a); /* twice is harmless */
	unlink(path);
}

static void test_window_missing_needs_size(void **state)
{
	struct vio_vmsg_window w;
	char path[128], err[256] = "";

	(void) state;
	path_of(path, sizeof(path), "win-missing");
	assert_int_equal(vio_vmsg_window_open(&w, path, 0, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "does not exist (give a size to create it)"));
	assert_int_equal(access(path, F_OK), -1);
}

static void test_window_refuses_non_regular(void **state)
{
	struct vio_vmsg_window w;
	char path[128], err[256] = "";

	(void) state;
	assert_int_equal(vio_vmsg_window_open(&w, dir, 0, err, sizeof(err)), -EISDIR);
	assert_non_null(strstr(err, "not a regular file"));

	path_of(path, sizeof(path), "win-fifo");
	assert_int_equal(mkfifo(path, 0600), 0);
	err[0] = '\0';
	assert_int_equal(vio_vmsg_window_open(&w, path, 4096, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	unlink(path);

	err[0] = '\0';
	assert_int_equal(vio_vmsg_window_open(&w, "/dev/null", 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
}

static void test_window_refuses_empty_and_bad_path(void **state)
{
	struct vio_vmsg_window w;
	char path[128], err[256] = "", longp[300];
	int fd;

	(void) state;
	path_of(path, sizeof(path), "win-empty");
	fd = open(path, O_CREAT | O_RDWR, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(vio_vmsg_window_open(&w, path, 0, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is empty"));
	unlink(path);

	assert_int_equal(vio_vmsg_window_open(&w, "", 4096, err, sizeof(err)), -EINVAL);
	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(vio_vmsg_window_open(&w, longp, 4096, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "longer than"));
}

/* --- doorbell specs -------------------------------------------------------------------- */

static void test_bell_parse(void **state)
{
	struct vio_vmsg_bell b;
	char err[256] = "", longp[200];

	(void) state;
	assert_int_equal(vio_vmsg_bell_parse(&b, NULL, err, sizeof(err)), 0);
	assert_int_equal(b.kind, VIO_VMSG_BELL_POLL);
	assert_int_equal(vio_vmsg_bell_parse(&b, "", err, sizeof(err)), 0);
	assert_int_equal(b.kind, VIO_VMSG_BELL_POLL);
	assert_int_equal(vio_vmsg_bell_parse(&b, "poll", err, sizeof(err)), 0);
	assert_int_equal(b.kind, VIO_VMSG_BELL_POLL);
	assert_null(vio_vmsg_bell_doorbell(&b).ring);
	assert_true(vio_vmsg_bell_connected(&b));

	assert_int_equal(vio_vmsg_bell_parse(&b, "eventfd:/tmp/x.sock", err, sizeof(err)), 0);
	assert_int_equal(b.kind, VIO_VMSG_BELL_EVENTFD);
	assert_string_equal(b.sock, "/tmp/x.sock");
	assert_int_equal(b.peer_efd, -1);
	assert_false(vio_vmsg_bell_connected(&b));
	assert_non_null(vio_vmsg_bell_doorbell(&b).ring);
	assert_int_equal(b.spin_us, VIO_VMSG_BELL_EVENTFD_SPIN_US);

	/* The spin before blocking: a suffix; a path with another comma is kept whole. */
	assert_int_equal(vio_vmsg_bell_parse(&b, "eventfd:/tmp/x.sock,spin=0", err, sizeof(err)),
			 0);
	assert_string_equal(b.sock, "/tmp/x.sock");
	assert_int_equal(b.spin_us, 0);
	assert_int_equal(vio_vmsg_bell_parse(&b, "eventfd:/tmp/a,b.sock", err, sizeof(err)), 0);
	assert_string_equal(b.sock, "/tmp/a,b.sock");
	assert_int_equal(vio_vmsg_bell_parse(&b, "eventfd:/tmp/x,spin=50", err, sizeof(err)), 0);
	assert_int_equal(b.spin_us, 50);
	assert_int_equal(vio_vmsg_bell_parse(&b, "eventfd:/tmp/x,spin=", err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "spin is a number of microseconds"));
	assert_int_equal(vio_vmsg_bell_parse(&b, "eventfd:/tmp/x,spin=5x", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(vio_vmsg_bell_parse(&b, "eventfd:/tmp/x,spin=2000000", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(vio_vmsg_bell_parse(&b, "eventfd:,spin=3", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "socket path is missing"));

	assert_int_equal(vio_vmsg_bell_parse(&b, "eventfd:", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "socket path is missing"));
	assert_int_equal(vio_vmsg_bell_parse(&b, "eventfd", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "expected 'poll', 'eventfd:SOCKET' or 'ivshmem:SOCKET'"));
	assert_int_equal(vio_vmsg_bell_parse(&b, "polling", err, sizeof(err)), -EINVAL);
	/* The ivshmem server's spec (tests/unit/test_ivshmem_server.c tests it further). */
	assert_int_equal(vio_vmsg_bell_parse(&b, "ivshmem:/dev/x", err, sizeof(err)), 0);
	assert_int_equal(b.kind, VIO_VMSG_BELL_IVSHMEM);
	memcpy(longp, "eventfd:/", 9);
	memset(longp + 9, 's', sizeof(longp) - 10);
	longp[sizeof(longp) - 1] = '\0';
	assert_int_equal(vio_vmsg_bell_parse(&b, longp, err, sizeof(err)), -ENAMETOOLONG);
	assert_non_null(strstr(err, "longer than"));
}

static void test_bell_listen_refuses_non_socket(void **state)
{
	struct vio_vmsg_bell b;
	char path[128], spec[160], err[256] = "";
	int fd;

	(void) state;
	path_of(path, sizeof(path), "not-a-socket");
	fd = open(path, O_CREAT | O_RDWR, 0600);
	assert_true(fd >= 0);
	close(fd);
	snprintf(spec, sizeof(spec), "eventfd:%s", path);
	assert_int_equal(vio_vmsg_bell_parse(&b, spec, err, sizeof(err)), 0);
	assert_int_equal(vio_vmsg_bell_listen(&b, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "is not a socket"));
	assert_int_equal(access(path, F_OK), 0); /* left alone */
	unlink(path);
}

static void test_bell_connect_times_out(void **state)
{
	struct vio_vmsg_bell b;
	char path[128], spec[160], err[256] = "";

	(void) state;
	path_of(path, sizeof(path), "nobody.sock");
	snprintf(spec, sizeof(spec), "eventfd:%s", path);
	assert_int_equal(vio_vmsg_bell_parse(&b, spec, err, sizeof(err)), 0);
	assert_int_equal(vio_vmsg_bell_connect(&b, 50, err, sizeof(err)), -ETIMEDOUT);
	assert_non_null(strstr(err, "no device side listening on"));
	vio_vmsg_bell_close(&b);
}

/* Waits on b until it is rung, up to about seconds; whether it was. */
static bool wait_rung(struct vio_vmsg_bell *b, int seconds)
{
	uint64_t end = vio_vmsg_now_us() + (uint64_t) seconds * 1000000u;

	while (vio_vmsg_now_us() < end)
		if (vio_vmsg_bell_wait(b, 100000) == 1)
			return true;
	return false;
}

/* Two processes: the parent listens, the child connects; each rings the other once. */
static void test_bell_eventfd_two_processes(void **state)
{
	struct vio_vmsg_bell dev;
	char path[128], spec[160], err[256] = "";
	int status;
	pid_t pid;

	(void) state;
	path_of(path, sizeof(path), "bell.sock");
	snprintf(spec, sizeof(spec), "eventfd:%s", path);
	assert_int_equal(vio_vmsg_bell_parse(&dev, spec, err, sizeof(err)), 0);
	assert_int_equal(vio_vmsg_bell_listen(&dev, err, sizeof(err)), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vio_vmsg_bell drv;
		int ok;

		if (vio_vmsg_bell_parse(&drv, spec, err, sizeof(err)) < 0 ||
		    vio_vmsg_bell_connect(&drv, TIMEOUT_MS, err, sizeof(err)) < 0)
			_exit(2);
		vio_vmsg_bell_ring(&drv);
		ok = wait_rung(&drv, 5);
		vio_vmsg_bell_close(&drv);
		_exit(ok ? 0 : 1);
	}
	assert_true(wait_rung(&dev, 5));
	assert_true(vio_vmsg_bell_connected(&dev));
	vio_vmsg_bell_ring(&dev);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* The child is gone: the device side notices the closed connection. */
	for (int i = 0; i < 50 && vio_vmsg_bell_connected(&dev); i++)
		vio_vmsg_bell_wait(&dev, 10000);
	assert_false(vio_vmsg_bell_connected(&dev));
	vio_vmsg_bell_close(&dev);
	assert_int_equal(access(path, F_OK), -1); /* the socket file went with it */
}

/* A peer passing a pipe instead of an eventfd is refused: a full pipe would block rings. */
static void test_bell_refuses_non_eventfd(void **state)
{
	struct vio_vmsg_bell dev;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[128], spec[160], err[256] = "", byte = 'E';
	int s, pfd[2];
	struct iovec iov = {.iov_base = &byte, .iov_len = 1};
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} u;
	struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *c;

	(void) state;
	path_of(path, sizeof(path), "bad.sock");
	snprintf(spec, sizeof(spec), "eventfd:%s", path);
	assert_int_equal(vio_vmsg_bell_parse(&dev, spec, err, sizeof(err)), 0);
	assert_int_equal(vio_vmsg_bell_listen(&dev, err, sizeof(err)), 0);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	assert_int_equal(connect(s, (struct sockaddr *) &sa, sizeof(sa)), 0);
	assert_int_equal(pipe(pfd), 0);
	memset(&u, 0, sizeof(u));
	m.msg_control = u.buf;
	m.msg_controllen = sizeof(u.buf);
	c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &pfd[1], sizeof(int));
	assert_int_equal(sendmsg(s, &m, 0), 1);
	assert_int_equal(vio_vmsg_bell_wait(&dev, 100000), 0);
	assert_false(vio_vmsg_bell_connected(&dev));
	close(s);
	close(pfd[0]);
	close(pfd[1]);
	vio_vmsg_bell_close(&dev);
}

/* --- the endpoint serving rng ---------------------------------------------------------- */

struct rng_side {
	struct vio_vmsg_endpoint ep;
	struct vio_sim_entropy ent;
	struct vio_rng rng;
	struct vio_queue queue;
	int errors; /* ERR lines logged */
	char last[256];
};

static void log_cb(void *ctx, int level, const char *msg)
{
	struct rng_side *s = ctx;

	if (level == VIO_LOG_ERR)
		__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
	if (getenv("VIOPORT_TEST_VERBOSE") != NULL)
		fprintf(stderr, "endpoint: %s\n", msg);
}

static void rng_side_start(struct rng_side *s, const char *path, const char *bell)
{
	struct vio_vmsg_endpoint_config c = {
	    .path = path, .size = WIN_SIZE, .doorbell = bell, .log = log_cb, .log_ctx = s};
	char err[256] = "";

	memset(s, 0, sizeof(*s));
	vio_sim_entropy_init(&s->ent, SEED);
	assert_int_equal(
	    vio_rng_init(&s->rng, &vio_sim_entropy_ops, &s->ent, &s->queue, RNG_QSIZE, 0), 0);
	if (vio_vmsg_endpoint_init(&s->ep, &c, err, sizeof(err)) != 0)
		fail_msg("endpoint init: %s", err);
	assert_int_equal(vio_vmsg_endpoint_add(&s->ep, &s->rng.dev), 0);
	assert_int_equal(vio_vmsg_endpoint_start(&s->ep), 0);
	/* Not before start: devices are fixed once served. */
	assert_int_equal(vio_vmsg_endpoint_add(&s->ep, &s->rng.dev), -EBUSY);
}

struct driver {
	struct vio_vmsg_posix_drv p;
	struct vio_vmsg_drv drv;
	struct vio_vmsg_drv_dev dev;
	struct vio_vmsg_drv_vq vq;
	uint32_t map[512];
};

/* Enumerates, finds the rng device as number 0 and brings it up. */
static void driver_bring_up(struct driver *d)
{
	uint8_t bitmap[8] = {0};

	assert_int_equal(vio_vmsg_drv_init_shm(&d->drv, &d->p.binding, d->map, 512), 0);
	assert_int_equal(vio_vmsg_drv_ping(&d->drv, 0xC0FFEE), 0);
	assert_int_equal(vio_vmsg_drv_get_devices(&d->drv, bitmap, sizeof(bitmap)), 1);
	assert_int_equal(bitmap[0], 1);
	assert_int_equal(vio_vmsg_drv_dev_init(&d->dev, &d->drv, 0, &d->vq, 1), 0);
	assert_int_equal(d->dev.info.device_id, VIO_ID_RNG);
	assert_int_equal(vio_vmsg_drv_dev_start(&d->dev, 0), 0);
}

/* One rng request of n bytes; they must be the next n bytes of the seeded stream. */
static void driver_read_rng(struct driver *d, struct vio_sim_entropy *expect, uint32_t n)
{
	uint8_t got[256], want[256];

	assert_true(n <= sizeof(got));
	assert_int_equal(vio_vmsg_drv_rng_read(&d->dev, got, n), (int) n);
	vio_sim_entropy_fill(expect, want, n);
	assert_memory_equal(got, want, n);
}

static void wait_for(bool (*cond)(struct rng_side *), struct rng_side *s)
{
	uint64_t end = vio_vmsg_now_us() + 5000000u;

	while (!cond(s)) {
		if (vio_vmsg_now_us() > end)
			fail_msg("condition not reached within 5 s");
		usleep(1000);
	}
}

static bool has_stopped(struct rng_side *s)
{
	return vio_vmsg_endpoint_stats(&s->ep).stops == 1 && !vio_vmsg_endpoint_attached(&s->ep);
}

static void endpoint_rng(const char *bell_kind)
{
	struct rng_side *s = calloc(1, sizeof(*s));
	struct driver *d = calloc(1, sizeof(*d));
	struct vio_sim_entropy expect;
	char path[128], sock[128], bell[160], err[256] = "";
	struct vio_vmsg_endpoint_stats st;
	uint32_t *head;

	assert_non_null(s);
	assert_non_null(d);
	path_of(path, sizeof(path), "rng.win");
	path_of(sock, sizeof(sock), "rng.sock");
	if (strcmp(bell_kind, "poll") == 0)
		snprintf(bell, sizeof(bell), "poll");
	else
		snprintf(bell, sizeof(bell), "eventfd:%s", sock);
	unlink(path);
	rng_side_start(s, path, bell);

	/* Bring-up and requests: the device serves the same bytes as a local stream. */
	vio_sim_entropy_init(&expect, SEED);
	if (vio_vmsg_posix_drv_open(&d->p, path, 0, bell, TIMEOUT_MS, err, sizeof(err)) != 0)
		fail_msg("driver open: %s", err);
	assert_true(vio_vmsg_endpoint_attached(&s->ep));
	driver_bring_up(d);
	driver_read_rng(d, &expect, 64);
	driver_read_rng(d, &expect, 200);
	st = vio_vmsg_endpoint_stats(&s->ep);
	assert_int_equal(st.attaches, 1);
	assert_true(st.received > 10);
	assert_int_equal(st.lost, 0);

	/* A driver restart: a new generation resets the devices; the new driver starts over. */
	if (vio_vmsg_posix_drv_reformat(&d->p, TIMEOUT_MS, err, sizeof(err)) != 0)
		fail_msg("re-format: %s", err);
	driver_bring_up(d);
	driver_read_rng(d, &expect, 32);
	st = vio_vmsg_endpoint_stats(&s->ep);
	assert_int_equal(st.driver_restarts, 1);
	assert_int_equal(st.attaches, 2);

	/* A corrupt head in the driver-to-device FIFO: the endpoint stops, logs it once. */
	head = (uint32_t *) (void *) d->p.shm.tx.base;
	__atomic_store_n(head, vio_le32(0xFFFFu), __ATOMIC_RELEASE);
	if (strcmp(bell_kind, "poll") != 0)
		vio_vmsg_shm_ring(&d->p.shm);
	wait_for(has_stopped, s);
	assert_int_equal(vio_vmsg_shm_peer_state(&d->p.shm), VIO_VMSG_SHM_STATE_STOPPED);
	assert_int_equal(__atomic_load_n(&s->errors, __ATOMIC_RELAXED), 1);
	usleep(50000); /* it stays stopped: no re-attach to the same generation */
	assert_false(vio_vmsg_endpoint_attached(&s->ep));
	assert_int_equal(vio_vmsg_endpoint_stats(&s->ep).attaches, 2);

	/* A re-format brings it back. */
	if (vio_vmsg_posix_drv_reformat(&d->p, TIMEOUT_MS, err, sizeof(err)) != 0)
		fail_msg("re-format after the stop: %s", err);
	driver_bring_up(d);
	driver_read_rng(d, &expect, 48);
	st = vio_vmsg_endpoint_stats(&s->ep);
	assert_int_equal(st.attaches, 3);
	assert_int_equal(st.stops, 1);
	assert_int_equal(st.lost, 0);

	vio_vmsg_posix_drv_close(&d->p);
	vio_vmsg_endpoint_fini(&s->ep);
	if (strcmp(bell_kind, "poll") != 0)
		assert_int_equal(access(sock, F_OK), -1);
	unlink(path);
	free(s);
	free(d);
}

static void test_endpoint_rng_poll(void **state)
{
	(void) state;
	endpoint_rng("poll");
}

static void test_endpoint_rng_eventfd(void **state)
{
	(void) state;
	endpoint_rng("eventfd");
}

/* With eventfd doorbells a second driver process after the first one exited is served too. */
static void test_endpoint_next_driver_process(void **state)
{
	struct rng_side *s = calloc(1, sizeof(*s));
	char path[128], bell[160];

	(void) state;
	assert_non_null(s);
	path_of(path, sizeof(path), "rng2.win");
	snprintf(bell, sizeof(bell), "eventfd:%s/rng2.sock", dir);
	rng_side_start(s, path, bell);
	for (int round = 0; round < 2; round++) {
		int status;
		pid_t pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			struct driver *d = calloc(1, sizeof(*d));
			uint8_t buf[16];
			char err[256];

			if (d == NULL ||
			    vio_vmsg_posix_drv_open(&d->p, path, 0, bell, TIMEOUT_MS, err,
						    sizeof(err)) != 0 ||
			    vio_vmsg_drv_init_shm(&d->drv, &d->p.binding, d->map, 512) != 0 ||
			    vio_vmsg_drv_dev_init(&d->dev, &d->drv, 0, &d->vq, 1) != 0 ||
			    vio_vmsg_drv_dev_start(&d->dev, 0) != 0 ||
			    vio_vmsg_drv_rng_read(&d->dev, buf, sizeof(buf)) != (int) sizeof(buf)) {
				free(d);
				_exit(1);
			}
			vio_vmsg_posix_drv_close(&d->p);
			free(d);
			_exit(0);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	assert_int_equal(vio_vmsg_endpoint_stats(&s->ep).attaches, 2);
	vio_vmsg_endpoint_fini(&s->ep);
	unlink(path);
	free(s);
}

/* Queues n PINGs (tokens 500 + i) straight into the FIFO and reads no answer. */
static void unanswered_pings(struct driver *d, unsigned n)
{
	uint8_t msg[VIO_VMSG_MAX_SIZE];

	for (unsigned i = 0; i < n; i++) {
		struct vio_vmsg_hdr h = {.type = VIO_VMSG_TYPE_BUS,
					 .id = VIO_VMSG_BUS_PING,
					 .token = (uint16_t) (500u + i)};
		int len = vio_vmsg_encode_u32(msg, sizeof(msg), &h, i);

		assert_int_equal(vio_vmsg_shm_send(&d->p.shm, msg, (uint32_t) len), 0);
	}
	vio_vmsg_shm_ring(&d->p.shm);
}

static bool lost_one(struct rng_side *s)
{
	return vio_vmsg_endpoint_stats(&s->ep).lost > 0;
}

/*
 * The driver leaves the device-to-driver FIFO full (its tail set one past the
 * device's head) with requests waiting, then re-formats: the endpoint drops
 * what the old session had pending at once, and the new session sees none of
 * it. The re-attach is timed with a bound far above what it takes.
 */
static void endpoint_full_fifo_reformat(const char *bell_kind)
{
	struct rng_side *s = calloc(1, sizeof(*s));
	struct driver *d = calloc(1, sizeof(*d));
	struct vio_sim_entropy expect;
	char path[128], bell[160], err[256] = "";
	struct vio_vmsg_endpoint_stats st;
	struct vio_vmsg_fifo *rx;
	uint64_t t0, t1, took;
	uint32_t head;

	assert_non_null(s);
	assert_non_null(d);
	path_of(path, sizeof(path), "full.win");
	if (strcmp(bell_kind, "poll") == 0)
		snprintf(bell, sizeof(bell), "poll");
	else
		snprintf(bell, sizeof(bell), "eventfd:%s/full.sock", dir);
	unlink(path);
	rng_side_start(s, path, bell);
	vio_sim_entropy_init(&expect, SEED);
	if (vio_vmsg_posix_drv_open(&d->p, path, 0, bell, TIMEOUT_MS, err, sizeof(err)) != 0)
		fail_msg("driver open: %s", err);
	driver_bring_up(d);
	driver_read_rng(d, &expect, 16);

	rx = &d->p.shm.rx;
	head = vio_le32(__atomic_load_n((uint32_t *) (void *) rx->base, __ATOMIC_ACQUIRE));
	__atomic_store_n((uint32_t *) (void *) (rx->base + VIO_VMSG_SHM_FIFO_TAIL),
			 vio_le32((head + 1) % rx->nslots), __ATOMIC_RELEASE);
	unanswered_pings(d, 40);
	wait_for(lost_one, s); /* the first answer waited 100 ms and was lost */

	t0 = vio_vmsg_now_us();
	if (vio_vmsg_posix_drv_reformat(&d->p, TIMEOUT_MS, err, sizeof(err)) != 0)
		fail_msg("re-format: %s", err);
	t1 = vio_vmsg_now_us();
	driver_bring_up(d);
	took = (vio_vmsg_now_us() - t0) / 1000u;
	print_message("# %s: re-attach with 40 requests pending on a full FIFO: %llu ms (re-format "
		      "%llu ms)\n",
		      bell_kind, (unsigned long long) took, (unsigned long long) (t1 - t0) / 1000u);
	if (took >= 2000)
		fail_msg("re-attach took %llu ms", (unsigned long long) took);
	if (d->drv.dropped != 0)
		fail_msg("%u messages of the old session reached the new one", d->drv.dropped);
	driver_read_rng(d, &expect, 32);
	st = vio_vmsg_endpoint_stats(&s->ep);
	assert_int_equal(st.attaches, 2);
	assert_int_equal(st.driver_restarts, 1);
	assert_int_equal(st.stops, 0);
	/* One FIFO-full episode logged, not one per message. */
	assert_int_equal(__atomic_load_n(&s->errors, __ATOMIC_RELAXED), 1);

	vio_vmsg_posix_drv_close(&d->p);
	vio_vmsg_endpoint_fini(&s->ep);
	unlink(path);
	free(s);
	free(d);
}

static void test_endpoint_full_fifo_reformat_poll(void **state)
{
	(void) state;
	endpoint_full_fifo_reformat("poll");
}

static void test_endpoint_full_fifo_reformat_eventfd(void **state)
{
	(void) state;
	endpoint_full_fifo_reformat("eventfd");
}

/* A device side that starts marks the window's device state RESET: an earlier one may have died
 * READY. */
static void test_endpoint_init_marks_reset(void **state)
{
	struct rng_side *s = calloc(1, sizeof(*s));
	struct vio_vmsg_window w;
	char path[128], err[256] = "";

	(void) state;
	assert_non_null(s);
	path_of(path, sizeof(path), "dead.win");
	unlink(path);
	assert_int_equal(vio_vmsg_window_open(&w, path, WIN_SIZE, err, sizeof(err)), 0);
	vio_put_le32(w.base + VIO_VMSG_SHM_OFF_DEV_STATE, VIO_VMSG_SHM_STATE_READY);
	rng_side_start(s, path, "poll");
	assert_int_equal(vio_get_le32(w.base + VIO_VMSG_SHM_OFF_DEV_STATE),
			 VIO_VMSG_SHM_STATE_RESET);
	vio_vmsg_endpoint_fini(&s->ep);
	vio_vmsg_window_close(&w);
	unlink(path);
	free(s);
}

/* The driver gives up with a clear message when no device side attaches. */
static void test_driver_open_no_device(void **state)
{
	struct driver *d = calloc(1, sizeof(*d));
	char path[128], err[256] = "";

	(void) state;
	assert_non_null(d);
	path_of(path, sizeof(path), "lonely.win");
	assert_int_equal(
	    vio_vmsg_posix_drv_open(&d->p, path, WIN_SIZE, "poll", 100, err, sizeof(err)),
	    -ETIMEDOUT);
	assert_non_null(strstr(err, "no device side attached to"));
	assert_non_null(strstr(err, "within 100 ms"));
	unlink(path);
	free(d);
}

/* Waits on b (timeout 0) until its look ran out; bounded by 10 s of looking. */
static void look_until_block(struct vio_vmsg_bell *b)
{
	uint64_t start = vio_vmsg_now_us();

	while (b->idle != 2) {
		if (vio_vmsg_now_us() - start > 10000000u)
			fail_msg("a look of %u us still running after 10 s", b->look_us);
		assert_true(vio_vmsg_bell_wait(b, 0) >= 0);
	}
}

/*
 * The eventfd doorbell's look adapts: one that runs out halves the next, down
 * to none (the side then blocks at once); a message found while looking sets
 * it back to the bound.
 */
static void test_bell_look_adapts(void **state)
{
	struct vio_vmsg_bell b;
	char err[128];

	(void) state;
	assert_int_equal(vio_vmsg_bell_parse(&b, "eventfd:/tmp/x.sock,spin=1000", err, sizeof(err)),
			 0);
	assert_int_equal(b.look_us, 1000);
	b.own_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	b.peer_efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	assert_true(b.own_efd >= 0 && b.peer_efd >= 0);

	look_until_block(&b);
	assert_int_equal(b.look_us, 500);
	assert_int_equal(b.looks_lost, 1);
	vio_vmsg_bell_activity(&b); /* after a block: not a look that paid */
	assert_int_equal(b.looks_paid, 0);
	look_until_block(&b);
	assert_int_equal(b.look_us, 250);

	/* a message while looking: whole again */
	vio_vmsg_bell_activity(&b);
	assert_int_equal(vio_vmsg_bell_wait(&b, 0), 0);
	assert_int_equal(b.idle, 1);
	vio_vmsg_bell_activity(&b);
	assert_int_equal(b.look_us, 1000);
	assert_int_equal(b.looks_paid, 1);

	/* halved down to none: then the side blocks at once, and counts no lost look */
	for (int i = 0; i < 12 && b.look_us > 0; i++) {
		vio_vmsg_bell_activity(&b);
		look_until_block(&b);
	}
	assert_int_equal(b.look_us, 0);
	assert_int_equal(b.looks_lost, 12);
	vio_vmsg_bell_activity(&b);
	assert_int_equal(vio_vmsg_bell_wait(&b, 0), 0);
	assert_int_equal(b.idle, 2);
	assert_int_equal(b.looks_lost, 12);
	close(b.own_efd);
	close(b.peer_efd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_window_create_and_reopen),
	    cmocka_unit_test(test_window_missing_needs_size),
	    cmocka_unit_test(test_window_refuses_non_regular),
	    cmocka_unit_test(test_window_refuses_empty_and_bad_path),
	    cmocka_unit_test(test_bell_parse),
	    cmocka_unit_test(test_bell_look_adapts),
	    cmocka_unit_test(test_bell_listen_refuses_non_socket),
	    cmocka_unit_test(test_bell_connect_times_out),
	    cmocka_unit_test(test_bell_eventfd_two_processes),
	    cmocka_unit_test(test_bell_refuses_non_eventfd),
	    cmocka_unit_test(test_endpoint_rng_poll),
	    cmocka_unit_test(test_endpoint_rng_eventfd),
	    cmocka_unit_test(test_endpoint_next_driver_process),
	    cmocka_unit_test(test_endpoint_full_fifo_reformat_poll),
	    cmocka_unit_test(test_endpoint_full_fifo_reformat_eventfd),
	    cmocka_unit_test(test_endpoint_init_marks_reset),
	    cmocka_unit_test(test_driver_open_no_device),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
