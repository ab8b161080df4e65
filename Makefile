# The two commands: `make run` (the whole stack, Ctrl-C stops it) and `make test`.
SHELL := /bin/bash
VENV := .venv
PYTHON ?= $(shell command -v python3.11 || command -v python3)

.PHONY: run test fuzz lint typecheck pytest system-packages clean deploy-init

run: $(VENV)/.installed
	$(VENV)/bin/hotspot run

test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

# Schemathesis against the real stack, many more examples than `make test` and a new seed each
# time (the seed is printed; FUZZ_SEED=N repeats a run).
FUZZ_EXAMPLES ?= 1000
FUZZ_SEED ?= $(shell date +%s)
fuzz: $(VENV)/.installed
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) \
		$(VENV)/bin/pytest tests/test_fuzz.py -s -p no:cacheprovider --timeout=0

# The Docker Compose deployment's docker/.env and docker/hotspot.env, secrets generated; only
# missing keys are added. `make deploy-init DOMAIN=wifi.example.com`, or SANDBOX=1 (offline trial).
deploy-init: $(VENV)/.installed
	$(VENV)/bin/hotspot deploy init $(if $(SANDBOX),--sandbox) $(if $(DOMAIN),--domain $(DOMAIN))

system-packages:
	@scripts/install-system-packages

$(VENV)/.installed: pyproject.toml | system-packages
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) .hotspot .mypy_cache .ruff_cache .pytest_cache
