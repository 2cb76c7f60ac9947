/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's sandbox: what the run's options say the sandboxed daemon still
 * needs of the file system (the directories of the sockets it removes when it
 * stops), and the moment it enters the sandbox: every socket bound, every
 * image, window and device open, before any thread starts. See
 * vioport/internal/sandbox.h and docs/security.md.
 */
#include <string.h>

#include "vioport.h"

/* Allows removing the files the daemon removes when it stops; 0 or -errno. */
static int allow_removals(struct vp_options *o, const struct vp_instance *inst, unsigned n,
			  char *err, size_t errlen)
{
	struct vio_sandbox *sb = &o->sandbox;
	int rc = 0;

	if (o->control != NULL)
		rc = vio_sandbox_allow_remove(sb, o->control, err, errlen);
	for (unsigned i = 0; rc == 0 && i < n; i++) {
		const struct vp_group *g = inst[i].opt;

		if (inst[i].path[0] != '\0')
			rc = vio_sandbox_allow_remove(sb, inst[i].path, err, errlen);
		if (rc == 0 && g->doorbell != NULL &&
		    (strncmp(g->doorbell, "eventfd:", 8) == 0 ||
		     strncmp(g->doorbell, "ivshmem:", 8) == 0))
			rc = vio_sandbox_allow_remove(sb, g->doorbell + 8, err, errlen);
	}
	return rc;
}

/* What each kind still needs once sandboxed (an NBD disk: to reconnect). */
static int allow_kinds(struct vp_options *o, const struct vp_instance *inst, unsigned n, char *err,
		       size_t errlen)
{
	int rc = 0;

	for (unsigned i = 0; rc == 0 && i < n; i++)
		if (inst[i].state != NULL && inst[i].kind->sandbox != NULL)
			rc = inst[i].kind->sandbox(&inst[i], &o->sandbox, err, errlen);
	return rc;
}

int vp_sandbox_enter(struct vp_options *o, const struct vp_instance *inst, unsigned n)
{
	struct vio_sandbox *sb = &o->sandbox;
	char err[200];
	int rc;

	rc = allow_removals(o, inst, n, err, sizeof(err));
	if (rc == 0)
		rc = allow_kinds(o, inst, n, err, sizeof(err));
	if (rc == 0)
		rc = vio_sandbox_enter(sb, err, sizeof(err));
	if (rc < 0) {
		vp_say(VIO_LOG_ERR, "", "cannot enter the sandbox: %s", err);
		return rc;
	}
	if (sb->mode == VIO_SANDBOX_OFF) {
		vp_say(VIO_LOG_INFO, "", "sandbox off%s%s", sb->drop_user ? "; user " : "",
		       sb->drop_user ? sb->user : "");
		return 0;
	}
	if (sb->landlock_abi == 0)
		vp_say(VIO_LOG_WARN, "", "%s", sb->landlock_note);
	if (sb->mode == VIO_SANDBOX_LOG)
		vp_say(VIO_LOG_WARN, "",
		       "sandbox in log mode: a call outside the allowlist fails with EPERM");
	vp_say(VIO_LOG_INFO, "", "sandbox %s: no_new_privs, seccomp allowlist, %s%s%s",
	       sb->mode == VIO_SANDBOX_LOG ? "log" : "on",
	       sb->landlock_abi ? sb->landlock_note : "no Landlock", sb->drop_user ? ", user " : "",
	       sb->drop_user ? sb->user : "");
	return 0;
}
