/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Fuzz target: the vhost-user protocol engine (src/vhost_user) -- framing, message
 * checks, handlers, the session and ring state machines -- behind an
 * in-memory glue, with a virtio-blk device on a RAM disk.
 *
 * The glue here plays the operating system: handles are entries of a table
 * (guest memory, event handles, channels), mapping hands out the fuzzer's
 * guest memory, signals and sends are checked and counted. Without sockets
 * and system calls every input runs in microseconds, and the glue checks
 * more than a kernel would: the engine must never signal, map, send on or
 * close a handle that is not open (so no double close), must answer with
 * well-formed replies, must close or keep every handle it is given, and
 * after the session ends must hold no handle, no mapping and no device state.
 *
 * Input layout, a sequence of operations until the input ends:
 *   op (u8):
 *     0 mod 4, 1 mod 4  message: u8 request, u8 flags selector (bit 7 set:
 *                       the next byte is used as raw flags; else bit 0 is
 *                       need_reply and the version is 1), le16 payload size
 *                       (mod 320), u8 handles (bits 0-2 count, 7 meaning
 *                       9; bits 3-7 kinds, two bits per handle cycling:
 *                       0 guest memory, 1 event, 2 channel, 3 guest memory),
 *                       then the payload bytes
 *     2 mod 4           kick: every ring with a kick handle or polling
 *     3 mod 4           u8 selector: bit 2 set reconnects; else write guest
 *                       memory: le16 offset (times 4), u8 length, the bytes
 * The guest memory is 256 KiB; a region describing it uses offset 0 and any
 * guest and user address the input chooses.
 */
#include "fuzz_util.h"

#include <stdlib.h>

#include "vioport/blk.h"
#include "vioport/errno.h"
#include "vioport/sim_ramdisk.h"
#include "vioport/vhost_user_engine.h"

#define MEM_SIZE    (256u * 1024u)
#define MEM_ALIGN   4096u
#define DISK_SIZE   (64u * 1024u)
#define MAX_HANDLES 4096
#define MAX_OPS	    256
#define NQ	    2

enum kind { K_FREE, K_MEM, K_EVENT, K_CHANNEL, K_SHARED };

struct handle {
	uint8_t kind;
	bool open;
	uint32_t signals;
	void *shared; /* K_SHARED: the region alloc_shared made */
};

static struct {
	bool ready;
	struct vio_vu_engine eng;
	struct vio_vu_ering rings[NQ];
	struct vio_blk blk;
	struct vio_queue queues[NQ];
	struct vio_blk_req slots[4];
	struct vio_sim_ramdisk rd;
	uint8_t disk[DISK_SIZE];
	uint8_t *mem; /* MEM_SIZE, and an aligned tail a mapping may round up into */
	struct handle h[MAX_HANDLES];
	int nh;
	int conn;
	int maps; /* mappings the engine holds */
	bool trace;
} F;

static struct handle *get(int h)
{
	FZ_CHECK(h >= 0 && h < F.nh);
	return &F.h[h];
}

static int new_handle(uint8_t kind)
{
	if (F.nh == MAX_HANDLES)
		return -1;
	F.h[F.nh] = (struct handle){.kind = kind, .open = true};
	return F.nh++;
}

static int op_describe(void *ctx, int h, uint64_t *size, uint64_t *align)
{
	struct handle *x = get(h);

	(void) ctx;
	FZ_CHECK(x->open);
	if (x->kind != K_MEM)
		return -VIO_EINVAL;
	*size = MEM_SIZE;
	*align = MEM_ALIGN;
	return 0;
}

static int op_map(void *ctx, int h, uint64_t offset, uint64_t len, void **map)
{
	(void) ctx;
	FZ_CHECK(get(h)->open && get(h)->kind == K_MEM);
	/* what describe said: offset aligned and inside, the length whole pages */
	FZ_CHECK(offset % MEM_ALIGN == 0 && len % MEM_ALIGN == 0 && offset < MEM_SIZE &&
		 len <= MEM_SIZE - offset);
	*map = F.mem + offset;
	F.maps++;
	return 0;
}

static void op_unmap(void *ctx, void *map, size_t len)
{
	(void) ctx;
	(void) len;
	FZ_CHECK(F.maps > 0);
	F.maps--;
	if ((uint8_t *) map < F.mem || (uint8_t *) map >= F.mem + MEM_SIZE)
		free(map);
}

