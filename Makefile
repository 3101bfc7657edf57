# Huiying — the two commands: `make run` and `make test`. Both do all set-up on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Local demo only: `make run` serves with this admin token unless you set your own.
HUIYING_ADMIN_TOKEN ?= demo-admin-token
# Demo mode (`make demo`, `make run`): the demo website account publishes to the built-in demo receiver
# at /demo/receiver on this same server; outbound calls may reach it on loopback (and nothing else there).
HUIYING_DEMO_RECEIVER ?= on
HUIYING_OUTBOUND_ALLOWED_NETWORKS ?= 127.0.0.1/32
DEMO_ENV = HUIYING_DEMO_RECEIVER=$(HUIYING_DEMO_RECEIVER) \
	HUIYING_DEMO_RECEIVER_URL=http://127.0.0.1:$(PORT)/demo/receiver \
	HUIYING_OUTBOUND_ALLOWED_NETWORKS=$(HUIYING_OUTBOUND_ALLOWED_NETWORKS)
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/postgres

.PHONY: install run serve migrate demo test lint typecheck pytest pytest-pg bench clean chromium

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
	$(DEMO_ENV) $(VENV)/bin/huiying demo

run: demo
	@echo "Huiying: http://$(HOST):$(PORT)/docs  (admin token: $(HUIYING_ADMIN_TOKEN))"
	@echo "演示接收端（模拟县政府网站，仅演示模式）: http://127.0.0.1:$(PORT)/demo/receiver"
	$(DEMO_ENV) HUIYING_ADMIN_TOKEN=$(HUIYING_ADMIN_TOKEN) $(VENV)/bin/huiying serve --host $(HOST) --port $(PORT)

lint: install
	$(VENV)/bin/ruff check app connectors kb scripts tests migrations
	$(VENV)/bin/ruff format --check app connectors kb scripts tests
	$(VENV)/bin/mypy app connectors kb
	$(VENV)/bin/lint-imports

# Headless Chromium for the board test (tests/reports/test_board.py); CJK fonts make the screenshot legible.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk >/dev/null \
	    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk >/dev/null; } \
	    || echo "chromium could not be installed: the board browser test will be skipped"; \
	  else echo "chromium missing and apt-get unavailable (needs root): the board browser test will be skipped"; fi; }

# pytest exits 5 when it collected no test; make treats any non-zero exit as a failure.
pytest: install chromium
	$(PY) -m pytest

pytest-pg: install chromium
	HUIYING_TEST_DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest

# With HUIYING_TEST_PG=1 the SQLite and PostgreSQL legs run side by side (each with its own database).
test: lint
	@if [ "$$HUIYING_TEST_PG" = "1" ]; then \
	  $(MAKE) --no-print-directory -j2 --output-sync=target pytest pytest-pg; \
	else \
	  $(MAKE) --no-print-directory pytest && echo "PostgreSQL leg skipped (set HUIYING_TEST_PG=1)"; \
	fi

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache
