# envoy-fuzz: `make fuzz` and `make test` set everything up themselves on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
TIME ?= 120
PYTEST_ARGS ?=

.PHONY: setup setup-browser fuzz test test-all bench soak lint protos clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[dev]'
	@# bytecode for our own sources, as pip writes it for installed packages (an editable
	@# install gets none): start-up then does not depend on PYTHONDONTWRITEBYTECODE
	@$(PY) -m compileall -q harness fuzzers bench > /dev/null
	@touch $@

setup: $(STAMP)

setup-browser:  ## Debian's chromium, for the test that renders the campaign report headless
	@command -v chromium > /dev/null || { apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }

fuzz: setup  ## a short campaign over every in-process target, ending with a summary table
	$(VENV)/bin/envoy-fuzz campaign --time $(TIME)

test: setup  ## unit, property and corpus-regression tests (what CI runs)
	$(PY) -m pytest $(PYTEST_ARGS)

test-all: setup  ## the tests above plus the extended ones (long builds and runs)
	$(PY) -m pytest -m ''

bench: setup  ## exec/s and throughput figures, written to bench/RESULTS.md
	$(PY) -m bench

soak: setup  ## 30 min of campaign + h1_capture --differential with faults injected (MINUTES=N); table into bench/RESULTS.md
	$(PY) -m bench.soak --minutes $(or $(MINUTES),30) --results

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

protos: setup  ## regenerate harness/proto/*_pb2.py after editing a .proto
	$(PY) -m harness.proto.build

clean:
	rm -rf .envoy-fuzz artifacts .pytest_cache .mypy_cache .ruff_cache
