# The two commands: `make run` (the whole stack, Ctrl-C stops it) and `make test`.
SHELL := /bin/bash
VENV := .venv
PYTHON ?= $(shell command -v python3.11 || command -v python3)

.PHONY: run test lint typecheck pytest system-packages clean

run: $(VENV)/.installed
	$(VENV)/bin/hotspot run

test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

system-packages:
	@scripts/install-system-packages

$(VENV)/.installed: pyproject.toml | system-packages
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) .hotspot .mypy_cache .ruff_cache .pytest_cache
