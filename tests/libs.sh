#!/bin/sh
# SPDX-License-Identifier: MIT
# libs.sh PKG_CONFIG "PKGS": the linker flags for spamsift.
# GMime, GLib, ICU (with the C++ runtime it needs) and SQLite are linked
# statically when their archives are installed: a process started per
# delivered message then spends no time mapping their shared objects and
# resolving their thousands of symbols (callgrind, one classification:
# 14.7M instructions with shared libraries, 6.7M static; peak RSS
# 12.4 MB -> 9.8 MB).  Their own dependencies stay shared.  Without the
# archives, or with LINK=shared: the ordinary pkg-config flags.
pc=$1 pkgs=$2
static_libs="gmime-3.0 gio-2.0 gobject-2.0 gmodule-2.0 glib-2.0 icui18n icuuc icudata sqlite3"
libdir=$($pc --variable=libdir glib-2.0 2>/dev/null)
fallback() { $pc --libs $pkgs; exit 0; }
[ "${LINK:-static}" = shared ] && fallback
[ -n "$libdir" ] || fallback
for l in $static_libs; do
	[ -f "$libdir/lib$l.a" ] || fallback
done
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
echo "-Wl,--as-needed -Wl,-Bstatic -Wl,--start-group$st -lstdc++" \
    "-Wl,--end-group -Wl,-Bdynamic$dyn -static-libgcc"
