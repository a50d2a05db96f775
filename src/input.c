/* SPDX-License-Identifier: MIT */
/*
 * input.c - message sources.
 *
 * A file holding one message is read whole (bounded by INPUT_MAX_BYTES).
 * An mbox is streamed through a window that holds at least the current
 * message (each message bounded by the limit, the file not at all), split
 * at "From " lines with a time and a year that follow a blank line (or
 * start the file), and
 * mboxrd quoting (">From ", ">>From " ...) loses one '>' per line.
 * Folders are listed, sorted (MH numerically) and read one file at a time.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/input.h"

#define FROM_LINE_MAX	1024		/* bytes of a From line examined */
#define SCAN_BYTES	(64 * 1024)	/* sep_follows' reads */
#define SCAN_CARRY	(FROM_LINE_MAX + 8) /* bytes kept across them: a
					 * From line read again whole */

struct input {
	enum input_kind kind;
	char *path;		/* owned; "-" for stdin */
	char *buf;		/* owned: the current file, or the mbox
				 * window: bytes [0, len) of cap */
	size_t len, cap;
	size_t pos;		/* mbox: where the next message starts */
	size_t max;		/* most bytes of one message (the limit) */
	int fd;			/* mbox being streamed, or -1 */
	int own_fd;		/* fd was opened here (not stdin) */
	int eof;		/* fd has no more bytes */
	size_t number;
	char *unq;		/* owned: mboxrd-unquoted copy */
	size_t unqcap;
	char **names;		/* owned: folder entries, full paths */
	size_t nnames, namecap, next;
	size_t max_entries;	/* most folder entries listed */
	size_t left_out;	/* messages past max_entries */
	int left_named;		/* one of them not named by a number */
	int done;
	int single;		/* INPUT_SINGLE: bytes untouched */
};

ssize_t
input_read(int fd, void *buf, size_t n)
{
	struct pollfd pf;
	ssize_t r;

	/* Bounded: each pass reads, or waits for the descriptor to have
	 * something (a non-blocking one gave EAGAIN, and the message was
	 * cut there; found by review). */
	for (;;) {
		r = read(fd, buf, n);
		if (r >= 0 || (errno != EINTR && errno != EAGAIN &&
		    errno != EWOULDBLOCK))
			return r;
		if (errno == EINTR)
			continue;
		pf.fd = fd;
		pf.events = POLLIN;
		pf.revents = 0;
		if (poll(&pf, 1, -1) < 0 && errno != EINTR)
			return -1;
	}
}

int
input_slurp_max(int fd, size_t max, char **out, size_t *len, int *truncated)
{
	return input_slurp_progress(fd, max, out, len, truncated, NULL);
}

/* Grow buf (n bytes held) to nc bytes.  With a progress function the
 * bytes are copied to a new buffer, which fn is told of before the old
 * one is freed: a signal handler reading what fn said never reads freed
 * memory (realloc moves and frees in one step).  NULL on failure, buf
 * then as it was. */
static char *
slurp_grow(char *buf, size_t n, size_t nc, input_progress_fn fn)
{
	char *nb;

	if (fn == NULL)
		return realloc(buf, nc);
	nb = malloc(nc);
	if (nb == NULL)
		return NULL;
	memcpy(nb, buf, n);
	fn(nb, n);
	free(buf);
	return nb;
}

