/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport vsock: virtio-vsock, the host end of the guest's AF_VSOCK streams,
 * in the hybrid form of Firecracker and vhost-device-vsock: a guest
 * connection to host port P is a connection to the UNIX socket PATH_P, and
 * a host program reaches guest port P by connecting to PATH and writing
 * "CONNECT P\n" (src/linux/vsock_unix.c). The provider's sockets are watched
 * on the main loop; with --sim the simulation's echo and sink services stand
 * in for them. See docs/devices/vsock.md.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "vioport.h"
#include "vioport/linux_vsock.h"
#include "vioport/sim_vsock.h"
#include "vioport/vsock.h"

#define VSOCK_CID_MAX	       0xfffffffeu
#define VSOCK_STREAMS_DEFAULT  64u
#define VSOCK_STREAMS_MAX      4096u
#define VSOCK_BUF_DEFAULT      65536u
#define VSOCK_BUF_MIN	       64u
#define VSOCK_BUF_MAX	       (1u << 20)
#define VSOCK_SIM_ECHO_PORT    7u /* the echo protocol's port */
#define VSOCK_SIM_SINK_PORT    9u /* the discard protocol's */
#define VSOCK_PATH_PORT_SUFFIX 11 /* "_4294967295" after the base path */

/* A vsock group's options (g->conf). */
struct vp_vsock_conf {
	unsigned guest_cid; /* 0: not given, VIO_VSOCK_MIN_GUEST_CID */
	const char *uds_path;
	bool sim;
	unsigned streams;     /* 0: not given */
	unsigned buffer_size; /* 0: not given */
};

/* One vsock instance (in->state). */
struct vp_vsock {
	struct vp_instance *in;
	struct vio_vsock vs;
	struct vio_queue queues[3];
	struct vio_vsock_conn *conns; /* streams entries */
	uint8_t *bufs;		      /* streams * buffer_size bytes */
	/* the provider: UNIX sockets, or with --sim the simulation */
	struct vio_host_vsock hv;
	struct vio_host_vsock_conn *hconns;
	bool hv_open;
	struct vio_sim_vsock sim;
	struct vio_sim_vsock_conn *sconns;
};

#define VSOCK_FEATURES                                                                             \
	(VIO_BIT(VIO_VSOCK_F_STREAM) | VIO_BIT(VIO_F_INDIRECT_DESC) | VIO_BIT(VIO_F_EVENT_IDX) |   \
	 VIO_BIT(VIO_F_RING_PACKED))

/* The provider runs device calls from the loop under the transport's lock. */
static void vsock_lock(void *ctx)
{
	struct vp_vsock *v = ctx;

	vp_lock(v->in);
}

static void vsock_unlock(void *ctx)
{
	struct vp_vsock *v = ctx;

	vp_unlock(v->in);
}

