# Agent Academy development commands. A new machine needs only Python 3.11 and pip.
#   make demo    train the Balance Ball example headless and write out/ (from issue 4 on)
#   make test    the test suite (fast: slow training runs excluded)
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
VENV45 := .venv45
PY := $(VENV)/bin/python
PY45 := $(VENV45)/bin/python
STAMP := $(VENV)/.installed
STAMP45 := $(VENV45)/.installed
BPY_LTS := 4.5.15
PYTEST_ARGS ?=

.PHONY: demo venv venv-lts test test-slow test-all test-lts test-cpu-levels lint format build bench clean

venv: $(STAMP)
venv-lts: $(STAMP45)

$(STAMP): constraints.txt requirements-dev.txt
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] == (3, 11), f"Python 3.11 is needed for bpy, found {sys.version.split()[0]} (set PYTHON=...)"'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -r requirements-dev.txt
	touch $@

# Blender 4.5 LTS: the same constraints with bpy pinned to the LTS instead.
$(STAMP45): constraints.txt requirements-dev.txt
	test -x $(PY45) || $(PYTHON) -m venv $(VENV45)
	$(PY45) -m pip install --quiet --upgrade pip
	grep -v '^bpy==' constraints.txt > $(VENV45)/constraints.txt
	$(PY45) -m pip install --quiet -c $(VENV45)/constraints.txt bpy==$(BPY_LTS) -r requirements-dev.txt
	touch $@

# Build Balance Ball, train it headless with PPO, bake it, render it; results in out/.
demo: $(STAMP)
	./academy demo --out out

test: $(STAMP)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

test-all: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

# torch's CPU kernels differ per CPU level: the training suite must pass at each one.
CPU_LEVELS ?= default avx2 avx512
test-cpu-levels: $(STAMP)
	for level in $(CPU_LEVELS); do echo "== ATEN_CPU_CAPABILITY=$$level"; \
		ATEN_CPU_CAPABILITY=$$level $(PY) -m pytest -m "not slow" -q tests/training $(PYTEST_ARGS) || exit 1; done

test-lts: $(STAMP45)
	$(PY45) -m pytest -m "lts and not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

build: $(STAMP)
	$(PY) -m devtools.build --out dist

bench: $(STAMP)
	$(PY) -m devtools.bench

clean:
	rm -rf dist out .pytest_cache .ruff_cache
	find . -name __pycache__ -not -path './.venv*' -prune -exec rm -rf {} +
