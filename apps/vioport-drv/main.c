/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vioport-drv: the driver side of virtio-msg over a shared-memory window.
 *
 *   vioport-drv --shm PATH [--shm-size N] [--shm-offset N]
 *               [--doorbell poll|eventfd:SOCKET] [--timeout MS] COMMAND ...
 *
 * Formats the window (a new driver generation each run), waits for the device
 * side to attach, runs one command and prints its result. `sim` serves
 * simulated devices on the device side instead, and `bench` measures the GPIO
 * round trip against a `sim` it forks. See docs/vioport-drv.1.
 *
 * The commands are the rows of drv_cmds: the argument counts checked before
 * a command runs, the dispatch and the commands part of --help all come from
 * it. A device's commands are in cmd_<device>.c (docs/adding-a-device.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "vioport-drv.h"

/* The column where the help texts start in --help. */
#define HELP_COLUMN 40

/* One row per command; a device's commands name its kind, so `list` knows the kind too. */
const struct drv_cmd drv_cmds[] = {
    /* name, op, args (the usage line), help, min and max args, handler, kind, device side */
    {"list", NULL, NULL, "devices: number, kind, features, config", 0, 0, cmd_list, NULL, false},
    {"ping", NULL, NULL, "bus round trip", 0, 0, cmd_ping, NULL, false},
    {"blk", "read", "DEV read SECTOR COUNT [FILE]", "read COUNT sectors (hex dump, or into FILE)",
     4, 5, cmd_blk_read, &drv_kind_blk, false},
    {"blk", "write", "DEV write SECTOR FILE", "write FILE (padded to whole sectors)", 4, 4,
     cmd_blk_write, &drv_kind_blk, false},
    {"rng", NULL, "DEV BYTES", "hex dump of BYTES random bytes", 2, 2, cmd_rng, &drv_kind_rng,
     false},
    {"gpio", "names", "DEV names", "line names", 2, 2, cmd_gpio_names, &drv_kind_gpio, false},
    {"gpio", "get", "DEV get LINE", "line value (as an input)", 3, 3, cmd_gpio_get, &drv_kind_gpio,
     false},
    {"gpio", "set", "DEV set LINE 0|1", "drive the line as an output", 4, 4, cmd_gpio_set,
     &drv_kind_gpio, false},
    {"gpio", "wait", "DEV wait LINE rising|falling|both [TIMEOUT_MS]",
     "wait for an edge (default: --timeout)", 4, 5, cmd_gpio_wait, &drv_kind_gpio, false},
    {"i2c", "write", "DEV ADDR write HEXBYTES", "write bytes to 7-bit address ADDR", 4, 4,
     cmd_i2c_write, &drv_kind_i2c, false},
    {"i2c", "read", "DEV ADDR read N", "read N bytes", 4, 4, cmd_i2c_read, &drv_kind_i2c, false},
    {"i2c", "writeread", "DEV ADDR writeread HEXBYTES N", "write, repeated start, read N bytes", 5,
     5, cmd_i2c_writeread, &drv_kind_i2c, false},
    {"console", NULL, "DEV [--write TEXT] [--bytes N] [--wait MS]",
     "port 0: send TEXT (else stdin), print what\ncomes back until N bytes or MS after the\n"
     "input (default: --timeout)",
     1, 7, cmd_console, &drv_kind_console, false},
    {"input", NULL, "DEV [--count N] [--wait MS] [--led CODE=VALUE]",
     "config (name, IDs, codes, axes), then\nevents until N came or none for MS;\n"
     "--led sends an LED status first",
     1, 7, cmd_input, &drv_kind_input, false},
    {"vsock", "connect", "DEV connect PORT [--port LOCAL] [--write TEXT] [--bytes N] [--wait MS]",
     "stream to host port PORT: send TEXT\n(else stdin), print what comes back", 3, 11,
     cmd_vsock_connect, &drv_kind_vsock, false},
    {"vsock", "listen", "DEV listen PORT [--write TEXT] [--bytes N] [--wait MS]",
     "wait up to MS for the host to connect to\nguest port PORT, then as connect", 3, 9,
     cmd_vsock_listen, &drv_kind_vsock, false},
    {"exit", NULL, "STATUS", "ask a firmware device side to end its\nprogram with STATUS (0..255)",
     1, 1, cmd_exit, NULL, false},
    {"sim", NULL, NULL,
     "serve simulated devices (gpio, rng, blk,\ni2c) on the device side until killed", 0, 0,
     cmd_sim, NULL, true},
    {"bench", NULL, "[ROUNDS [WARMUP]]",
     "GPIO GET_VALUE round trips against a\nforked sim: p50/p99/mean in microseconds", 0, 2,
     cmd_bench, NULL, true},
    {NULL, NULL, NULL, NULL, 0, 0, NULL, NULL, false},
};

