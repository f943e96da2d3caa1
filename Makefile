# SPDX-License-Identifier: GPL-2.0
#
# fastipc: `make` builds the module, library, selftests and bench; `make check`
# runs everything on the QEMU test board. See README.md.

include scripts/kernels.conf
# The kernels scripts/deps fell back to where Debian no longer has the pinned ones.
-include build/kernels.conf

TREE := $(CURDIR)
CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/fastipc
export FASTIPC_CACHE := $(CACHE)

# Which kernel the module is built for: the running kernel when its build tree
# exists (a real test board), else Debian's 6.12; KVER=6.1|6.12|rt|debug selects
# (rt: Debian's PREEMPT_RT 6.12).
ifeq ($(KVER),)
ifneq ($(wildcard /lib/modules/$(shell uname -r)/build/Makefile),)
KVER := $(shell uname -r)
KDIR ?= /lib/modules/$(KVER)/build
else
KVER := 6.12
endif
endif
KDIR_6.1 := /usr/src/linux-headers-$(KERNEL_6_1)
KDIR_6.12 := /usr/src/linux-headers-$(KERNEL_6_12)
KDIR_rt := /usr/src/linux-headers-$(KERNEL_RT)
KDIR_debug = $(shell scripts/debug-kernel dir)
KDIR ?= $(KDIR_$(KVER))

# Out-of-tree objects go to build/<KVER>/, which mirrors the sources with
# symlinks, so the source tree stays clean and kernels can be built side by side.
BUILD := $(TREE)/build
KBUILD_DIR := $(BUILD)/$(KVER)
KMOD_SRCS := $(wildcard kmod/*.c kmod/*.h) kmod/Kbuild
KBUILD_ARGS := -C $(KDIR) M=$(KBUILD_DIR) W=1

.PHONY: all module user lib selftests bench-progs sparse checkpatch check bench \
	debug-kernel deps clean
all: module user

module: $(KBUILD_DIR)/.links
	$(MAKE) $(KBUILD_ARGS) modules

$(KBUILD_DIR)/.links: $(KMOD_SRCS) Kbuild
	@[ -f $(KDIR)/Makefile ] || { echo "no kernel build tree at $(KDIR): run scripts/deps" >&2; exit 1; }
	@rm -rf $(KBUILD_DIR)/kmod && mkdir -p $(KBUILD_DIR)/kmod
	@ln -sfn $(TREE)/uapi $(KBUILD_DIR)/uapi
	@ln -sf $(TREE)/Kbuild $(KBUILD_DIR)/Kbuild
	@for f in $(KMOD_SRCS); do ln -sf $(TREE)/$$f $(KBUILD_DIR)/$$f; done
	@touch $@

# Userspace: library, selftests and bench share one set of flags.
USER_BUILD := $(BUILD)/user
export USER_BUILD CACHE
USER_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -I$(TREE)/uapi -I$(TREE)/lib
export USER_CFLAGS

user: lib selftests bench-progs stress

lib:
	$(MAKE) -C lib
	$(MAKE) -C lib/protobuf

selftests: lib
	$(MAKE) -C selftests

bench-progs: lib
	$(MAKE) -C bench

# Phony: stress/ is also the directory's name.
.PHONY: stress
stress:
	$(MAKE) -C stress

# libfastipc and libfastipc-protobuf, their headers and pkg-config files,
# the protobuf example, and the man pages; DESTDIR, PREFIX and MANDIR as usual.
.PHONY: install
install:
	$(MAKE) -C lib install
	$(MAKE) -C lib/protobuf install
	$(MAKE) -C man install

# The module under DKMS (dkms.conf), rebuilt for each kernel the machine installs.
.PHONY: dkms-install dkms-remove
dkms-install:
	scripts/dkms install

dkms-remove:
	scripts/dkms remove

sparse: $(KBUILD_DIR)/.links
	$(MAKE) $(KBUILD_ARGS) C=2 CF="-D__CHECK_ENDIAN__" modules 2>&1 | tee $(KBUILD_DIR)/sparse.log
	@! grep -E '(warning|error):' $(KBUILD_DIR)/sparse.log

CHECKPATCH = $(CACHE)/linux-source/scripts/checkpatch.pl
checkpatch:
	@scripts/linux-source-files >/dev/null
	$(CHECKPATCH) --strict --no-tree --terse --show-types -f \
		$(wildcard kmod/*.c kmod/*.h uapi/linux/*.h)

# The ABI's text has one source, the headers' kernel-doc, which Documentation/
# includes: the kernel's scripts/kernel-doc checks it (scripts/doc-check). The
# man pages lint clean and agree with the headers (scripts/man-check).
.PHONY: doc-check man-check
doc-check:
	scripts/doc-check

man-check:
	scripts/man-check

debug-kernel:
	scripts/debug-kernel build

deps:
	scripts/deps

check:
	scripts/check

bench:
	scripts/bench

# Where a fastipc round trip spends its instructions, on the icount board:
# bench/out/profile/profile.txt.
.PHONY: bench-profile
bench-profile:
	scripts/bench-profile

# Tables, targets and plots from bench/out/; bench-doc also regenerates
# Documentation/bench.rst and Documentation/bench/*.png.
.PHONY: bench-report bench-doc
bench-report:
	scripts/bench-report

bench-doc:
	scripts/bench-report --doc

clean:
	rm -rf $(BUILD)
