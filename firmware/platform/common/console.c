/* SPDX-License-Identifier: BSD-3-Clause */
/* Console: formatted output to semihosting or a board's UART, without a C library's stdio. */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "platform.h"

#define LINE_BYTES 256u

__attribute__((weak)) void platform_uart_putc(char c)
{
	char ch = c;

	platform_semihost(SEMIHOST_SYS_WRITEC, (uintptr_t) &ch);
}

void platform_puts(const char *s)
{
#ifdef PLATFORM_CONSOLE_SEMIHOST
	platform_semihost(SEMIHOST_SYS_WRITE0, (uintptr_t) s);
#else
	while (*s != '\0')
		platform_uart_putc(*s++);
#endif
}

/* Output cursor: counts every byte, stores those that fit. */
struct out {
	char *buf;
	size_t cap;
	size_t len;
};

static void out_c(struct out *o, char c)
{
	if (o->len + 1 < o->cap)
		o->buf[o->len] = c;
	o->len++;
}

static void out_pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		out_c(o, c);
}

/* Writes v in base (10 or 16) with the field rules of a printf conversion. */
static void out_num(struct out *o, uint64_t v, unsigned base, bool neg, bool upper, int width,
		    bool zero, bool left)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, len;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v != 0);
	len = n + (neg ? 1 : 0);
	if (!left && !zero)
		out_pad(o, ' ', width - len);
	if (neg)
		out_c(o, '-');
	if (!left && zero)
		out_pad(o, '0', width - len);
	while (n > 0)
		out_c(o, tmp[--n]);
	if (left)
		out_pad(o, ' ', width - len);
}

static void out_str(struct out *o, const char *s, int width, bool left)
{
	int len = 0;

	if (s == NULL)
		s = "(null)";
	while (s[len] != '\0')
		len++;
	if (!left)
		out_pad(o, ' ', width - len);
	for (int i = 0; i < len; i++)
		out_c(o, s[i]);
	if (left)
		out_pad(o, ' ', width - len);
}

/* Reads an integer argument of the given length (0: int, 1: long, 2: long long). */
static uint64_t arg_unsigned(va_list *ap, int lmod)
{
	if (lmod == 2)
		return va_arg(*ap, unsigned long long);
	if (lmod == 1)
		return va_arg(*ap, unsigned long);
	return va_arg(*ap, unsigned int);
}

static int64_t arg_signed(va_list *ap, int lmod)
{
	if (lmod == 2)
		return va_arg(*ap, long long);
	if (lmod == 1)
		return va_arg(*ap, long);
	return va_arg(*ap, int);
}

/* Handles one conversion starting after '%'; returns the first character after it. */
static const char *convert(struct out *o, const char *f, va_list *ap)
{
	bool zero = false, left = false;
	int width = 0, lmod = 0;

	for (;; f++) {
		if (*f == '0')
			zero = true;
		else if (*f == '-')
			left = true;
		else
			break;
	}
	while (*f >= '0' && *f <= '9')
		width = width * 10 + (*f++ - '0');
	while (*f == 'l' && lmod < 2) {
		lmod++;
		f++;
	}
	switch (*f) {
	case 'd':
	case 'i': {
		int64_t v = arg_signed(ap, lmod);
		uint64_t mag = v < 0 ? (uint64_t) 0 - (uint64_t) v : (uint64_t) v;

		out_num(o, mag, 10, v < 0, false, width, zero, left);
		break;
	}
	case 'u':
		out_num(o, arg_unsigned(ap, lmod), 10, false, false, width, zero, left);
		break;
	case 'x':
	case 'X':
		out_num(o, arg_unsigned(ap, lmod), 16, false, *f == 'X', width, zero, left);
		break;
	case 'p':
		out_str(o, "0x", 0, false);
		out_num(o, (uintptr_t) va_arg(*ap, void *), 16, false, false, 8, true, false);
		break;
	case 'c':
		out_c(o, (char) va_arg(*ap, int));
		break;
	case 's':
		out_str(o, va_arg(*ap, const char *), width, left);
		break;
	case '%':
		out_c(o, '%');
		break;
	case '\0':
		return f; /* a lone '%' at the end */
	default:
		/* Unknown conversions are shown, not guessed at. */
		out_c(o, '%');
		out_c(o, *f);
		break;
	}
	return f + 1;
}

size_t platform_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
	struct out o = {buf, cap, 0};
	va_list aq;

	va_copy(aq, ap);
	while (*fmt != '\0') {
		if (*fmt != '%')
			out_c(&o, *fmt++);
		else
			fmt = convert(&o, fmt + 1, &aq);
	}
	va_end(aq);
	if (cap > 0)
		buf[o.len < cap ? o.len : cap - 1] = '\0';
	return o.len;
}

void platform_vprintf(const char *fmt, va_list ap)
{
	char line[LINE_BYTES];
	size_t n;
	va_list aq;

	va_copy(aq, ap);
	n = platform_vsnprintf(line, sizeof(line), fmt, aq);
	va_end(aq);
	platform_puts(line);
	if (n >= sizeof(line))
		platform_puts("...[line cut]\n");
}

void platform_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	platform_vprintf(fmt, ap);
	va_end(ap);
}
