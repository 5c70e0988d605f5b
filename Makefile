# The two entry points of the README: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
export PATH := $(HOME)/.cache/ebbtide/go-1.26.8/bin:$(PATH)

.PHONY: demo test unit e2e kind-test kind-suite kind-images kind-node-image lint bootstrap crds bench clean-clusters

bootstrap:
	@scripts/bootstrap.sh

# The demo on a local cluster named `demo`, left running afterwards (see README, "The demo").
# Options through DEMO_ARGS, e.g. make demo DEMO_ARGS="--duration 2m --down".
DEMO_ARGS ?=
demo: bootstrap
	.venv/bin/ebbtide demo $(DEMO_ARGS)

# All tests: unit and end-to-end on the real local cluster, then the kind suite on a kind cluster
# with real nodes (see kind-test). The images are built (or found cached) first; both suites run
# even when the first fails, and the run fails if either does. A skip, an empty run or a run
# without e2e tests fails (EBBTIDE_STRICT_TESTS).
test: bootstrap
	@$(MAKE) --no-print-directory -j2 kind-images kind-node-image
	@status=0; \
	EBBTIDE_STRICT_TESTS=1 .venv/bin/pytest || status=$$?; \
	$(MAKE) --no-print-directory kind-suite || status=$$?; \
	exit $$status

unit: bootstrap
	.venv/bin/pytest -m unit

e2e: bootstrap
	EBBTIDE_STRICT_TESTS=1 .venv/bin/pytest -m e2e

# The kind suite (tests/kind): ebbtide's image and Helm chart on a kind cluster with real nodes, all
# images built here (`ebbtide kind images`, `ebbtide kind image`). The cluster is deleted at the end
# unless EBBTIDE_KEEP_CLUSTER=1; EBBTIDE_KIND_CLUSTER_NAME names it (default ebbtide-test).
kind-test: bootstrap
	@$(MAKE) --no-print-directory -j2 kind-images kind-node-image
	@$(MAKE) --no-print-directory kind-suite

kind-suite:
	EBBTIDE_STRICT_TESTS=1 EBBTIDE_TEST_CLUSTER=kind .venv/bin/pytest tests/kind

# The two builds run side by side: debootstrap and pip wait on the network while Go compiles.
kind-images:
	.venv/bin/ebbtide kind images

kind-node-image:
	.venv/bin/ebbtide kind image

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/lint-imports

crds: bootstrap
	.venv/bin/ebbtide crds

# Every benchmark in bench/, one after the other; each prints its figures and writes JSON to
# bench/results/ (created when missing). The cluster benchmarks start a local cluster of their own.
# One or a few: make bench BENCH="queue_policies queue_planner_speed" BENCH_ARGS="--repeats 3".
BENCH ?= queue_planner_speed queue_policies backtest_traces extender_latency extender_watch admission_throughput \
	operator_cost operator_startup scheduler_throughput planner_cost
BENCH_ARGS ?=
bench: bootstrap
	@set -e; for name in $(BENCH); do \
	  echo "==> bench/$$name.py"; .venv/bin/python bench/$$name.py $(BENCH_ARGS); \
	done

clean-clusters:
	-.venv/bin/ebbtide dev down --name test
	-.venv/bin/ebbtide dev down --name dev
	-.venv/bin/ebbtide dev down --name demo
