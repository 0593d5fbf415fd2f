/*
 * jitter.c - how late this machine wakes a sleeping thread: the floor
 * under every latency figure of `make bench`.
 *
 * Usage: jitter [--seconds S] [--period-us P] [--json]
 *
 * Sleeps P µs (default 1000) again and again for S seconds (default 10)
 * and records, for each sleep, how much later than asked the thread ran
 * again.  On bare metal that is tens of µs; on a virtual machine whose
 * host preempts the vCPU it is milliseconds now and then, and a server
 * that waits in epoll_wait() for the next message is woken just as late.
 * bench.sh runs it on the server's CPU with nothing else running, so the
 * table can say how much of a p99 is the machine's.
 *
 * Prints one line (and with --json one JSON object): wake-ups, lateness
 * p50/p99/p99.9/max in ms and how many were over 1 ms and over 5 ms late.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../bot/util.h"

#define JIT_MAX_WAKEUPS 2000000

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* The p-th percentile (0..100) of n sorted values, in ms. */
static double
pct_ms(const int64_t *v, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return (double)v[i] / 1e6;
}

static int
usage(void)
{
	fprintf(stderr,
		"usage: jitter [--seconds S] [--period-us P] [--json]\n"
		"  S: 0.1..3600 (default 10); P: 50..1000000 (default 1000)\n");
	return 2;
}

int
main(int argc, char **argv)
{
	double seconds = 10;
	long period_us = 1000;
	int json = 0, i;
	size_t n = 0, cap, over1 = 0, over5 = 0;
	int64_t *late, end, now;
	double p50, p99, p999, max;
	struct timespec req;

	for (i = 1; i < argc; i++) {
		char *e = NULL;

		if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
			seconds = strtod(argv[++i], &e);
			if (*e || !(seconds >= 0.1 && seconds <= 3600))
				return usage();
		} else if (strcmp(argv[i], "--period-us") == 0 &&
			   i + 1 < argc) {
			period_us = strtol(argv[++i], &e, 10);
			if (*e || period_us < 50 || period_us > 1000000)
				return usage();
		} else if (strcmp(argv[i], "--json") == 0) {
			json = 1;
		} else {
			return usage();
		}
	}
	cap = (size_t)(seconds * 1e6 / (double)period_us) + 1;
	if (cap > JIT_MAX_WAKEUPS)
		cap = JIT_MAX_WAKEUPS;
	late = malloc(cap * sizeof(*late));
	if (!late) {
		fprintf(stderr, "jitter: out of memory\n");
		return 1;
	}
	req.tv_sec = period_us / 1000000;
	req.tv_nsec = (period_us % 1000000) * 1000;
	end = util_mono_ns() + (int64_t)(seconds * 1e9);
	for (now = util_mono_ns(); now < end && n < cap;) {
		int64_t t0 = now, d;

		if (nanosleep(&req, NULL) != 0 && errno != EINTR) {
			fprintf(stderr, "jitter: nanosleep: %s\n",
				strerror(errno));
			free(late);
			return 1;
		}
		now = util_mono_ns();
		d = now - t0 - (int64_t)period_us * 1000;
		late[n++] = d < 0 ? 0 : d;
		over1 += d > 1000000;
		over5 += d > 5000000;
	}
	qsort(late, n, sizeof(*late), cmp_i64);
	p50 = pct_ms(late, n, 50);
	p99 = pct_ms(late, n, 99);
	p999 = pct_ms(late, n, 99.9);
	max = n ? (double)late[n - 1] / 1e6 : 0.0;
	printf("jitter: %zu wake-ups after %ld us sleeps in %.1f s: late "
	       "p50 %.3f p99 %.3f p99.9 %.3f max %.3f ms; %zu over 1 ms, "
	       "%zu over 5 ms\n",
	       n, period_us, seconds, p50, p99, p999, max, over1, over5);
	if (json)
		printf("{\"wakeups\":%zu,\"period_us\":%ld,"
		       "\"late_p50_ms\":%.3f,\"late_p99_ms\":%.3f,"
		       "\"late_p999_ms\":%.3f,\"late_max_ms\":%.3f,"
		       "\"over_1ms\":%zu,\"over_5ms\":%zu}\n",
		       n, period_us, p50, p99, p999, max, over1, over5);
	free(late);
	return 0;
}
