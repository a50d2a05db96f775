#!/bin/sh
# SPDX-License-Identifier: MIT
# libs.sh PKG_CONFIG "PKGS": the linker flags for spamsift.
# GMime, GLib, ICU (with the C++ runtime it needs) and SQLite are linked
# statically when their archives are installed: a process started per
# delivered message then spends no time mapping their shared objects and
# resolving their thousands of symbols (callgrind, one classification:
# 14.7M instructions with shared libraries, 6.7M static; peak RSS
# 12.4 MB -> 9.8 MB).  Of their own dependencies, those whose archives
# exist go static too (libffi, zlib, pcre2, libidn2).  What GMime's
# g_mime_init() names but spamsift never uses (the GIO stream and with it
# all of GIO, the gpgme contexts, libidn2's conversions) is satisfied by
# the weak stand-ins of tokenizer/gmime_unused.c, so --as-needed drops
# libgpgme, libmount, libselinux, libblkid and the rest: the binary loads
# libc and libm only (tests/t-install.sh checks).  libc comes first in
# the search order.  -no-pie leaves the static code nothing to relocate
# at start-up.  Measured per delivered message (callgrind, one
# classification): 4.1M -> 2.2M instructions, 1,986 symbol and 12,473
# relative relocations -> 148 and 0; CPU ~6.0 -> ~4.5 ms, peak RSS 8.4 ->
# 6.4 MB (make bench).  Without the archives of the big ones, or with
# LINK=shared: the ordinary pkg-config flags, and no stand-ins.
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
# --as-needed drops the shared libraries nothing ends up using.
echo "-no-pie tokenizer/gmime_unused.o" \
    "-Wl,--no-as-needed -lc -Wl,--as-needed" \
    "-Wl,-Bstatic -Wl,--start-group$st -lstdc++" \
    "-Wl,--end-group -Wl,-Bdynamic$dyn$extra -static-libgcc"
