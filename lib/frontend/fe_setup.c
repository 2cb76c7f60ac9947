/* SPDX-License-Identifier: BSD-3-Clause */
/* The vhost-user frontend's connection, negotiation and set-up, config and status, and the backend
 * channel. */
#include "fe_internal.h"

/* ------------------------------------------------------------ connection */

static void fe_init(struct vio_vu_fe *fe)
{
	memset(fe, 0, sizeof(*fe));
	fe->sock = -1;
	fe->backend_fd = -1;
	fe->mem_fd = -1;
	fe->inflight_fd = -1;
	fe->timeout_ms = DEFAULT_TIMEOUT;
	fe->magic = FE_MAGIC;
}

void vio_vu_fe_adopt(struct vio_vu_fe *fe, int sock)
{
	fe_init(fe);
	fe->sock = sock;
}

/* Connects fe->sock to path, retrying while the backend is not listening yet. */
static int connect_path(struct vio_vu_fe *fe, const char *path, int timeout_ms)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int64_t deadline = fe_now_ms() + timeout_ms;

	if (strlen(path) >= sizeof(sa.sun_path))
		return fe_fail(fe, -ENAMETOOLONG, "socket path too long: %s", path);
	strcpy(sa.sun_path, path);
	for (;;) {
		int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		int e;

		if (s < 0)
			return fe_fail(fe, -errno, "socket: %s", strerror(errno));
		if (connect(s, (struct sockaddr *) &sa, sizeof(sa)) == 0) {
			fe->sock = s;
			return 0;
		}
		e = errno;
		close(s);
		/* A daemon still starting has no socket yet, or has not listened yet. */
		if ((e != ENOENT && e != ECONNREFUSED && e != EAGAIN) ||
		    fe_remaining(deadline) == 0)
			return fe_fail(fe, -e, "connect %s: %s", path, strerror(e));
		usleep(10000);
	}
}

int vio_vu_fe_connect(struct vio_vu_fe *fe, const char *path, int timeout_ms)
{
	fe_init(fe);
	return connect_path(fe, path, timeout_ms);
}

const char *vio_vu_fe_error(const struct vio_vu_fe *fe)
{
	return fe->err[0] != '\0' ? fe->err : "no error";
}

/* ------------------------------------------------------------ set-up */

static int set_params(struct vio_vu_fe *fe, const struct vio_vu_fe_params *p)
{
	struct vio_vu_fe_params d = {0};

	if (p != NULL)
		d = *p;
	if (d.protocol_features == 0)
		d.protocol_features = VIO_VU_FE_PROTOCOL_DEFAULT;
	if (d.add_mem_reg)
		d.protocol_features |= 1ull << VIO_VU_PF_CONFIGURE_MEM_SLOTS;
	if (d.no_inflight)
		d.protocol_features &= ~(1ull << VIO_VU_PF_INFLIGHT_SHMFD);
	if (d.features == 0)
		d.features = VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_F_EVENT_IDX);
	if (d.mem_size == 0)
		d.mem_size = DEFAULT_MEM;
	if (d.gpa_base == 0)
		d.gpa_base = DEFAULT_GPA;
	if (d.nregions == 0)
		d.nregions = 1;
	if (d.num_queues == 0)
		d.num_queues = 1;
	if (d.queue_size == 0)
		d.queue_size = DEFAULT_QSIZE;
	if (d.timeout_ms == 0)
		d.timeout_ms = DEFAULT_TIMEOUT;
	if (d.nregions > VIO_VU_MAX_REGIONS || d.num_queues > VIO_VU_FE_MAX_QUEUES ||
	    d.queue_size > VIO_VQ_MAX_SIZE || (d.queue_size & (d.queue_size - 1)) != 0 ||
	    d.config_size > VIO_VU_MAX_CONFIG || d.gpa_base % PAGE != 0)
		return fe_fail(fe, -EINVAL, "invalid frontend parameters");
	fe->params = d;
	fe->timeout_ms = d.timeout_ms;
	return 0;
}

