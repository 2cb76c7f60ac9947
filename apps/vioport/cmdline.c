/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's command line: groups of DEVICE [OPTIONS] separated by '+', the
 * device's name anywhere in its group, and the configuration file that
 * --config names. The options themselves are options.c's and the kinds'.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vioport.h"

/* getopt's view of every option: each long name (and alias) once, the short letters. */
#define MAX_OPTIONS 128
struct getopt_table {
	struct option longs[MAX_OPTIONS + 1];
	const struct vp_option *opts[MAX_OPTIONS]; /* what a long option's val - 256 names */
	unsigned n;
	char shorts[2 * MAX_OPTIONS + 2];
};

/* Adds the options of table that are not in t yet. */
static void add_options(struct getopt_table *t, const struct vp_option *table)
{
	for (const struct vp_option *opt = table; table != NULL && opt->name != NULL; opt++) {
		const char *names[] = {opt->name, opt->alias};
		size_t len = strlen(t->shorts);

		for (unsigned j = 0; j < 2; j++) {
			bool seen = false;

			if (names[j] == NULL)
				continue;
			for (unsigned i = 0; i < t->n && !seen; i++)
				seen = strcmp(t->longs[i].name, names[j]) == 0;
			if (seen || t->n == MAX_OPTIONS)
				continue;
			t->opts[t->n] = opt;
			t->longs[t->n] =
			    (struct option){names[j], opt->arg ? required_argument : no_argument,
					    NULL, opt->letter ? opt->letter : 256 + (int) t->n};
			t->n++;
		}
		if (opt->letter != 0 && strchr(t->shorts, opt->letter) == NULL &&
		    len + 2 < sizeof(t->shorts)) {
			t->shorts[len++] = opt->letter;
			if (opt->arg != NULL)
				t->shorts[len++] = ':';
			t->shorts[len] = '\0';
		}
	}
}

static void build_table(struct getopt_table *t)
{
	memset(t, 0, sizeof(*t));
	t->shorts[0] = '+'; /* stop at the first word: the device names and '+' */
	add_options(t, vp_process_options);
	add_options(t, vp_group_options);
	for (unsigned i = 0; i < vp_nkinds; i++)
		add_options(t, vp_kinds[i]->options);
}

/* The option getopt returned as c. */
static const struct vp_option *option_of(const struct getopt_table *t, int c)
{
	if (c >= 256 && (unsigned) (c - 256) < t->n)
		return t->opts[c - 256];
	for (unsigned i = 0; i < t->n; i++)
		if (t->opts[i]->letter == c)
			return t->opts[i];
	return NULL;
}

/* A group, or a run, without a device. */
static int which_device(void)
{
	char kinds[64];

	return vp_usage_error(NULL, "which device? (%s)",
			      vp_kind_list(kinds, sizeof(kinds), false));
}

/* Starts the next group of the command line. */
static int open_group(struct vp_options *o, struct vp_group **g)
{
	char where[40];

	snprintf(where, sizeof(where), "group %u of the command line", o->ngroups + 1);
	return vp_group_new(o, where, NULL, g);
}

/* A word that is not an option: '+', or the device of the current group. */
static int device_word(struct vp_options *o, struct vp_group **g, const char *word,
		       bool *after_plus)
{
	const struct vp_kind *k;
	char kinds[64];
	int rc;

	/* '+' ends a group; the device name may come anywhere in its group. */
	if (strcmp(word, "+") == 0) {
		if (*g == NULL || (*g)->kind == NULL)
			return vp_usage_error(NULL, "'+' separates groups, each with a device");
		*g = NULL;
		*after_plus = true;
		return 0;
	}
	*after_plus = false;
	k = vp_kind_find(word);
	if (k == NULL)
		return vp_usage_error(NULL, "unknown device '%s' (%s)", word,
				      vp_kind_list(kinds, sizeof(kinds), false));
	if (*g != NULL && (*g)->kind != NULL)
		return vp_usage_error(NULL,
				      "one device per group, '%s' is extra (separate "
				      "groups with '+')",
				      word);
	if (*g == NULL) {
		rc = open_group(o, g);
		if (rc < 0)
			return rc;
	}
	return vp_group_set_kind(o, *g, k, NULL);
}