int
input_slurp_progress(int fd, size_t max, char **out, size_t *len,
    int *truncated, input_progress_fn fn)
{
	char *buf = NULL, *nb;
	size_t cap = 0, n = 0;
	ssize_t r;
	struct stat st;

	*out = NULL;
	*len = 0;
	*truncated = 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
		cap = (size_t)st.st_size < max ? (size_t)st.st_size + 1 : max;
	if (cap < 65536)
		cap = 65536;
	if (cap > max && max > 0)
		cap = max;
	buf = malloc(cap);
	if (buf == NULL)
		return -1;
	for (;;) {
		if (n == cap) {
			if (cap >= max) {
				/* Never read past max: what follows stays
				 * in fd for the caller (pipe mode copies it
				 * through). */
				*truncated = 1;
				break;
			}
			nb = slurp_grow(buf, n, cap * 2 < max ? cap * 2 : max,
			    fn);
			if (nb == NULL) {
				errno = ENOMEM;
				goto fail;
			}
			buf = nb;
			cap = cap * 2 < max ? cap * 2 : max;
		}
		r = input_read(fd, buf + n, cap - n);
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		n += (size_t)r;
		if (fn != NULL)
			fn(buf, n);
	}
	*out = buf;
	*len = n;
	return 0;
fail:
	/* The bytes read so far are the caller's: pipe mode still owes
	 * them to its output. */
	if (n == 0) {
		free(buf);
		buf = NULL;
	}
	*out = buf;
	*len = n;
	return -1;
}

int
input_slurp(int fd, char **out, size_t *len, int *truncated)
{
	return input_slurp_max(fd, (size_t)INPUT_MAX_BYTES, out, len,
	    truncated);
}

/* Does the "From " line at buf[i] carry a time and a year, as every mbox
 * writer's does ("From sender Thu Jan  1 00:00:00 2026", RFC 4155)?  A
 * body paragraph starting "From the desk of ..." that no one quoted does
 * not: read as a separator it cut a message in two.  Only the first
 * FROM_LINE_MAX bytes of the line are looked at. */
static int
from_dated(const char *buf, size_t len, size_t i)
{
	const unsigned char *s = (const unsigned char *)buf;
	size_t e = len - i > FROM_LINE_MAX ? i + FROM_LINE_MAX : len, k, d;
	int time = 0, year = 0;

	for (k = i + 5; k < e && s[k] != '\n'; k++) {
		if (!isdigit(s[k]))
			continue;
		for (d = k; d < e && isdigit(s[d]); d++)
			;
		if (d - k <= 2 && d + 2 < e && s[d] == ':' &&
		    isdigit(s[d + 1]) && isdigit(s[d + 2]))
			time = 1;
		else if (d - k == 4 && (s[k] == '1' || s[k] == '2'))
			year = 1;
		k = d - 1;
	}
	return time && year;
}

static int
is_sep(const char *buf, size_t len, size_t i)
{
	if (len - i < 5 || memcmp(buf + i, "From ", 5) != 0)
		return 0;
	if (i == 0)
		return 1;	/* the first line is the file's envelope */
	return buf[i - 1] == '\n' && (i == 1 || buf[i - 2] == '\n' ||
	    (i >= 3 && buf[i - 2] == '\r' && buf[i - 3] == '\n')) &&
	    from_dated(buf, len, i);
}

/* Do the n bytes at s end with an empty line ("\n\n" or "\n\r\n")?  The
 * line end before it may be the separator line's. */
static int
ends_blank(const char *s, size_t n)
{
	return (n >= 2 && s[n - 1] == '\n' && s[n - 2] == '\n') ||
	    (n >= 3 && s[n - 1] == '\n' && s[n - 2] == '\r' &&
	    s[n - 3] == '\n');
}

/* Bytes [start, end) less their final line end (LF or CRLF), if any:
 * the end of a message whose last line is mbox's empty one. */
static size_t
drop_line_end(const char *buf, size_t start, size_t end)
{
	if (end > start && buf[end - 1] == '\n') {
		end--;
		if (end > start && buf[end - 1] == '\r')
			end--;
	}
	return end;
}