static int open_backend_channel(struct vio_vu_fe *fe)
{
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return fe_fail(fe, -errno, "socketpair: %s", strerror(errno));
	r = vio_vu_fe_request(fe, VIO_VU_SET_BACKEND_REQ_FD, NULL, 0, &sv[1], 1, NULL, 0, NULL);
	close(sv[1]);
	if (r < 0) {
		close(sv[0]);
		return r;
	}
	fe->backend_fd = sv[0];
	return 0;
}

int vio_vu_fe_negotiate(struct vio_vu_fe *fe, const struct vio_vu_fe_params *p)
{
	uint64_t pf = 0, want;
	int r;

	r = set_params(fe, p);
	if (r < 0)
		return r;
	r = vio_vu_fe_get_u64(fe, VIO_VU_GET_FEATURES, &fe->features_offered);
	if (r < 0)
		return r;
	if (fe->features_offered & VIO_BIT(VIO_VU_F_PROTOCOL_FEATURES)) {
		r = vio_vu_fe_get_u64(fe, VIO_VU_GET_PROTOCOL_FEATURES, &fe->protocol_offered);
		if (r < 0)
			return r;
		pf = fe->protocol_offered & fe->params.protocol_features;
		/* REPLY_ACK is not in force for the message that turns it on. */
		r = vio_vu_fe_send_u64(fe, VIO_VU_SET_PROTOCOL_FEATURES, pf);
		if (r < 0)
			return r;
		fe->protocol = pf;
	}
	if (vio_vu_fe_has_protocol(fe, VIO_VU_PF_MQ)) {
		r = vio_vu_fe_get_u64(fe, VIO_VU_GET_QUEUE_NUM, &fe->max_queues);
		if (r < 0)
			return r;
		if (fe->max_queues < fe->params.num_queues)
			return fe_fail(fe, -ENOTSUP, "backend has %llu queues, %u wanted",
				       (unsigned long long) fe->max_queues, fe->params.num_queues);
	}
	if (vio_vu_fe_has_protocol(fe, VIO_VU_PF_CONFIGURE_MEM_SLOTS)) {
		r = vio_vu_fe_get_u64(fe, VIO_VU_GET_MAX_MEM_SLOTS, &fe->max_mem_slots);
		if (r < 0)
			return r;
		if (fe->params.add_mem_reg && fe->max_mem_slots < fe->params.nregions)
			return fe_fail(fe, -ENOTSUP, "backend takes %llu memory slots",
				       (unsigned long long) fe->max_mem_slots);
	}
	if (vio_vu_fe_has_protocol(fe, VIO_VU_PF_BACKEND_REQ)) {
		r = open_backend_channel(fe);
		if (r < 0)
			return r;
	}
	r = vio_vu_fe_request(fe, VIO_VU_SET_OWNER, NULL, 0, NULL, 0, NULL, 0, NULL);
	if (r < 0)
		return r;
	if (fe->params.config_size > 0 && vio_vu_fe_has_protocol(fe, VIO_VU_PF_CONFIG)) {
		r = vio_vu_fe_get_config(fe, 0, fe->config, fe->params.config_size);
		if (r < 0)
			return r;
		fe->config_size = fe->params.config_size;
	}
	want = fe->params.features & ~VIO_BIT(VIO_VU_F_PROTOCOL_FEATURES);
	fe->features = fe->features_offered & want;
	if (!vio_vu_fe_has(fe, VIO_F_VERSION_1))
		return fe_fail(fe, -ENOTSUP,
			       "backend does not offer VIRTIO_F_VERSION_1 (offers %#llx)",
			       (unsigned long long) fe->features_offered);
	/* The backend needs to see the bit it offered acknowledged to keep protocol features on. */
	fe->features |= fe->features_offered & VIO_BIT(VIO_VU_F_PROTOCOL_FEATURES);
	return 0;
}

int vio_vu_fe_setup(struct vio_vu_fe *fe, const struct vio_vu_fe_params *p)
{
	int r = vio_vu_fe_negotiate(fe, p);

	return r < 0 ? r : vio_vu_fe_configure(fe);
}

static int status_add(struct vio_vu_fe *fe, uint8_t bits)
{
	uint8_t s;
	int r = vio_vu_fe_get_status(fe, &s);

	if (r < 0)
		return r;
	return vio_vu_fe_set_status(fe, (uint8_t) (s | bits));
}

