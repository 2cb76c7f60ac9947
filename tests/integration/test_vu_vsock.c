/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's daemon serving virtio-vsock (`vioport vsock --uds-path PATH`),
 * driven through the frontend with the test as the guest driver: it builds
 * and parses the packets itself, keeps to the device's credit (buf_alloc and
 * fwd_cnt from the device's packets) and gives its own as it consumes
 * (CREDIT_UPDATE). On the host side are real UNIX sockets: a listener at
 * PATH_<port> the guest connects to, and a host program connecting to PATH
 * with "CONNECT <port>". Hundreds of KiB pass each way, checked by hash; a
 * guest connection nobody listens for is refused; data beyond the credit
 * resets that stream and no other. The daemon runs sandboxed (the default),
 * so its connections and shutdowns are made under the sandbox. A second
 * daemon with --sim echoes a stream through the simulation.
 * The daemon is $VIOPORT_BIN; without it every case skips, saying so.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "itest.h"
#include "vioport/byteorder.h"
#include "vioport/vhost_user_frontend.h"
#include "vioport/virtio.h"
#include "vioport/vsock.h"
#include "vsock_pkt.h"

#define WAIT_MS	   5000
#define CID	   42u
#define DEV_BUF	   4096u  /* --buffer-size: the device's credit per stream */
#define GUEST_BUF  16384u /* the guest's buf_alloc */
#define HDR	   VIO_VSOCK_HDR_SIZE
#define CHUNK	   4096u /* most payload per packet either way */
#define NRX	   16u
#define HOST_PORT  5000u
#define NOBODY	   5999u
#define GUEST_PORT 6000u
#define BULK	   (300u * 1024u)

static struct {
	char dir[IT_PATH];
	char uds[IT_PATH];
	struct it_proc proc;
	const char *skip;
	/* a second daemon with --sim */
	char sim_dir[IT_PATH];
	struct it_proc sim;
	const char *sim_skip;
} T;

static struct vio_vu_fe fe;

#define BEGIN() IT_SKIP_IF(T.skip)

/* The guest's end of one stream, and the host socket at the other end. */
struct stream {
	uint32_t gport, hport;
	bool up, rst;
	uint32_t shut; /* SHUTDOWN flags the device sent */
	/* guest to host: the device's credit */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	/* host to guest: what the guest consumed, and told */
	uint32_t rx_cnt, fwd_told;
	uint64_t g_to_send, g_sent, g_got;
	uint32_t g_sent_hash, g_got_hash;
	/* the host socket */
	int fd;
	bool h_eof;
	uint64_t h_to_send, h_sent, h_got;
	uint32_t h_sent_hash, h_got_hash;
};

#define MAX_STREAMS 4

/* The guest: rx buffers, one tx buffer, streams, and requests from the host. */
static struct {
	uint8_t *rx[NRX];
	uint64_t rx_gpa[NRX];
	uint8_t *tx;
	uint64_t tx_gpa;
	struct stream s[MAX_STREAMS];
	unsigned ns;
	/* the last REQUEST from the host */
	bool req;
	uint32_t req_src, req_dst;
} G;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#define FNV_START 2166136261u

static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* Byte off of the stream data seeded by seed. */
static uint8_t pat(uint32_t seed, uint64_t off)
{
	uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ull ^ seed;

	return (uint8_t) (x >> 29);
}

/* --------------------------------------------------------------- packets */

/* Sends one packet on the tx queue (payload from data, len bytes) and waits for it back. */
static void send_raw(uint32_t gport, uint32_t hport, uint16_t op, uint32_t flags, uint32_t fwd_cnt,
		     const uint8_t *data, uint32_t len)
{
	struct vg_pkt p = {CID,	  VIO_VSOCK_HOST_CID, gport,  hport, len, VIO_VSOCK_TYPE_STREAM, op,
			   flags, GUEST_BUF,	      fwd_cnt};
	struct vio_buf b = {G.tx_gpa, HDR + len};
	void *tok;
	uint32_t used;

	assert_true(len <= 2 * CHUNK);
	vg_put_hdr(G.tx, &p);
	if (len != 0)
		memcpy(G.tx + HDR, data, len);
	assert_int_equal(vio_vu_fe_add(&fe, VIO_VSOCK_TXQ, &b, 1, NULL, 0, G.tx), 0);
	assert_true(vio_vu_fe_kick(&fe, VIO_VSOCK_TXQ) >= 0);
	assert_int_equal(vio_vu_fe_wait_used(&fe, VIO_VSOCK_TXQ, &tok, &used, WAIT_MS), 1);
	assert_ptr_equal(tok, G.tx);
	assert_int_equal(used, 0);
}

