/* SPDX-License-Identifier: BSD-3-Clause */
/* vioport-drv: the driver session, device bring-up, and the helpers the commands share. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vioport-drv.h"

int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "vioport-drv: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'vioport-drv --help'.\n");
	return EXIT_USAGE;
}

int fail(const char *what, int rc)
{
	fprintf(stderr, "vioport-drv: %s: %s\n", what, strerror(rc < 0 ? -rc : rc));
	return 1;
}

bool parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	char *end;

	if (s == NULL || *s == '\0' || *s == '-')
		return false;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno == 0 && *end == '\0' && *v <= max;
}

void hexdump(const uint8_t *p, size_t n, uint64_t base)
{
	for (size_t off = 0; off < n; off += 16) {
		size_t len = n - off < 16 ? n - off : 16;

		printf("%08llx ", (unsigned long long) (base + off));
		for (size_t i = 0; i < 16; i++) {
			if (i < len)
				printf(" %02x", p[off + i]);
			else
				printf("   ");
		}
		printf("  |");
		for (size_t i = 0; i < len; i++)
			putchar(p[off + i] >= 0x20 && p[off + i] < 0x7f ? p[off + i] : '.');
		printf("|\n");
	}
}

int parse_hex(const char *s, uint8_t *buf, int cap)
{
	int n = 0, nib = -1;

	for (; *s != '\0'; s++) {
		int v;

		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && nib < 0) {
			s++;
			continue;
		}
		if (*s == ' ' || *s == ',' || *s == ':')
			continue;
		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			return -1;
		if (nib < 0) {
			nib = v;
		} else {
			if (n >= cap)
				return -1;
			buf[n++] = (uint8_t) (nib << 4 | v);
			nib = -1;
		}
	}
	return nib < 0 ? n : -1;
}

/* --- the options and input of the streaming commands ---------------------------------- */

static const struct {
	unsigned bit;
	const char *name;
} opt_names[] = {
    {OPT_WRITE, "--write"}, {OPT_BYTES, "--bytes"}, {OPT_WAIT, "--wait"},
    {OPT_COUNT, "--count"}, {OPT_PORT, "--port"},   {OPT_LED, "--led"},
};

/* --led CODE=VALUE */
static bool parse_led(const char *s, struct cmd_opts *co)
{
	char code[16];
	const char *eq = strchr(s, '=');
	uint64_t c, v;

	if (eq == NULL || (size_t) (eq - s) >= sizeof(code))
		return false;
	memcpy(code, s, (size_t) (eq - s));
	code[eq - s] = '\0';
	if (!parse_u64(code, UINT16_MAX, &c) || !parse_u64(eq + 1, INT32_MAX, &v))
		return false;
	co->led_code = (uint16_t) c;
	co->led_value = (int32_t) v;
	return true;
}

int cmd_opts_parse(const struct drv_ctx *c, const char *name, int argc, char **argv,
		   unsigned allowed, struct cmd_opts *co)
{
	char msg[128];

	memset(co, 0, sizeof(*co));
	co->wait_ms = (uint32_t) c->o->timeout_ms;
	for (int i = 0; i < argc; i += 2) {
		unsigned bit = 0;
		const char *v;
		uint64_t n = 0;
		bool ok;

		for (size_t k = 0; k < sizeof(opt_names) / sizeof(opt_names[0]); k++)
			if (strcmp(argv[i], opt_names[k].name) == 0)
				bit = opt_names[k].bit;
		if (!(bit & allowed)) {
			snprintf(msg, sizeof(msg), "%s: unknown option '%%s'", name);
			return usage_error(msg, argv[i]);
		}
		if (i + 1 >= argc) {
			snprintf(msg, sizeof(msg), "%s: %%s needs a value", name);
			return usage_error(msg, argv[i]);
		}
		v = argv[i + 1];
		switch (bit) {
		case OPT_WRITE:
			co->write = v;
			ok = true;
			break;
		case OPT_LED:
			ok = parse_led(v, co);
			break;
		case OPT_PORT:
			ok = parse_u64(v, UINT32_MAX, &n);
			co->port = n;
			break;
		case OPT_WAIT:
			ok = parse_u64(v, 3600000u, &n);
			co->wait_ms = (uint32_t) n;
			break;
		default: /* --bytes, --count */
			ok = parse_u64(v, UINT32_MAX, &n);
			if (bit == OPT_BYTES)
				co->bytes = n;
			else
				co->count = n;
			break;
		}
		if (!ok) {
			snprintf(msg, sizeof(msg), "%s: bad %s value '%%s'", name, argv[i]);
			return usage_error(msg, v);
		}
		co->given |= bit;
	}
	return 0;
}

void input_src_init(struct input_src *in, const struct cmd_opts *co)
{
	memset(in, 0, sizeof(*in));
	in->text = co->write;
	if (in->text != NULL)
		in->len = strlen(in->text);
}