/* Status steps around SET_FEATURES; the spec's order or QEMU's. */
static int send_features(struct vio_vu_fe *fe)
{
	bool st = vio_vu_fe_has_protocol(fe, VIO_VU_PF_STATUS);
	uint8_t s;
	int r;

	if (st && !fe->params.qemu_status_order) {
		r = vio_vu_fe_set_status(fe, VIO_STATUS_ACKNOWLEDGE);
		if (r == 0)
			r = vio_vu_fe_set_status(fe, VIO_STATUS_ACKNOWLEDGE | VIO_STATUS_DRIVER);
		if (r < 0)
			return r;
	}
	r = vio_vu_fe_send_u64(fe, VIO_VU_SET_FEATURES, fe->features);
	if (r < 0 || !st)
		return r;
	if (fe->params.qemu_status_order)
		r = status_add(fe, VIO_STATUS_FEATURES_OK);
	else
		r = vio_vu_fe_set_status(fe, VIO_STATUS_ACKNOWLEDGE | VIO_STATUS_DRIVER |
						 VIO_STATUS_FEATURES_OK);
	if (r == 0)
		r = vio_vu_fe_get_status(fe, &s);
	if (r < 0)
		return r;
	if (!(s & VIO_STATUS_FEATURES_OK))
		return fe_fail(fe, -ENOTSUP, "backend refused the features %#llx (status %#x)",
			       (unsigned long long) fe->features, s);
	return 0;
}

static void drop_inflight(struct vio_vu_fe *fe)
{
	if (fe->inflight != NULL)
		munmap(fe->inflight, fe->inflight_desc.mmap_size);
	if (fe->inflight_fd >= 0)
		close(fe->inflight_fd);
	fe->inflight = NULL;
	fe->inflight_fd = -1;
	memset(&fe->inflight_desc, 0, sizeof(fe->inflight_desc));
}

/* A fresh inflight area from the backend, handed straight back (what QEMU does per start). */
static int setup_inflight(struct vio_vu_fe *fe)
{
	struct vio_vu_inflight in = {.num_queues = fe->num_queues, .queue_size = fe->queue_size};
	struct vio_vu_inflight out;
	void *p;
	int fd, r;

	drop_inflight(fe);
	r = vio_vu_fe_request(fe, VIO_VU_GET_INFLIGHT_FD, &in, sizeof(in), NULL, 0, &out,
			      sizeof(out), &fd);
	if (r < 0)
		return r;
	if (out.mmap_size == 0) {
		/* The backend tracks nothing: nothing to hand back. */
		if (fd >= 0)
			close(fd);
		return 0;
	}
	if (fd < 0 || out.mmap_size > MAX_INFLIGHT || out.mmap_offset % PAGE != 0) {
		if (fd >= 0)
			close(fd);
		return fe_broken(
		    fe,
		    fe_fail(fe, -EPROTO, "GET_INFLIGHT_FD: size %llu offset %llu, descriptor %s",
			    (unsigned long long) out.mmap_size,
			    (unsigned long long) out.mmap_offset, fd < 0 ? "missing" : "present"));
	}
	p = mmap(NULL, out.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 (off_t) out.mmap_offset);
	if (p == MAP_FAILED) {
		close(fd);
		return fe_broken(fe, fe_fail(fe, -EPROTO, "GET_INFLIGHT_FD: area does not map: %s",
					     strerror(errno)));
	}
	fe->inflight = p;
	fe->inflight_fd = fd;
	fe->inflight_desc = out;
	in.mmap_size = out.mmap_size;
	in.mmap_offset = out.mmap_offset;
	return vio_vu_fe_request(fe, VIO_VU_SET_INFLIGHT_FD, &in, sizeof(in), &fd, 1, NULL, 0,
				 NULL);
}

/* The area kept from the first connection, handed to a new backend (QEMU's reconnect). */
static int resend_inflight(struct vio_vu_fe *fe)
{
	struct vio_vu_inflight in = fe->inflight_desc;

	return vio_vu_fe_request(fe, VIO_VU_SET_INFLIGHT_FD, &in, sizeof(in), &fe->inflight_fd, 1,
				 NULL, 0, NULL);
}

