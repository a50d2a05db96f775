/* SPDX-License-Identifier: MIT */
/*
 * input.h - where messages come from: stdin, a file holding one message,
 * an mbox (mboxo or mboxrd), a Maildir (cur/ and new/), an MH folder or a
 * directory of message files.  An input yields messages one at a time.
 */
#ifndef SPAMSIFT_INPUT_H
#define SPAMSIFT_INPUT_H

#include <stddef.h>
#include <sys/types.h>

#define INPUT_MAX_BYTES (256L * 1024 * 1024)	/* one message, or a file
						 * holding one */
#define INPUT_WINDOW_BYTES (1024 * 1024)	/* first read of a file */
#define INPUT_SEP_SLACK (64 * 1024)	/* an mbox window holds this past
					 * a message: its From line and the
					 * next one's start */
#define INPUT_MAX_DIR_ENTRIES 1000000		/* messages in a folder */

enum input_kind { INPUT_FILE, INPUT_MBOX, INPUT_MAILDIR, INPUT_MH,
	INPUT_DIR };

struct input;

/* One message.  buf and name are borrowed: valid until the next
 * input_next or input_close. */
struct input_msg {
	const char *buf;	/* the message bytes (mboxrd ">From " lines
				 * unescaped; no separator "From " line) */
	size_t len;
	const char *name;	/* file name, or "-" for stdin */
	size_t number;		/* 1-based position within name */
	int in_mbox;		/* it came out of an mbox */
	int cut;		/* pipe mode: only the first len bytes, the
				 * rest still to be copied through */
};

/* How a file is read: INPUT_AUTO takes a file that starts with a "From "
 * line and holds more than one separator as an mbox; INPUT_MBOX_FORCE
 * (--mbox) takes any file starting with "From " as one; INPUT_SINGLE
 * always takes a file as one message, bytes untouched; INPUT_LONE always
 * as one message, read as INPUT_AUTO reads a lone one (standard input:
 * procmail's message with its From line, and a body line that starts
 * with "From " unquoted). */
enum input_mode { INPUT_AUTO = 0, INPUT_MBOX_FORCE, INPUT_SINGLE,
	INPUT_LONE };

/* Open path (NULL or "-" for stdin).  Errors: -1 with errno set; *why
 * (static text) says what failed. */
int input_open(struct input **out, const char *path, enum input_mode mode,
    const char **why);
/* The same with another limit than INPUT_MAX_BYTES on one message (an
 * mbox as a whole has none: it is streamed).  A message in an mbox that
 * is longer is an error (EFBIG from input_next); a file holding one
 * message is cut at the limit. */
int input_open_max(struct input **out, const char *path,
    enum input_mode mode, size_t max, const char **why);

/* The same with another limit than INPUT_MAX_DIR_ENTRIES on the messages
 * of a folder: a Maildir's cur/ then new/, or the entries of an MH folder
 * or directory, as the directory lists them; the rest are counted
 * (input_left_out), not read. */
int input_open_limits(struct input **out, const char *path,
    enum input_mode mode, size_t max, size_t max_entries, const char **why);
/* How many messages of a folder were past its limit, and that said in
 * buf (size bytes) for an error line: returns buf. */
size_t input_left_out(const struct input *in);
const char *input_left_out_text(const struct input *in, size_t limit,
    char *buf, size_t size);
/* The folder limit to use: SPAMSIFT_MAX_FOLDER when it is a number from
 * 1 up (digits only), else INPUT_MAX_DIR_ENTRIES, with *bad set to the
 * value not taken (NULL when none was set, or it was taken). */
size_t input_folder_limit(const char **bad);

/* The next message: 1 when m is filled, 0 at the end, -1 on a read error
 * (errno set). */
int input_next(struct input *in, struct input_msg *m);

enum input_kind input_kind(const struct input *in);
/* Nothing but blanks and line ends (an empty file, /dev/null), after
 * the From line a lone message may start with: no mail, which training
 * neither learns nor counts. */
int input_blank(const char *buf, size_t len);
/* How many of a lone message's len bytes are the message: one that
 * starts with a From line loses mbox's empty line at its end (as
 * input_next reads it, named or in a folder), so that bytes read as
 * they came (pipe mode) learn as the same message. */
size_t input_lone_len(const char *buf, size_t len);
/* Where input_next last read: a folder's entry, else the operand ("-"
 * for stdin).  Borrowed, valid until input_close. */
const char *input_where(const struct input *in);
void input_close(struct input *in);

/* read(2) that waits out EINTR, and EAGAIN on a non-blocking descriptor
 * (poll): -1 only on a real error, 0 at the end. */
ssize_t input_read(int fd, void *buf, size_t n);

/* Read all of fd into a buffer (at most INPUT_MAX_BYTES; *truncated is
 * set when that much was read, and then nothing past it was: the rest is
 * still to be read from fd).  *out is owned by the caller: free().
 * Returns 0 or -1 with errno; on -1 too, *out and *len are the bytes read
 * before the error (NULL and 0 when none), for the caller to free or to
 * pass on.  input_slurp_max: at most max bytes. */
int input_slurp(int fd, char **out, size_t *len, int *truncated);
int input_slurp_max(int fd, size_t max, char **out, size_t *len,
    int *truncated);
/* The same, telling fn (may be NULL) of the bytes held after each read
 * and each move of the buffer, for pipe mode's rescue (rescue.h): the
 * buffer fn was last told of stays valid until fn is told of another. */
typedef void (*input_progress_fn)(const char *buf, size_t len);
int input_slurp_progress(int fd, size_t max, char **out, size_t *len,
    int *truncated, input_progress_fn fn);

/* Split an mbox held in memory: the offset and length of message i are
 * found by calling with *pos at 0 and then at each returned end.  Returns
 * 1 and sets [*start, *end) for the next message (after its "From "
 * line), or 0 at the end. */
int input_mbox_next(const char *buf, size_t len, size_t *pos, size_t *start,
    size_t *end);

#endif