int
input_mbox_next(const char *buf, size_t len, size_t *pos, size_t *start,
    size_t *end)
{
	size_t i = *pos;
	const char *nl;

	if (i >= len)
		return 0;
	/* Skip to the first separator (leading junk is no message). */
	if (i == 0) {
		while (i < len && !is_sep(buf, len, i)) {
			nl = memchr(buf + i, '\n', len - i);
			i = nl == NULL ? len : (size_t)(nl - buf) + 1;
		}
		if (i >= len)
			return 0;
	}
	nl = memchr(buf + i, '\n', len - i);
	*start = nl == NULL ? len : (size_t)(nl - buf) + 1;
	i = *start;
	while (i < len) {
		if (is_sep(buf, len, i))
			break;
		nl = memchr(buf + i, '\n', len - i);
		i = nl == NULL ? len : (size_t)(nl - buf) + 1;
	}
	*end = i;
	*pos = i;
	/* The blank line before the next separator belongs to mbox, and so
	 * does the one a writer puts after the last message. */
	if (i < len || ends_blank(buf, *end))
		*end = drop_line_end(buf, *start, *end);
	return 1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmp_mh(const void *a, const void *b)
{
	const char *x = strrchr(*(char *const *)a, '/') + 1;
	const char *y = strrchr(*(char *const *)b, '/') + 1;
	unsigned long nx = strtoul(x, NULL, 10), ny = strtoul(y, NULL, 10);

	return (nx > ny) - (nx < ny);
}

/* Whether a file name is a number: MH's message names. */
static int
numeric_name(const char *s)
{
	size_t k;

	for (k = 0; s[k] >= '0' && s[k] <= '9'; k++)
		;
	return k > 0 && s[k] == '\0';
}

/* Add the regular files of dir (not dot files; MH: numeric names only). */
static int
list_dir(struct input *in, const char *dir, int mh)
{
	DIR *d;
	struct dirent *de;
	char *p, **nn;
	struct stat st;
	int rc = 0;

	d = opendir(dir);
	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		/* Dot files, and MH's deleted messages (",12"). */
		if (de->d_name[0] == '.' || de->d_name[0] == ',')
			continue;
		if (mh && !numeric_name(de->d_name))
			continue;
		if (asprintf(&p, "%s/%s", dir, de->d_name) < 0) {
			rc = -1;
			break;
		}
		/* The directory says what most entries are; a link, or a
		 * file system that does not say, is asked.  One that cannot
		 * be asked (a link to nothing) is kept, for its reading to
		 * say why. */
		if (de->d_type != DT_REG && ((de->d_type != DT_LNK &&
		    de->d_type != DT_UNKNOWN) || (stat(p, &st) == 0 &&
		    !S_ISREG(st.st_mode)))) {
			free(p);
			continue;
		}
		/* Past the limit only counted, for the caller to say (and
		 * looked at: one not a number keeps a directory from being
		 * taken for an MH folder). */
		if (in->nnames >= in->max_entries) {
			in->left_named |= !numeric_name(de->d_name);
			free(p);
			in->left_out++;
			continue;
		}
		if (in->nnames == in->namecap) {
			size_t nc = in->namecap ? in->namecap * 2 : 64;

			nn = realloc(in->names, sizeof(*nn) * nc);
			if (nn == NULL) {
				free(p);
				rc = -1;
				break;
			}
			in->names = nn;
			in->namecap = nc;
		}
		in->names[in->nnames++] = p;
	}
	closedir(d);
	return rc;
}

static int
is_dir(const char *dir, const char *sub)
{
	char p[4096];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", dir, sub);
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
load_file(struct input *in, const char *path)
{
	int fd, trunc, rc;

	free(in->buf);
	in->buf = NULL;
	in->len = 0;
	if (path == NULL || strcmp(path, "-") == 0)
		fd = 0;
	else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
	}
	rc = input_slurp_max(fd, in->max, &in->buf, &in->len, &trunc);
	if (fd != 0)
		close(fd);
	return rc;
}

/* Make the window nc bytes (its bytes so far kept); -1 with errno
 * ENOMEM when that fails, the window then as it was. */