static int op_alloc_shared(void *ctx, uint64_t bytes, void **map)
{
	int h;

	(void) ctx;
	FZ_CHECK(bytes > 0 && bytes <= 64u << 20);
	h = new_handle(K_SHARED);
	if (h < 0)
		return -VIO_ENOMEM;
	*map = calloc(1, (size_t) bytes);
	FZ_CHECK(*map != NULL);
	F.maps++;
	return h;
}

static void op_own_event(void *ctx, int h)
{
	(void) ctx;
	FZ_CHECK(get(h)->open);
}

static void op_signal(void *ctx, int h)
{
	(void) ctx;
	FZ_CHECK(get(h)->open);
	get(h)->signals++;
}

static void op_close(void *ctx, int h)
{
	(void) ctx;
	FZ_CHECK(get(h)->open && h != F.conn);
	get(h)->open = false;
}

static int op_send(void *ctx, int h, const struct vio_vu_hdr *hdr, const void *payload, int fd,
		   int timeout_ms)
{
	(void) ctx;
	(void) timeout_ms;
	FZ_CHECK(get(h)->open);
	FZ_CHECK((hdr->flags & VIO_VU_VERSION_MASK) == VIO_VU_VERSION);
	FZ_CHECK(hdr->size <= VIO_VU_MAX_PAYLOAD && (hdr->size == 0 || payload != NULL));
	if (h == F.conn)
		FZ_CHECK(hdr->flags & VIO_VU_FLAG_REPLY);
	else
		FZ_CHECK(get(h)->kind != K_FREE &&
			 hdr->request == VIO_VU_BACKEND_CONFIG_CHANGE_MSG);
	if (fd >= 0)
		FZ_CHECK(get(fd)->open);
	return 0;
}

/* As the POSIX glue does: the old kick handle is closed once nothing watches it. */
static void op_kick(void *ctx, uint16_t q, int old)
{
	(void) ctx;
	FZ_CHECK(q < NQ);
	if (old >= 0 && old != F.rings[q].kick)
		op_close(NULL, old);
}

/* The RAM disk completes every request at once: there is never anything to wait for. */
static void op_quiesce(void *ctx)
{
	(void) ctx;
	FZ_CHECK(vio_blk_inflight(&F.blk) == 0);
}

/* With FUZZ_VU_TRACE set, the engine's log goes to stderr (to check what a seed reaches). */
static void op_log(void *ctx, int level, const char *msg)
{
	(void) ctx;
	if (F.trace)
		fprintf(stderr, "vu %d: %s\n", level, msg);
}

static const struct vio_vu_engine_ops ops = {
    .describe = op_describe,
    .map = op_map,
    .unmap = op_unmap,
    .alloc_shared = op_alloc_shared,
    .own_event = op_own_event,
    .signal = op_signal,
    .close = op_close,
    .send = op_send,
    .kick = op_kick,
    .quiesce = op_quiesce,
    .log = op_log,
};

static void setup_once(void)
{
	struct vio_blk_params p;
	struct vio_vu_engine_config cfg = {.dev = &F.blk.dev, .rings = F.rings, .ops = &ops};

	F.trace = getenv("FUZZ_VU_TRACE") != NULL;
	memset(&p, 0, sizeof(p));
	p.capacity = DISK_SIZE / 512;
	p.features = VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) |
		     VIO_BIT(VIO_F_RING_PACKED) | VIO_BIT(VIO_BLK_F_FLUSH) |
		     VIO_BIT(VIO_BLK_F_CONFIG_WCE) | VIO_BIT(VIO_BLK_F_MQ) |
		     VIO_BIT(VIO_BLK_F_DISCARD) | VIO_BIT(VIO_BLK_F_WRITE_ZEROES);
	p.num_queues = NQ;
	p.queue_size = 64;
	p.max_discard_sectors = 16;
	p.max_discard_seg = 2;
	p.max_write_zeroes_sectors = 16;
	p.max_write_zeroes_seg = 2;
	vio_sim_ramdisk_init(&F.rd, F.disk, sizeof(F.disk));
	FZ_CHECK(vio_blk_init(&F.blk, &p, &vio_sim_ramdisk_ops, &F.rd, F.queues, F.slots, 4) == 0);
	FZ_CHECK(vio_vu_engine_init(&F.eng, &cfg) == 0);
	F.mem = aligned_alloc(MEM_ALIGN, MEM_SIZE + MEM_ALIGN);
	FZ_CHECK(F.mem != NULL);
	F.ready = true;
}

static void connect_fe(void)
{
	F.conn = new_handle(K_CHANNEL);
	FZ_CHECK(F.conn >= 0);
	vio_vu_engine_connect(&F.eng, F.conn);
}

