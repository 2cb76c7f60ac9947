/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The frontend against a scripted fake backend on a socketpair (a thread of
 * this program): what the frontend sends is well formed, and every way a
 * backend can answer wrongly (request code, flags, size, descriptors, silence,
 * hang-up, out-of-range values) is caught without trusting the answer. Needs
 * no daemon.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "vioport/vhost_user_frontend.h"
#include "vioport/virtio.h"

#define FAKE_FEATURES                                                                              \
	(VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_F_EVENT_IDX) | VIO_BIT(VIO_VU_F_PROTOCOL_FEATURES))
#define FAKE_PROTOCOL                                                                              \
	((1ull << VIO_VU_PF_REPLY_ACK) | (1ull << VIO_VU_PF_INFLIGHT_SHMFD) |                      \
	 (1ull << VIO_VU_PF_CONFIG) | (1ull << VIO_VU_PF_MQ))

struct fake {
	struct vio_vu_fe be; /* the backend's end, driven with the raw calls */
	pthread_t th;
	/*
	 * Answers a message itself (returns true) instead of the default
	 * answers; sees the message, its payload and descriptors.
	 */
	bool (*hook)(struct fake *f, const struct vio_vu_hdr *h, uint8_t *p, int *fds,
		     unsigned nfds);
	const char *error; /* what the fake found wrong (cmocka asserts stay in the main thread) */
	/* What the frontend sent, for the checks. */
	unsigned nmsg;
	struct vio_vu_region region;
	uint64_t features_set;
	struct vio_vu_vring_addr addr;
	uint32_t vring_num;
	unsigned kick_fds, call_fds;
	bool bad_flags; /* a request carried flags other than the version and NEED_REPLY */
};

static struct fake F;
static struct vio_vu_fe fe;

static void fake_send(struct fake *f, uint32_t request, uint32_t flags, const void *p,
		      uint32_t size, const int *fds, unsigned nfds)
{
	struct vio_vu_hdr h = {request, flags, size};

	vio_vu_fe_send_raw(&f->be, &h, p, size, fds, nfds);
}

/* A well-formed reply. */
static void fake_reply(struct fake *f, uint32_t request, const void *p, uint32_t size,
		       const int *fds, unsigned nfds)
{
	fake_send(f, request, VIO_VU_VERSION | VIO_VU_FLAG_REPLY, p, size, fds, nfds);
}

static void fake_u64(struct fake *f, uint32_t request, uint64_t v)
{
	fake_reply(f, request, &v, sizeof(v), NULL, 0);
}

/* The answers of a reasonable backend. */
static void fake_default(struct fake *f, const struct vio_vu_hdr *h, uint8_t *p, int *fds,
			 unsigned nfds)
{
	switch (h->request) {
	case VIO_VU_GET_FEATURES:
		fake_u64(f, h->request, FAKE_FEATURES);
		return;
	case VIO_VU_GET_PROTOCOL_FEATURES:
		fake_u64(f, h->request, FAKE_PROTOCOL);
		return;
	case VIO_VU_GET_QUEUE_NUM:
		fake_u64(f, h->request, 4);
		return;
	case VIO_VU_GET_CONFIG:
		fake_reply(f, h->request, p, h->size, NULL, 0);
		return;
	case VIO_VU_GET_VRING_BASE: {
		struct vio_vu_vring_state st;

		memcpy(&st, p, sizeof(st));
		st.num = 0;
		fake_reply(f, h->request, &st, sizeof(st), NULL, 0);
		return;
	}
	case VIO_VU_GET_INFLIGHT_FD: {
		struct vio_vu_inflight in;
		int mfd = memfd_create("fake-inflight", MFD_CLOEXEC);

		memcpy(&in, p, sizeof(in));
		in.mmap_size = 4096;
		in.mmap_offset = 0;
		if (mfd < 0 || ftruncate(mfd, 4096) != 0)
			f->error = "memfd for the inflight area";
		fake_reply(f, h->request, &in, sizeof(in), &mfd, 1);
		close(mfd);
		return;
	}
	case VIO_VU_SET_MEM_TABLE:
		memcpy(&f->region, p + 8, sizeof(f->region));
		break;
	case VIO_VU_SET_FEATURES:
		memcpy(&f->features_set, p, 8);
		break;
	case VIO_VU_SET_VRING_ADDR:
		memcpy(&f->addr, p, sizeof(f->addr));
		break;
	case VIO_VU_SET_VRING_NUM:
		memcpy(&f->vring_num, p + 4, 4);
		break;
	case VIO_VU_SET_VRING_KICK:
		f->kick_fds += nfds;
		break;
	case VIO_VU_SET_VRING_CALL:
		f->call_fds += nfds;
		break;
	default:
		break;
	}
	(void) fds;
	if (h->flags & VIO_VU_FLAG_NEED_REPLY)
		fake_u64(f, h->request, 0);
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;

	for (;;) {
		struct vio_vu_hdr h;
		uint8_t p[VIO_VU_MAX_PAYLOAD + 64];
		int fds[VIO_VU_MAX_FDS];
		unsigned nfds = VIO_VU_MAX_FDS;
		size_t len;
		int r = vio_vu_fe_recv_raw(&f->be, &h, p, sizeof(p), &len, fds, &nfds, 10000);

		if (r != 1)
			break;
		f->nmsg++;
		if ((h.flags & ~VIO_VU_FLAG_NEED_REPLY) != VIO_VU_VERSION)
			f->bad_flags = true;
		if (f->hook == NULL || !f->hook(f, &h, p, fds, nfds))
			fake_default(f, &h, p, fds, nfds);
		for (unsigned i = 0; i < nfds; i++)
			close(fds[i]);
	}
	return NULL;
}