int input_next(struct input_src *in, uint8_t *buf, size_t cap, int poll_ms)
{
	struct pollfd pfd = {.fd = STDIN_FILENO, .events = POLLIN};
	ssize_t n;

	if (in->eof)
		return -1;
	if (in->text != NULL) {
		size_t left = in->len - in->off;

		if (left == 0) {
			in->eof = true;
			return -1;
		}
		n = (ssize_t) (left < cap ? left : cap);
		memcpy(buf, in->text + in->off, (size_t) n);
		in->off += (size_t) n;
		return (int) n;
	}
	/* Polled, so what the device sends is printed while stdin is quiet (a terminal). */
	if (poll(&pfd, 1, poll_ms) <= 0)
		return 0;
	n = read(STDIN_FILENO, buf, cap);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		in->eof = true;
		return -1;
	}
	return (int) n;
}

uint64_t now_ms(void)
{
	return vio_vmsg_now_us() / 1000u;
}

/* --- the driver ------------------------------------------------------------------------- */

static int session_open(struct session *s, const struct options *o)
{
	char err[256];
	int r = vio_vmsg_posix_drv_open_at(&s->p, o->shm, o->offset, o->size, o->doorbell,
					   o->timeout_ms, err, sizeof(err));

	if (r < 0) {
		fprintf(stderr, "vioport-drv: %s\n", err);
		return r;
	}
	r = vio_vmsg_drv_init_shm(&s->drv, &s->p.binding, s->map, MAP_WORDS);
	if (r < 0) {
		vio_vmsg_posix_drv_close(&s->p);
		fprintf(stderr, "vioport-drv: %s: the window's area does not suit the driver\n",
			o->shm);
		return r;
	}
	s->drv.timeout_us = (uint32_t) o->timeout_ms * 1000u;
	return 0;
}

static void session_close(struct session *s)
{
	/* Answers to no request of ours (an earlier session's, say) were discarded: say so. */
	if (s->drv.dropped > 0)
		fprintf(stderr,
			"vioport-drv: %u stray message%s dropped (malformed, or answering no "
			"request of this driver)\n",
			s->drv.dropped, s->drv.dropped == 1 ? "" : "s");
	vio_vmsg_posix_drv_close(&s->p);
}

int drv_session(struct drv_ctx *c)
{
	struct session *s;

	if (c->s != NULL)
		return 0;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return fail("driver", -ENOMEM);
	if (session_open(s, c->o) < 0) {
		free(s);
		return 1;
	}
	c->s = s;
	return 0;
}

void drv_session_close(struct drv_ctx *c)
{
	if (c->s == NULL)
		return;
	session_close(c->s);
	free(c->s);
	c->s = NULL;
}

const struct drv_kind *drv_kind_of(uint32_t id)
{
	for (const struct drv_cmd *cmd = drv_cmds; cmd->name != NULL; cmd++)
		if (cmd->kind != NULL && cmd->kind->id == id)
			return cmd->kind;
	return NULL;
}

const char *drv_kind_name(uint32_t id)
{
	const struct drv_kind *k = drv_kind_of(id);

	return k != NULL ? k->name : "other";
}

int device_up(struct drv_ctx *c, const char *arg, const struct drv_kind *kind, uint64_t want)
{
	struct session *s;
	uint64_t num;
	int r;

	if (!parse_u64(arg, UINT16_MAX, &num))
		return usage_error("bad device number '%s'", arg);
	if ((r = drv_session(c)) != 0)
		return r;
	s = c->s;
	/* The first request tells whether it exists: GET_DEVICE_INFO of an absent one fails. */
	r = vio_vmsg_drv_dev_init(&s->dev, &s->drv, (uint16_t) num, s->vqs, kind->nvqs);
	if (r < 0) {
		fprintf(stderr, "vioport-drv: device %s: no answer to GET_DEVICE_INFO (%s)\n", arg,
			strerror(-r));
		return 1;
	}
	if (s->dev.info.device_id != kind->id) {
		fprintf(stderr, "vioport-drv: device %s is %s (ID %u), not %s\n", arg,
			drv_kind_name(s->dev.info.device_id), s->dev.info.device_id, kind->name);
		return 1;
	}
	/* A device with fewer queues than the kind may have (gpio without its eventq). */
	if (s->dev.info.max_virtqueues < s->dev.nvqs)
		s->dev.nvqs =
		    s->dev.info.max_virtqueues > 0 ? (uint16_t) s->dev.info.max_virtqueues : 1;
	r = vio_vmsg_drv_dev_start(&s->dev, want);
	if (r < 0) {
		fprintf(stderr, "vioport-drv: device %s: bring-up failed: %s\n", arg, strerror(-r));
		return 1;
	}
	return 0;
}
