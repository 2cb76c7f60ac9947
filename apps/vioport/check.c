/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport's checks once every option is given: each group's transport and
 * its kind's own rules (struct vp_kind's check), the sockets systemd passed,
 * and what the groups must not share.
 */
#include <errno.h>
#include <string.h>

#include "vioport.h"

/*
 * Checks how a group reaches its driver: sockets for vhost-user, or a window
 * for virtio-msg, whose devices (counted by the kind's check) are all on the
 * window's bus.
 */
static int check_transport(struct vp_group *g, const char *where)
{
	if (g->transport == TRANSPORT_VMSG) {
		if (g->shm == NULL)
			return vp_usage_error(
			    where, "--transport vmsg needs --shm PATH (the window file)");
		if (strlen(g->shm) >= VIO_VMSG_PATH_MAX)
			return vp_usage_error(where, "window path too long: '%s'", g->shm);
		if (g->socket_path != NULL || g->fd >= 0 || g->socket_count != 1)
			return vp_usage_error(where,
					      "--socket-path, --fd and --socket-count are for "
					      "vhost-user; with --transport vmsg the devices share "
					      "the window's bus");
		return 0;
	}
	if (g->shm != NULL || g->shm_size != 0 || g->doorbell != NULL)
		return vp_usage_error(where,
				      "--shm, --shm-size and --doorbell need --transport vmsg");
	if ((g->socket_path == NULL) == (g->fd < 0))
		return vp_usage_error(where, "give exactly one of --socket-path and --fd");
	if (g->fd >= 0 && g->socket_count != 1)
		return vp_usage_error(where,
				      "--fd serves one device; --socket-count needs --socket-path");
	if (g->socket_path != NULL &&
	    strlen(g->socket_path) + 3 > sizeof(((struct vp_instance *) 0)->path))
		return vp_usage_error(where, "socket path too long: '%s'", g->socket_path);
	return 0;
}

/* Checks one group; 0 or -EINVAL after reporting. */
static int check_group(struct vp_group *g, bool print_caps, const char *where)
{
	char kinds[64];
	int rc;

	if (g->kind == NULL)
		return vp_usage_error(where, "which device? (%s)",
				      vp_kind_list(kinds, sizeof(kinds), false));
	if (print_caps)
		return 0;
	rc = check_transport(g, where);
	if (rc == 0 && g->kind->check != NULL)
		rc = g->kind->check(g, where);
	return rc;
}

/*
 * Hands the sockets systemd passed (LISTEN_FDS) to the vhost-user groups that
 * name neither --socket-path nor --fd, one each, in order; every passed socket
 * must find its group.
 */
static int take_activated(struct vp_options *o)
{
	int n = vio_sd_listen_fds(true);
	unsigned next = 0;

	if (n < 0)
		return vp_usage_error(
		    NULL, "LISTEN_PID and LISTEN_FDS from systemd are unusable: %s", strerror(-n));
	for (unsigned i = 0; i < o->ngroups && next < (unsigned) n; i++) {
		struct vp_group *g = &o->groups[i];

		if (g->transport == TRANSPORT_VHOST_USER && g->socket_path == NULL && g->fd < 0)
			g->fd = VIO_SD_LISTEN_FDS_START + (int) next++;
	}
	if (next < (unsigned) n)
		return vp_usage_error(NULL,
				      "systemd passed %d sockets (LISTEN_FDS) but only %u group%s "
				      "name%s neither --socket-path nor --fd to take one",
				      n, next, next == 1 ? "" : "s", next == 1 ? "s" : "");
	o->activated = next;
	return 0;
}

int vp_check_args(struct vp_options *o)
{
	unsigned total = 0;
	char kinds[64];
	int rc;

	if (o->ngroups == 0)
		return vp_usage_error(NULL, "which device? (%s)",
				      vp_kind_list(kinds, sizeof(kinds), false));
	if (o->print_caps && o->ngroups != 1)
		return vp_usage_error(NULL, "--print-capabilities takes one device");
	if (o->control != NULL && strlen(o->control) >= sizeof(((struct vp_control *) 0)->path))
		return vp_usage_error(NULL, "control socket path too long: '%s'", o->control);
	if (!o->print_caps) {
		rc = take_activated(o);
		if (rc < 0)
			return rc;
	}
	/* The user database is read now: the sandbox has no access to it later. */
	if (o->user != NULL && !o->print_caps) {
		char err[160];

		if (vio_sandbox_set_user(&o->sandbox, o->user, err, sizeof(err)) < 0)
			return vp_usage_error(NULL, "--user: %s", err);
	}
	for (unsigned i = 0; i < o->ngroups; i++) {
		struct vp_group *g = &o->groups[i];
		const char *where = o->ngroups > 1 || o->config != NULL ? g->where : NULL;

		rc = check_group(g, o->print_caps, where);
		if (rc == 0 && !o->print_caps) {
			total += g->socket_count;
			if (total > MAX_DEVICES)
				rc = vp_usage_error(where, "at most %d devices in one process",
						    MAX_DEVICES);
		}
		for (unsigned j = 0; rc == 0 && j < i; j++) {
			const struct vp_group *h = &o->groups[j];

			if (g->socket_path != NULL && h->socket_path != NULL &&
			    strcmp(g->socket_path, h->socket_path) == 0)
				rc = vp_usage_error(where, "socket path '%s' is used by %s already",
						    g->socket_path, h->where);
			else if (g->fd >= 0 && g->fd == h->fd)
				rc = vp_usage_error(where, "fd %d is used by %s already", g->fd,
						    h->where);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}