static void send_op(struct stream *s, uint16_t op, uint32_t flags)
{
	send_raw(s->gport, s->hport, op, flags, s->rx_cnt, NULL, 0);
	s->fwd_told = s->rx_cnt;
}

static void post_rx(unsigned i)
{
	struct vio_buf b = {G.rx_gpa[i], HDR + CHUNK};

	memset(G.rx[i], 0xee, HDR + CHUNK);
	assert_int_equal(vio_vu_fe_add(&fe, VIO_VSOCK_RXQ, NULL, 0, &b, 1, &G.rx[i]), 0);
}

static struct stream *find(uint32_t gport, uint32_t hport)
{
	for (unsigned i = 0; i < G.ns; i++)
		if (G.s[i].gport == gport && G.s[i].hport == hport)
			return &G.s[i];
	return NULL;
}

static struct stream *new_stream(uint32_t gport, uint32_t hport, int fd)
{
	struct stream *s;

	assert_true(G.ns < MAX_STREAMS);
	s = &G.s[G.ns++];
	memset(s, 0, sizeof(*s));
	s->gport = gport;
	s->hport = hport;
	s->fd = fd;
	s->g_sent_hash = s->g_got_hash = s->h_sent_hash = s->h_got_hash = FNV_START;
	return s;
}

/* One packet from the device. */
static void take(const uint8_t *buf, uint32_t used)
{
	struct vg_pkt p;
	struct stream *s;

	assert_true(used >= HDR);
	vg_parse(buf, &p);
	/* every packet is whole and addressed from the host to this guest */
	assert_int_equal(used, HDR + p.len);
	assert_int_equal(p.src_cid, VIO_VSOCK_HOST_CID);
	assert_int_equal(p.dst_cid, CID);
	assert_int_equal(p.type, VIO_VSOCK_TYPE_STREAM);
	s = find(p.dst_port, p.src_port);
	if (s == NULL) {
		if (p.op == VIO_VSOCK_OP_REQUEST) {
			G.req = true;
			G.req_src = p.src_port;
			G.req_dst = p.dst_port;
		} else if (p.op != VIO_VSOCK_OP_RST) {
			fail_msg("op %u for no stream (%u -> %u)", p.op, p.src_port, p.dst_port);
		}
		return;
	}
	s->peer_buf_alloc = p.buf_alloc;
	s->peer_fwd_cnt = p.fwd_cnt;
	switch (p.op) {
	case VIO_VSOCK_OP_RESPONSE:
		s->up = true;
		break;
	case VIO_VSOCK_OP_RST:
		s->rst = true;
		s->up = false;
		break;
	case VIO_VSOCK_OP_SHUTDOWN:
		s->shut |= p.flags;
		break;
	case VIO_VSOCK_OP_RW:
		/* never beyond the credit the guest gave */
		assert_true(s->rx_cnt + p.len - s->fwd_told <= GUEST_BUF);
		s->g_got_hash = fnv(s->g_got_hash, buf + HDR, p.len);
		s->g_got += p.len;
		s->rx_cnt += p.len; /* consumed at once */
		break;
	case VIO_VSOCK_OP_CREDIT_UPDATE:
		break;
	case VIO_VSOCK_OP_CREDIT_REQUEST:
		s->fwd_told = s->rx_cnt - GUEST_BUF; /* answered below */
		break;
	default:
		fail_msg("op %u from the device", p.op);
	}
}

