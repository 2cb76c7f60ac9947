/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport-drv's command table (apps/vioport-drv/main.c): every row is
 * reached by its name and operation at both ends of its argument count, a
 * count outside the range is refused with the row's usage line before the
 * handler runs, an unknown command or operation is refused, and --help lists
 * every row. The handlers are swapped for a recorder in a copy of the table;
 * the real table's handlers are only checked to be there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Before cmocka.h, whose fail() macro would take the program's fail() declaration. */
#include "vioport-drv.h"

#include <cmocka.h>

#define MAX_ROWS  64
#define MAX_WORDS 16

static struct drv_cmd table[MAX_ROWS];
static unsigned rows;
static const struct drv_cmd *called;
static int called_argc;

static int record(struct drv_ctx *c, int argc, char **argv)
{
	called = c->cmd;
	called_argc = argc;
	return 0;
}

/* A copy of drv_cmds whose handlers record the row they were called for. */
static int setup(void **state)
{
	rows = 0;
	for (const struct drv_cmd *cmd = drv_cmds; cmd->name != NULL; cmd++) {
		assert_true(rows < MAX_ROWS - 1);
		table[rows] = *cmd;
		table[rows].run = record;
		rows++;
	}
	memset(&table[rows], 0, sizeof(table[rows]));
	return 0;
}

/* The place of row's op among its arguments, from its usage line; -1 without one. */
static int op_place(const struct drv_cmd *row)
{
	char words[256], *save = NULL;
	int i = 0;

	if (row->op == NULL)
		return -1;
	snprintf(words, sizeof(words), "%s", row->args);
	for (char *w = strtok_r(words, " ", &save); w != NULL; w = strtok_r(NULL, " ", &save), i++)
		if (strcmp(w, row->op) == 0)
			return i;
	fail_msg("%s %s: the operation is not in the usage line '%s'", row->name, row->op,
		 row->args);
	return -1;
}

/* Builds "name x x op x ..." with n words after the name, the op in its place. */
static int words_for(const struct drv_cmd *row, int n, char **argv)
{
	static char x[] = "1";
	int at = op_place(row);

	assert_true(n + 1 <= MAX_WORDS);
	argv[0] = (char *) row->name;
	for (int i = 0; i < n; i++)
		argv[1 + i] = i == at ? (char *) row->op : x;
	return n + 1;
}

/* Runs drv_dispatch over the copy with stderr in a file; its text is returned in err. */
static int dispatch(int argc, char **argv, char *err, size_t cap)
{
	struct options o = {.timeout_ms = DEFAULT_TIMEOUT};
	struct drv_ctx c = {.o = &o};
	FILE *f = tmpfile();
	int saved, rc;
	size_t n;

	assert_non_null(f);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
	called = NULL;
	rc = drv_dispatch(table, &c, argc, argv);
	fflush(stderr);
	assert_true(dup2(saved, STDERR_FILENO) >= 0);
	close(saved);
	rewind(f);
	n = fread(err, 1, cap - 1, f);
	err[n] = '\0';
	fclose(f);
	return rc;
}

static void rows_well_formed(void **state)
{
	for (const struct drv_cmd *cmd = drv_cmds; cmd->name != NULL; cmd++) {
		assert_non_null(cmd->run);
		assert_non_null(cmd->help);
		assert_true(cmd->min_args >= 0 && cmd->min_args <= cmd->max_args);
		assert_true(cmd->max_args < MAX_WORDS - 1);
		/* Words after the name need a usage line to say what they are. */
		assert_true(cmd->max_args == 0 || cmd->args != NULL);
		/* A command with operations has them on every row: the op decides the row. */
		for (const struct drv_cmd *o = drv_cmds; o->name != NULL; o++)
			if (strcmp(o->name, cmd->name) == 0)
				assert_true(
				    (o->op == NULL) == (cmd->op == NULL) &&
				    (o == cmd || o->op == NULL || strcmp(o->op, cmd->op) != 0));
	}
}

