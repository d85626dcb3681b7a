# Brigade: `make run` serves the demo restaurant, `make test` runs the suite.
# Both create the virtualenv and install the pinned requirements on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# The suite's processes (pytest-xdist); each gets its own test database and
# Redis database (tests/settings.py).
PYTEST_WORKERS ?= 2

.PHONY: run test lint format clean bench bench-rush bench-pages bench-stock bench-api

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

# daphne's own access log prints whole paths, tracking tokens included; Brigade
# writes its own JSON access line with the route instead (docs/security.md).
run: $(VENV)/.runtime-installed
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py seed_demo_stations
	$(BIN)/python manage.py seed_demo_pacing
	$(BIN)/python manage.py seed_demo_coupons
	$(BIN)/python manage.py seed_demo_tables
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/python manage.py demo_banner --host $(HOST) --port $(PORT)
	BRIGADE_BASE_URL=$${BRIGADE_BASE_URL:-http://$(HOST):$(PORT)} exec $(BIN)/daphne --access-log /dev/null -b $(HOST) -p $(PORT) restaurant.asgi:application

test: $(VENV)/.dev-installed
	$(BIN)/python manage.py collectstatic --noinput -v0
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal

# Live fan-out benchmark on this machine's PostgreSQL and Redis (docs/BENCHMARKS.md).
bench: $(VENV)/.dev-installed
	$(BIN)/python bench/live_fanout.py $(BENCH_ARGS)

# A lunch rush through the real pages in the production set-up (docs/BENCHMARKS.md).
bench-rush: $(VENV)/.dev-installed
	$(BIN)/python bench/rush.py $(BENCH_ARGS)

# Checkout with stock reservation against checkout without it, in the same run (docs/BENCHMARKS.md).
bench-stock: $(VENV)/.dev-installed
	$(BIN)/python bench/checkout_stock.py $(BENCH_ARGS)

# /menu/ against a bare Django view on gunicorn (2 workers), PostgreSQL and Redis; needs wrk.
bench-pages: $(VENV)/.dev-installed
	$(BIN)/python bench/pages.py $(BENCH_ARGS)

# API order creation against a bare DRF view on gunicorn (2 workers), PostgreSQL and Redis; needs wrk.
bench-api: $(VENV)/.dev-installed
	$(BIN)/python bench/api.py $(BENCH_ARGS)

# The same checks as .ci/run and .pre-commit-config.yaml.
lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run

format: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) staticfiles var .pytest_cache .ruff_cache .mypy_cache artifacts tests/oidc/node_modules tests/axe/node_modules
