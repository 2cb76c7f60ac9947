/* SPDX-License-Identifier: BSD-3-Clause */
/* Device cases: the runner every transport shares (see devcase.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h> /* after the headers it needs */

#include "devcase.h"
#include "disk_pattern.h"

/* The largest writable data one request step may ask for. */
#define DC_IN_MAX 8192u
/* Cases of all sets together, at most. */
#define DC_MAX_CASES 64u

const struct dc_set *const dc_sets[DC_NKINDS] = {
    [DC_RNG] = &dc_rng_set, [DC_GPIO] = &dc_gpio_set,	    [DC_I2C] = &dc_i2c_set,
    [DC_BLK] = &dc_blk_set, [DC_CONSOLE] = &dc_console_set,
};

uint16_t dc_kind_queues(enum dc_kind kind)
{
	/* gpio: requestq and eventq; console: port 0's receiveq and transmitq */
	return kind == DC_GPIO || kind == DC_CONSOLE ? 2 : 1;
}

uint8_t dc_blk_pattern(uint64_t offset)
{
	return disk_pattern(offset);
}

int64_t dc_request(const struct dc_transport *t, uint16_t q, const struct dc_seg *out,
		   unsigned nout, const struct dc_seg *in, unsigned nin)
{
	int64_t used;
	int rc;

	for (unsigned i = 0; i < nin; i++)
		memset(in[i].buf, 0, in[i].len);
	rc = t->submit(t->ctx, q, out, nout, in, nin);
	if (rc < 0)
		fail_msg("%s: submit on queue %u: %d", t->name, (unsigned) q, rc);
	rc = t->notify(t->ctx, q);
	if (rc < 0)
		fail_msg("%s: notify of queue %u: %d", t->name, (unsigned) q, rc);
	used = t->complete(t->ctx, q);
	if (used < 0)
		fail_msg("%s: no used entry on queue %u: %lld", t->name, (unsigned) q,
			 (long long) used);
	return used;
}

/* Prints bytes as hex into a failure message. */
static void hex(char *buf, size_t cap, const uint8_t *p, uint32_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	for (uint32_t i = 0; i < len && at + 4 < cap; i++)
		at += (size_t) snprintf(buf + at, cap - at, "%02x ", p[i]);
}

static void run_request(const struct dc_transport *t, const struct dc_case *c,
			const struct dc_step *s)
{
	static uint8_t data[DC_IN_MAX];
	struct dc_seg out[DC_MAX_SEGS], in[DC_MAX_SEGS];
	uint32_t total = 0;
	int64_t used;

	assert_true(s->nout <= DC_MAX_SEGS && s->nin <= DC_MAX_SEGS);
	for (unsigned i = 0; i < s->nout; i++) {
		out[i].buf = (void *) (uintptr_t) s->out[i].p; /* the transports only read it */
		out[i].len = s->out[i].len;
	}
	for (unsigned i = 0; i < s->nin; i++) {
		assert_true(s->in[i] <= DC_IN_MAX - total);
		in[i].buf = data + total;
		in[i].len = s->in[i];
		total += s->in[i];
	}
	used = dc_request(t, s->queue, out, s->nout, in, s->nin);
	if (s->used != DC_USED_ANY && used != s->used)
		fail_msg("%s/%s/%s: used length %lld, want %lld", t->name, c->name, s->what,
			 (long long) used, (long long) s->used);
	if (s->expect.len != 0) {
		int64_t at = s->expect_at < 0 ? (int64_t) total + s->expect_at : s->expect_at;
		char got[100], want[100];

		assert_true(at >= 0 && (uint64_t) at + s->expect.len <= total);
		if (memcmp(data + at, s->expect.p, s->expect.len) != 0) {
			hex(got, sizeof(got), data + at, s->expect.len);
			hex(want, sizeof(want), s->expect.p, s->expect.len);
			fail_msg("%s/%s/%s: bytes at %lld are %s, want %s", t->name, c->name,
				 s->what, (long long) at, got, want);
		}
	}
}

void dc_run_case(const struct dc_transport *t, const struct dc_case *c)
{
	int rc = t->open(t->ctx, c->kind, c->features);

	if (rc < 0)
		fail_msg("%s/%s: device bring-up: %d", t->name, c->name, rc);
	for (unsigned i = 0; i < c->nsteps; i++) {
		const struct dc_step *s = &c->steps[i];

		if (s->fn != NULL)
			s->fn(t, s);
		else
			run_request(t, c, s);
	}
	t->close(t->ctx);
}

/* What a cmocka test of dc_run_sets needs: the transport, its skip reason and the case. */
static struct {
	const struct dc_transport *t;
	const char *const *skip;
} run;

static void run_one(void **state)
{
	const struct dc_case *c = *state;

	if (run.skip != NULL && *run.skip != NULL) {
		print_message("# %s\n", *run.skip);
		skip();
	}
	dc_run_case(run.t, c);
}

int dc_run_sets(const struct dc_transport *t, const char *group, int (*group_setup)(void **),
		int (*group_teardown)(void **), int (*case_teardown)(void **),
		const char *const *skip)
{
	static struct CMUnitTest tests[DC_MAX_CASES];
	size_t n = 0;

	run.t = t;
	run.skip = skip;
	for (unsigned k = 0; k < DC_NKINDS; k++) {
		const struct dc_set *set = dc_sets[k];

		for (unsigned i = 0; i < set->ncases; i++) {
			assert_true(n < DC_MAX_CASES);
			memset(&tests[n], 0, sizeof(tests[n]));
			tests[n].name = set->cases[i].name;
			tests[n].test_func = run_one;
			tests[n].teardown_func = case_teardown;
			tests[n].initial_state = (void *) (uintptr_t) &set->cases[i];
			n++;
		}
	}
	return _cmocka_run_group_tests(group, tests, n, group_setup, group_teardown);
}
