/* SPDX-License-Identifier: MIT */
/*
 * fuzz_mbox.c - libFuzzer target for the message readers of src/input.c.
 *
 * The first byte chooses how the rest is read: split in memory with
 * input_mbox_next (always), then through a private temporary file with
 * input_open in auto, --mbox or pipe (single message) mode, or with
 * --mbox through a window of 16 to 264 bytes (input_open_max: the window
 * slides and grows as it does past 1 MB for real), or cut in
 * pieces into a Maildir, an MH folder or a plain directory.  Besides the
 * sanitizers it checks, against models written here independently:
 * every split message lies between separator lines (past the first, a
 * From line with a time and a year) and holds none; the
 * pieces (leading junk, "From " lines, blank lines, messages) cover the
 * input in order; mboxrd unquoting drops exactly one '>' from each
 * ">...From " line; a single message comes back byte for byte; folder
 * entries come back whole, in their documented order (a message after a
 * From line, named or in a folder, less mbox's empty line at its end).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "src/input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256];		/* private temporary directory */
static char *model;		/* unquoting model output */
static size_t modelcap;

static void
die(const char *what, size_t a, size_t b)
{
	fprintf(stderr, "fuzz_mbox: %s (%zu, %zu)\n", what, a, b);
	abort();
}

static void
cleanup(void)
{
	static const char *const names[] = { "msg", "md/cur/a", "md/new/b",
		"md/tmp", "md/cur", "md/new", "md", "mh/1", "mh/2", "mh/10",
		"mh/.mh_sequences", "mh", "d/x1", "d/x2", "d" };
	char p[512];
	size_t i;

	if (dir[0] == '\0')
		return;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		if (unlink(p) != 0)
			(void)rmdir(p);
	}
	(void)rmdir(dir);
}

static void
setup(void)
{
	const char *tmp = getenv("TMPDIR");
	static const char *const dirs[] = { "md", "md/cur", "md/new",
		"md/tmp", "mh", "d" };
	char p[512];
	size_t i;

	if (dir[0] != '\0')
		return;
	snprintf(dir, sizeof(dir), "%s/fuzz_mbox.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror("fuzz_mbox: mkdtemp");
		abort();
	}
	atexit(cleanup);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, dirs[i]);
		if (mkdir(p, 0700) != 0) {
			perror("fuzz_mbox: mkdir");
			abort();
		}
	}
	snprintf(p, sizeof(p), "%s/mh/.mh_sequences", dir);
	close(open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600));
}

static void
put(const char *name, const uint8_t *b, size_t n)
{
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (n > 0 && write(fd, b, n) != (ssize_t)n)) {
		perror("fuzz_mbox: write");
		abort();
	}
	close(fd);
}

/* Does the line at k, within its first 1024 bytes, hold a time ("d:dd"
 * or "dd:dd") and a year (four digits, the first 1 or 2, alone)? */
static int
dated(const char *b, size_t len, size_t k)
{
	size_t end = len - k > 1024 ? k + 1024 : len, i, run = 0;
	int time = 0, year = 0;

	for (i = k; i < end && b[i] != '\n'; i++) {
		if (b[i] >= '0' && b[i] <= '9') {
			run++;
			continue;
		}
		if (b[i] == ':' && (run == 1 || run == 2) && i + 2 < end &&
		    b[i + 1] >= '0' && b[i + 1] <= '9' &&
		    b[i + 2] >= '0' && b[i + 2] <= '9')
			time = 1;
		if (run == 4 && (b[i - 4] == '1' || b[i - 4] == '2'))
			year = 1;
		run = 0;
	}
	if (run == 4 && (b[i - 4] == '1' || b[i - 4] == '2'))
		year = 1;
	return time && year;
}

/* A "From " line that starts the buffer, or that follows a blank line
 * and carries a date. */
static int
sep_at(const char *b, size_t len, size_t k)
{
	if (len - k < 5 || memcmp(b + k, "From ", 5) != 0)
		return 0;
	if (k == 0)
		return 1;
	if (b[k - 1] != '\n')
		return 0;
	if (!(k == 1 || b[k - 2] == '\n' || (k >= 3 && b[k - 2] == '\r' &&
	    b[k - 3] == '\n')))
		return 0;
	return dated(b, len, k);
}

/* Do the n bytes at b end with an empty line ("\n\n" or "\n\r\n")? */
static int
ends_blank(const char *b, size_t n)
{
	if (n >= 2 && b[n - 1] == '\n' && b[n - 2] == '\n')
		return 1;
	return n >= 3 && b[n - 1] == '\n' && b[n - 2] == '\r' &&
	    b[n - 3] == '\n';
}

struct span {
	size_t start, end;
};

/* Split with input_mbox_next and check it; returns the message count and
 * fills sp (at most max). */