/* Connects fe to a fake backend answering through hook (NULL: defaults only). */
static void fake_start(bool (*hook)(struct fake *, const struct vio_vu_hdr *, uint8_t *, int *,
				    unsigned),
		       int timeout_ms)
{
	int sv[2];

	memset(&F, 0, sizeof(F));
	F.hook = hook;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	vio_vu_fe_adopt(&fe, sv[0]);
	fe.timeout_ms = timeout_ms;
	vio_vu_fe_adopt(&F.be, sv[1]);
	assert_int_equal(pthread_create(&F.th, NULL, fake_main, &F), 0);
}

static int teardown(void **state)
{
	(void) state;
	vio_vu_fe_close(&fe);
	if (F.be.magic != 0) {
		pthread_join(F.th, NULL);
		vio_vu_fe_close(&F.be);
	}
	if (F.error != NULL) {
		print_message("# fake backend: %s\n", F.error);
		return -1;
	}
	return 0;
}

static void f_setup_messages(void **state)
{
	struct vio_vu_fe_params p = {.features = FAKE_FEATURES, .queue_size = 64};
	uint64_t uva, end;

	(void) state;
	fake_start(NULL, 2000);
	assert_int_equal(vio_vu_fe_setup(&fe, &p), 0);
	assert_int_equal(vio_vu_fe_driver_ok(&fe), 0);
	assert_int_equal(vio_vu_fe_stop(&fe), 0);
	assert_false(F.bad_flags);
	/* Features: what was offered and wanted, protocol bit kept. */
	assert_int_equal(F.features_set, FAKE_FEATURES);
	/* The memory region is the frontend's mapping; the rings lie inside it, aligned. */
	uva = (uint64_t) (uintptr_t) fe.mem;
	end = uva + fe.mem_size;
	assert_int_equal(F.region.userspace_addr, uva);
	assert_int_equal(F.region.memory_size, fe.mem_size);
	assert_int_equal(F.region.guest_phys_addr, fe.gpa_base);
	assert_true(F.addr.desc_user_addr >= uva && F.addr.desc_user_addr + 16 * 64 <= end);
	assert_true(F.addr.avail_user_addr >= uva && F.addr.used_user_addr + 6 + 8 * 64 <= end);
	assert_int_equal(F.addr.desc_user_addr % 16, 0);
	assert_int_equal(F.addr.avail_user_addr % 2, 0);
	assert_int_equal(F.addr.used_user_addr % 4, 0);
	assert_int_equal(F.vring_num, 64);
	assert_int_equal(F.kick_fds, 1);
	assert_int_equal(F.call_fds, 1);
	assert_non_null(fe.inflight);
}

/* Hooks answering GET_FEATURES wrongly, one way each. */
static int bad_kind;