static int alloc_queues(struct vio_vu_fe *fe)
{
	uint64_t ring_bytes = vio_drvq_ring_bytes(fe->queue_size);

	fe->queues = calloc(fe->num_queues, sizeof(*fe->queues));
	if (fe->queues == NULL)
		return fe_fail(fe, -ENOMEM, "out of memory");
	for (unsigned i = 0; i < fe->num_queues; i++) {
		struct vio_vu_fe_queue *q = &fe->queues[i];

		q->kick_fd = q->call_fd = -1;
		q->slots = calloc(fe->queue_size, sizeof(*q->slots));
		q->ring = vio_vu_fe_alloc(fe, ring_bytes, PAGE, &q->ring_gpa);
		if (q->slots == NULL || q->ring == NULL)
			return fe_fail(fe, -ENOMEM, "no room for the rings in guest memory");
		q->kick_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		q->call_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (q->kick_fd < 0 || q->call_fd < 0)
			return fe_fail(fe, -errno, "eventfd: %s", strerror(errno));
	}
	return 0;
}

void fe_drain_eventfd(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) == (ssize_t) sizeof(v))
		;
}

/*
 * Hands ring i to the backend. Fresh: empty rings, base 0. Resumed (a new
 * backend after the last one died): the rings as they are, and processing
 * resumes at the used index, the one position the driver knows the dead
 * backend reached (QEMU does the same); what it had in flight beyond that
 * comes back only through the inflight area.
 */
static int setup_queue(struct vio_vu_fe *fe, uint16_t i, bool resume)
{
	struct vio_vu_fe_queue *q = &fe->queues[i];
	struct vio_vu_vring_state st = {.index = i, .num = fe->queue_size};
	struct vio_vu_vring_addr a = {.index = i};
	uint64_t idx = i;
	int r;

	if (!resume) {
		vio_drvq_init(&q->dq, fe->queue_size, q->ring, q->ring_gpa, q->slots,
			      vio_vu_fe_has(fe, VIO_F_EVENT_IDX), &q->desc_gpa, &q->avail_gpa,
			      &q->used_gpa);
		fe_drain_eventfd(q->kick_fd);
		fe_drain_eventfd(q->call_fd);
	}
	r = vio_vu_fe_request(fe, VIO_VU_SET_VRING_NUM, &st, sizeof(st), NULL, 0, NULL, 0, NULL);
	if (r < 0)
		return r;
	st.num = resume ? vio_le16(__atomic_load_n(&q->dq.used[1], __ATOMIC_ACQUIRE)) : 0;
	r = vio_vu_fe_request(fe, VIO_VU_SET_VRING_BASE, &st, sizeof(st), NULL, 0, NULL, 0, NULL);
	if (r < 0)
		return r;
	/* Ring addresses travel as frontend virtual addresses, as QEMU sends them. */
	a.desc_user_addr = (uint64_t) (uintptr_t) vio_vu_fe_ptr(fe, q->desc_gpa, 1);
	a.avail_user_addr = (uint64_t) (uintptr_t) vio_vu_fe_ptr(fe, q->avail_gpa, 1);
	a.used_user_addr = (uint64_t) (uintptr_t) vio_vu_fe_ptr(fe, q->used_gpa, 1);
	a.log_guest_addr = q->used_gpa;
	r = vio_vu_fe_request(fe, VIO_VU_SET_VRING_ADDR, &a, sizeof(a), NULL, 0, NULL, 0, NULL);
	if (r < 0)
		return r;
	r = vio_vu_fe_request(fe, VIO_VU_SET_VRING_KICK, &idx, sizeof(idx), &q->kick_fd, 1, NULL, 0,
			      NULL);
	if (r < 0)
		return r;
	r = vio_vu_fe_request(fe, VIO_VU_SET_VRING_CALL, &idx, sizeof(idx), &q->call_fd, 1, NULL, 0,
			      NULL);
	if (r < 0)
		return r;
	q->ready = true;
	/* Without protocol features a ring starts enabled. */
	q->enabled = !vio_vu_fe_has(fe, VIO_VU_F_PROTOCOL_FEATURES);
	return 0;
}

