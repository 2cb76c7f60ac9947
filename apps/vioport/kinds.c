/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's kinds of device: the one table that lists them. Everything the
 * program says or does about a kind (its name, --help, --print-capabilities,
 * its options, its device, its control commands) comes from its entry, a
 * struct vp_kind in kind_NAME.c. A new kind is one such file and one line
 * here; see docs/adding-a-device.md.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vioport.h"

extern const struct vp_kind vp_kind_blk, vp_kind_rng, vp_kind_gpio, vp_kind_i2c, vp_kind_console,
    vp_kind_vsock, vp_kind_input;

const struct vp_kind *const vp_kinds[] = {
    &vp_kind_blk,     &vp_kind_rng,   &vp_kind_gpio,  &vp_kind_i2c,
    &vp_kind_console, &vp_kind_vsock, &vp_kind_input,
};
const unsigned vp_nkinds = sizeof(vp_kinds) / sizeof(vp_kinds[0]);

/*
 * A kind's options may come before its name in a group, where the daemon
 * must already know whether one takes an argument: so options of one name in
 * several kinds must agree on their letter and on taking an argument.
 */
int vp_kinds_check(void)
{
	for (unsigned i = 0; i < vp_nkinds; i++)
		for (unsigned j = i + 1; j < vp_nkinds; j++)
			for (const struct vp_option *a = vp_kinds[i]->options; a && a->name; a++)
				for (const struct vp_option *b = vp_kinds[j]->options; b && b->name;
				     b++) {
					if (strcmp(a->name, b->name) != 0)
						continue;
					if (a->letter != b->letter ||
					    (a->arg == NULL) != (b->arg == NULL)) {
						fprintf(
						    stderr,
						    "vioport: internal error: option '--%s' of %s "
						    "and of %s disagree on its letter or "
						    "argument\n",
						    a->name, vp_kinds[i]->name, vp_kinds[j]->name);
						return -EINVAL;
					}
				}
	return 0;
}

const struct vp_kind *vp_kind_find(const char *name)
{
	for (unsigned i = 0; i < vp_nkinds; i++)
		if (strcmp(vp_kinds[i]->name, name) == 0 ||
		    (vp_kinds[i]->alias != NULL && strcmp(vp_kinds[i]->alias, name) == 0))
			return vp_kinds[i];
	return NULL;
}

const char *vp_kind_list(char *buf, size_t len, bool ctl_only)
{
	const struct vp_kind *k[sizeof(vp_kinds) / sizeof(vp_kinds[0])];
	unsigned n = 0;
	size_t used = 0;

	for (unsigned i = 0; i < vp_nkinds; i++)
		if (!ctl_only || vp_kinds[i]->ctl != NULL)
			k[n++] = vp_kinds[i];
	buf[0] = '\0';
	for (unsigned i = 0; i < n && used < len; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
		int w = snprintf(buf + used, len - used, "%s%s", sep, k[i]->name);

		if (w < 0)
			break;
		used += (size_t) w;
	}
	return buf;
}

/*
 * The type and features are the names of QEMU's docs/interop/vhost-user.json
 * (VHostUserBackendType); a kind that has no type there prints its own name,
 * and no backend description is installed for it.
 */
void vp_print_capabilities(const struct vp_kind *k)
{
	fputs(k->caps_json, stdout);
}