static int
window_resize(struct input *in, size_t nc)
{
	char *nb = realloc(in->buf, nc);

	if (nb == NULL) {
		errno = ENOMEM;
		return -1;
	}
	in->buf = nb;
	in->cap = nc;
	return 0;
}

/* The most bytes the window holds: a message of the limit, and past it
 * its From line, the empty line and the next separator's start (so that
 * an mbox's message of the limit is read whole), or one byte (so that a
 * file of exactly the limit still reads to its end). */
static size_t
window_max(const struct input *in)
{
	return in->max + 1 + INPUT_SEP_SLACK;
}

/* Read more of in->fd into the window, until it is full or the file ends
 * (a pipe gives 64 KiB a read: one read per call would have the callers
 * rescan a big message once per read): 1 when bytes came, 0 at the end of
 * the file, -1 on an error; EFBIG when the window is already at
 * window_max (one message, or junk before the first, is too big). */
static int
fill(struct input *in)
{
	ssize_t r;
	size_t nc;
	int got = 0;

	if (in->eof)
		return 0;
	if (in->len == in->cap) {
		if (in->cap >= window_max(in)) {
			errno = EFBIG;
			return -1;
		}
		nc = in->cap == 0 ? INPUT_WINDOW_BYTES : in->cap * 2;
		if (nc > window_max(in))
			nc = window_max(in);
		if (window_resize(in, nc) != 0)
			return -1;
	}
	/* Bounded by the window: each read adds at least one byte. */
	while (in->len < in->cap) {
		r = input_read(in->fd, in->buf + in->len,
		    in->cap - in->len);
		if (r < 0)
			return -1;
		if (r == 0) {
			in->eof = 1;
			break;
		}
		in->len += (size_t)r;
		got = 1;
	}
	return got;
}

/* Drop the window's bytes before pos: pos is where a separator line
 * starts (or 0), and at 0 input_mbox_next takes one without looking
 * back. */
static void
compact(struct input *in)
{
	if (in->pos == 0)
		return;
	memmove(in->buf, in->buf + in->pos, in->len - in->pos);
	in->len -= in->pos;
	in->pos = 0;
}

/* After a first message over the limit: whether a separator follows in
 * the rest of in->fd (read, not kept; the window stays as it is).  1, 0
 * at the end of the file, -1 on a read error.  Bounded by the file: each
 * read takes at least one byte. */
static int
sep_follows(struct input *in)
{
	char b[SCAN_CARRY + SCAN_BYTES];
	size_t carry, n, i;
	const char *f;
	ssize_t r;

	/* The window's last bytes: a separator's line ends may be there. */
	carry = in->len < SCAN_CARRY ? in->len : SCAN_CARRY;
	memcpy(b, in->buf + in->len - carry, carry);
	for (;;) {
		r = input_read(in->fd, b + carry, SCAN_BYTES);
		if (r <= 0)
			return r < 0 ? -1 : 0;
		n = carry + (size_t)r;
		/* is_sep takes a place under 3 for the file's start. */
		for (i = 3; i < n && (f = memmem(b + i, n - i, "From ", 5)) !=
		    NULL; i = (size_t)(f - b) + 1)
			if (is_sep(b, n, (size_t)(f - b)))
				return 1;
		carry = n < SCAN_CARRY ? n : SCAN_CARRY;
		memmove(b, b + n - carry, carry);
	}
}

/* Open a file (or stdin) that is not a folder.  In INPUT_SINGLE mode, or
 * when it does not start like an mbox, it is one message, read whole.
 * Otherwise as much is read as it takes to see a second separator (an
 * mbox) or the end (one message, unless --mbox). */