/* Takes every packet the device wrote, posting the buffers again, then gives credit back. */
static void drain_rx(void)
{
	void *tok;
	uint32_t used;
	int r;
	bool posted = false;

	while ((r = vio_vu_fe_get_used(&fe, VIO_VSOCK_RXQ, &tok, &used)) == 1) {
		unsigned i = (unsigned) ((uint8_t **) tok - G.rx);

		assert_true(i < NRX);
		take(G.rx[i], used);
		post_rx(i);
		posted = true;
	}
	assert_true(r == 0);
	if (posted)
		assert_true(vio_vu_fe_kick(&fe, VIO_VSOCK_RXQ) >= 0);
	for (unsigned i = 0; i < G.ns; i++) {
		struct stream *s = &G.s[i];

		if (s->up && s->rx_cnt - s->fwd_told >= GUEST_BUF / 2)
			send_op(s, VIO_VSOCK_OP_CREDIT_UPDATE, 0);
	}
}

/* The guest sends what the device's credit allows. */
static void guest_send(struct stream *s)
{
	uint8_t data[CHUNK];

	while (s->up && s->g_sent < s->g_to_send) {
		uint32_t credit = s->peer_buf_alloc - (s->tx_cnt - s->peer_fwd_cnt);
		uint64_t left = s->g_to_send - s->g_sent;
		uint32_t n = credit < CHUNK ? credit : CHUNK;

		if (left < n)
			n = (uint32_t) left;
		if (n == 0)
			return;
		for (uint32_t k = 0; k < n; k++)
			data[k] = pat(s->gport, s->g_sent + k);
		send_raw(s->gport, s->hport, VIO_VSOCK_OP_RW, 0, s->rx_cnt, data, n);
		s->fwd_told = s->rx_cnt;
		s->g_sent_hash = fnv(s->g_sent_hash, data, n);
		s->g_sent += n;
		s->tx_cnt += n;
	}
}

/* The host socket reads what there is and writes what it can. */
static void host_io(struct stream *s)
{
	uint8_t data[CHUNK];
	ssize_t n = -1; /* nothing read: a socket already at its end reads nothing more */

	if (s->fd < 0)
		return;
	while (!s->h_eof && (n = recv(s->fd, data, sizeof(data), MSG_DONTWAIT)) != 0) {
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			s->h_eof = true; /* reset */
			break;
		}
		s->h_got_hash = fnv(s->h_got_hash, data, (size_t) n);
		s->h_got += (uint64_t) n;
	}
	if (n == 0)
		s->h_eof = true;
	while (s->h_sent < s->h_to_send) {
		uint64_t left = s->h_to_send - s->h_sent;
		size_t len = left < CHUNK ? (size_t) left : CHUNK;

		for (size_t k = 0; k < len; k++)
			data[k] = pat(s->hport ^ 0x5555u, s->h_sent + k);
		n = send(s->fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n <= 0)
			break;
		s->h_sent_hash = fnv(s->h_sent_hash, data, (size_t) n);
		s->h_sent += (uint64_t) n;
	}
}

/* Runs both sides until done(s) holds; fails after ms. */
static void pump(struct stream *s, bool (*done)(const struct stream *s), int ms, const char *what)
{
	int64_t end = now_ms() + ms;

	for (;;) {
		drain_rx();
		for (unsigned i = 0; i < G.ns; i++) {
			guest_send(&G.s[i]);
			host_io(&G.s[i]);
		}
		drain_rx();
		if (done(s))
			return;
		if (now_ms() > end)
			fail_msg(
			    "waited %d ms for %s (guest sent %llu got %llu, host sent %llu got "
			    "%llu)",
			    ms, what, (unsigned long long) s->g_sent, (unsigned long long) s->g_got,
			    (unsigned long long) s->h_sent, (unsigned long long) s->h_got);
		(void) vio_vu_fe_wait(&fe, VIO_VSOCK_RXQ, 2);
	}
}

static bool is_up(const struct stream *s)
{
	return s->up || s->rst;
}

static bool is_rst(const struct stream *s)
{
	return s->rst;
}

