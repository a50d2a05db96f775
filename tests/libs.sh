#!/bin/sh
# SPDX-License-Identifier: MIT
# libs.sh PKG_CONFIG "PKGS": the linker flags for spamsift.
# GMime, GLib, ICU (with the C++ runtime it needs) and SQLite are linked
# statically when their archives are installed: a process started per
# delivered message then spends no time mapping their shared objects and
# resolving their thousands of symbols (callgrind, one classification:
# 14.7M instructions with shared libraries, 6.7M static; peak RSS
# 12.4 MB -> 9.8 MB).  Of their own dependencies, those that nothing
# else loads go static too when their archives exist (libffi, zlib and
# libidn2, whose libunistring stays shared: three shared objects fewer);
# the rest stay shared, as the
# shared libgpgme and libmount load them anyway and a second, static copy
# would only add weight.  libc comes first in the search order: the
# dynamic loader then finds the shared libraries' own libc symbols at the
# first object it looks in.  Together: 2.89M -> 2.24M instructions for
# `spamsift --version` (callgrind).  Without the archives of the big
# ones, or with LINK=shared: the ordinary pkg-config flags.
pc=$1 pkgs=$2
static_libs="gmime-3.0 gio-2.0 gobject-2.0 gmodule-2.0 glib-2.0 icui18n icuuc icudata sqlite3"
optional_static="ffi z pcre2-8"
libdir=$($pc --variable=libdir glib-2.0 2>/dev/null)
fallback() { $pc --libs $pkgs; exit 0; }
[ "${LINK:-static}" = shared ] && fallback
[ -n "$libdir" ] || fallback
for l in $static_libs; do
	[ -f "$libdir/lib$l.a" ] || fallback
done
for l in $optional_static; do
	[ -f "$libdir/lib$l.a" ] && static_libs="$static_libs $l"
done
# libidn2.a needs libunistring, which its pkg-config file leaves out.
extra=
uni=$(ls "$libdir"/libunistring.so.* 2>/dev/null | head -n 1)
if [ -f "$libdir/libidn2.a" ] && [ -n "$uni" ]; then
	static_libs="$static_libs idn2"
	extra=" -l:$(basename "$uni")"
fi
st= dyn= seen=
for f in $($pc --static --libs $pkgs); do
	case " $seen " in *" $f "*) continue ;; esac
	seen="$seen $f"
	case $f in
	-l*)
		n=${f#-l}
		case " $static_libs " in
		*" $n "*) st="$st $f" ;;
		*)
			if [ -e "$libdir/lib$n.so" ]; then
				dyn="$dyn $f"
			else
				# Only the versioned object (no -dev package).
				so=$(ls "$libdir/lib$n.so."* 2>/dev/null | head -n 1)
				[ -n "$so" ] || fallback
				dyn="$dyn -l:$(basename "$so")"
			fi ;;
		esac ;;
	*) dyn="$dyn $f" ;;
	esac
done
# --as-needed drops the shared libraries nothing ends up using; with
# tokenizer/gmime_unused.o (see there) that is all but libc and libm.
# -no-pie: the static code then needs no relocating at start-up (12,473
# relative relocations before, 2,120 after, 40 fewer page faults).
echo "-no-pie tokenizer/gmime_unused.o" \
    "-Wl,--no-as-needed -lc -Wl,--as-needed" \
    "-Wl,-Bstatic -Wl,--start-group$st -lstdc++" \
    "-Wl,--end-group -Wl,-Bdynamic$dyn$extra -static-libgcc"
