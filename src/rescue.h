/* SPDX-License-Identifier: MIT */
/*
 * rescue.h - pipe mode's last resort.  GLib aborts the process when an
 * allocation fails (inside GMime), and a library may crash on some input:
 * no error comes back to write the message out unchanged; and a timeout
 * may end the process from outside.  While a message is owed to
 * standard output and nothing of it has gone out, such a signal writes
 * it as it came (the bytes held, then the rest of its
 * file descriptor) and ends the process with EX_TEMPFAIL, as pipe mode's
 * other failures do.  Once output has begun, the signal kills as it
 * would have; so does a second signal sent from outside while the first
 * one's handler waits on a stalled input.
 */
#ifndef SPAMSIFT_RESCUE_H
#define SPAMSIFT_RESCUE_H

#include <stddef.h>

/* Catch SIGABRT, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTERM,
 * SIGINT, SIGHUP, SIGALRM and SIGXCPU (on a stack of their own); once per
 * process.  0, or -1 with errno. */
int rescue_install(void);

/* The message now owed: len bytes at buf (borrowed: they must stay until
 * rescue_disarm), then whatever fd still gives (fd < 0: nothing). */
void rescue_arm(const char *buf, size_t len, int fd);

/* The bytes held so far while the message is read (an
 * input_progress_fn): buf holds at least the len bytes said before. */
void rescue_update(const char *buf, size_t len);

/* Nothing owed any more: call it before writing the message out. */
void rescue_disarm(void);

#endif
