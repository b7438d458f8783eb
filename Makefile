# llmft: every set-up step is here, so a fresh Debian 12/13 machine needs only `make quickstart` or
# `make test`. Variables: BUILD (build dir), BUILD_TYPE, JOBS, CMAKE_ARGS (extra -D options).
BUILD ?= build
BUILD_TYPE ?= Release
JOBS ?= $(shell nproc)
CMAKE_ARGS ?=
CTEST_ARGS ?=

.PHONY: all deps configure build test quickstart sanitize clean

all: build

deps:
	bash scripts/install-deps.sh

configure: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_ARGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

quickstart: build
	bash scripts/quickstart.sh $(BUILD)

# One clang build (SAN_BUILD) with AddressSanitizer, UndefinedBehaviorSanitizer and LeakSanitizer:
# the whole test suite under them, then every libFuzzer target for FUZZ_SECONDS (scripts/sanitize.sh).
SAN_BUILD ?= build-san
FUZZ_SECONDS ?= 30
sanitize: deps
	bash scripts/sanitize.sh $(SAN_BUILD) $(FUZZ_SECONDS) $(JOBS)

clean:
	rm -rf $(BUILD) $(SAN_BUILD)