static bool bulk_done(const struct stream *s)
{
	return s->g_got == s->h_to_send && s->h_got == s->g_to_send;
}

static bool echoed(const struct stream *s)
{
	return s->g_got == s->g_to_send;
}

static bool host_eof(const struct stream *s)
{
	return s->h_eof;
}

static bool guest_shut_send(const struct stream *s)
{
	return (s->shut & VIO_VSOCK_SHUTDOWN_SEND) != 0;
}

static bool host_request(const struct stream *s)
{
	(void) s;
	return G.req;
}

/* --------------------------------------------------------------- host sockets */

static int host_listen(uint32_t port)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(T.uds) < 80);
	snprintf(a.sun_path, sizeof(a.sun_path), "%.80s_%u", T.uds, port);
	(void) unlink(a.sun_path);
	assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static int host_accept(int lfd)
{
	struct pollfd pf = {lfd, POLLIN, 0};
	int fd;

	assert_int_equal(poll(&pf, 1, WAIT_MS), 1);
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	assert_true(fd >= 0);
	return fd;
}

static int host_connect(void)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_true(strlen(T.uds) < 80);
	snprintf(a.sun_path, sizeof(a.sun_path), "%.80s", T.uds);
	assert_int_equal(connect(fd, (struct sockaddr *) &a, sizeof(a)), 0);
	return fd;
}

/* Reads one line, byte by byte, from a blocking socket; its length, or -1. */
static int read_line(int fd, char *buf, size_t cap)
{
	struct pollfd pf = {fd, POLLIN, 0};
	size_t n = 0;

	while (n + 1 < cap) {
		char ch;

		if (poll(&pf, 1, WAIT_MS) != 1 || recv(fd, &ch, 1, 0) != 1)
			return -1;
		if (ch == '\n')
			break;
		buf[n++] = ch;
	}
	buf[n] = '\0';
	return (int) n;
}

/* --------------------------------------------------------------- set-up */

static int group_setup(void **state)
{
	const char *b = it_vioport_bin();
	static char bin[IT_PATH];
	static char cid[16], dbuf[16];
	char *argv[] = {bin,	       "vsock", "--socket-path", T.proc.sock, "--uds-path", T.uds,
			"--guest-cid", cid,	"--buffer-size", dbuf,	      "--streams",  "4",
			NULL};
	char *sim_argv[] = {NULL, "vsock", "--socket-path", NULL, "--sim", "echo", "--guest-cid",
			    cid,  NULL};

	(void) state;
	if (b == NULL) {
		T.skip = "no vioport daemon at $VIOPORT_BIN (build apps/vioport first): vioport "
			 "vsock cases skipped";
		T.sim_skip = T.skip;
		return 0;
	}
	snprintf(bin, sizeof(bin), "%s", b);
	snprintf(cid, sizeof(cid), "%u", CID);
	snprintf(dbuf, sizeof(dbuf), "%u", DEV_BUF);
	if (it_tmpdir(T.dir, "vsock") < 0 || it_path(T.proc.sock, T.dir, "vu.sock") < 0 ||
	    it_path(T.uds, T.dir, "v") < 0 || it_path(T.proc.log, T.dir, "vioport.log") < 0)
		return -1;
	if (it_start(&T.proc, argv, 10000) < 0)
		T.skip = "the vioport daemon did not start: vioport vsock cases skipped";
	sim_argv[0] = bin;
	sim_argv[3] = T.sim.sock;
	if (it_tmpdir(T.sim_dir, "vsock-sim") < 0 ||
	    it_path(T.sim.sock, T.sim_dir, "vu.sock") < 0 ||
	    it_path(T.sim.log, T.sim_dir, "vioport.log") < 0)
		return -1;
	if (it_start(&T.sim, sim_argv, 10000) < 0)
		T.sim_skip = "the vioport daemon did not start with --sim: its case skipped";
	return 0;
}

static int group_teardown(void **state)
{
	(void) state;
	it_finish(&T.proc, T.dir);
	it_finish(&T.sim, T.sim_dir);
	return 0;
}