void drv_usage_text(const struct drv_cmd *table, FILE *f)
{
	fprintf(
	    f,
	    "usage: vioport-drv --shm PATH [--shm-size N] [--shm-offset N]\n"
	    "                   [--doorbell poll|eventfd:SOCKET] [--timeout MS] COMMAND ...\n"
	    "\n"
	    "Driver side of virtio-msg over the shared-memory window PATH: formats it, waits\n"
	    "for the device side to attach, runs COMMAND.\n"
	    "\n"
	    "options:\n"
	    "  --shm PATH          the window file (for example /dev/shm/vioport.win)\n"
	    "  --shm-size N        create PATH with N bytes when missing (default: use its size;\n"
	    "                      sim and bench create it with %u)\n"
	    "  --shm-offset N      the window starts N bytes into PATH (a multiple of the page\n"
	    "                      size), e.g. inside an emulator's RAM file; N + the window\n"
	    "                      size must fit in PATH (default 0)\n"
	    "  --doorbell SPEC     poll (default) or eventfd:SOCKET\n"
	    "  --timeout MS        wait for the device side and for each request (default %d)\n"
	    "  -h, --help          this text\n"
	    "\n"
	    "commands:\n",
	    DEFAULT_SIZE, DEFAULT_TIMEOUT);
	for (const struct drv_cmd *cmd = table; cmd->name != NULL; cmd++) {
		const char *help = cmd->help, *nl;
		int used;

		used = fprintf(f, "  %s%s%s", cmd->name, cmd->args != NULL ? " " : "",
			       cmd->args != NULL ? cmd->args : "");
		/* A usage line too long for the column puts its help on the next line. */
		if (used >= HELP_COLUMN)
			fprintf(f, "\n%*s", HELP_COLUMN, "");
		else
			fprintf(f, "%*s", HELP_COLUMN - used, "");
		while ((nl = strchr(help, '\n')) != NULL) {
			fprintf(f, "%.*s\n%*s", (int) (nl - help), help, HELP_COLUMN, "");
			help = nl + 1;
		}
		fprintf(f, "%s\n", help);
	}
	fprintf(f, "\nexit status: 0 success, 1 failure, 2 usage error\n");
}

/* Word i of a usage line (words are separated by spaces), or NULL past the last. */
static const char *word(const char *p, int i)
{
	p += strspn(p, " ");
	for (; i > 0 && *p != '\0'; i--) {
		p += strcspn(p, " ");
		p += strspn(p, " ");
	}
	return *p != '\0' ? p : NULL;
}

/* Where cmd's op word stands among its arguments (its place in args), or -1. */
static int op_index(const struct drv_cmd *cmd)
{
	size_t n = strlen(cmd->op);
	const char *w;

	for (int i = 0; cmd->args != NULL && (w = word(cmd->args, i)) != NULL; i++)
		if (strcspn(w, " ") == n && strncmp(w, cmd->op, n) == 0)
			return i;
	return -1;
}

/*
 * The usage error of a command with operations when argv names none of them:
 * "blk: unknown operation 'x'", or "blk: expected DEV read|write ..." when
 * the words stop before the operation.
 */
