# Huiying — the two commands: `make run` and `make test`. Both do all set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Local demo only: `make run` serves with this admin token unless you set your own.
HUIYING_ADMIN_TOKEN ?= demo-admin-token
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: install run serve migrate demo test lint typecheck pytest pytest-pg bench clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

migrate: install
	mkdir -p var
	$(VENV)/bin/huiying migrate

demo: migrate
	$(VENV)/bin/huiying demo

run: demo
	@echo "Huiying: http://$(HOST):$(PORT)/docs  (admin token: $(HUIYING_ADMIN_TOKEN))"
	HUIYING_ADMIN_TOKEN=$(HUIYING_ADMIN_TOKEN) $(VENV)/bin/huiying serve --host $(HOST) --port $(PORT)

lint: install
	$(VENV)/bin/ruff check app connectors kb scripts tests migrations
	$(VENV)/bin/ruff format --check app connectors kb scripts tests
	$(VENV)/bin/mypy app connectors kb

# pytest exits 5 when it collected no test; make treats any non-zero exit as a failure.
pytest: install
	$(PY) -m pytest

pytest-pg: install
	HUIYING_TEST_DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest

test: lint pytest
	@if [ "$$HUIYING_TEST_PG" = "1" ]; then $(MAKE) pytest-pg; else echo "PostgreSQL leg skipped (set HUIYING_TEST_PG=1)"; fi

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
