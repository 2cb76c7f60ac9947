/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport: VirtIO device backends as vhost-user daemons. The program's start:
 * options, the instances of every group, the control socket, the event loop.
 * See vioport.h and docs/vioport.1.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vioport.h"

static struct vio_loop *signal_loop; /* what SIGINT/SIGTERM stop */

static void on_signal(int sig)
{
	(void) sig;
	if (signal_loop != NULL)
		vio_loop_stop(signal_loop);
}

static int install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0)
		return -errno;
	/* A frontend that vanishes mid-reply must not kill the daemon. */
	sa.sa_handler = SIG_IGN;
	return sigaction(SIGPIPE, &sa, NULL) < 0 ? -errno : 0;
}

/* Tells systemd the daemon's state when it asked for it (NOTIFY_SOCKET). */
static void notify_state(struct vio_sd_notify *n, const char *state)
{
	int rc = vio_sd_notify_send(n, state);

	if (rc < 0)
		vp_say(VIO_LOG_WARN, "", "cannot notify systemd: %s", strerror(-rc));
}

/* Lays out the instances of every group: names, socket paths, groups; returns how many. */
static unsigned plan_instances(struct vp_instance *inst, const struct vp_options *o)
{
	unsigned n = 0;

	for (unsigned gi = 0; gi < o->ngroups; gi++) {
		const struct vp_group *g = &o->groups[gi];

		for (unsigned i = 0; i < g->socket_count; i++, n++) {
			struct vp_instance *in = &inst[n];

			in->opt = g;
			in->kind = g->kind;
			/* numbered among the devices of its kind, all groups together */
			for (unsigned j = 0; j < n; j++)
				in->index += inst[j].kind == g->kind;
			in->slot = i;
			snprintf(in->name, sizeof(in->name), "%s%u", g->kind->name, in->index);
			if (g->socket_path == NULL)
				continue;
			if (g->socket_count == 1)
				snprintf(in->path, sizeof(in->path), "%s", g->socket_path);
			else
				snprintf(in->path, sizeof(in->path), "%s%u", g->socket_path, i);
		}
	}
	return n;
}

int main(int argc, char **argv)
{
	struct vp_options *o;
	struct vio_loop loop;
	struct vp_instance *inst;
	struct vp_control ctl = {.fd = -1};
	struct vp_endpoint *eps = NULL;
	struct vio_sd_notify notify = {.fd = -1};
	unsigned n = 0, neps = 0;
	int rc, status = EXIT_SUCCESS;

	if (vp_kinds_check() < 0)
		return EXIT_FAILURE;
	o = calloc(1, sizeof(*o));
	if (o == NULL) {
		fprintf(stderr, "vioport: out of memory\n");
		return EXIT_FAILURE;
	}
	rc = vp_parse_args(o, argc, argv);
	if (rc == 0 && !o->done)
		rc = vp_check_args(o);
	if (rc == 0 && !o->done && o->print_caps) {
		vp_print_capabilities(o->groups[0].kind);
		o->done = true;
	}
	/* The exit statuses of vioport(1): 2 for a usage error, already reported. */
	if (rc < 0 || o->done) {
		vp_options_free(o);
		free(o);
		return rc == -EINVAL ? EXIT_USAGE : rc < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	vp_log_setup(o->log_level, o->log_time, vio_sd_journal_stream(2, getenv("JOURNAL_STREAM")));
	for (unsigned gi = 0; gi < o->ngroups; gi++)
		n += o->groups[gi].socket_count;
	inst = calloc(n, sizeof(*inst));
	eps = calloc(MAX_GROUPS, sizeof(*eps));
	if (inst == NULL || eps == NULL) {
		free(inst);
		free(eps);
		vp_say(VIO_LOG_ERR, "", "out of memory");
		vp_options_free(o);
		free(o);
		return EXIT_FAILURE;
	}
	n = plan_instances(inst, o);
	rc = vio_loop_init(&loop);
	if (rc < 0) {
		vp_say(VIO_LOG_ERR, "", "cannot create the event loop: %s", strerror(-rc));
		status = EXIT_FAILURE;
		n = 0;
		goto out;
	}
	signal_loop = &loop;
	/* kicks and the wait in one io_uring where the kernel has one; epoll otherwise */
	(void) vio_loop_enable_ring(&loop);
	vio_loop_set_poll(&loop, o->poll_us);
	for (unsigned i = 0; i < n; i++) {
		inst[i].poll_us = o->poll_us;
		inst[i].batch = o->batch;
	}
	rc = install_signals();
	/* Opened now: once sandboxed, the daemon creates no socket. A failure is logged, not
	 * fatal: systemd then reports the start as timed out, which says more. */
	if (rc == 0) {
		int nr = vio_sd_notify_open(&notify, getenv("NOTIFY_SOCKET"));

		if (nr < 0)
			vp_say(VIO_LOG_ERR, "", "cannot reach NOTIFY_SOCKET '%s': %s",
			       getenv("NOTIFY_SOCKET"), strerror(-nr));
		unsetenv("NOTIFY_SOCKET");
	}
	/* The control socket exists before the device sockets, so a client that waited for
	 * those finds it; commands are served once the loop runs, with every device set up. */
	/* Window files exist before the control socket, so a client that waits for the
	 * socket finds them. */
	if (rc == 0)
		rc = vp_vmsg_init(eps, &neps, inst, n);
	if (rc == 0 && o->control != NULL)
		rc = vp_ctl_start(&ctl, o->control, &loop, inst, n);
	for (unsigned i = 0; rc == 0 && i < n; i++)
		rc = vp_start_instance(&inst[i], &loop);
	/* Everything is open and no thread runs yet: from here on, only what serving needs. */
	if (rc == 0)
		rc = vp_sandbox_enter(o, inst, n);
	if (rc == 0)
		rc = vp_vmsg_start(eps, neps);
	if (rc == 0) {
		char state[64];

		snprintf(state, sizeof(state), "READY=1\nSTATUS=serving %u device%s", n,
			 n == 1 ? "" : "s");
		notify_state(&notify, state);
		rc = vio_loop_run(&loop);
		if (rc < 0)
			vp_say(VIO_LOG_ERR, "", "event loop failed: %s", strerror(-rc));
		else
			vp_say(VIO_LOG_INFO, "", "stopping");
	}
	if (rc < 0)
		status = EXIT_FAILURE;
	notify_state(&notify, "STOPPING=1");
	vio_sd_notify_close(&notify);
	vp_ctl_stop(&ctl);
	/* The buses' threads stop first: nothing reaches a device being torn down. */
	vp_vmsg_fini(eps, neps);
	for (unsigned i = 0; i < n; i++)
		vp_stop_instance(&inst[i]);
	signal_loop = NULL;
	vio_loop_fini(&loop);
out:
	free(eps);
	free(inst);
	vp_options_free(o);
	free(o);
	return status;
}