static void every_row_reachable(void **state)
{
	char *argv[MAX_WORDS], err[1024];

	for (unsigned i = 0; i < rows; i++) {
		const struct drv_cmd *row = &table[i];
		int counts[2] = {row->min_args, row->max_args};

		for (int k = 0; k < 2; k++) {
			int argc = words_for(row, counts[k], argv);

			assert_int_equal(dispatch(argc, argv, err, sizeof(err)), 0);
			if (called != row)
				fail_msg("'%s %s' with %d words ran row %ld, not %u", row->name,
					 row->op != NULL ? row->op : "", counts[k],
					 called != NULL ? (long) (called - table) : -1L, i);
			assert_int_equal(called_argc, counts[k]);
			assert_string_equal(err, "");
		}
	}
}

static void wrong_counts_refused(void **state)
{
	char *argv[MAX_WORDS], err[1024], want[512];

	for (unsigned i = 0; i < rows; i++) {
		const struct drv_cmd *row = &table[i];
		int at = op_place(row);

		/* One word too many: the row is found, the count refused with its usage line. */
		int argc = words_for(row, row->max_args + 1, argv);

		assert_int_equal(dispatch(argc, argv, err, sizeof(err)), EXIT_USAGE);
		assert_null(called);
		if (row->max_args == 0)
			snprintf(want, sizeof(want), "vioport-drv: %s takes no arguments\n",
				 row->name);
		else
			snprintf(want, sizeof(want), "vioport-drv: %s: expected %s\n", row->name,
				 row->args);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("'%s' with %d words: '%s', expected '%s'", row->name, argc - 1,
				 err, want);
		if (row->min_args == 0)
			continue;
		/* One too few: the usage line, or the operations when the op is cut off too. */
		argc = words_for(row, row->min_args - 1, argv);
		assert_int_equal(dispatch(argc, argv, err, sizeof(err)), EXIT_USAGE);
		assert_null(called);
		if (at < 0 || at < row->min_args - 1)
			snprintf(want, sizeof(want), "vioport-drv: %s: expected %s\n", row->name,
				 row->args);
		else
			snprintf(want, sizeof(want), "vioport-drv: %s: expected ", row->name);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("'%s' with %d words: '%s', expected '%s'", row->name, argc - 1,
				 err, want);
		if (at >= 0 && at >= row->min_args - 1)
			assert_non_null(strstr(err, row->op));
	}
}

static void unknown_refused(void **state)
{
	char *argv[MAX_WORDS], err[1024];
	char nope[] = "nope", blk[] = "blk", dev[] = "0", erase[] = "erase";

	argv[0] = nope;
	assert_int_equal(dispatch(1, argv, err, sizeof(err)), EXIT_USAGE);
	assert_null(called);
	assert_non_null(strstr(err, "unknown command 'nope'"));
	argv[0] = blk;
	argv[1] = dev;
	argv[2] = erase;
	assert_int_equal(dispatch(3, argv, err, sizeof(err)), EXIT_USAGE);
	assert_null(called);
	assert_non_null(strstr(err, "blk: unknown operation 'erase'"));
	assert_int_equal(dispatch(2, argv, err, sizeof(err)), EXIT_USAGE);
	assert_non_null(strstr(err, "blk: expected DEV read|write ..."));
}

static void help_lists_every_row(void **state)
{
	char *text = NULL, line[256];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	drv_usage_text(drv_cmds, f);
	fclose(f);
	for (const struct drv_cmd *cmd = drv_cmds; cmd->name != NULL; cmd++) {
		const char *nl = strchr(cmd->help, '\n');

		snprintf(line, sizeof(line), "\n  %s%s%s", cmd->name, cmd->args != NULL ? " " : "",
			 cmd->args != NULL ? cmd->args : "");
		if (strstr(text, line) == NULL)
			fail_msg("--help lacks '%s'", line + 1);
		snprintf(line, sizeof(line), " %.*s\n", nl != NULL ? (int) (nl - cmd->help) : 255,
			 cmd->help);
		if (strstr(text, line) == NULL)
			fail_msg("--help lacks '%s'", line);
	}
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(rows_well_formed),
	    cmocka_unit_test_setup(every_row_reachable, setup),
	    cmocka_unit_test_setup(wrong_counts_refused, setup),
	    cmocka_unit_test_setup(unknown_refused, setup),
	    cmocka_unit_test(help_lists_every_row),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