static int vsock_setup(struct vp_instance *in, struct vio_loop *loop)
{
	struct vp_vsock *v = in->state;
	const struct vp_vsock_conf *o = in->opt->conf;
	const struct vio_vsock_ops *ops = &vio_sim_vsock_ops;
	void *ctx = &v->sim;
	int rc;

	(void) loop;
	v->in = in;
	v->conns = calloc(o->streams, sizeof(*v->conns));
	v->bufs = calloc(o->streams, o->buffer_size);
	if (o->sim)
		v->sconns = calloc(o->streams, sizeof(*v->sconns));
	else
		v->hconns = calloc(o->streams, sizeof(*v->hconns));
	if (v->conns == NULL || v->bufs == NULL || (v->sconns == NULL && v->hconns == NULL)) {
		vp_say(VIO_LOG_ERR, in->name, "out of memory for %u streams of %u bytes",
		       o->streams, o->buffer_size);
		return -ENOMEM;
	}
	if (o->sim) {
		vio_sim_vsock_init(&v->sim, v->sconns, o->streams, VSOCK_SIM_ECHO_PORT,
				   VSOCK_SIM_SINK_PORT);
	} else {
		/* Bound now: the sandbox allows no new listener once serving. */
		rc = vio_host_vsock_open(&v->hv, o->uds_path, v->hconns, o->streams);
		if (rc < 0) {
			vp_say(VIO_LOG_ERR, in->name, "cannot listen at %s: %s", o->uds_path,
			       rc == -EEXIST ? "a file that is not a socket is there"
					     : strerror(-rc));
			return rc;
		}
		v->hv_open = true;
		ops = &vio_host_vsock_ops;
		ctx = &v->hv;
	}
	if (vio_vsock_init(&v->vs, ops, ctx, o->guest_cid, v->conns, o->streams, v->bufs,
			   o->buffer_size, v->queues, QUEUE_SIZE, VSOCK_FEATURES) < 0) {
		vp_say(VIO_LOG_ERR, in->name, "cannot set up the vsock device");
		return -EINVAL;
	}
	if (o->sim)
		vio_sim_vsock_attach(&v->sim, &v->vs);
	in->dev = &v->vs.dev;
	if (o->sim)
		vp_say(VIO_LOG_INFO, in->name,
		       "guest CID %u, simulated host: echo on port %u, sink on port %u, %u streams "
		       "of %u bytes",
		       o->guest_cid, VSOCK_SIM_ECHO_PORT, VSOCK_SIM_SINK_PORT, o->streams,
		       o->buffer_size);
	else
		vp_say(VIO_LOG_INFO, in->name,
		       "guest CID %u, host sockets %s (CONNECT) and %s_PORT, %u streams of %u "
		       "bytes",
		       o->guest_cid, o->uds_path, o->uds_path, o->streams, o->buffer_size);
	return 0;
}

/* The host sockets are watched on the loop, device calls under the transport's lock. */
static int vsock_serve(struct vp_instance *in, struct vio_loop *loop)
{
	struct vp_vsock *v = in->state;
	int rc;

	if (!v->hv_open)
		return 0;
	rc = vio_host_vsock_attach(&v->hv, &v->vs, loop, vsock_lock, vsock_unlock, v);
	if (rc < 0)
		vp_say(VIO_LOG_ERR, in->name, "cannot watch %s: %s", v->hv.path, strerror(-rc));
	return rc;
}

/*
 * Guest connections are new UNIX connections to PATH_PORT, made while
 * serving; the listener at PATH is removed when the daemon stops.
 */
static int vsock_sandbox(const struct vp_instance *in, struct vio_sandbox *sb, char *err,
			 size_t errlen)
{
	const struct vp_vsock *v = in->state;
	int rc;

	if (!v->hv_open)
		return 0;
	rc = vio_sandbox_allow_connect(sb, AF_UNIX, 0, err, errlen);
	if (rc == 0)
		rc = vio_sandbox_allow_remove(sb, v->hv.path, err, errlen);
	return rc;
}

static void vsock_stop(struct vp_instance *in)
{
	struct vp_vsock *v = in->state;

	if (v->hv_open)
		vio_host_vsock_close(&v->hv);
	v->hv_open = false;
	free(v->hconns);
	free(v->sconns);
	free(v->bufs);
	free(v->conns);
	v->hconns = NULL;
	v->sconns = NULL;
	v->bufs = NULL;
	v->conns = NULL;
}

static int vsock_check(struct vp_group *g, const char *where)
{
	struct vp_vsock_conf *c = g->conf;

	if (c->sim && c->uds_path != NULL)
		return vp_usage_error(where, "vsock takes --uds-path or --sim, not both");
	if (!c->sim && c->uds_path == NULL)
		return vp_usage_error(where, "vsock needs --uds-path (or --sim)");
	if (c->uds_path != NULL &&
	    (c->uds_path[0] == '\0' ||
	     strlen(c->uds_path) + VSOCK_PATH_PORT_SUFFIX >= VIO_HOST_VSOCK_PATH))
		return vp_usage_error(where,
				      "--uds-path must be 1 to %d bytes long (PATH_PORT is a "
				      "socket path too)",
				      VIO_HOST_VSOCK_PATH - VSOCK_PATH_PORT_SUFFIX - 1);
	if (c->buffer_size != 0 && (c->buffer_size & (c->buffer_size - 1)) != 0)
		return vp_usage_error(where, "--buffer-size is a power of two, not %u",
				      c->buffer_size);
	/* One guest, one CID and one base path per device: a group per guest. */
	if (g->transport == TRANSPORT_VMSG)
		g->socket_count = 1;
	if (g->socket_count != 1)
		return vp_usage_error(where,
				      "vsock serves one device per group (one guest CID and "
				      "--uds-path each), not %u",
				      g->socket_count);
	if (c->guest_cid == 0)
		c->guest_cid = VIO_VSOCK_MIN_GUEST_CID;
	if (c->streams == 0)
		c->streams = VSOCK_STREAMS_DEFAULT;
	if (c->buffer_size == 0)
		c->buffer_size = VSOCK_BUF_DEFAULT;
	return 0;
}

