# The README's two commands: `make run` and `make test`. Both are idempotent.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# torch 2.13.0: a CPU wheel on the CI machines, CUDA wheels on a workstation's PyPI.
TORCH ?= torch==2.13.0
MODEL ?= efficientnet-lite0
WEIGHTS ?= imagenet
# Images (files or folders) the console opens in its Classify pane: the shared folder beside the checkout where
# there is one, else none (the console opens on the Server pane). `make run IMAGES=DIR` gives others.
IMAGES ?= $(wildcard ../shared/images)
# More of the console's command line, before the images: `make run ARGS='-u 127.0.0.1:8301'` starts the managed
# server on that address instead of 8001 (on a shared machine where 8001 is someone else's).
ARGS ?=

.PHONY: venv run test lint bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH)" -e ".[build,server,dev]"
	touch $(STAMP)

venv: $(STAMP)

run: venv
	$(VENV)/bin/triton-console build --model $(MODEL) --weights $(WEIGHTS) --if-missing
	$(VENV)/bin/triton-console build --model $(MODEL) --weights $(WEIGHTS) --layout fused --if-missing
	@test -n "$(strip $(IMAGES))" || echo "no ../shared/images: the console opens on the Server pane (make run IMAGES=DIR)"
	$(VENV)/bin/triton-console --start $(strip $(ARGS) $(IMAGES))

test: venv
	$(VENV)/bin/ruff check triton_console tui build_tools model_repository tests benchmarks
	$(PY) -m tests.orphans record .pytest-before
	@# the unit tests among the server tests: alone they kept one of the two cores idle for 25 s
	$(VENV)/bin/pytest -q -n 3 --dist loadfile -m 'not timing' --durations=12
	$(VENV)/bin/pytest -q -m timing --ignore=tests/unit
	$(PY) -m tests.orphans check .pytest-before

bench: venv
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) build .pytest_cache .ruff_cache