static int
open_file(struct input *in, enum input_mode mode)
{
	struct stat st;
	size_t pos, s, e;
	int k;

	/* A file was opened by input_open_limits. */
	if (strcmp(in->path, "-") == 0)
		in->fd = 0;
	if (mode == INPUT_SINGLE || mode == INPUT_LONE)
		goto whole;
	while (in->len < 5 && (k = fill(in)) != 0)
		if (k < 0)
			return -1;
	if (in->len < 5 || memcmp(in->buf, "From ", 5) != 0)
		goto whole;
	for (;;) {
		pos = 0;
		if (input_mbox_next(in->buf, in->len, &pos, &s, &e) == 1 &&
		    pos < in->len) {
			in->kind = INPUT_MBOX;
			return 0;
		}
		if (in->eof)
			break;
		if (fill(in) < 0) {
			if (errno != EFBIG)
				return -1;
			/* A first message over the limit: with more after it,
			 * an mbox whose reading stops there with an error;
			 * alone, one message, cut at the limit. */
			k = sep_follows(in);
			if (k < 0)
				return -1;
			if (k == 1) {
				in->kind = INPUT_MBOX;
				return 0;
			}
			break;
		}
	}
	if (mode == INPUT_MBOX_FORCE) {
		in->kind = INPUT_MBOX;
		return 0;
	}
whole:
	/* One message: the bytes read so far and the rest, up to the
	 * limit (past it, the message is cut there).  A regular file's
	 * size is known: one buffer of that size. */
	if (fstat(in->fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (size_t)st.st_size >= in->cap && in->cap <= in->max &&
	    window_resize(in, (size_t)st.st_size < in->max ?
	    (size_t)st.st_size + 1 : in->max + 1) != 0)
		return -1;
	while (in->len < in->max) {
		k = fill(in);
		if (k == 0)
			break;
		if (k < 0)
			return -1;
	}
	if (in->len > in->max)
		in->len = in->max;
	in->single = mode == INPUT_SINGLE;
	in->kind = INPUT_FILE;
	if (in->own_fd)
		close(in->fd);
	in->fd = -1;
	in->own_fd = 0;
	return 0;
}

int
input_open(struct input **out, const char *path, enum input_mode mode,
    const char **why)
{
	return input_open_max(out, path, mode, (size_t)INPUT_MAX_BYTES, why);
}

int
input_open_max(struct input **out, const char *path, enum input_mode mode,
    size_t max, const char **why)
{
	return input_open_limits(out, path, mode, max, INPUT_MAX_DIR_ENTRIES,
	    why);
}

size_t
input_left_out(const struct input *in)
{
	return in->left_out;
}

const char *
input_left_out_text(const struct input *in, size_t limit, char *buf,
    size_t size)
{
	snprintf(buf, size, "%zu message%s past the first %zu not read "
	    "(SPAMSIFT_MAX_FOLDER)", in->left_out, in->left_out == 1 ? "" :
	    "s", limit);
	return buf;
}

size_t
input_folder_limit(const char **bad)
{
	const char *v = getenv("SPAMSIFT_MAX_FOLDER");
	unsigned long long n;
	char *end;

	*bad = NULL;
	if (v == NULL || v[0] == '\0')
		return INPUT_MAX_DIR_ENTRIES;
	errno = 0;
	n = strtoull(v, &end, 10);
	/* Digits only: strtoull would take blanks, a sign, a wrap. */
	if (!isdigit((unsigned char)v[0]) || errno != 0 || *end != '\0' ||
	    n == 0 || n > SIZE_MAX / sizeof(char *)) {
		*bad = v;
		return INPUT_MAX_DIR_ENTRIES;
	}
	return (size_t)n;
}

int
input_open_limits(struct input **out, const char *path,
    enum input_mode mode, size_t max, size_t max_entries, const char **why)
{
	struct input *in = NULL;
	struct stat st;
	char sub[4096];
	int e, oe = 0, dir = 0;

	*out = NULL;
	*why = "cannot read";
	in = calloc(1, sizeof(*in));
	if (in == NULL)
		return -1;
	in->fd = -1;
	in->max = max;
	in->max_entries = max_entries;
	in->path = strdup(path == NULL ? "-" : path);
	if (in->path == NULL)
		goto fail;
	/* A file is opened once and asked what it is: one path lookup, not
	 * a stat and an open (a bulk run gives thousands of files).  One
	 * that cannot be opened may still be a folder (with no read
	 * permission: listing it says so). */
	if (strcmp(in->path, "-") != 0) {
		in->fd = open(in->path, O_RDONLY | O_CLOEXEC);
		oe = errno;
		if (in->fd >= 0)
			in->own_fd = 1;
		dir = (in->fd >= 0 ? fstat(in->fd, &st) :
		    stat(in->path, &st)) == 0 && S_ISDIR(st.st_mode);
		if (dir && in->own_fd) {
			close(in->fd);
			in->fd = -1;
			in->own_fd = 0;
		}
		if (!dir && in->fd < 0) {
			errno = oe;	/* the open's reason, not the stat's */
			goto fail;
		}
	}
	if (dir) {
		size_t pl = strlen(in->path);

		/* "box/" names its messages "box/cur/1", not "box//cur/1". */
		while (pl > 1 && in->path[pl - 1] == '/')
			in->path[--pl] = '\0';
		*why = "cannot list folder";
		if (is_dir(in->path, "cur") || is_dir(in->path, "new")) {
			in->kind = INPUT_MAILDIR;
			snprintf(sub, sizeof(sub), "%s/cur", in->path);
			if (is_dir(in->path, "cur") && list_dir(in, sub, 0) != 0)
				goto fail;
			snprintf(sub, sizeof(sub), "%s/new", in->path);
			if (is_dir(in->path, "new") && list_dir(in, sub, 0) != 0)
				goto fail;
			/* An empty list is NULL: no qsort (undefined). */
			if (in->nnames > 0)
				qsort(in->names, in->nnames, sizeof(char *),
				    cmp_str);
		} else {
			snprintf(sub, sizeof(sub), "%s/.mh_sequences",
			    in->path);
			in->kind = access(sub, F_OK) == 0 ? INPUT_MH :
			    INPUT_DIR;
			if (list_dir(in, in->path, in->kind == INPUT_MH) != 0)
				goto fail;
			if (in->kind == INPUT_DIR) {
				/* All-numeric names: an MH folder after all. */
				size_t i;

				for (i = 0; i < in->nnames; i++)
					if (!numeric_name(strrchr(
					    in->names[i], '/') + 1))
						break;
				if (in->nnames > 0 && i == in->nnames &&
				    !in->left_named)
					in->kind = INPUT_MH;
			}
			if (in->nnames > 0)
				qsort(in->names, in->nnames, sizeof(char *),
				    in->kind == INPUT_MH ? cmp_mh : cmp_str);
		}
		*out = in;
		return 0;
	}
	if (open_file(in, mode) != 0)
		goto fail;
	*out = in;
	return 0;
fail:
	e = errno;
	input_close(in);
	errno = e;
	return -1;
}

/* mboxrd: ">From " -> "From ", ">>From " -> ">From " at line starts. */
static int
unquote(struct input *in, const char *s, size_t n, struct input_msg *m)
{
	size_t i, k = 0;
	int bol = 1;
	char *nb;

	if (memmem(s, n, ">From ", 6) == NULL) {
		m->buf = s;
		m->len = n;
		return 0;
	}
	if (n + 1 > in->unqcap) {
		nb = realloc(in->unq, n + 1);
		if (nb == NULL)
			return -1;
		in->unq = nb;
		in->unqcap = n + 1;
	}
	for (i = 0; i < n; i++) {
		if (bol && s[i] == '>') {
			size_t j = i;

			while (j < n && s[j] == '>')
				j++;
			if (n - j >= 5 && memcmp(s + j, "From ", 5) == 0) {
				bol = 0;
				continue;	/* drop one '>' */
			}
		}
		in->unq[k++] = s[i];
		bol = s[i] == '\n';
	}
	m->buf = in->unq;
	m->len = k;
	return 0;
}

/* The file just read, as a message.  One that starts with a From line
 * is an mbox of one: the empty line its writer put at the end is mbox's,
 * as in input_mbox_next, so that it learns as the same message (one
 * digest) as its copy in a longer mbox, whether it is named or found in
 * a folder.  It is never unquoted: a ">From " line may be the author's. */
size_t
input_lone_len(const char *buf, size_t len)
{
	if (len >= 5 && memcmp(buf, "From ", 5) == 0 && ends_blank(buf, len))
		return drop_line_end(buf, 0, len);
	return len;
}

static void
lone_message(const struct input *in, struct input_msg *m)
{
	m->buf = in->buf != NULL ? in->buf : "";
	m->len = in->single ? in->len : input_lone_len(m->buf, in->len);
}

int
input_next(struct input *in, struct input_msg *m)
{
	size_t s, e;

	memset(m, 0, sizeof(*m));
	if (in->done)
		return 0;
	switch (in->kind) {
	case INPUT_FILE:
		in->done = 1;
		lone_message(in, m);
		m->name = in->path;
		m->number = 1;
		m->in_mbox = 0;
		return 1;
	case INPUT_MBOX:
		/* A message is whole when a separator follows it in the
		 * window or the file has ended; else the window slides to it
		 * and takes more.  fill() bounds this loop: at most
		 * in->max bytes, then EFBIG. */
		for (;;) {
			size_t p = in->pos;
			int k, r = input_mbox_next(in->buf, in->len, &p, &s,
			    &e);

			if (r == 1 && (p < in->len || in->eof)) {
				in->pos = p;
				break;
			}
			if (r == 0 && in->eof) {
				in->done = 1;
				return 0;
			}
			compact(in);
			k = fill(in);
			if (k < 0)
				return -1;
		}
		/* The window holds more than the limit (window_max). */
		if (e - s > in->max) {
			errno = EFBIG;
			return -1;
		}
		if (unquote(in, in->buf + s, e - s, m) != 0)
			return -1;
		m->name = in->path;
		m->number = ++in->number;
		m->in_mbox = 1;
		return 1;
	case INPUT_MAILDIR:
	case INPUT_MH:
	case INPUT_DIR:
		while (in->next < in->nnames) {
			const char *p = in->names[in->next++];

			if (load_file(in, p) != 0) {
				struct stat ls;
				int e = errno;

				/* Moved meanwhile (a mail reader at work); a
				 * link to nothing is still there: said. */
				if (e == ENOENT && lstat(p, &ls) != 0)
					continue;
				errno = e;
				return -1;
			}
			lone_message(in, m);
			m->name = p;
			m->number = 1;
			m->in_mbox = 0;
			return 1;
		}
		in->done = 1;
		return 0;
	}
	return 0;
}

int
input_blank(const char *buf, size_t len)
{
	const char *nl;
	size_t i = 0;

	if (len >= 5 && memcmp(buf, "From ", 5) == 0) {
		nl = memchr(buf, '\n', len);
		if (nl == NULL)
			return 0;	/* a line of text, not a From line */
		i = (size_t)(nl - buf) + 1;
	}
	for (; i < len; i++)
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\r' &&
		    buf[i] != '\n')
			return 0;
	return 1;
}

enum input_kind
input_kind(const struct input *in)
{
	return in->kind;
}

const char *
input_where(const struct input *in)
{
	if (in->names != NULL && in->next > 0 && in->next <= in->nnames)
		return in->names[in->next - 1];
	return in->path;
}

void
input_close(struct input *in)
{
	size_t i;

	if (in == NULL)
		return;
	for (i = 0; i < in->nnames; i++)
		free(in->names[i]);
	free(in->names);
	if (in->own_fd)
		close(in->fd);
	free(in->buf);
	free(in->unq);
	free(in->path);
	free(in);
}
