# irsa-webhook: `make run` (dev mode) and `make test` (the whole suite) are the quick start.
SHELL := /bin/bash
SWIFT ?= swift
# Debian packages the build and the tests need; installed when missing (as root).
DEB_PACKAGES := pkg-config libssl-dev libsystemd-dev openssl curl python3 systemd shellcheck
BENCH_PACKAGES := wrk nginx-light

.PHONY: deps python-deps build release run test clean

deps:
	@missing=""; for p in $(DEB_PACKAGES) $(EXTRA_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing (run as root, or: sudo apt-get install$$missing)"; exit 1; \
	  fi; \
	fi

# Python tools some tests use (Kubernetes schema validation, the sslyze TLS scan); installed when missing.
PIP_PACKAGES := kubernetes-validate sslyze
python-deps:
	@for p in $(PIP_PACKAGES); do \
	  command -v $$p >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check $$p \
	    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages $$p; \
	done

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

run: release
	.build/release/irsa-webhook --dev

test: deps python-deps
	$(SWIFT) build --build-tests
	# Serially: the suites time real sockets, processes and timeouts, and on a 2-core machine
	# suites blocking in child processes starve each other's timers when run side by side.
	$(SWIFT) test --skip-build --no-parallel

clean:
	rm -rf .build

# Benchmarks against nginx (ceiling) and the Go reference webhook: Benchmarks/bench.sh, results in
# Benchmarks/results/latest.md. BENCH_DURATION=10s by default; bench-full adds the sweeps.
.PHONY: bench bench-full
bench bench-full: EXTRA_PACKAGES = $(BENCH_PACKAGES)
bench: deps
	Benchmarks/bench.sh quick

bench-full: deps
	Benchmarks/bench.sh full

# Soak (not in CI): open loop at half the measured peak for SOAK_DURATION (default 10m); passes when
# RSS grows < 5% after warm-up, nothing fails and p99 stays stable. Benchmarks/soak.sh, results in
# Benchmarks/results/soak.md.
.PHONY: soak
soak: deps
	Benchmarks/soak.sh

# Microbenchmarks without a network (Benchmarks/Micro, a package of its own): ns and heap allocations
# per operation for decode + patch + encode of the 4.8 KB Deployment pod and a 1 MB pod, and the
# HTTP request-head parser. Results in Benchmarks/results/micro.md.
.PHONY: bench-micro
bench-micro: deps
	Benchmarks/Micro/run.sh