static size_t
check_split(const char *b, size_t len, struct span *sp, size_t max)
{
	size_t pos = 0, prev = 0, s, e, k, n = 0, first;
	size_t rounds = 0;

	for (first = 0; first < len && !sep_at(b, len, first); first++)
		;
	while (input_mbox_next(b, len, &pos, &s, &e) == 1) {
		if (++rounds > len + 1)
			die("input_mbox_next does not end", pos, len);
		if (!(s <= e && e <= pos && pos <= len))
			die("bad span", s, e);
		if (pos <= prev && n > 0)
			die("no progress", pos, prev);
		/* [from, s) is one "From " line: from is a separator. */
		k = n == 0 ? first : prev;
		if (!sep_at(b, len, k))
			die("message not after a separator", k, s);
		if (memchr(b + k, '\n', s - k) != b + s - 1 && !(s == len &&
		    memchr(b + k, '\n', len - k) == NULL))
			die("separator line is not one line", k, s);
		/* No separator inside the message and its trailing gap. */
		for (k = s; k < pos; k++)
			if (sep_at(b, len, k))
				die("separator inside a message", k, s);
		/* What follows up to the next separator: one line end. */
		if (pos < len) {
			if (!sep_at(b, len, pos))
				die("message ends before no separator", pos, e);
			if (!(pos - e == 0 || (pos - e == 1 && b[e] == '\n') ||
			    (pos - e == 2 && b[e] == '\r' && b[e + 1] == '\n')))
				die("bad gap before the separator", e, pos);
			if (pos - e == 0 && e > s)
				die("blank line kept in the message", e, pos);
		} else {
			/* The blank line a writer puts after the last
			 * message is not part of it. */
			if (!(len - e == 0 || (len - e == 1 && b[e] == '\n') ||
			    (len - e == 2 && b[e] == '\r' && b[e + 1] == '\n')))
				die("last message cut short", e, len);
			if ((len - e > 0) != (len > s && ends_blank(b, len)))
				die("blank line after the last message", e,
				    len);
		}
		if (n < max) {
			sp[n].start = s;
			sp[n].end = e;
		}
		n++;
		prev = pos;
	}
	if (n == 0 && first < len)
		die("separator found but no message", first, len);
	if (n > 0 && prev != len)
		die("split stopped early", prev, len);
	return n;
}

/* mboxrd: one '>' less on each line matching ^>+From . */
static size_t
unquote_model(const char *s, size_t n)
{
	size_t i = 0, k = 0, e, j;
	const char *nl;
	char *nm;

	if (n + 1 > modelcap) {
		nm = realloc(model, n + 1);
		if (nm == NULL)
			abort();
		model = nm;
		modelcap = n + 1;
	}
	while (i < n) {
		nl = memchr(s + i, '\n', n - i);
		e = nl == NULL ? n : (size_t)(nl - s) + 1;
		for (j = i; j < e && s[j] == '>'; j++)
			;
		if (j > i && e - j >= 5 && memcmp(s + j, "From ", 5) == 0)
			i++;
		memcpy(model + k, s + i, e - i);
		k += e - i;
		i = e;
	}
	return k;
}

/* A lone message after a From line (an mbox of one), named or in a
 * folder, drops the empty line its writer put at the end, as the mbox
 * reader does: the length it comes back with. */
static size_t
lone_len(const char *b, size_t len)
{
	if (len < 5 || memcmp(b, "From ", 5) != 0 || !((len >= 2 &&
	    b[len - 1] == '\n' && b[len - 2] == '\n') || (len >= 3 &&
	    b[len - 1] == '\n' && b[len - 2] == '\r' && b[len - 3] == '\n')))
		return len;
	len--;
	return b[len - 1] == '\r' ? len - 1 : len;
}

/* Message i of an mbox (spans sp of b, the first 64 of them) is what the
 * model makes of it; dies with what otherwise. */
static void
check_model(const char *b, const struct span *sp, size_t i,
    const struct input_msg *m, const char *what)
{
	size_t k;

	if (i >= 64)
		return;
	k = unquote_model(b + sp[i].start, sp[i].end - sp[i].start);
	if (m->len != k || (k > 0 && memcmp(m->buf, model, k) != 0))
		die(what, m->len, k);
}

static void
read_file(const char *b, size_t len, enum input_mode mode)
{
	struct input *in = NULL;
	struct input_msg m;
	struct span sp[64];
	const char *why;
	char path[512];
	size_t n, i = 0, want_len;
	int r, want_mbox;

	n = check_split(b, len, sp, 64);
	put("msg", (const uint8_t *)b, len);
	snprintf(path, sizeof(path), "%s/msg", dir);
	if (input_open(&in, path, mode, &why) != 0)
		die("input_open failed", (size_t)errno, 0);
	if (mode == INPUT_SINGLE)
		want_mbox = 0;
	else if (mode == INPUT_MBOX_FORCE)
		want_mbox = len >= 5 && memcmp(b, "From ", 5) == 0;
	else
		want_mbox = len >= 5 && memcmp(b, "From ", 5) == 0 && n > 1;
	if ((input_kind(in) == INPUT_MBOX) != want_mbox ||
	    (!want_mbox && input_kind(in) != INPUT_FILE))
		die("wrong input kind", (size_t)input_kind(in), n);
	want_len = mode == INPUT_SINGLE ? len : lone_len(b, len);
	while ((r = input_next(in, &m)) == 1) {
		if (!want_mbox) {
			if (i > 0 || m.len != want_len || (want_len > 0 &&
			    memcmp(m.buf, b, want_len) != 0) || m.in_mbox ||
			    m.number != 1)
				die("single message not byte for byte", m.len,
				    len);
		} else {
			if (i >= n || m.number != i + 1 || !m.in_mbox)
				die("mbox message count", i, n);
			check_model(b, sp, i, &m, "mboxrd unquoting differs");
		}
		if (strcmp(m.name, path) != 0)
			die("wrong message name", i, 0);
		i++;
	}
	if (r != 0)
		die("input_next failed", (size_t)errno, i);
	if (i != (want_mbox ? n : 1))
		die("wrong message count", i, want_mbox ? n : 1);
	if (input_next(in, &m) != 0)
		die("input_next after the end", i, 0);
	input_close(in);
}

