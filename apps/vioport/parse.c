/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's parsing of numbers and words, shared by the options, the kinds'
 * checks and the control socket; it calls nothing else of the program.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vioport.h"

bool vp_parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
	char *end;
	unsigned long v;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return false;
	*out = (unsigned) v;
	return true;
}

bool vp_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (s == NULL)
		return false;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

char *vp_word(char **p)
{
	char *w = *p + strspn(*p, " \t\r");

	if (*w == '\0')
		return NULL;
	*p = w + strcspn(w, " \t\r");
	if (**p != '\0')
		*(*p)++ = '\0';
	return w;
}