int vio_vu_fe_configure(struct vio_vu_fe *fe)
{
	int r;

	if (fe->sock < 0)
		return fe_fail(fe, -ENOTCONN, "not connected");
	r = send_features(fe);
	if (r < 0)
		return r;
	if (fe->mem == NULL) {
		fe->num_queues = fe->params.num_queues;
		fe->queue_size = fe->params.queue_size;
		r = fe_mem_create(fe);
		if (r == 0)
			r = alloc_queues(fe);
		if (r < 0)
			return r;
	}
	r = fe_send_memory(fe);
	if (r < 0)
		return r;
	if (vio_vu_fe_has_protocol(fe, VIO_VU_PF_INFLIGHT_SHMFD)) {
		r = setup_inflight(fe);
		if (r < 0)
			return r;
	}
	for (uint16_t i = 0; i < fe->num_queues; i++) {
		r = setup_queue(fe, i, false);
		if (r < 0)
			return r;
	}
	fe->configured = true;
	return 0;
}

int vio_vu_fe_reconnect(struct vio_vu_fe *fe, const char *path, int timeout_ms)
{
	struct vio_vu_fe_params p = fe->params;
	int r;

	if (fe->magic != FE_MAGIC || !fe->configured)
		return fe_fail(fe, -EINVAL, "reconnect before the device was configured");
	if (fe->sock >= 0)
		close(fe->sock);
	if (fe->backend_fd >= 0)
		close(fe->backend_fd);
	fe->sock = fe->backend_fd = -1;
	fe->broken = false;
	fe->regions_added = false;
	fe->status = 0;
	for (uint16_t i = 0; i < fe->num_queues; i++)
		fe->queues[i].ready = fe->queues[i].enabled = false;
	r = connect_path(fe, path, timeout_ms);
	if (r == 0)
		r = vio_vu_fe_negotiate(fe, &p);
	if (r == 0)
		r = send_features(fe);
	if (r == 0)
		r = fe_send_memory(fe);
	if (r == 0 && vio_vu_fe_has_protocol(fe, VIO_VU_PF_INFLIGHT_SHMFD))
		r = fe->inflight != NULL ? resend_inflight(fe) : setup_inflight(fe);
	for (uint16_t i = 0; r == 0 && i < fe->num_queues; i++)
		r = setup_queue(fe, i, true);
	return r < 0 ? r : vio_vu_fe_driver_ok(fe);
}

int vio_vu_fe_enable(struct vio_vu_fe *fe, uint16_t queue, bool on)
{
	struct vio_vu_vring_state st = {.index = queue, .num = on};
	int r;

	if (queue >= fe->num_queues)
		return fe_fail(fe, -EINVAL, "no queue %u", queue);
	r = vio_vu_fe_request(fe, VIO_VU_SET_VRING_ENABLE, &st, sizeof(st), NULL, 0, NULL, 0, NULL);
	if (r == 0)
		fe->queues[queue].enabled = on;
	return r;
}

int vio_vu_fe_driver_ok(struct vio_vu_fe *fe)
{
	int r;

	if (!fe->configured)
		return fe_fail(fe, -EINVAL, "driver_ok before configure");
	for (uint16_t i = 0; i < fe->num_queues; i++) {
		if (fe->queues[i].enabled || !vio_vu_fe_has(fe, VIO_VU_F_PROTOCOL_FEATURES))
			continue;
		r = vio_vu_fe_enable(fe, i, true);
		if (r < 0)
			return r;
	}
	if (!vio_vu_fe_has_protocol(fe, VIO_VU_PF_STATUS))
		return 0;
	if (fe->params.qemu_status_order)
		return status_add(fe, VIO_STATUS_ACKNOWLEDGE | VIO_STATUS_DRIVER |
					  VIO_STATUS_DRIVER_OK);
	return vio_vu_fe_set_status(fe, (uint8_t) (fe->status | VIO_STATUS_DRIVER_OK));
}

int vio_vu_fe_start(struct vio_vu_fe *fe, const char *path, const struct vio_vu_fe_params *p)
{
	int timeout = p != NULL && p->timeout_ms > 0 ? p->timeout_ms : DEFAULT_TIMEOUT;
	int r = vio_vu_fe_connect(fe, path, timeout);

	if (r == 0)
		r = vio_vu_fe_setup(fe, p);
	if (r == 0)
		r = vio_vu_fe_driver_ok(fe);
	return r;
}