/* Reads --config: the file's groups come first, the command line's follow them. */
static int add_config(struct vp_options *o)
{
	struct vp_group *cli;
	unsigned ncli = o->ngroups;
	int rc;

	cli = malloc(sizeof(*cli) * MAX_GROUPS);
	if (cli == NULL) {
		fprintf(stderr, "vioport: out of memory\n");
		return -ENOMEM;
	}
	memcpy(cli, o->groups, sizeof(cli[0]) * ncli);
	o->ngroups = 0;
	rc = vp_read_config(o, o->config);
	if (rc == 0 && o->ngroups + ncli > MAX_GROUPS)
		rc = vp_usage_error(NULL, "at most %d groups of devices", MAX_GROUPS);
	if (rc == 0) {
		memcpy(&o->groups[o->ngroups], cli, sizeof(cli[0]) * ncli);
		o->ngroups += ncli;
	} else {
		for (unsigned i = 0; i < ncli; i++)
			free(cli[i].conf);
	}
	free(cli);
	return rc;
}

int vp_parse_args(struct vp_options *o, int argc, char **argv)
{
	struct getopt_table *t;
	struct vp_group *g = NULL;
	bool after_plus = false; /* the last word was '+' */
	int c, rc = 0;

	vp_options_init(o);
	t = malloc(sizeof(*t));
	if (t == NULL) {
		fprintf(stderr, "vioport: out of memory\n");
		return -ENOMEM;
	}
	build_table(t);
	/* Called vioport-KIND (the links QEMU's backend descriptions name), the first group's
	 * device is KIND: `vioport-blk --print-capabilities`, `vioport-blk --socket-path ...`. */
	if (argc > 0) {
		const char *base = strrchr(argv[0], '/');
		const struct vp_kind *k;

		base = base != NULL ? base + 1 : argv[0];
		k = strncmp(base, "vioport-", 8) == 0 ? vp_kind_find(base + 8) : NULL;
		if (k != NULL) {
			rc = vp_group_new(o, "group 1 of the command line", NULL, &g);
			if (rc == 0)
				rc = vp_group_set_kind(o, g, k, NULL);
		}
	}
	opterr = 0;
	while (rc == 0 && !o->done &&
	       ((c = getopt_long(argc, argv, t->shorts, t->longs, NULL)) != -1 || optind < argc)) {
		const struct vp_option *opt;

		if (c == -1) {
			rc = device_word(o, &g, argv[optind++], &after_plus);
			continue;
		}
		if (c == '?' && optopt >= 256) {
			rc =
			    vp_usage_error(NULL, "option '%s' needs an argument", argv[optind - 1]);
			break;
		}
		if (c == '?' && optopt != 0) {
			rc = vp_usage_error(NULL, "option -%c needs an argument or is unknown",
					    optopt);
			break;
		}
		opt = option_of(t, c);
		if (opt == NULL) {
			rc = vp_usage_error(NULL, "unknown option '%s'", argv[optind - 1]);
			break;
		}
		/* A group's option before its device name opens the group. */
		if (vp_option_in(vp_process_options, opt->name) == NULL) {
			if (g == NULL)
				rc = open_group(o, &g);
			after_plus = false;
		}
		if (rc == 0)
			rc = vp_option_apply(o, g, opt->name, optarg, NULL, false);
	}
	free(t);
	if (rc < 0 || o->done)
		return rc;
	if (after_plus)
		return vp_usage_error(NULL, "'+' must be followed by another device");
	if (g != NULL && g->kind == NULL)
		return which_device();
	if (o->config != NULL)
		return add_config(o);
	return 0;
}
