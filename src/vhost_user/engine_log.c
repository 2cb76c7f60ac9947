/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhost-user engine: the log line.
 *
 * The log line is formatted here rather than by the glue so that messages
 * name the same things on every OS; <stdarg.h> is not one of the headers
 * freestanding code may rely on, so the argument list is the compiler's own.
 * It is a file of its own, below every other engine file, so that the files
 * that log do not call back into engine.c (engine_internal.h draws the graph).
 */
#include "engine_internal.h"

#define VU_LINE_MAX 256

/* A bounded line being written; the end is always kept for the terminating zero. */
struct line {
	char *buf;
	size_t len;
};

static void put_char(struct line *l, char c)
{
	if (l->len < VU_LINE_MAX - 1)
		l->buf[l->len++] = c;
}

static void put_str(struct line *l, const char *s)
{
	while (*s != '\0')
		put_char(l, *s++);
}

static void put_num(struct line *l, unsigned long long v, unsigned base)
{
	char digits[24];
	unsigned n = 0;

	do {
		digits[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v != 0);
	while (n > 0)
		put_char(l, digits[--n]);
}

/* Formats one conversion after its '%'; returns the rest of fmt. */
static const char *put_conv(struct line *l, const char *fmt, __builtin_va_list *ap)
{
	unsigned lng = 0;
	unsigned long long u;
	long long d;
	const char *s;

	while (*fmt == 'l') {
		lng++;
		fmt++;
	}
	switch (*fmt) {
	case 's':
		s = __builtin_va_arg(*ap, const char *);
		put_str(l, s != NULL ? s : "(null)");
		break;
	case 'c':
		put_char(l, (char) __builtin_va_arg(*ap, int));
		break;
	case 'd':
		d = lng == 0   ? __builtin_va_arg(*ap, int)
		    : lng == 1 ? __builtin_va_arg(*ap, long)
			       : __builtin_va_arg(*ap, long long);
		if (d < 0)
			put_char(l, '-');
		put_num(l, d < 0 ? 0ull - (unsigned long long) d : (unsigned long long) d, 10);
		break;
	case 'u':
	case 'x':
		u = lng == 0   ? __builtin_va_arg(*ap, unsigned)
		    : lng == 1 ? __builtin_va_arg(*ap, unsigned long)
			       : __builtin_va_arg(*ap, unsigned long long);
		put_num(l, u, *fmt == 'x' ? 16u : 10u);
		break;
	case '%':
		put_char(l, '%');
		break;
	default: /* not one of ours: shown as written */
		put_char(l, '%');
		if (*fmt == '\0')
			return fmt;
		put_char(l, *fmt);
		break;
	}
	return fmt + 1;
}

void vio_vu_engine_log(struct vio_vu_engine *e, int level, const char *fmt, ...)
{
	char buf[VU_LINE_MAX];
	struct line l = {buf, 0};
	__builtin_va_list ap;

	if (e->ops->log == NULL)
		return;
	__builtin_va_start(ap, fmt);
	while (*fmt != '\0') {
		if (*fmt != '%')
			put_char(&l, *fmt++);
		else
			fmt = put_conv(&l, fmt + 1, &ap);
	}
	__builtin_va_end(ap);
	buf[l.len] = '\0';
	e->ops->log(e->ctx, level, buf);
}