static int get_vring_base(struct vio_vu_fe *fe, uint16_t i)
{
	struct vio_vu_fe_queue *q = &fe->queues[i];
	struct vio_vu_vring_state st = {.index = i}, rep;
	int r;

	r = vio_vu_fe_request(fe, VIO_VU_GET_VRING_BASE, &st, sizeof(st), NULL, 0, &rep,
			      sizeof(rep), NULL);
	if (r < 0)
		return r;
	/* The backend cannot have consumed more than was published, nor lag by more than a ring. */
	if (rep.index != i || rep.num > 0xffff ||
	    (uint16_t) (q->dq.avail_idx - (uint16_t) rep.num) > fe->queue_size)
		return fe_broken(fe, fe_fail(fe, -EPROTO,
					     "GET_VRING_BASE %u: index %u base %u (avail %u)", i,
					     rep.index, rep.num, q->dq.avail_idx));
	q->stop_base = rep.num;
	q->ready = false;
	q->enabled = false;
	return 0;
}

int vio_vu_fe_stop(struct vio_vu_fe *fe)
{
	bool st = vio_vu_fe_has_protocol(fe, VIO_VU_PF_STATUS);
	int r;

	/* QEMU resets the status first, then disables and stops the rings. */
	if (st && fe->params.qemu_status_order) {
		r = vio_vu_fe_set_status(fe, 0);
		if (r < 0)
			return r;
	}
	for (uint16_t i = 0; i < fe->num_queues; i++) {
		if (!fe->queues[i].ready)
			continue;
		if (fe->params.qemu_status_order && vio_vu_fe_has(fe, VIO_VU_F_PROTOCOL_FEATURES)) {
			r = vio_vu_fe_enable(fe, i, false);
			if (r < 0)
				return r;
		}
		r = get_vring_base(fe, i);
		if (r < 0)
			return r;
	}
	if (st && !fe->params.qemu_status_order)
		return vio_vu_fe_set_status(fe, 0);
	return 0;
}

void vio_vu_fe_close(struct vio_vu_fe *fe)
{
	if (fe->magic != FE_MAGIC)
		return;
	if (fe->sock >= 0)
		close(fe->sock);
	if (fe->backend_fd >= 0)
		close(fe->backend_fd);
	if (fe->queues != NULL) {
		for (unsigned i = 0; i < fe->num_queues; i++) {
			struct vio_vu_fe_queue *q = &fe->queues[i];

			if (q->kick_fd >= 0)
				close(q->kick_fd);
			if (q->call_fd >= 0)
				close(q->call_fd);
			free(q->slots);
		}
		free(fe->queues);
	}
	drop_inflight(fe);
	if (fe->mem != NULL)
		munmap(fe->mem, fe->mem_size);
	if (fe->mem_fd >= 0)
		close(fe->mem_fd);
	free(fe->heap_map);
	fe_init(fe);
	fe->magic = 0;
}

/* ------------------------------------------------------------ config, status, reset */

int vio_vu_fe_get_config(struct vio_vu_fe *fe, uint32_t offset, void *buf, uint32_t len)
{
	struct vio_vu_config c = {.offset = offset, .size = len}, rep;
	int r;

	if (len > VIO_VU_MAX_CONFIG)
		return fe_fail(fe, -EINVAL, "GET_CONFIG of %u bytes", len);
	r = vio_vu_fe_request(fe, VIO_VU_GET_CONFIG, &c, VIO_VU_CONFIG_HDR + len, NULL, 0, &rep,
			      VIO_VU_CONFIG_HDR + len, NULL);
	if (r < 0)
		return r;
	if (rep.offset != offset || rep.size != len)
		return fe_broken(fe, fe_fail(fe, -EPROTO, "GET_CONFIG: reply for offset %u size %u",
					     rep.offset, rep.size));
	memcpy(buf, rep.payload, len);
	return 0;
}

