# SPDX-License-Identifier: MIT
# spamsift - a personal Bayesian spam filter.  Plain make, pkg-config.

PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/spamsift
DESTDIR ?=
CC ?= cc
CFLAGS ?= -O2 -g
LINK ?= static
LDFLAGS ?=

VERSION = 0.1.0
PKGS = gmime-3.0 icu-uc icu-i18n sqlite3
# Debian packages for the build, the tests, and the fuzz targets.
# The compilers too (a minimal Debian has none; g++ brings libstdc++.a,
# which the static link of ICU needs), and libidn2-dev (its libidn2.a
# keeps GMime's libidn2 out of the binary's shared objects: t-install).
DEB_BUILD = pkg-config gcc g++ libgmime-3.0-dev libicu-dev libsqlite3-dev \
	libidn2-dev
DEB_CHECK = check procmail maildrop mandoc valgrind sqlite3 time \
	libxml2-utils
DEB_FUZZ = clang libclang-rt-14-dev

# Evaluated when a recipe runs, i.e. after 'deps' has installed them.
PKG_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS))
# The big libraries linked statically where their archives exist (faster
# start-up per delivered message; see tests/libs.sh); LINK=shared for the
# ordinary shared linking.
PKG_LIBS = $(shell LINK=$(LINK) sh tests/libs.sh "$(PKG_CONFIG)" "$(PKGS)")
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS = $(shell $(PKG_CONFIG) --libs check)

override CFLAGS += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror \
	-Wno-unused-parameter -I. -DSPAMSIFT_VERSION='"$(VERSION)"' -pthread
override LDFLAGS += -pthread
ifeq ($(SANITIZE),1)
override CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
override LDFLAGS += -fsanitize=address,undefined
endif

TOK_OBJS = tokenizer/tokenizer.o tokenizer/tokset.o tokenizer/charset.o \
	tokenizer/html.o tokenizer/words.o tokenizer/sha256.o
DB_OBJS = db/db.o db/bucket.o
SRC_OBJS = src/score.o src/input.o src/output.o src/opts.o src/engine.o \
	src/maint.o src/tune.o src/tokq.o
MAIN_OBJS = src/main.o src/rescue.o
LIB_OBJS = $(TOK_OBJS) $(DB_OBJS) $(SRC_OBJS)

CHECKS = tests/check_tok tests/check_db tests/check_score tests/check_input \
	tests/check_output tests/check_tune tests/check_tokq

HEADERS = tokenizer/tokenizer.h tokenizer/tok_priv.h db/db.h db/bucket.h \
	src/*.h

.PHONY: all deps check-deps check unit e2e bench lint install uninstall \
	clean demo fuzz fuzz-smoke stress valgrind

all: spamsift

# Find the libraries; on Debian as root install what is missing, otherwise
# say exactly what to install.
deps:
	@sh tests/deps.sh "$(PKG_CONFIG)" "$(PKGS) libidn2" "$(DEB_BUILD)" \
	    $(CC) g++

check-deps: deps
	@sh tests/deps.sh "$(PKG_CONFIG)" "check" "$(DEB_CHECK)" \
	    procmail formail maildrop mandoc valgrind sqlite3 xmllint

%.o: %.c $(HEADERS) | deps
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

# Linked only when tests/libs.sh links GMime statically; built always.
LINK_OBJS = tokenizer/gmime_unused.o

spamsift: $(MAIN_OBJS) $(LIB_OBJS) $(LINK_OBJS) tests/libs.sh
	$(CC) $(CFLAGS) -o $@ $(MAIN_OBJS) $(LIB_OBJS) $(LDFLAGS) $(PKG_LIBS) -lm

tests/check_%: tests/check_%.c tests/check_util.c tests/check_util.h \
    $(LIB_OBJS) $(LINK_OBJS) $(HEADERS) | check-deps
	$(CC) $(CFLAGS) $(PKG_CFLAGS) $(CHECK_CFLAGS) -o $@ $< \
	    tests/check_util.c $(LIB_OBJS) $(LDFLAGS) $(PKG_LIBS) \
	    $(CHECK_LIBS) -lm

# Unit suites, then the end-to-end scripts on the built binary.
check: unit e2e

unit: $(CHECKS)
	@sh tests/run-unit.sh $(CHECKS)

e2e: spamsift check-deps
	@sh tests/run-e2e.sh

# Long fault and concurrency runs (CI runs them too).
stress: spamsift
	@STRESS=1 sh tests/run-e2e.sh

# The unit suites and the binary under valgrind memcheck.
valgrind: spamsift $(CHECKS)
	@sh tests/valgrind.sh $(CHECKS)

bench: spamsift
	@sh tests/bench.sh $(BENCH_INDEX)

lint: spamsift
	mandoc -Tlint -Wwarning man/spamsift.1 man/spamsift.conf.5

demo: spamsift
	@sh tests/demo.sh

fuzz:
	@sh tests/deps.sh "$(PKG_CONFIG)" "$(PKGS)" "$(DEB_BUILD) $(DEB_FUZZ)" clang
	$(MAKE) -C tests/fuzz PKGS="$(PKGS)" PKG_CONFIG="$(PKG_CONFIG)"

fuzz-smoke: fuzz
	@sh tests/fuzz/smoke.sh

install: spamsift
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DOCDIR)/procmail
	install -m 755 spamsift $(DESTDIR)$(BINDIR)/spamsift
	install -m 644 man/spamsift.1 $(DESTDIR)$(MANDIR)/man1/spamsift.1
	install -m 644 man/spamsift.conf.5 $(DESTDIR)$(MANDIR)/man5/spamsift.conf.5
	install -m 644 procmail/* $(DESTDIR)$(DOCDIR)/procmail/
	install -m 644 README.md $(DESTDIR)$(DOCDIR)/README.md

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/spamsift $(DESTDIR)$(MANDIR)/man1/spamsift.1 \
	    $(DESTDIR)$(MANDIR)/man5/spamsift.conf.5
	rm -rf $(DESTDIR)$(DOCDIR)

clean:
	rm -f spamsift $(MAIN_OBJS) $(LIB_OBJS) $(LINK_OBJS) $(CHECKS) tests/*.o
	rm -rf tests/tmp
	-$(MAKE) -C tests/fuzz clean 2>/dev/null
