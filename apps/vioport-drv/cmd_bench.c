/* SPDX-License-Identifier: BSD-3-Clause */
/* vioport-drv bench: GPIO GET_VALUE round trips against a `sim` it forks. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vioport-drv.h"
#include "vioport/sim_board.h"

#define BENCH_ROUNDS 20000u
#define BENCH_WARMUP 2000u

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

	return x < y ? -1 : x > y;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec;
}

static int bench_rounds(struct drv_ctx *c, uint64_t rounds, uint64_t warmup, const char *bell)
{
	struct session *s;
	uint64_t *ns = calloc(rounds, sizeof(*ns));
	double sum = 0;
	char dev[12];
	int r;

	if (ns == NULL)
		return fail("bench", -ENOMEM);
	snprintf(dev, sizeof(dev), "%u", VIO_SIM_BOARD_GPIO); /* the sim's chip */
	if ((r = device_up(c, dev, &drv_kind_gpio, 0)) != 0) {
		free(ns);
		return r;
	}
	s = c->s;
	for (uint64_t i = 0; i < warmup; i++)
		if ((r = vio_vmsg_drv_gpio_get(&s->dev, 2)) < 0)
			goto out;
	for (uint64_t i = 0; i < rounds; i++) {
		uint64_t t0 = now_ns();

		r = vio_vmsg_drv_gpio_get(&s->dev, 2);
		ns[i] = now_ns() - t0;
		if (r < 0)
			goto out;
		sum += (double) ns[i];
	}
	qsort(ns, rounds, sizeof(*ns), cmp_u64);
	printf("doorbell %s rounds %llu p50_us %.2f p99_us %.2f mean_us %.2f min_us %.2f "
	       "max_us %.2f\n",
	       bell, (unsigned long long) rounds, (double) ns[rounds / 2] / 1000.0,
	       (double) ns[rounds * 99 / 100] / 1000.0, sum / (double) rounds / 1000.0,
	       (double) ns[0] / 1000.0, (double) ns[rounds - 1] / 1000.0);
	r = 0;
out:
	free(ns);
	return r < 0 ? fail("GPIO GET_VALUE", r) : 0;
}

/* bench [ROUNDS [WARMUP]] */
int cmd_bench(struct drv_ctx *c, int argc, char **argv)
{
	uint64_t rounds = BENCH_ROUNDS, warmup = BENCH_WARMUP;
	const struct options *o = c->o;
	int ready[2], quit[2], status, rc;
	char byte;
	pid_t pid;

	if ((argc >= 1 && (!parse_u64(argv[0], 100000000u, &rounds) || rounds == 0)) ||
	    (argc == 2 && !parse_u64(argv[1], 100000000u, &warmup)))
		return usage_error("%s", "bench: expected [ROUNDS [WARMUP]]");
	if (pipe(ready) < 0 || pipe(quit) < 0)
		return fail("pipe", -errno);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return fail("fork", -errno);
	if (pid == 0) {
		/* The device side: a separate process over the same window file. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		close(ready[0]);
		close(quit[1]);
		_exit(run_sim(o, ready[1], quit[0], true));
	}
	close(ready[1]);
	close(quit[0]);
	rc = 1;
	if (read(ready[0], &byte, 1) != 1) {
		fprintf(stderr, "vioport-drv: the device side did not start\n");
		goto out;
	}
	/* The session opens with the device up (device_up), as the driver commands' do. */
	rc = bench_rounds(c, rounds, warmup, o->doorbell != NULL ? o->doorbell : "poll");
	drv_session_close(c);
out:
	close(quit[1]);
	close(ready[0]);
	if (waitpid(pid, &status, 0) == pid && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		fprintf(stderr, "vioport-drv: the device side failed\n");
		rc = 1;
	}
	return rc;
}
