# `make test` and `make demo` set everything up on a fresh machine with nothing but Python.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# CPU torch first: a plain `torch` requirement would otherwise pull a CUDA build of several GB.
TORCH := torch==2.13.0
# The rest through uv: the same versions as pip resolves (checked with a freeze of each), in
# 30 s instead of 106 s here. uv keeps the torch pip installed, which satisfies every range.
# --compile-bytecode, as pip does: where PYTHONDONTWRITEBYTECODE is set (this machine), nothing
# would cache the .pyc files and every process of every run would compile verl again.
UV := "uv>=0.13,<0.14"
UV_INSTALL := $(BIN)/python -m uv pip install --python $(BIN)/python --quiet --compile-bytecode

.PHONY: setup test demo clean

setup: $(STAMP)

$(STAMP): pyproject.toml setup.py Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH) $(UV)
	$(UV_INSTALL) -e ".[test,offline]"
	$(UV_INSTALL) --upgrade --no-deps --target $(VENV)/oracle rewardbench==0.1.4
	touch $(STAMP)

# tests/ and every docstring example in the package folders (pyproject.toml: --doctest-modules).
# Two workers (pytest-xdist); each test module, with its module-scoped main_ppo runs, stays on one.
# Modules go out longest first (conftest.py orders them by their slow(seconds=N) marks;
# --no-loadscope-reorder keeps xdist from reordering them by their number of tests).
# One torch thread per worker (OMP_NUM_THREADS=1): with two, the workers' threads fight over the
# two cores (a fixture's training took 32 s beside a busy core with 2 threads, 17 s with 1).
# The suite has a time budget (15 minutes with installs on 2 cores): the 25 slowest are printed.
test: $(STAMP)
	HF_HUB_OFFLINE=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2 --dist loadscope --no-loadscope-reorder --durations=25 tests thinkj_verl reward_fns

demo: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m thinkj_verl.demo

clean:
	rm -rf $(VENV)
