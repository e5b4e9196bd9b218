# The two commands a newcomer runs: `make study` (main job) and `make test`.
# Both first install the Debian packages below (BLAS, LAPACK, HDF5, Slurm, Chromium for the report's browser test), and only when they are missing.

SHELL        := /bin/bash
SWIFT        ?= swift
APT_PACKAGES := libopenblas-dev liblapacke-dev libhdf5-dev pkg-config slurm-wlm munge chromium
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE_BIN  := .build/release/workbench
STUDY        ?= studies/quickstart.yaml

.PHONY: deps build release study test fuzz bench references clean

deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# The main job: the quickstart study (results and a summary table; resumes if interrupted).
study: release
	$(RELEASE_BIN) run $(STUDY)

# XCTest reports "Executed 0 tests" (every test is Swift Testing); the last line restates
# Swift Testing's count in the plain "N passed, N failed" form.
# The real model and texts are fetched (once, cached, SHA-256 checked) before the tests, never
# by them: the tests run with WORKBENCH_OFFLINE set and skip what is not in the cache.
test: deps
	@mkdir -p .build
	@$(SWIFT) build --build-tests
	@.build/debug/workbench fetch --all >/dev/null || echo "test: could not fetch the real model and texts; the tests that need them are skipped"
	@set -o pipefail; WORKBENCH_OFFLINE=1 $(SWIFT) test --skip-build 2>&1 | tee .build/test.log; status=$$?; \
	passed=$$(grep -oE 'Test run with [0-9]+ tests? in [0-9]+ suites? passed' .build/test.log | grep -oE '[0-9]+' | head -1); \
	failed=$$(grep -oE 'with [0-9]+ issues?' .build/test.log | tail -1 | grep -oE '[0-9]+'); \
	if [ $$status -eq 0 ]; then echo "test: $${passed:-0} passed, 0 failed"; \
	else echo "test: swift test failed ($${failed:-?} issues)"; fi; exit $$status

# The fuzz harness at length (`make test` runs 640 cases): FUZZ_CASES per input kind, a new
# campaign seed each time unless FUZZ_SEED is given. Failing cases are kept in .build/fuzz-failures/.
FUZZ_CASES ?= 2000
FUZZ_SEED  ?= $(shell date +%s)
fuzz: deps
	@$(SWIFT) build --build-tests
	@echo "fuzz: $(FUZZ_CASES) cases per kind, seed $(FUZZ_SEED)"
	@WORKBENCH_FUZZ_CASES=$(FUZZ_CASES) WORKBENCH_FUZZ_SEED=$(FUZZ_SEED) $(SWIFT) test --skip-build --filter FuzzTests 2>&1 | grep -E '^fuzz|case [0-9]+|passed|failed'

# stdout carries only the JSON lines (`make bench > figures.jsonl`); the build and the table go to stderr.
bench:
	@$(MAKE) --no-print-directory release >&2
	@$(RELEASE_BIN) bench

# What researchers would run instead (PyTorch + peft + bitsandbytes, scipy), measured on this
# machine into bench/references.json for bench's "vs ref" column. Needs (pip): torch==2.15.0
# peft==0.21.2 bitsandbytes==0.50.2 scipy threadpoolctl. Takes both cores for about 10 minutes.
references:
	python3 scripts/bench_pytorch.py

clean:
	rm -rf .build
