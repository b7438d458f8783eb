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

# AddressSanitizer + UndefinedBehaviorSanitizer build and test run, in its own build directory.
sanitize:
	$(MAKE) test BUILD=build-asan BUILD_TYPE=RelWithDebInfo CMAKE_ARGS="-DLLMFT_SANITIZE=ON $(CMAKE_ARGS)"

clean:
	rm -rf $(BUILD) build-asan
