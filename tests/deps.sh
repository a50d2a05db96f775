#!/bin/sh
# SPDX-License-Identifier: MIT
# deps.sh PKG_CONFIG "PKGS" "DEBIAN-PACKAGES" [COMMAND ...]
# Checks that pkg-config finds PKGS and that each COMMAND is on PATH.  When
# something is missing: as root on Debian, installs DEBIAN-PACKAGES with
# apt-get; otherwise prints the exact apt-get line and fails.
pc=$1 pkgs=$2 debs=$3
shift 3
missing=
command -v "$pc" >/dev/null 2>&1 || missing="$missing $pc"
if [ -z "$missing" ]; then
	for p in $pkgs; do
		"$pc" --exists "$p" 2>/dev/null || missing="$missing $p"
	done
fi
for c in "$@"; do
	command -v "$c" >/dev/null 2>&1 || missing="$missing $c"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "spamsift: deps: installing$missing (apt-get install $debs)" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null &&
	apt-get install -y -q --no-install-recommends $debs >/dev/null ||
	    { echo "spamsift: deps: apt-get install $debs failed" >&2; exit 1; }
	exit 0
fi
echo "spamsift: deps: missing$missing" >&2
echo "spamsift: deps: run as root: apt-get install $debs" >&2
exit 1
