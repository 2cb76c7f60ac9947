# SPDX-License-Identifier: BSD-3-Clause
#
# Convenience wrapper over Meson. Every target works from a clean checkout on
# Debian 12; `make deps` installs what is missing and does nothing otherwise.
#
#   make check         all test tiers; the last line is "N passed, N failed, N skipped"
#   make build         debug build with ASan+UBSan in build/
#   make demo          boot a Linux guest on a vioport disk and rng, show what it did
#   make demo-loopback driver and devices in one process, no guest
#   make bench         release build in build-release/, then scripts/bench.sh
#   make cross         freestanding layers for Cortex-R5F and Cortex-M4
#   make firmware      firmware images for Cortex-R5F and Cortex-M4, booted under QEMU
#   make demo-amp      Linux on a ZCU102 A53 using the amp firmware on its R5, under QEMU
#   make fuzz          libFuzzer build in build-fuzz/, FUZZ_SECONDS per target
#   make kmod          vioport_vmsg.ko (linux/) for the guest tier's Debian kernel, or
#                      KDIR=<kernel headers>, or RELEASE=<Debian release or series such
#                      as 6.12-arm64>; in build-kmod/<release>/
#   make kmod-all      the module for Debian's 6.1 and 6.12 kernels, amd64 and arm64
#   make deb           Debian packages in build-deb/ (dpkg-buildpackage, lintian)
#   make format        clang-format every .c and .h in place
#   make format-check  fail if any file is not formatted
#   make clean         remove every build directory

# Debian 12 packages the build and the tests need.
DEB_PACKAGES := \
	build-essential \
	meson \
	ninja-build \
	pkg-config \
	libcmocka-dev \
	liburing-dev \
	libseccomp-dev \
	qemu-system-x86 \
	qemu-system-common \
	qemu-utils \
	libnbd-dev \
	nbdkit \
	busybox-static \
	gpiod \
	fio \
	socat \
	cpio \
	clang \
	clang-format \
	libclang-rt-14-dev \
	llvm \
	gcc-arm-none-eabi \
	libnewlib-arm-none-eabi \
	qemu-system-arm \
	gcc-12-aarch64-linux-gnu \
	libc6-dev-arm64-cross \
	device-tree-compiler \
	systemd \
	libvirt-clients \
	libvirt-daemon \
	libvirt-daemon-driver-qemu \
	debhelper \
	dpkg-dev \
	lintian \
	valgrind

SANITIZE := -Db_sanitize=address,undefined -Db_lundef=false
FUZZ_SECONDS ?= 20
FORMAT_DIRS := include src apps tests firmware linux

.PHONY: deb all deps build check demo demo-loopback bench cross firmware demo-amp fuzz kmod kmod-all format format-check clean

all: build

deps:
	@bash scripts/deps.sh $(DEB_PACKAGES)

build:
	bash scripts/meson-build.sh build $(SANITIZE)

check: deps
	bash scripts/check.sh

# Debian binary packages in build-deb/ (dpkg-buildpackage, lintian); see scripts/deb.sh.
deb: deps
	bash scripts/deb.sh

demo: deps
	bash scripts/meson-build.sh build $(SANITIZE)
	bash scripts/guest/demo.sh

demo-loopback: deps
	bash scripts/meson-build.sh build $(SANITIZE)
	build/apps/vioport-demo

bench: deps
	bash scripts/meson-build.sh build-release -Dbuildtype=release
	@if [ -f scripts/bench.sh ]; then \
		bash scripts/bench.sh; \
	else \
		echo "make bench: no scripts/bench.sh, nothing to run"; \
	fi

cross:
	bash scripts/cross-build.sh

firmware: deps
	bash scripts/meson-build.sh build $(SANITIZE)
	bash scripts/firmware.sh run
	bash scripts/firmware.sh sizes

demo-amp: deps
	bash scripts/demo-amp.sh

fuzz: deps
	CC=clang bash scripts/meson-build.sh build-fuzz -Dfuzz=true $(SANITIZE)
	@if [ -f scripts/fuzz.sh ]; then \
		FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh $(FUZZ_SECONDS); \
	else \
		echo "make fuzz: no scripts/fuzz.sh, nothing to run"; \
	fi

kmod:
	bash scripts/guest/build-kmod.sh $(if $(KDIR),--headers $(KDIR)) $(if $(RELEASE),--release $(RELEASE))

# Debian 12's kernels: 6.1 (the guest tier's) and the 6.12 updates, each for
# amd64 and (cross-compiled) arm64.
KMOD_SERIES := 6.1-arm64 6.12-amd64 6.12-arm64

kmod-all: deps
	bash scripts/guest/build-kmod.sh
	@for s in $(KMOD_SERIES); do bash scripts/guest/build-kmod.sh --release $$s || exit 1; done

# Sources to format: every .c and .h under FORMAT_DIRS that exists.
FORMAT_FILES = $(if $(wildcard $(FORMAT_DIRS)),$(shell find $(wildcard $(FORMAT_DIRS)) \
	-type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort))

format:
	@if [ -n "$(FORMAT_FILES)" ]; then clang-format -i $(FORMAT_FILES); fi

# Names the files that differ from clang-format's output, rather than every line.
format-check:
	@bad=0; \
	for f in $(FORMAT_FILES); do \
		clang-format "$$f" | cmp -s - "$$f" || { echo "not formatted: $$f"; bad=1; }; \
	done; \
	if [ $$bad -ne 0 ]; then echo "make format-check: run 'make format'" >&2; exit 1; fi

clean:
	rm -rf build build-release build-fuzz build-cross build-fw build-kmod build-deb
