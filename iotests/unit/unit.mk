# iotests/unit/unit.mk — builds and runs the cmocka unit tests of impl/util into build-unit/ (spec/architecture.md §Tests).
# Included by the top-level Makefile; `make unit` builds every iotests/unit/test_*.c against the impl/util
# sources (compiled directly, nothing else of the product) and runs each binary; test_format_*.c link
# the whole product library instead.
UNIT_BUILD := build-unit
UNIT_TEST_SOURCES := $(sort $(wildcard iotests/unit/test_*.c))
UNIT_UTIL_SOURCES := $(sort $(wildcard impl/util/*.c))
UNIT_UTIL_HEADERS := $(wildcard impl/util/*.h)
UNIT_UTIL_OBJECTS := $(UNIT_UTIL_SOURCES:impl/util/%.c=$(UNIT_BUILD)/util/%.o)
UNIT_BINARIES := $(UNIT_TEST_SOURCES:iotests/unit/%.c=$(UNIT_BUILD)/%)
# Everything is built with ASan and UBSan, so that a unit test also catches overflows, leaks and
# undefined behaviour in the code it drives.
UNIT_SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
UNIT_CFLAGS := -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Wall -Wextra -Werror -O1 -g $(UNIT_SANITIZE)
# The product's own sources keep the product's warning set (the Makefile's CFLAGS_BASE).
UNIT_UTIL_CFLAGS := -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -Wall -Wextra -Werror -Wno-unused-parameter -O1 -g \
	$(UNIT_SANITIZE)
UNIT_LIBS := -lcmocka -lm

$(UNIT_BUILD)/util/%.o: impl/util/%.c $(UNIT_UTIL_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_UTIL_CFLAGS) -c $< -o $@

$(UNIT_BUILD)/test_%: iotests/unit/test_%.c $(UNIT_UTIL_OBJECTS) $(UNIT_UTIL_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -Iimpl/util -o $@ $< $(UNIT_UTIL_OBJECTS) $(UNIT_LIBS)

# Tests named test_format_*.c drive the format toolkit and drivers: they link the whole product
# library, built with the same sanitizers (the ASan objects of the Makefile).
UNIT_LIBRARY_OBJECTS := $(LIB_SOURCES:%.c=$(ASAN_BUILD)/obj/%.o)

$(UNIT_BUILD)/test_format_%: iotests/unit/test_format_%.c $(UNIT_LIBRARY_OBJECTS) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -Iimpl -Iimpl/util -o $@ $< $(UNIT_LIBRARY_OBJECTS) $(UNIT_LIBS) $(LIBS)

# Tests named test_crypto_*.c drive impl/crypto/: they link the product library as the format tests do.
$(UNIT_BUILD)/test_crypto_%: iotests/unit/test_crypto_%.c $(UNIT_LIBRARY_OBJECTS) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -Iimpl -Iimpl/util -o $@ $< $(UNIT_LIBRARY_OBJECTS) $(UNIT_LIBS) $(LIBS)

# Runs every test binary (all of them, even after a failure) and fails when any failed.
unit: $(UNIT_BINARIES)
	@status=0; for t in $(UNIT_BINARIES); do echo "== $$t"; ./$$t || status=1; done; exit $$status