int vio_vu_fe_set_config(struct vio_vu_fe *fe, uint32_t offset, const void *buf, uint32_t len)
{
	struct vio_vu_config c = {.offset = offset, .size = len};

	if (len > VIO_VU_MAX_CONFIG)
		return fe_fail(fe, -EINVAL, "SET_CONFIG of %u bytes", len);
	memcpy(c.payload, buf, len);
	return vio_vu_fe_request(fe, VIO_VU_SET_CONFIG, &c, VIO_VU_CONFIG_HDR + len, NULL, 0, NULL,
				 0, NULL);
}

int vio_vu_fe_set_status(struct vio_vu_fe *fe, uint8_t status)
{
	int r = vio_vu_fe_send_u64(fe, VIO_VU_SET_STATUS, status);

	if (r == 0)
		fe->status = status;
	return r;
}

int vio_vu_fe_get_status(struct vio_vu_fe *fe, uint8_t *status)
{
	uint64_t v;
	int r = vio_vu_fe_get_u64(fe, VIO_VU_GET_STATUS, &v);

	if (r < 0)
		return r;
	if (v > 0xff)
		return fe_broken(fe, fe_fail(fe, -EPROTO, "GET_STATUS: %#llx is not a status byte",
					     (unsigned long long) v));
	*status = (uint8_t) v;
	return 0;
}

int vio_vu_fe_reset_device(struct vio_vu_fe *fe)
{
	int r;

	if (!vio_vu_fe_has_protocol(fe, VIO_VU_PF_RESET_DEVICE))
		return fe_fail(fe, -ENOTSUP, "RESET_DEVICE not negotiated");
	r = vio_vu_fe_request(fe, VIO_VU_RESET_DEVICE, NULL, 0, NULL, 0, NULL, 0, NULL);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < fe->num_queues; i++) {
		fe->queues[i].ready = false;
		fe->queues[i].enabled = false;
	}
	fe->status = 0;
	return 0;
}

/* ------------------------------------------------------------ backend channel */

static int backend_reply(struct vio_vu_fe *fe, uint32_t request, uint64_t value)
{
	struct vio_vu_hdr h = {
	    .request = request, .flags = VIO_VU_VERSION | VIO_VU_FLAG_REPLY, .size = sizeof(value)};

	return fe_send_msg(fe->backend_fd, &h, sizeof(h), &value, sizeof(value), NULL, 0,
			   fe_now_ms() + fe->timeout_ms);
}

int vio_vu_fe_backend_poll(struct vio_vu_fe *fe, int timeout_ms)
{
	int handled = 0, wait = timeout_ms;

	if (fe->backend_fd < 0)
		return -ENOTCONN;
	for (;;) {
		struct pollfd p = {.fd = fe->backend_fd, .events = POLLIN};
		uint8_t buf[VIO_VU_MAX_PAYLOAD];
		int fds[VIO_VU_MAX_FDS];
		struct rx_fds rx = {.fds = fds, .cap = VIO_VU_MAX_FDS};
		struct vio_vu_hdr h;
		uint64_t result = 1;
		int r = poll(&p, 1, wait);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return handled;
		r = fe_read_msg(fe->backend_fd, &h, buf, sizeof(buf), &rx,
				fe_now_ms() + fe->timeout_ms);
		/* Nothing the frontend implements takes a descriptor from the backend. */
		fe_close_fds(fds, rx.n);
		if (r == -ECONNRESET && handled > 0)
			return handled;
		if (r < 0)
			return fe_fail(fe, r == -EMSGSIZE ? -EPROTO : r,
				       "backend channel: message %u of %u bytes: %s", h.request,
				       h.size, strerror(-r));
		if ((h.flags & VIO_VU_VERSION_MASK) != VIO_VU_VERSION ||
		    (h.flags & VIO_VU_FLAG_REPLY))
			return fe_fail(fe, -EPROTO, "backend channel: message %u with flags %#x",
				       h.request, h.flags);
		fe->backend_msgs++;
		if (h.request == VIO_VU_BACKEND_CONFIG_CHANGE_MSG && h.size == 0) {
			fe->config_changes++;
			result = 0;
		}
		if (h.flags & VIO_VU_FLAG_NEED_REPLY) {
			r = backend_reply(fe, h.request, result);
			if (r < 0)
				return fe_fail(fe, r, "backend channel: reply: %s", strerror(-r));
		}
		handled++;
		wait = 0;
	}
}