static int op_error(const struct drv_cmd *first, int argc, char **argv)
{
	int at = op_index(first);
	const char *op_at = at >= 0 ? word(first->args, at) : first->args;
	char msg[256];
	size_t len;

	if (at >= 0 && at < argc) {
		snprintf(msg, sizeof(msg), "%s: unknown operation '%s'", first->name, argv[at]);
		return usage_error("%s", msg);
	}
	len = (size_t) snprintf(msg, sizeof(msg), "%s: expected %.*s", first->name,
				(int) (op_at - first->args), first->args);
	for (const struct drv_cmd *cmd = first; cmd->name != NULL && len < sizeof(msg); cmd++)
		if (strcmp(cmd->name, first->name) == 0)
			len += (size_t) snprintf(msg + len, sizeof(msg) - len, "%s%s",
						 cmd == first ? "" : "|", cmd->op);
	if (len < sizeof(msg))
		snprintf(msg + len, sizeof(msg) - len, " ...");
	return usage_error("%s", msg);
}

int drv_dispatch(const struct drv_cmd *table, struct drv_ctx *c, int argc, char **argv)
{
	const struct drv_cmd *first = NULL, *row = NULL;
	const char *name = argv[0];
	char msg[256];

	argc--;
	argv++;
	for (const struct drv_cmd *cmd = table; cmd->name != NULL && row == NULL; cmd++) {
		int at;

		if (strcmp(cmd->name, name) != 0)
			continue;
		if (first == NULL)
			first = cmd;
		at = cmd->op != NULL ? op_index(cmd) : -1;
		if (cmd->op == NULL || (at >= 0 && at < argc && strcmp(argv[at], cmd->op) == 0))
			row = cmd;
	}
	if (first == NULL)
		return usage_error("unknown command '%s'", name);
	if (row == NULL)
		return op_error(first, argc, argv);
	if (row->device_side && c->o->offset != 0)
		return usage_error("--shm-offset is for the driver commands, not %s", name);
	if (argc < row->min_args || argc > row->max_args) {
		if (row->max_args == 0)
			return usage_error("%s takes no arguments", name);
		snprintf(msg, sizeof(msg), "%s: expected %s", name, row->args);
		return usage_error("%s", msg);
	}
	c->cmd = row;
	return row->run(c, argc, argv);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"shm", required_argument, NULL, 's'},
	    {"shm-size", required_argument, NULL, 'S'},
	    {"doorbell", required_argument, NULL, 'd'},
	    {"timeout", required_argument, NULL, 't'},
	    {"shm-offset", required_argument, NULL, 'O'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct options o = {.timeout_ms = DEFAULT_TIMEOUT};
	struct drv_ctx c = {.o = &o};
	struct vio_vmsg_bell probe;
	char err[256];
	uint64_t v;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "+h", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			o.shm = optarg;
			break;
		case 'S':
			if (!parse_u64(optarg, UINT32_MAX, &v) || v == 0)
				return usage_error("bad --shm-size '%s'", optarg);
			o.size = (uint32_t) v;
			break;
		case 'O':
			if (!parse_u64(optarg, UINT64_MAX / 2, &v))
				return usage_error("bad --shm-offset '%s'", optarg);
			o.offset = v;
			break;
		case 'd':
			o.doorbell = optarg;
			break;
		case 't':
			if (!parse_u64(optarg, 3600000u, &v) || v == 0)
				return usage_error("bad --timeout '%s' (1 .. 3600000 ms)", optarg);
			o.timeout_ms = (int) v;
			break;
		case 'h':
			drv_usage_text(drv_cmds, stdout);
			return 0;
		default:
			return usage_error("%s", "unknown option");
		}
	}
	if (o.shm == NULL)
		return usage_error("%s", "--shm PATH is required");
	if (optind >= argc)
		return usage_error("%s", "a command is required");
	if (vio_vmsg_bell_parse(&probe, o.doorbell, err, sizeof(err)) < 0)
		return usage_error("%s", err);
	rc = drv_dispatch(drv_cmds, &c, argc - optind, argv + optind);
	fflush(stdout);
	drv_session_close(&c);
	return rc;
}
