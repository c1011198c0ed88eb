# fuzz.mk — fuzz targets: libFuzzer (make fuzz), AFL++ (make afl), the plain corpus replay under
# ASan+UBSan (make fuzz-replay, part of make check) and a timed smoke run (make fuzz-smoke)
# (spec/architecture.md §Fuzzing).
FUZZ_TARGETS := $(sort $(patsubst fuzz/fuzz_%.c,%,$(filter-out fuzz/fuzz_common.c fuzz/fuzz_replay.c,$(wildcard fuzz/fuzz_*.c))))
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
FUZZ_OBJECTS := $(LIB_SOURCES:%.c=build-fuzz/obj/%.o) build-fuzz/obj/fuzz/fuzz_common.o
AFL_OBJECTS := $(LIB_SOURCES:%.c=build-afl/obj/%.o) build-afl/obj/fuzz/fuzz_common.o
REPLAY_OBJECTS := $(LIB_SOURCES:%.c=$(ASAN_BUILD)/obj/%.o) $(ASAN_BUILD)/obj/fuzz/fuzz_common.o $(ASAN_BUILD)/obj/fuzz/fuzz_replay.o

.PHONY: fuzz afl fuzz-replay fuzz-smoke fuzz-corpus

build-fuzz/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	clang $(CFLAGS_BASE) $(FUZZ_FLAGS) -c $< -o $@

build-fuzz/fuzz_%: build-fuzz/obj/fuzz/fuzz_%.o $(FUZZ_OBJECTS)
	clang -fsanitize=fuzzer,address,undefined -o $@ $^ $(LIBS)

fuzz: deps $(FUZZ_TARGETS:%=build-fuzz/fuzz_%)

build-afl/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	AFL_QUIET=1 afl-clang-fast $(CFLAGS_BASE) -O1 -g -fsanitize=fuzzer-no-link -c $< -o $@

build-afl/fuzz_%: build-afl/obj/fuzz/fuzz_%.o $(AFL_OBJECTS)
	AFL_QUIET=1 afl-clang-fast -fsanitize=fuzzer -o $@ $^ $(LIBS)

afl: deps $(FUZZ_TARGETS:%=build-afl/fuzz_%)

build-replay/replay_%: $(ASAN_BUILD)/obj/fuzz/fuzz_%.o $(REPLAY_OBJECTS)
	@mkdir -p $(dir $@)
	$(CC) $(ASAN_FLAGS) -o $@ $^ $(LIBS)

# Replays every corpus (fuzz/corpus/<target>/) under ASan+UBSan; a crash fails the run.
fuzz-replay: $(FUZZ_TARGETS:%=build-replay/replay_%)
	@set -eo pipefail; for t in $(FUZZ_TARGETS); do \
		mkdir -p fuzz/corpus/$$t; \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
			build-replay/replay_$$t fuzz/corpus/$$t 2>&1 | sed "s/^/fuzz-replay $$t: /"; \
	done

# Writes the seed corpora with the project's own build/qemu-img.
fuzz-corpus: $(BUILD)/qemu-img
	python3 tools/fuzz_corpus.py --qemu-img $(BUILD)/qemu-img --out fuzz/corpus

fuzz-smoke: fuzz
	@set -e; for t in $(FUZZ_TARGETS); do \
		mkdir -p build-fuzz/corpus-$$t; \
		build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=1048576 -rss_limit_mb=2048 \
			-dict=fuzz/dict/$$t.dict build-fuzz/corpus-$$t fuzz/corpus/$$t; \
	done