static bool bad_features(struct fake *f, const struct vio_vu_hdr *h, uint8_t *p, int *fds,
			 unsigned nfds)
{
	uint64_t v = FAKE_FEATURES;
	uint8_t big[64] = {0};
	int fd = dup(1);

	(void) p, (void) fds, (void) nfds;
	if (h->request != VIO_VU_GET_FEATURES)
		return false;
	switch (bad_kind) {
	case 0: /* another request's reply */
		fake_reply(f, VIO_VU_GET_PROTOCOL_FEATURES, &v, 8, NULL, 0);
		break;
	case 1: /* no reply flag */
		fake_send(f, h->request, VIO_VU_VERSION, &v, 8, NULL, 0);
		break;
	case 2: /* need-reply on a reply */
		fake_send(f, h->request,
			  VIO_VU_VERSION | VIO_VU_FLAG_REPLY | VIO_VU_FLAG_NEED_REPLY, &v, 8, NULL,
			  0);
		break;
	case 3: /* another version */
		fake_send(f, h->request, 2 | VIO_VU_FLAG_REPLY, &v, 8, NULL, 0);
		break;
	case 4: /* short */
		fake_reply(f, h->request, &v, 4, NULL, 0);
		break;
	case 5: /* long */
		fake_reply(f, h->request, big, sizeof(big), NULL, 0);
		break;
	case 6: /* a descriptor nobody asked for */
		fake_reply(f, h->request, &v, 8, &fd, 1);
		break;
	case 7: /* hang up */
		shutdown(f->be.sock, SHUT_RDWR);
		break;
	default: /* silence */
		break;
	}
	close(fd);
	return true;
}

static void f_bad_replies(void **state)
{
	static const int want[] = {-EPROTO, -EPROTO, -EPROTO,	  -EPROTO,   -EPROTO,
				   -EPROTO, -EPROTO, -ECONNRESET, -ETIMEDOUT};
	int fds_before = it_count_fds(getpid());

	(void) state;
	for (bad_kind = 0; bad_kind < 9; bad_kind++) {
		uint64_t v = 0;
		int r;

		fake_start(bad_features, 300);
		r = vio_vu_fe_get_u64(&fe, VIO_VU_GET_FEATURES, &v);
		if (r != want[bad_kind])
			fail_msg("case %d: %d (%s), %d expected", bad_kind, r, vio_vu_fe_error(&fe),
				 want[bad_kind]);
		/* Nothing more is read from a backend that broke the protocol. */
		assert_true(fe.broken);
		assert_int_equal(vio_vu_fe_get_u64(&fe, VIO_VU_GET_FEATURES, &v), -EPROTO);
		teardown(NULL);
	}
	/* The stray descriptor was closed, not kept. */
	assert_int_equal(it_count_fds(getpid()), fds_before);
}

static uint64_t ack_value;

static bool nack(struct fake *f, const struct vio_vu_hdr *h, uint8_t *p, int *fds, unsigned nfds)
{
	(void) p, (void) fds, (void) nfds;
	if (h->request != VIO_VU_SET_FEATURES)
		return false;
	if (!(h->flags & VIO_VU_FLAG_NEED_REPLY))
		f->error = "SET_FEATURES without NEED_REPLY under REPLY_ACK";
	fake_u64(f, h->request, ack_value);
	return true;
}

static void f_reply_ack(void **state)
{
	uint64_t v;

	(void) state;
	fake_start(nack, 1000);
	/* As if negotiated: every request without a reply asks for an ack. */
	fe.protocol = 1ull << VIO_VU_PF_REPLY_ACK;
	ack_value = 7;
	assert_int_equal(vio_vu_fe_send_u64(&fe, VIO_VU_SET_FEATURES, 1), -EREMOTEIO);
	/* A refusal is an answer, not a broken protocol. */
	assert_false(fe.broken);
	ack_value = 0;
	assert_int_equal(vio_vu_fe_send_u64(&fe, VIO_VU_SET_FEATURES, 1), 0);
	assert_int_equal(vio_vu_fe_get_u64(&fe, VIO_VU_GET_FEATURES, &v), 0);
	assert_int_equal(v, FAKE_FEATURES);
}

static int config_kind;

static bool bad_config(struct fake *f, const struct vio_vu_hdr *h, uint8_t *p, int *fds,
		       unsigned nfds)
{
	struct vio_vu_config c;

	(void) fds, (void) nfds;
	if (h->request == VIO_VU_GET_STATUS) {
		fake_u64(f, h->request, 0x100);
		return true;
	}
	if (h->request != VIO_VU_GET_CONFIG)
		return false;
	memcpy(&c, p, h->size);
	if (config_kind == 0) {
		fake_reply(f, h->request, NULL, 0, NULL, 0);
	} else {
		c.offset += 4;
		fake_reply(f, h->request, &c, h->size, NULL, 0);
	}
	return true;
}