static int teardown(void **state)
{
	(void) state;
	for (unsigned i = 0; i < G.ns; i++)
		if (G.s[i].fd >= 0)
			close(G.s[i].fd);
	memset(&G, 0, sizeof(G));
	vio_vu_fe_close(&fe);
	return it_daemon_lives(&T.proc, &T.skip);
}

/* The guest driver comes up: three queues, rx buffers posted. */
static void start_on(const char *sock)
{
	struct vio_vu_fe_params p = {
	    .features = VIO_BIT(VIO_F_VERSION_1) | VIO_BIT(VIO_VSOCK_F_STREAM),
	    .num_queues = 3,
	    .config_size = VIO_VSOCK_CONFIG_SIZE,
	};
	int r = vio_vu_fe_start(&fe, sock, &p);

	if (r != 0)
		fail_msg("start: %d (%s)", r, vio_vu_fe_error(&fe));
	memset(&G, 0, sizeof(G));
	for (unsigned i = 0; i < NRX; i++) {
		G.rx[i] = vio_vu_fe_alloc(&fe, HDR + CHUNK, 64, &G.rx_gpa[i]);
		assert_non_null(G.rx[i]);
		post_rx(i);
	}
	assert_true(vio_vu_fe_kick(&fe, VIO_VSOCK_RXQ) >= 0);
	G.tx = vio_vu_fe_alloc(&fe, HDR + 2 * CHUNK, 64, &G.tx_gpa);
	assert_non_null(G.tx);
}

static void start(void)
{
	start_on(T.proc.sock);
}

/* A guest connection to the listener at PATH_<HOST_PORT>, accepted there. */
static struct stream *guest_connect(int lfd, uint32_t gport)
{
	struct stream *s = new_stream(gport, HOST_PORT, -1);

	send_op(s, VIO_VSOCK_OP_REQUEST, 0);
	pump(s, is_up, WAIT_MS, "the RESPONSE");
	assert_true(s->up);
	s->fd = host_accept(lfd);
	assert_int_equal(s->peer_buf_alloc, DEV_BUF);
	return s;
}

/* --------------------------------------------------------------- cases */

static void vsock_config(void **state)
{
	(void) state;
	BEGIN();
	start();
	assert_true(vio_vu_fe_has(&fe, VIO_VSOCK_F_STREAM));
	assert_int_equal(fe.config_size, VIO_VSOCK_CONFIG_SIZE);
	assert_int_equal(vio_get_le64(fe.config + VIO_VSOCK_CFG_GUEST_CID), CID);
}

/* Hundreds of KiB each way on a guest connection, by hash, under both credits. */
static void vsock_guest_to_host(void **state)
{
	int lfd;
	struct stream *s;

	(void) state;
	BEGIN();
	start();
	lfd = host_listen(HOST_PORT);
	s = guest_connect(lfd, 1024);
	close(lfd);
	s->g_to_send = BULK;
	s->h_to_send = BULK + 123;
	pump(s, bulk_done, 30000, "the bulk transfer");
	assert_int_equal(s->h_got_hash, s->g_sent_hash);
	assert_int_equal(s->g_got_hash, s->h_sent_hash);
	print_message("# %u bytes each way through a %u-byte device buffer\n", BULK, DEV_BUF);
	/* The guest sends no more: the host reads its end of stream. */
	send_op(s, VIO_VSOCK_OP_SHUTDOWN, VIO_VSOCK_SHUTDOWN_SEND);
	pump(s, host_eof, WAIT_MS, "the host's end of stream");
	/* The host closes: the guest gets SHUTDOWN(SEND), answers with an RST. */
	close(s->fd);
	s->fd = -1;
	pump(s, guest_shut_send, WAIT_MS, "the host's SHUTDOWN");
	send_op(s, VIO_VSOCK_OP_RST, 0);
	s->up = false;
}

/* Nobody listens at PATH_<port>: the guest's connection is refused with an RST. */
static void vsock_refused(void **state)
{
	struct stream *s;

	(void) state;
	BEGIN();
	start();
	s = new_stream(1025, NOBODY, -1);
	send_op(s, VIO_VSOCK_OP_REQUEST, 0);
	pump(s, is_up, WAIT_MS, "the refusal");
	assert_true(s->rst);
	assert_false(s->up);
}

