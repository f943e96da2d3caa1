# SPDX-License-Identifier: GPL-2.0
# Shared by the board scripts: where the tree, the pinned kernels and the cache are.

FASTIPC_TREE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=kernels.conf
. "$FASTIPC_TREE/scripts/kernels.conf"
# Where Debian no longer has a pinned kernel, the one scripts/deps fell back to.
FASTIPC_KERNELS_RESOLVED=$FASTIPC_TREE/build/kernels.conf
# shellcheck source=/dev/null
[ ! -f "$FASTIPC_KERNELS_RESOLVED" ] || . "$FASTIPC_KERNELS_RESOLVED"
FASTIPC_CACHE=${FASTIPC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/fastipc}
LINUX_SOURCE_TARBALL=/usr/src/$LINUX_SOURCE_PKG.tar.xz

die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

# kernel_release NAME: the release (uname -r) of the board's Debian kernel NAME.
kernel_release() {
	case "$1" in
	6.1) echo "$KERNEL_6_1" ;;
	6.12) echo "$KERNEL_6_12" ;;
	rt) echo "$KERNEL_RT" ;;
	*) return 1 ;;
	esac
}

# linux_source_version: the Debian version of the source package, part of cache keys.
linux_source_version() {
	dpkg-query -W -f='${Version}' "$LINUX_SOURCE_PKG" 2>/dev/null ||
		die "$LINUX_SOURCE_PKG is not installed: run scripts/deps"
}