static void f_config_status(void **state)
{
	uint8_t buf[8], s;

	(void) state;
	config_kind = 0;
	fake_start(bad_config, 1000);
	/* An empty reply is the spec's refusal: an error, the connection still fine. */
	assert_int_equal(vio_vu_fe_get_config(&fe, 0, buf, sizeof(buf)), -EIO);
	assert_false(fe.broken);
	/* A status is a byte. */
	assert_int_equal(vio_vu_fe_get_status(&fe, &s), -EPROTO);
	teardown(NULL);
	config_kind = 1;
	fake_start(bad_config, 1000);
	/* A reply about other bytes than asked. */
	assert_int_equal(vio_vu_fe_get_config(&fe, 0, buf, sizeof(buf)), -EPROTO);
}

static int setup_kind;

static bool bad_setup(struct fake *f, const struct vio_vu_hdr *h, uint8_t *p, int *fds,
		      unsigned nfds)
{
	(void) fds, (void) nfds;
	if (h->request == VIO_VU_GET_INFLIGHT_FD && setup_kind < 3) {
		struct vio_vu_inflight in;
		int mfd = memfd_create("fake-inflight", MFD_CLOEXEC);

		memcpy(&in, p, sizeof(in));
		in.mmap_size = setup_kind == 1 ? (1ull << 40) : 4096;
		in.mmap_offset = setup_kind == 2 ? 100 : 0;
		if (mfd < 0 || ftruncate(mfd, 4096) != 0)
			f->error = "memfd for the inflight area";
		/* 0: no descriptor; 1: an absurd size; 2: an unaligned offset. */
		fake_reply(f, h->request, &in, sizeof(in), &mfd, setup_kind == 0 ? 0 : 1);
		close(mfd);
		return true;
	}
	if (h->request == VIO_VU_GET_VRING_BASE && setup_kind >= 3) {
		struct vio_vu_vring_state st;

		memcpy(&st, p, sizeof(st));
		if (setup_kind == 3)
			st.index = 1; /* another queue's answer */
		else
			st.num = 40000; /* further than anything published */
		fake_reply(f, h->request, &st, sizeof(st), NULL, 0);
		return true;
	}
	return false;
}

static void f_bad_setup_values(void **state)
{
	struct vio_vu_fe_params p = {.features = FAKE_FEATURES};

	(void) state;
	for (setup_kind = 0; setup_kind < 5; setup_kind++) {
		int r;

		fake_start(bad_setup, 1000);
		r = vio_vu_fe_setup(&fe, &p);
		if (r == 0)
			r = vio_vu_fe_driver_ok(&fe);
		if (r == 0)
			r = vio_vu_fe_stop(&fe);
		if (r != -EPROTO)
			fail_msg("case %d: %d (%s)", setup_kind, r, vio_vu_fe_error(&fe));
		teardown(NULL);
	}
}

static void f_backend_channel(void **state)
{
	int sv[2];
	struct vio_vu_hdr h = {VIO_VU_BACKEND_CONFIG_CHANGE_MSG,
			       VIO_VU_VERSION | VIO_VU_FLAG_NEED_REPLY, 0};
	struct vio_vu_fe be2;
	struct vio_vu_hdr rh;
	uint64_t v;
	size_t len;

	(void) state;
	fake_start(NULL, 1000);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	fe.backend_fd = sv[0];
	vio_vu_fe_adopt(&be2, sv[1]);
	/* A config change asking for a reply: counted and acknowledged with 0. */
	assert_int_equal(vio_vu_fe_send_raw(&be2, &h, NULL, 0, NULL, 0), 0);
	assert_int_equal(vio_vu_fe_backend_poll(&fe, 1000), 1);
	assert_int_equal(fe.config_changes, 1);
	assert_int_equal(vio_vu_fe_recv_raw(&be2, &rh, &v, sizeof(v), &len, NULL, NULL, 1000), 1);
	assert_int_equal(rh.flags, VIO_VU_VERSION | VIO_VU_FLAG_REPLY);
	assert_int_equal(v, 0);
	/* Something the frontend does not implement: answered 1. */
	h.request = 77;
	assert_int_equal(vio_vu_fe_send_raw(&be2, &h, NULL, 0, NULL, 0), 0);
	assert_int_equal(vio_vu_fe_backend_poll(&fe, 1000), 1);
	assert_int_equal(vio_vu_fe_recv_raw(&be2, &rh, &v, sizeof(v), &len, NULL, NULL, 1000), 1);
	assert_int_equal(v, 1);
	assert_int_equal(fe.config_changes, 1);
	/* A reply where a request belongs. */
	h.flags = VIO_VU_VERSION | VIO_VU_FLAG_REPLY;
	assert_int_equal(vio_vu_fe_send_raw(&be2, &h, NULL, 0, NULL, 0), 0);
	assert_int_equal(vio_vu_fe_backend_poll(&fe, 1000), -EPROTO);
	vio_vu_fe_close(&be2);
}