/* A host program connects to guest port GUEST_PORT with CONNECT and is answered OK. */
static void vsock_host_to_guest(void **state)
{
	char line[64], want[64];
	struct stream *s;
	int fd;

	(void) state;
	BEGIN();
	start();
	fd = host_connect();
	snprintf(line, sizeof(line), "CONNECT %u\n", GUEST_PORT);
	assert_int_equal(send(fd, line, strlen(line), MSG_NOSIGNAL), (ssize_t) strlen(line));
	pump(&G.s[0], host_request, WAIT_MS, "the device's REQUEST");
	assert_int_equal(G.req_dst, GUEST_PORT);
	assert_true(G.req_src >= 1024);
	s = new_stream(GUEST_PORT, G.req_src, -1);
	send_op(s, VIO_VSOCK_OP_RESPONSE, 0);
	s->up = true;
	s->peer_buf_alloc = DEV_BUF; /* the REQUEST's; the next packet says it again */
	assert_true(read_line(fd, line, sizeof(line)) > 0);
	snprintf(want, sizeof(want), "OK %u", G.req_src);
	assert_string_equal(line, want);
	s->fd = fd;
	s->g_to_send = BULK / 2;
	s->h_to_send = BULK;
	pump(s, bulk_done, 30000, "the bulk transfer");
	assert_int_equal(s->h_got_hash, s->g_sent_hash);
	assert_int_equal(s->g_got_hash, s->h_sent_hash);
	/* The guest resets the stream: the program's connection ends. */
	send_op(s, VIO_VSOCK_OP_RST, 0);
	s->up = false;
	pump(s, host_eof, WAIT_MS, "the program's end of stream");
}

/* Data beyond the credit resets that stream; a bystander carries on. */
static void vsock_beyond_credit(void **state)
{
	uint8_t big[2 * CHUNK];
	struct stream *a, *b;
	int lfd;

	(void) state;
	BEGIN();
	start();
	lfd = host_listen(HOST_PORT);
	a = guest_connect(lfd, 1030);
	b = guest_connect(lfd, 1031);
	close(lfd);
	/* DEV_BUF of credit; twice that in one packet. */
	memset(big, 0xa5, sizeof(big));
	send_raw(a->gport, a->hport, VIO_VSOCK_OP_RW, 0, 0, big, 2 * DEV_BUF);
	pump(a, is_rst, WAIT_MS, "the RST of the hostile stream");
	pump(a, host_eof, WAIT_MS, "the hostile stream's socket to close");
	/* None of it reached the host. */
	assert_int_equal(a->h_got, 0);
	b->g_to_send = 64 * 1024;
	b->h_to_send = 64 * 1024;
	pump(b, bulk_done, 30000, "the bystander's transfer");
	assert_false(b->rst);
	assert_int_equal(b->h_got_hash, b->g_sent_hash);
	assert_int_equal(b->g_got_hash, b->h_sent_hash);
	/* The reset stream is gone: more data on it is answered with an RST. */
	a->rst = false;
	send_raw(a->gport, a->hport, VIO_VSOCK_OP_RW, 0, 0, big, 16);
	pump(a, is_rst, WAIT_MS, "the RST for a packet of no stream");
	send_op(b, VIO_VSOCK_OP_RST, 0);
	b->up = false;
}

/* With --sim: host port 7 echoes what the guest sends, through its 1 KiB ring. */
static void vsock_sim_echo(void **state)
{
	struct stream *s;

	(void) state;
	IT_SKIP_IF(T.sim_skip);
	start_on(T.sim.sock);
	s = new_stream(1040, 7, -1);
	send_op(s, VIO_VSOCK_OP_REQUEST, 0);
	pump(s, is_up, WAIT_MS, "the RESPONSE");
	assert_true(s->up);
	s->g_to_send = 64 * 1024;
	pump(s, echoed, 30000, "the echo");
	assert_int_equal(s->g_got_hash, s->g_sent_hash);
	send_op(s, VIO_VSOCK_OP_RST, 0);
	vio_vu_fe_close(&fe);
	if (it_daemon_lives(&T.sim, &T.sim_skip) < 0)
		fail_msg("the --sim daemon died");
}

