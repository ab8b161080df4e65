# The two commands: `make run` (the whole stack, Ctrl-C stops it) and `make test`.
SHELL := /bin/bash
VENV := .venv
PYTHON ?= $(shell command -v python3.11 || command -v python3)

.PHONY: run test test-unit test-integration test-e2e test-deploy fuzz lint typecheck pytest \
	system-packages clean lock messages \
	deploy-init deploy-up deploy-down deploy-backup deploy-restore

run: $(VENV)/.installed
	$(VENV)/bin/hotspot run

test: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest --ignore=tests/deploy

# One tier of `make test`'s tests, without the linters: unit runs in seconds and starts nothing;
# integration starts PostgreSQL and Redis; e2e adds FreeRADIUS, Chromium and our processes.
test-unit: $(VENV)/.installed
	$(VENV)/bin/pytest tests/unit
test-integration: $(VENV)/.installed
	$(VENV)/bin/pytest tests/integration
test-e2e: $(VENV)/.installed
	$(VENV)/bin/pytest tests/e2e

# The production deployment (docker/compose.yaml) built, started, crashed, scaled, backed up and
# restored on this machine, offline; installs and starts Docker where it is missing.
test-deploy: $(VENV)/.installed
	scripts/install-docker
	$(VENV)/bin/pytest tests/deploy -p no:cacheprovider --timeout=1800

# The deployment, needing only Docker (every hotspot command runs in the app image); docs/deploy.md.
# DOMAIN=hotspot.example.com for production; without it, the offline trial (sandbox gateways).
deploy-init:
	docker/deploy init $(if $(DOMAIN),--domain $(DOMAIN),--sandbox)
deploy-up:
	docker/deploy up
deploy-down:
	docker/deploy down
deploy-backup:
	docker/deploy backup
deploy-restore:
	docker/deploy restore $(FILE)

# Schemathesis against the real stack, many more examples than `make test` and a new seed each
# time (the seed is printed; FUZZ_SEED=N repeats a run).
FUZZ_EXAMPLES ?= 1000
FUZZ_SEED ?= $(shell date +%s)
fuzz: $(VENV)/.installed
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) \
		$(VENV)/bin/pytest tests/e2e/test_fuzz.py -s -p no:cacheprovider --timeout=0

system-packages:
	@scripts/install-system-packages

# Exactly the versions in the lock files (the images install requirements.lock too); the project
# itself editable, so the checkout is what runs.
$(VENV)/.installed: pyproject.toml requirements.lock requirements-dev.lock | system-packages
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --require-hashes -r requirements-dev.lock
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

# Re-resolves both lock files from pyproject.toml (newest versions its ranges allow); the dev
# lock is constrained by the application's, so tests run what the images install.
UV_COMPILE = $(VENV)/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes
lock: $(VENV)/.installed
	$(UV_COMPILE) --upgrade pyproject.toml -o requirements.lock
	$(UV_COMPILE) --upgrade --extra dev -c requirements.lock pyproject.toml -o requirements-dev.lock

# The portal's catalogs: new and changed messages of hotspot/web/portal_text.py into each
# language's messages.po (translate them there), then the .mo files the app reads (committed;
# tests/unit/test_translations.py checks they match).
CATALOGS := hotspot/web/translations
messages: $(VENV)/.installed
	$(VENV)/bin/pybabel extract --no-location --omit-header -k N_ -F hotspot/web/babel.cfg \
		-o $(CATALOGS)/messages.pot .
	$(VENV)/bin/pybabel update --no-fuzzy-matching --ignore-obsolete -w 100 \
		-i $(CATALOGS)/messages.pot -d $(CATALOGS)
	$(VENV)/bin/pybabel compile -d $(CATALOGS)
	rm $(CATALOGS)/messages.pot

clean:
	rm -rf $(VENV) .hotspot .mypy_cache .ruff_cache .pytest_cache
