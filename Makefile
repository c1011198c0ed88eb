# Makefile — builds build/qemu-img (and its ASan, fuzzing and test variants) and runs every test
# (spec/architecture.md §Build).
SHELL := /bin/bash
CC ?= gcc
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Wall -Wextra -Werror -Wno-unused-parameter
CFLAGS ?= -O2 -g
LIBS := -lz -lzstd -lbz2 -lisal -lcrypto -lnettle -lpthread -lm

SOURCES := $(filter-out $(EXCLUDE),$(sort $(shell find impl -name '*.c' -not -path '*/tests/*')))
LIB_SOURCES := $(filter-out impl/cli/main.c,$(SOURCES))
HEADERS := $(shell find impl -name '*.h')

BUILD := build
ASAN_BUILD := build-asan
OBJECTS := $(SOURCES:%.c=$(BUILD)/obj/%.o)
ASAN_OBJECTS := $(SOURCES:%.c=$(ASAN_BUILD)/obj/%.o)
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

DEB_PACKAGES := gcc make zlib1g-dev libzstd-dev libbz2-dev libisal-dev libssl-dev nettle-dev cryptsetup-bin python3-cryptography libcmocka-dev python3 python3-pytest clang \
	libclang-rt-14-dev afl++ strace qemu-utils bzip2 time

.PHONY: all deps asan check unit iotests golden fuzz afl fuzz-replay fuzz-smoke bench clean demo difftest crash-check

all: deps $(BUILD)/qemu-img $(BUILD)/qimg-io

# Installs what is missing as Debian packages (as root), or says which apt-get line to run.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "make deps: installing$$missing"; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "make deps: missing packages; run: sudo apt-get install -y$$missing"; exit 1; \
		fi; \
	fi

$(BUILD)/obj/%.o: %.c $(HEADERS) | deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(CFLAGS) -c $< -o $@

$(BUILD)/qemu-img: $(OBJECTS)
	$(CC) $(CFLAGS) -o $@ $(OBJECTS) $(LIBS)

# qimg-io: the test tool that writes and verifies patterns through the block layer.
$(BUILD)/qimg-io: $(BUILD)/obj/tools/io/qimg_io.o $(LIB_SOURCES:%.c=$(BUILD)/obj/%.o)
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

asan: deps $(ASAN_BUILD)/qemu-img

$(ASAN_BUILD)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_BASE) $(ASAN_FLAGS) -c $< -o $@

$(ASAN_BUILD)/qemu-img: $(ASAN_OBJECTS)
	$(CC) $(ASAN_FLAGS) -o $@ $(ASAN_OBJECTS) $(LIBS)

# A real job on the sample image the repository ships.
demo: all
	@sh ci/demo.sh

-include iotests/unit/unit.mk
-include fuzz/fuzz.mk

# Every test: cmocka units, iotests, the golden transcripts, the fuzz corpus replay.
check: all
	@python3 ci/check.py

golden: all
	@python3 golden/run.py --qemu-img $(BUILD)/qemu-img $(if $(ONLY),--only '$(ONLY)') $(if $(GROUP),--group '$(GROUP)') -j 2

iotests: all
	@/usr/bin/python3 -m pytest -q -p no:cacheprovider iotests

bench: all
	@python3 ci/bench.py

# Crash consistency: every in-place command killed at each of its writes, flushes and truncates
# (CRASH_FLAGS=--sample N for a sample; not part of make check, which runs iotests/test_writeback_crash.py).
CRASH_FLAGS ?= --all
crash-check: all
	@python3 tools/crash/crash_sweep.py $(CRASH_FLAGS)

# Differential sweep against upstream qemu-img 10.2 (not part of make check; skips without an oracle).
ORACLE ?= ../shared/oracle/qemu-img
SEED ?= 1
COUNT ?= 2000
FORMATS ?= raw,qcow2
difftest: all
	@python3 tools/difftest/difftest.py --oracle '$(ORACLE)' --qemu-img $(BUILD)/qemu-img --seed $(SEED) \
		--count $(COUNT) --formats '$(FORMATS)' -j 2 $(if $(COMMAND),--command $(COMMAND))

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz build-afl build-unit build-replay