/* --mbox through a small window (max bytes): every message that comes
 * out is the model's; the only failure allowed is EFBIG, when the file
 * is bigger than the window. */
static void
read_window(const char *b, size_t len, size_t max)
{
	struct input *in = NULL;
	struct input_msg m;
	struct span sp[64];
	const char *why;
	char path[512];
	size_t n, i = 0, k;
	int r, want_mbox;

	n = check_split(b, len, sp, 64);
	put("msg", (const uint8_t *)b, len);
	snprintf(path, sizeof(path), "%s/msg", dir);
	if (input_open_max(&in, path, INPUT_MBOX_FORCE, max, &why) != 0)
		die("input_open_max failed", (size_t)errno, max);
	want_mbox = len >= 5 && memcmp(b, "From ", 5) == 0;
	if ((input_kind(in) == INPUT_MBOX) != want_mbox)
		die("window: wrong input kind", (size_t)input_kind(in), n);
	while ((r = input_next(in, &m)) == 1) {
		if (!want_mbox) {
			k = len < max ? len : max;
			if (i > 0 || m.len != k || (k > 0 &&
			    memcmp(m.buf, b, k) != 0))
				die("window: single message not its first "
				    "bytes", m.len, k);
		} else {
			if (i >= n || m.number != i + 1)
				die("window: mbox message count", i, n);
			check_model(b, sp, i, &m, "window: message differs");
		}
		i++;
	}
	if (r < 0 && (errno != EFBIG || len <= max))
		die("window: input_next failed", (size_t)errno, i);
	if (r == 0 && i != (want_mbox ? n : 1))
		die("window: wrong message count", i, want_mbox ? n : 1);
	input_close(in);
}

/* Cut the bytes in pieces, write them into a folder, read them back. */
static void
read_folder(const uint8_t *b, size_t len, int kind)
{
	static const char *const names[3][3] = {
		{ "md/cur/a", "md/new/b", NULL },
		{ "mh/1", "mh/2", "mh/10" },
		{ "d/x1", "d/x2", NULL },
	};
	static const char *const roots[3] = { "md", "mh", "d" };
	static const enum input_kind kinds[3] = { INPUT_MAILDIR, INPUT_MH,
		INPUT_DIR };
	struct input *in = NULL;
	struct input_msg m;
	const char *why;
	char path[512];
	size_t cut[4], np = names[kind][2] != NULL ? 3 : 2, i;
	int r;

	cut[0] = 0;
	cut[np] = len;
	for (i = 1; i < np; i++)
		cut[i] = len * i / np;
	for (i = 0; i < np; i++)
		put(names[kind][i], b + cut[i], cut[i + 1] - cut[i]);
	snprintf(path, sizeof(path), "%s/%s", dir, roots[kind]);
	if (input_open(&in, path, INPUT_AUTO, &why) != 0)
		die("input_open folder failed", (size_t)errno, 0);
	if (input_kind(in) != kinds[kind])
		die("wrong folder kind", (size_t)input_kind(in), (size_t)kind);
	for (i = 0; (r = input_next(in, &m)) == 1; i++) {
		if (i >= np || m.len != lone_len((const char *)b + cut[i],
		    cut[i + 1] - cut[i]) || (m.len > 0 &&
		    memcmp(m.buf, b + cut[i], m.len) != 0))
			die("folder entry differs", i, m.len);
		snprintf(path, sizeof(path), "%s/%s", dir, names[kind][i]);
		if (strcmp(m.name, path) != 0)
			die("folder entry out of order", i, 0);
	}
	if (r != 0 || i != np)
		die("folder entry count", i, np);
	input_close(in);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *b;
	size_t len;
	struct span sp[1];

	if (size < 1)
		return 0;
	setup();
	b = (const char *)data + 1;
	len = size - 1;
	switch (data[0] % 8) {
	case 0:
	case 1:
		read_file(b, len, INPUT_AUTO);
		break;
	case 2:
		read_file(b, len, INPUT_MBOX_FORCE);
		break;
	case 3:
		read_window(b, len, 16 + (size_t)(data[0] >> 3) * 8);
		break;
	case 4:
		read_file(b, len, INPUT_SINGLE);
		break;
	default:
		(void)check_split(b, len, sp, 0);
		read_folder(data + 1, len, data[0] % 8 - 5);
		break;
	}
	return 0;
}
