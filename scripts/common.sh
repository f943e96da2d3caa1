# SPDX-License-Identifier: GPL-2.0
# Shared by the board scripts: where the tree, the pinned kernels and the cache are.

FASTIPC_TREE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=kernels.conf
. "$FASTIPC_TREE/scripts/kernels.conf"
FASTIPC_CACHE=${FASTIPC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fastipc}
LINUX_SOURCE_TARBALL=/usr/src/$LINUX_SOURCE_PKG.tar.xz

die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

# linux_source_version: the Debian version of the source package, part of cache keys.
linux_source_version() {
	dpkg-query -W -f='${Version}' "$LINUX_SOURCE_PKG" 2>/dev/null ||
		die "$LINUX_SOURCE_PKG is not installed: run scripts/deps"
}