/* Runs the daemon with argv to its end; its exit status, its output in out. */
static int run_to_end(char *const argv[], char *out, size_t cap)
{
	struct it_proc p = {0};
	FILE *f;
	size_t got;
	int st;

	assert_int_equal(it_path(p.log, T.dir, "run.log"), 0);
	assert_int_equal(it_spawn(&p, argv, -1, -1), 0);
	st = it_wait_exit(&p, WAIT_MS);
	f = fopen(p.log, "r");
	assert_non_null(f);
	got = fread(out, 1, cap - 1, f);
	out[got] = '\0';
	fclose(f);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* What the table gives the kind: its help, its capabilities, its refusals. */
static void vsock_command_line(void **state)
{
	static char out[16384];
	char *bin = (char *) it_vioport_bin();
	char *help[] = {bin, "vsock", "--help", NULL};
	char *caps[] = {bin, "--print-capabilities", "vsock", NULL};
	char *other[] = {bin, "rng", "-s", "/tmp/x", "--uds-path", "/tmp/y", NULL};
	char *none[] = {bin, "vsock", "-s", "/tmp/x", NULL};
	char *both[] = {bin,	"vsock",      "-s",	"/tmp/x", "--sim",
			"echo", "--uds-path", "/tmp/y", NULL};
	char *pow2[] = {bin,	"vsock",	 "-s",	 "/tmp/x", "--sim",
			"echo", "--buffer-size", "1000", NULL};
	char *cid[] = {bin, "vsock", "-s", "/tmp/x", "--sim", "echo", "--guest-cid", "2", NULL};
	char *count[] = {bin, "vsock", "-s", "/tmp/x", "-c", "2", "--sim", "echo", NULL};

	(void) state;
	BEGIN();
	assert_int_equal(run_to_end(help, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "usage: vioport vsock "));
	assert_non_null(strstr(out, "--uds-path PATH"));
	assert_non_null(strstr(out, "--guest-cid N"));
	assert_non_null(strstr(out, "--buffer-size BYTES"));
	assert_null(strstr(out, "rng options:"));
	assert_int_equal(run_to_end(caps, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"type\": \"vsock\""));
	assert_int_equal(run_to_end(other, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "option '--uds-path' does not apply to rng"));
	assert_int_equal(run_to_end(none, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "vsock needs --uds-path (or --sim)"));
	assert_int_equal(run_to_end(both, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "--uds-path or --sim, not both"));
	assert_int_equal(run_to_end(pow2, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "--buffer-size is a power of two, not 1000"));
	assert_int_equal(run_to_end(cid, out, sizeof(out)), 2);
	assert_int_equal(run_to_end(count, out, sizeof(out)), 2);
	assert_non_null(strstr(out, "vsock serves one device per group"));
}

static void vsock_clean_exit(void **state)
{
	(void) state;
	BEGIN();
	start();
	it_expect_clean_stop(&T.proc, &T.skip);
	/* The listener at PATH went with it. */
	assert_int_not_equal(access(T.uds, F_OK), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(vsock_config, teardown),
	    cmocka_unit_test_teardown(vsock_guest_to_host, teardown),
	    cmocka_unit_test_teardown(vsock_refused, teardown),
	    cmocka_unit_test_teardown(vsock_host_to_guest, teardown),
	    cmocka_unit_test_teardown(vsock_beyond_credit, teardown),
	    cmocka_unit_test_teardown(vsock_sim_echo, teardown),
	    cmocka_unit_test_teardown(vsock_command_line, teardown),
	    cmocka_unit_test_teardown(vsock_clean_exit, teardown),
	};

	return cmocka_run_group_tests_name("vhost-user-vsock: vioport daemon", tests, group_setup,
					   group_teardown);
}
