/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's configuration file: '#' comments, '[DEVICE]' starting a group,
 * 'option = value' or a bare 'flag' with the long option names of
 * options.c and the kinds. Options before the first section apply to the
 * whole process. See vioport(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vioport.h"

/* Reads a whole file into a NUL-terminated buffer the caller frees; 0 or -errno after
 * reporting. */
static int read_text(const char *path, char **out)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	ssize_t got;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		fprintf(stderr, "vioport: cannot read the configuration file '%s': %s\n", path,
			strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (1 << 20)) {
		rc = -EFBIG;
		fprintf(stderr,
			"vioport: the configuration file '%s' must be a regular file of "
			"at most 1 MiB\n",
			path);
		goto out;
	}
	buf = malloc((size_t) st.st_size + 1);
	if (buf == NULL) {
		rc = -ENOMEM;
		fprintf(stderr, "vioport: out of memory\n");
		goto out;
	}
	while (len < (size_t) st.st_size) {
		got = read(fd, buf + len, (size_t) st.st_size - len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		len += (size_t) got;
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		rc = -EILSEQ;
		fprintf(stderr, "vioport: the configuration file '%s' is not text\n", path);
		free(buf);
		buf = NULL;
	}
out:
	if (fd >= 0)
		close(fd);
	*out = buf;
	return rc;
}

/* Strips blanks at both ends of s in place. */
static char *trim(char *s)
{
	char *e;

	s += strspn(s, " \t\r");
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* A '[DEVICE]' line (line without its ']'): starts a group of that kind. */
static int section(struct vp_options *o, const char *name, const char *where, struct vp_group **g)
{
	const struct vp_kind *k = vp_kind_find(name);
	char kinds[64];
	int rc;

	if (k == NULL)
		return vp_usage_error(where, "unknown device '%s' (%s)", name,
				      vp_kind_list(kinds, sizeof(kinds), false));
	rc = vp_group_new(o, where, where, g);
	if (rc == 0)
		rc = vp_group_set_kind(o, *g, k, where);
	return rc;
}

/* One 'key = value' or 'flag' line, for the run (g NULL) or group g. */
static int option_line(struct vp_options *o, struct vp_group *g, char *line, const char *where)
{
	const struct vp_option *opt;
	char *eq = strchr(line, '='), *key, *val = NULL;

	if (eq != NULL) {
		*eq = '\0';
		val = trim(eq + 1);
	}
	key = trim(line);
	opt = vp_option_any(key);
	if (opt == NULL)
		return vp_usage_error(where, "unknown option '%s'", key);
	if (opt->arg != NULL && (val == NULL || *val == '\0'))
		return vp_usage_error(where, "'%s' needs a value: '%s = VALUE'", key, key);
	if (opt->arg == NULL && val != NULL)
		return vp_usage_error(where, "'%s' takes no value", key);
	return vp_option_apply(o, g, key, val, where, true);
}

/* The option strings point into o->config_text, kept until vp_options_free. */
int vp_read_config(struct vp_options *o, const char *path)
{
	char where[96];
	struct vp_group *g = NULL;
	unsigned lineno = 0;
	char *p, *next;
	int rc;

	rc = read_text(path, &o->config_text);
	for (p = o->config_text; p != NULL && rc == 0; p = next) {
		char *line;

		next = strchr(p, '\n');
		if (next != NULL)
			*next++ = '\0';
		lineno++;
		snprintf(where, sizeof(where), "%s:%u", path, lineno);
		line = p;
		if (line[strcspn(line, "#")] == '#')
			line[strcspn(line, "#")] = '\0';
		line = trim(line);
		if (*line == '\0')
			continue;
		if (*line == '[') {
			size_t n = strlen(line);

			if (n < 3 || line[n - 1] != ']') {
				rc = vp_usage_error(where, "a section is '[DEVICE]', not '%s'",
						    line);
				break;
			}
			line[n - 1] = '\0';
			rc = section(o, trim(line + 1), where, &g);
			continue;
		}
		rc = option_line(o, g, line, where);
	}
	return rc;
}
