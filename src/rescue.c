/* SPDX-License-Identifier: MIT */
/*
 * rescue.c - write the owed message out from a fatal signal's handler
 * (the contract is rescue.h).  The handler uses only read(2), write(2),
 * poll(2) and _exit(2), which are async-signal-safe, and a buffer of its
 * own.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "src/rescue.h"

#define RESCUE_STACK_BYTES (64 * 1024)	/* the handler's own stack */
#define RESCUE_COPY_BYTES (64 * 1024)	/* its reads of the rest */
#define RESCUE_EXIT 75			/* EX_TEMPFAIL */

/* The crashes, and the signals that end a process from outside: a
 * timeout (procmail's TIMEOUT sends SIGTERM), a CPU limit, a hang-up.
 * SIGXFSZ is ignored instead (main): a write past a file-size limit
 * fails with EFBIG, which the store reports. */
static const int fatal[] = { SIGABRT, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE,
	SIGILL, SIGTERM, SIGINT, SIGHUP, SIGALRM, SIGXCPU };
#define FIRST_OUTSIDE 6		/* fatal[6..]: sent from outside */

static volatile sig_atomic_t armed;
static const char *volatile owed_buf;
static volatile size_t owed_len;
static volatile int owed_fd = -1;
static char alt_stack[RESCUE_STACK_BYTES];
static char copy_buf[RESCUE_COPY_BYTES];

/* Wait until fd can be read (POLLIN) or written (POLLOUT): a
 * non-blocking descriptor's EAGAIN.  0, or -1 on an error. */
static int
wait_fd(int fd, short what)
{
	struct pollfd pf;

	pf.fd = fd;
	pf.events = what;
	pf.revents = 0;
	return poll(&pf, 1, -1) < 0 && errno != EINTR ? -1 : 0;
}

static int
again(void)
{
	return errno == EAGAIN || errno == EWOULDBLOCK;
}

/* write(2) all of it; -1 on an error. */
static int
put(int fd, const char *p, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && again() && wait_fd(fd, POLLOUT) == 0)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void
on_fatal(int sig)
{
	static const char say[] = "spamsift: killed by a signal: the message "
	    "goes through unchanged\n";
	ssize_t r;

	if (!armed) {
		/* SA_RESETHAND restored the default: die of it. */
		raise(sig);
		return;
	}
	armed = 0;
	(void)put(2, say, sizeof(say) - 1);
	if (owed_len > 0 && put(1, owed_buf, owed_len) != 0)
		_exit(RESCUE_EXIT);
	/* Bounded by the input: each read takes at least one byte. */
	while (owed_fd >= 0) {
		r = read(owed_fd, copy_buf, sizeof(copy_buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && again() && wait_fd(owed_fd, POLLIN) == 0)
			continue;
		if (r <= 0 || put(1, copy_buf, (size_t)r) != 0)
			break;
	}
	_exit(RESCUE_EXIT);
}

int
rescue_install(void)
{
	struct sigaction sa;
	stack_t ss;
	size_t i;

	memset(&ss, 0, sizeof(ss));
	ss.ss_sp = alt_stack;
	ss.ss_size = sizeof(alt_stack);
	/* Without its own stack the handler still runs, only not on a
	 * stack overflow. */
	(void)sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fatal;
	sa.sa_flags = SA_ONSTACK | SA_RESETHAND | SA_NODEFER;
	/* All blocked but the ones that end a process from outside, the
	 * one handled too (SA_NODEFER; SA_RESETHAND made it the default):
	 * the handler may wait on a stalled input, and a second SIGTERM
	 * (or a ^C) must still end it (found by review). */
	sigfillset(&sa.sa_mask);
	for (i = FIRST_OUTSIDE; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		sigdelset(&sa.sa_mask, fatal[i]);
	for (i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		if (sigaction(fatal[i], &sa, NULL) != 0)
			return -1;
	return 0;
}

void
rescue_arm(const char *buf, size_t len, int fd)
{
	armed = 0;
	owed_buf = buf;
	owed_len = len;
	owed_fd = fd;
	armed = 1;
}

void
rescue_update(const char *buf, size_t len)
{
	/* The buffer first: a handler between the two stores reads the
	 * new buffer for the old length, which it holds too. */
	owed_buf = buf;
	owed_len = len;
}

void
rescue_disarm(void)
{
	armed = 0;
}