#define IN_CONF(f) offsetof(struct vp_vsock_conf, f)

/*
 * --sim takes an argument, as the other kinds' --sim do (options that share a
 * name agree on taking one); the simulation has one form, its echo and sink.
 */
static int opt_sim(const struct vp_optctx *ctx, const char *arg)
{
	if (strcmp(arg, "echo") != 0)
		return vp_usage_error(ctx->where, "vsock's --sim takes echo, not '%s'", arg);
	((struct vp_vsock_conf *) ctx->target)->sim = true;
	return 0;
}

static const struct vp_option vsock_options[] = {
    {.name = "guest-cid",
     .arg = "N",
     .type = VP_OPT_UINT,
     .offset = IN_CONF(guest_cid),
     .lo = VIO_VSOCK_MIN_GUEST_CID,
     .hi = VSOCK_CID_MAX,
     .help = "the guest's context ID, %u to 4294967294 (default %u)",
     .help_n = {VIO_VSOCK_MIN_GUEST_CID, VIO_VSOCK_MIN_GUEST_CID}},
    {.name = "uds-path",
     .arg = "PATH",
     .type = VP_OPT_STRING,
     .offset = IN_CONF(uds_path),
     .help = "host programs connect to PATH and write \"CONNECT PORT\\n\";\n"
	     "guest connections to host port P go to PATH_P"},
    {.name = "sim",
     .arg = "echo",
     .type = VP_OPT_FN,
     .apply = opt_sim,
     .help = "no host sockets: host port %u echoes, port %u takes\n"
	     "and discards (a simulation, for tests)",
     .help_n = {VSOCK_SIM_ECHO_PORT, VSOCK_SIM_SINK_PORT}},
    {.name = "streams",
     .arg = "N",
     .type = VP_OPT_UINT,
     .offset = IN_CONF(streams),
     .lo = 1,
     .hi = VSOCK_STREAMS_MAX,
     .help = "streams open at once, 1 to %u (default %u)",
     .help_n = {VSOCK_STREAMS_MAX, VSOCK_STREAMS_DEFAULT}},
    {.name = "buffer-size",
     .arg = "BYTES",
     .type = VP_OPT_UINT,
     .offset = IN_CONF(buffer_size),
     .lo = VSOCK_BUF_MIN,
     .hi = VSOCK_BUF_MAX,
     .help = "each stream's buffer of guest data (the buf_alloc the\n"
	     "guest sees), a power of two, %u to %u (default %u)",
     .help_n = {VSOCK_BUF_MIN, VSOCK_BUF_MAX, VSOCK_BUF_DEFAULT}},
    {.name = NULL},
};

const struct vp_kind vp_kind_vsock = {
    .name = "vsock",
    .summary = "virtio-vsock: guest streams to UNIX sockets (--uds-path)",
    .caps_json = "{\n  \"type\": \"vsock\",\n  \"features\": []\n}\n",
    .options = vsock_options,
    .conf_size = sizeof(struct vp_vsock_conf),
    .state_size = sizeof(struct vp_vsock),
    .check = vsock_check,
    .setup = vsock_setup,
    .serve = vsock_serve,
    .sandbox = vsock_sandbox,
    .stop = vsock_stop,
};
