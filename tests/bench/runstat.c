/* SPDX-License-Identifier: MIT */
/*
 * runstat.c - run one command and record what it cost, for tests/bench.sh.
 *
 * usage: runstat OUTFILE COMMAND [ARG...]
 *
 * Runs COMMAND with this process's stdin, stdout and stderr, waits for it
 * and writes one line to OUTFILE, like /usr/bin/time -f '%e %U %S %M %x':
 * wall seconds, user CPU seconds, system CPU seconds, peak RSS in KB and the
 * exit status (128 + N when killed by signal N).  CPU times include every
 * descendant the command waited for (xargs and its batches) and have
 * microsecond resolution: GNU time prints hundredths of a second, too coarse
 * for one classification that takes a few milliseconds.
 *
 * Exits with COMMAND's status; 125 on a usage or system error, 127 when
 * COMMAND could not be run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
tv_sec(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

static double
ts_sec(struct timespec ts)
{
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	struct timespec t0, t1;
	struct rusage ru;
	FILE *out = NULL;
	pid_t pid;
	int status = 0;
	int rc = 125;

	if (argc < 3) {
		fprintf(stderr, "usage: runstat OUTFILE COMMAND [ARG...]\n");
		goto out;
	}
	out = fopen(argv[1], "w");
	if (out == NULL) {
		fprintf(stderr, "runstat: %s: %s\n", argv[1], strerror(errno));
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "runstat: fork: %s\n", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "runstat: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "runstat: wait: %s\n", strerror(errno));
			goto out;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		rc = 128 + WTERMSIG(status);
	fprintf(out, "%.6f %.6f %.6f %ld %d\n", ts_sec(t1) - ts_sec(t0),
	    tv_sec(ru.ru_utime), tv_sec(ru.ru_stime), ru.ru_maxrss, rc);
	if (fflush(out) != 0) {
		fprintf(stderr, "runstat: %s: %s\n", argv[1], strerror(errno));
		rc = 125;
	}
out:
	if (out != NULL)
		fclose(out);
	return rc;
}
