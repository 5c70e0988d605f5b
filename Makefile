# The two entry points of the README: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
export PATH := $(HOME)/.cache/ebbtide/go-1.26.8/bin:$(PATH)

.PHONY: demo test unit e2e lint bootstrap crds clean-clusters

bootstrap:
	@scripts/bootstrap.sh

# The demo on a local cluster named `demo`, left running afterwards (see README, "The demo").
# Options through DEMO_ARGS, e.g. make demo DEMO_ARGS="--duration 2m --down".
DEMO_ARGS ?=
demo: bootstrap
	.venv/bin/ebbtide demo $(DEMO_ARGS)

# All tests, unit and end-to-end, on the real local cluster. A skip, an empty run or a run without
# e2e tests fails (EBBTIDE_STRICT_TESTS).
test: bootstrap
	EBBTIDE_STRICT_TESTS=1 .venv/bin/pytest

unit: bootstrap
	.venv/bin/pytest -m unit

e2e: bootstrap
	EBBTIDE_STRICT_TESTS=1 .venv/bin/pytest -m e2e

lint: bootstrap
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy
	.venv/bin/lint-imports

crds: bootstrap
	.venv/bin/ebbtide crds

clean-clusters:
	-.venv/bin/ebbtide dev down --name test
	-.venv/bin/ebbtide dev down --name dev
	-.venv/bin/ebbtide dev down --name demo
