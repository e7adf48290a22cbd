# Convenience wrapper: `make` builds build/bin/llmq and the library.
BUILD ?= build
JOBS ?= $(shell nproc)

.PHONY: all test asan clean
all:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS)
	cmake --build $(BUILD) -j $(JOBS)

test: all
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

asan:
	$(MAKE) BUILD=build-asan CMAKE_ARGS="-DLLMQ_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug" all

clean:
	rm -rf build build-asan build-emu512
