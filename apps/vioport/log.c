/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's log: one line per message on standard error, filtered by the
 * run's level. Every other file of the program logs through here, and this
 * file calls none of them, so the program's files depend on each other
 * without a cycle.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "vioport.h"

/* Set once by main before any thread starts, only read afterwards. */
static int log_level = VIO_LOG_WARN;
static bool log_journal; /* standard error is the journal: "<N>" priorities first */
static bool log_time;	 /* --log-time */

void vp_log_setup(int level, bool time, bool journal)
{
	log_level = level;
	log_time = time;
	log_journal = journal;
}

void vp_say(int level, const char *who, const char *fmt, ...)
{
	static const char *const names[] = {"error", "warning", "info", "debug"};
	static const int syslog_prio[] = {3, 4, 6,
					  7}; /* LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG */
	va_list ap;

	if (level > log_level)
		return;
	if (log_journal) {
		fprintf(stderr, "<%d>", syslog_prio[level]);
	} else if (log_time) {
		struct timespec ts;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ ", tm.tm_year + 1900,
			tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			ts.tv_nsec / 1000000);
	}
	fprintf(stderr, "vioport%s%s: %s: ", who[0] ? " " : "", who, names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int vp_usage_error(const char *where, const char *fmt, ...)
{
	va_list ap;

	fputs("vioport: ", stderr);
	if (where != NULL)
		fprintf(stderr, "%s: ", where);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'vioport --help'.\n", stderr);
	return -EINVAL;
}
