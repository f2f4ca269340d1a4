# Every target installs what it needs into .venv, so a fresh clone works.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A CPU wheel of this version lies on local disk here; override for other machines,
# e.g. `make test TORCH_SPEC='torch>=2.1'`.
TORCH_SPEC ?= torch==2.13.0
PYTEST_ARGS ?=

.PHONY: demo test test-slow lint format bench docs docs-serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-core: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-core
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

$(VENV)/.installed-docs: $(VENV)/.installed-core
	$(BIN)/pip install --quiet -e ".[docs]"
	touch $@

demo: $(VENV)/.installed-core
	$(BIN)/python -m skbayes.demo

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

test-slow: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The tutorial page's figures and tables are drawn by a script (about 30 s on
# one CPU core), then the site is built; --strict fails on any broken link,
# missing figure or docstring that does not parse.
docs: $(VENV)/.installed-docs
	OMP_NUM_THREADS=1 $(BIN)/python docs/scripts/make_figures.py
	$(BIN)/python benchmarks/sbc.py --plot benchmarks/results/sbc.json docs/figures
	$(BIN)/mkdocs build --strict

docs-serve: docs
	$(BIN)/mkdocs serve

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache site docs/figures
