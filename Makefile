# irsa-webhook: `make run` (dev mode) and `make test` (the whole suite) are the quick start.
SHELL := /bin/bash
SWIFT ?= swift
# Debian packages the build and the tests need; installed when missing (as root).
DEB_PACKAGES := pkg-config libssl-dev libsystemd-dev openssl curl python3 systemd shellcheck
BENCH_PACKAGES := wrk nginx-light strace

.PHONY: deps python-deps build release run test sanitize sanitize-leaks clean

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

# Python tools some tests use (Kubernetes schema validation, the sslyze TLS scan, cel-python to
# evaluate the narrowing condition's CEL); installed when missing.
PIP_PACKAGES := kubernetes-validate sslyze cel-python
python-deps:
	@for p in $(PIP_PACKAGES); do \
	  command -v $$p >/dev/null 2>&1 || python3 -m pip show -q $$p >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check $$p \
	    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages $$p; \
	done

build: deps
	$(SWIFT) build

# Release builds link the Swift runtime and Foundation statically, as deploy/Dockerfile does: the
# binary then needs only libc, OpenSSL and libsystemd, and maps about 5 MB less (RSS idle ~27 MB).
RELEASE_FLAGS := -c release --static-swift-stdlib
release: deps
	$(SWIFT) build $(RELEASE_FLAGS)

run: release
	.build/release/irsa-webhook --dev

test: deps python-deps
	$(SWIFT) build --build-tests
	# Serially: the suites time real sockets, processes and timeouts, and on a 2-core machine
	# suites blocking in child processes starve each other's timers when run side by side.
	# The log is kept, and on failure its failed tests and recorded issues are printed again last,
	# so the end of a long CI log names what failed.
	set -o pipefail; $(SWIFT) test --skip-build --no-parallel 2>&1 | tee .build/test.log \
	  || { echo "--- failures (from .build/test.log) ---"; grep -E '✘|error:|fatal|Fatal' .build/test.log | grep -v ' passed after' | tail -60; exit 1; }

# EventLoopTests and AdmissionTests under ThreadSanitizer, then AddressSanitizer, each in its own
# scratch path so the debug build stays; a TSan report fails the run (halt_on_error; the one
# suppression, a Swift runtime false positive, is explained in Tests/Sanitizers/tsan.supp). The
# IntegrationTests run too: they start the sanitized irsa-webhook next to the test bundle, where a
# report aborts the server and fails the tests that check its exit status. LeakSanitizer
# is off for the suites (it flags the test runners' and Foundation's own allocations); instead the
# ASan build of the server serves reviews and bad input, then SIGTERM, and any leak report fails
# (Tests/Sanitizers/leak-check.sh; alone: `make sanitize-leaks`).
SANITIZE_FILTER := --filter '^(EventLoopTests|AdmissionTests|IntegrationTests)\.'
sanitize: deps python-deps
	$(SWIFT) build --build-tests --sanitize=thread --scratch-path .build-tsan
	TSAN_OPTIONS="halt_on_error=1 suppressions=$(CURDIR)/Tests/Sanitizers/tsan.supp" $(SWIFT) test --skip-build --sanitize=thread --scratch-path .build-tsan \
	  --no-parallel $(SANITIZE_FILTER)
	$(SWIFT) build --build-tests --sanitize=address --scratch-path .build-asan
	ASAN_OPTIONS=detect_leaks=0 $(SWIFT) test --skip-build --sanitize=address --scratch-path .build-asan \
	  --no-parallel $(SANITIZE_FILTER)
	Tests/Sanitizers/leak-check.sh .build-asan/debug/irsa-webhook

sanitize-leaks: deps
	$(SWIFT) build --product irsa-webhook --sanitize=address --scratch-path .build-asan
	Tests/Sanitizers/leak-check.sh .build-asan/debug/irsa-webhook

clean:
	rm -rf .build .build-tsan .build-asan .build-systemd

# The shipped unit under a real systemd (as root, not part of make test): boots a Debian bookworm
# root (debootstrapped once into .build-systemd/) with systemd-nspawn and checks socket activation,
# readiness, /healthz and /mutate on 8443, the watchdog, a quiet journal after 20 s idle, and stop.
.PHONY: systemd-check
systemd-check: release
	Tests/Systemd/systemd-check.sh .build/release/irsa-webhook

# Benchmarks against nginx (ceiling) and the Go reference webhook: Benchmarks/bench.sh, results in
# Benchmarks/results/latest.md. BENCH_DURATION=10s by default; bench-full adds the sweeps.
# bench-rates: only the realistic rates that `make bench` also runs (30 connections, open loop at
# 200/1,000/5,000 req/s and saturation; BENCH_RATE_DURATION=20s), in Benchmarks/results/rates.md.
.PHONY: bench bench-full bench-rates
bench bench-full bench-rates: EXTRA_PACKAGES = $(BENCH_PACKAGES)
bench: deps
	Benchmarks/bench.sh quick

bench-rates: deps
	Benchmarks/bench.sh rates

# Instructions per admission under valgrind (cachegrind): exact where CPU time is noisy, for
# comparing builds: `make bench-instructions BINARIES="old/irsa-webhook .build/release/irsa-webhook"`.
.PHONY: bench-instructions
bench-instructions: deps
	Benchmarks/instructions.sh $(BINARIES)

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

# Fuzzers (libFuzzer; Tests/Fuzz): builds them with -sanitize=fuzzer,address in their own
# package, then runs each for FUZZ_SECONDS on a scratch copy of its seeds and prints executions
# and coverage; fails on a crash, keeping the input. Not part of `make test`, which replays the
# seeds and regression inputs through the same harnesses (FuzzTests).
FUZZ_SECONDS ?= 60
FUZZ_CORPORA ?= http admission configuration
.PHONY: fuzz
fuzz: deps
	$(SWIFT) build --package-path Tests/Fuzz/Fuzzers --scratch-path .build/fuzz -c release -Xswiftc -sanitize=fuzzer,address
	Tests/Fuzz/run-fuzzers.sh $(FUZZ_SECONDS) $(FUZZ_CORPORA)