/* While the frontend waits for GET_FEATURES, the backend first insists on its own request. */
static struct vio_vu_fe chan;

static bool config_first(struct fake *f, const struct vio_vu_hdr *h, uint8_t *p, int *fds,
			 unsigned nfds)
{
	struct vio_vu_hdr c = {VIO_VU_BACKEND_CONFIG_CHANGE_MSG,
			       VIO_VU_VERSION | VIO_VU_FLAG_NEED_REPLY, 0};
	struct vio_vu_hdr rh;
	uint64_t v = 1;
	size_t len;

	(void) p, (void) fds, (void) nfds;
	if (h->request != VIO_VU_GET_FEATURES)
		return false;
	vio_vu_fe_send_raw(&chan, &c, NULL, 0, NULL, 0);
	/* Only with the frontend's answer does the backend answer in turn. */
	if (vio_vu_fe_recv_raw(&chan, &rh, &v, sizeof(v), &len, NULL, NULL, 2000) == 1 && v == 0)
		fake_u64(f, h->request, FAKE_FEATURES);
	return true;
}

static void f_backend_request_during_reply(void **state)
{
	int sv[2];
	uint64_t v;

	(void) state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	vio_vu_fe_adopt(&chan, sv[1]);
	fake_start(config_first, 3000);
	fe.backend_fd = sv[0];
	assert_int_equal(vio_vu_fe_get_u64(&fe, VIO_VU_GET_FEATURES, &v), 0);
	assert_int_equal(v, FAKE_FEATURES);
	assert_int_equal(fe.config_changes, 1);
	teardown(NULL);
	vio_vu_fe_close(&chan);
}

static void f_allocator(void **state)
{
	struct vio_vu_fe_params p = {.features = FAKE_FEATURES, .mem_size = 1u << 20};
	uint64_t a, b, c, d;
	uint8_t *pa, *pb;

	(void) state;
	fake_start(NULL, 2000);
	assert_int_equal(vio_vu_fe_setup(&fe, &p), 0);
	pa = vio_vu_fe_alloc(&fe, 100, 64, &a);
	pb = vio_vu_fe_alloc(&fe, 5000, 4096, &b);
	assert_non_null(pa);
	assert_non_null(pb);
	assert_int_equal(b % 4096, 0);
	assert_true(b >= a + 128 || a >= b + 5000);
	assert_ptr_equal(vio_vu_fe_ptr(&fe, a, 100), pa);
	/* Guest memory outside the map, or running past its end, has no local pointer. */
	assert_null(vio_vu_fe_ptr(&fe, fe.gpa_base - 1, 2));
	assert_null(vio_vu_fe_ptr(&fe, fe.gpa_base + fe.mem_size - 4, 8));
	/* Freed space is found again; a request larger than the memory is refused. */
	vio_vu_fe_free(&fe, b, 5000);
	assert_non_null(vio_vu_fe_alloc(&fe, 5000, 4096, &c));
	assert_int_equal(c, b);
	assert_null(vio_vu_fe_alloc(&fe, 2u << 20, 64, &d));
	assert_null(vio_vu_fe_alloc(&fe, 64, 3, &d));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(f_setup_messages, teardown),
	    cmocka_unit_test_teardown(f_bad_replies, teardown),
	    cmocka_unit_test_teardown(f_reply_ack, teardown),
	    cmocka_unit_test_teardown(f_config_status, teardown),
	    cmocka_unit_test_teardown(f_bad_setup_values, teardown),
	    cmocka_unit_test_teardown(f_backend_channel, teardown),
	    cmocka_unit_test_teardown(f_backend_request_during_reply, teardown),
	    cmocka_unit_test_teardown(f_allocator, teardown),
	};

	return cmocka_run_group_tests_name("vhost-user frontend against a scripted backend", tests,
					   NULL, NULL);
}