/* Ends the session as the glue does when the frontend goes, and checks nothing is left. */
static void disconnect(void)
{
	vio_vu_engine_disconnect(&F.eng);
	F.h[F.conn].open = false;
	FZ_CHECK(F.eng.nregions == 0 && F.eng.inflight == NULL && F.maps == 0);
	FZ_CHECK(F.eng.backend < 0 && F.eng.rx_nfds == 0 && F.blk.dev.status == 0);
	for (int q = 0; q < NQ; q++)
		FZ_CHECK(F.rings[q].kick < 0 && F.rings[q].call < 0 && F.rings[q].err < 0 &&
			 !F.rings[q].started && !F.blk.dev.queues[q].enabled);
	/* every handle the engine was given is closed, none twice (op_close checks) */
	for (int i = 0; i < F.nh; i++)
		FZ_CHECK(!F.h[i].open);
}

/* A handle of the given kind for a message. */
static int make_handle(unsigned kind)
{
	switch (kind & 3u) {
	case 1:
		return new_handle(K_EVENT);
	case 2:
		return new_handle(K_CHANNEL);
	default:
		return new_handle(K_MEM);
	}
}

/* Feeds one message through the engine's framing as a byte stream; false: session over. */
static bool deliver(const uint8_t *bytes, size_t len, const int *hs, unsigned nh)
{
	struct vio_vu_msg m;
	size_t off = 0;
	int rc = 0;

	for (unsigned i = 0; i < nh; i++)
		if (vio_vu_engine_rx_handle(&F.eng, hs[i]) < 0)
			rc = -VIO_EPROTO;
	while (rc == 0 && off < len) {
		size_t want;
		uint8_t *dst = vio_vu_engine_rx_space(&F.eng, &want);

		FZ_CHECK(want > 0 && want <= VIO_VU_MSG_MAX);
		if (want > len - off)
			want = len - off;
		memcpy(dst, bytes + off, want);
		off += want;
		rc = vio_vu_engine_rx_done(&F.eng, want);
	}
	if (rc == 1) {
		vio_vu_engine_rx_take(&F.eng, &m);
		rc = vio_vu_engine_handle(&F.eng, &m);
	}
	return rc >= 0;
}

static bool send_message(struct fz_in *in)
{
	uint8_t buf[sizeof(struct vio_vu_hdr) + 320];
	struct vio_vu_hdr h;
	uint8_t sel, spec;
	int hs[9];
	unsigned nh;

	h.request = fz_u8(in);
	sel = fz_u8(in);
	h.flags =
	    (sel & 0x80) ? fz_u8(in) : VIO_VU_VERSION | ((sel & 1) ? VIO_VU_FLAG_NEED_REPLY : 0);
	h.size = fz_u16(in) % 320u;
	spec = fz_u8(in);
	memcpy(buf, &h, sizeof(h));
	for (uint32_t i = 0; i < h.size; i++)
		buf[sizeof(h) + i] = fz_u8(in);
	nh = spec & 7u;
	if (nh == 7)
		nh = 9;
	for (unsigned i = 0; i < nh; i++) {
		hs[i] = make_handle(spec >> (3 + 2 * (i % 2)));
		if (hs[i] < 0)
			nh = i;
	}
	return deliver(buf, sizeof(h) + h.size, hs, nh);
}

static void kick_all(void)
{
	for (uint16_t q = 0; q < NQ; q++)
		if (F.rings[q].kick >= 0 || (F.rings[q].kick_poll && F.rings[q].started))
			vio_vu_engine_kick(&F.eng, q);
}

static void write_mem(struct fz_in *in)
{
	uint32_t off = (uint32_t) fz_u16(in) * 4u;
	uint8_t len = fz_u8(in);

	for (uint32_t i = 0; i < len && off + i < MEM_SIZE; i++)
		F.mem[off + i] = fz_u8(in);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = {data, size};

	if (!F.ready)
		setup_once();
	F.nh = 0;
	memset(F.mem, 0, MEM_SIZE);
	connect_fe();
	for (int ops_done = 0; in.n > 0 && ops_done < MAX_OPS; ops_done++) {
		uint8_t op = fz_u8(&in);
		bool alive = true;

		switch (op & 3u) {
		case 2:
			kick_all();
			break;
		case 3:
			if (fz_u8(&in) & 4u)
				alive = false;
			else
				write_mem(&in);
			break;
		default:
			alive = send_message(&in);
			break;
		}
		if (!alive) {
			disconnect();
			connect_fe();
		}
	}
	disconnect();
	if (F.trace)
		fprintf(stderr, "flushes %u writes %u reads %u\n", F.rd.flushes, F.rd.writes,
			F.rd.reads);
	return 0;
}
