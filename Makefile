# The two commands a newcomer runs: `make study` (main job) and `make test`.
# Both first install Debian's three -dev packages, and only when they are missing.

SWIFT        ?= swift
APT_PACKAGES := libopenblas-dev liblapacke-dev libhdf5-dev pkg-config
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
RELEASE_BIN  := .build/release/workbench
STUDY        ?= studies/quickstart.yaml

.PHONY: deps build release study test bench clean

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

test: deps
	$(SWIFT) test

bench: release
	$(RELEASE_BIN) bench

clean:
	rm -rf .build
