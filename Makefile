# The README's two commands, `make demo` and `make test`, set everything up on a
# fresh machine: a virtualenv in .venv with the core and every plugin installed.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
PLUGINS := $(sort $(wildcard plugins/*))

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): $(BIN)/python pyproject.toml $(wildcard plugins/*/pyproject.toml)
	@echo "Installing fieldlink and its $(words $(PLUGINS)) plugins into $(VENV) (a minute or two, once)..."
	$(BIN)/python -m pip install --quiet --disable-pip-version-check \
		-e '.[dev]' $(foreach plugin,$(PLUGINS),-e $(plugin))
	touch $@

demo: $(INSTALLED)
	$(BIN)/fieldlink demo

test: $(INSTALLED)
	$(BIN)/python -m pytest

lint: $(INSTALLED)
	$(BIN)/ruff check core plugins tests benchmarks
	$(BIN)/mypy

bench: $(INSTALLED)
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) build dist
