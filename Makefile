# The whole set-up on a fresh machine: `make run` (embedded defaults) and `make test` (PostgreSQL).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
# make test runs against PostgreSQL, never silently against anything else.
TEST_DATABASE_URL := $(or $(DATABASE_URL),postgres://postgres@127.0.0.1:5432/stornare_test)
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run serve test migrate demo worker beat check-test-database

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(INSTALLED)

install: $(INSTALLED)

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

run: demo
	$(BIN)/python manage.py runserver $(HOST):$(PORT)

serve: migrate
	$(BIN)/gunicorn config.wsgi --bind $(HOST):$(PORT) --workers $${WEB_CONCURRENCY:-2} --access-logfile -

worker: install
	$(BIN)/celery -A config worker --loglevel INFO

beat: install
	$(BIN)/celery -A config beat --loglevel INFO

check-test-database: install
	@$(BIN)/python -c 'import sys, dj_database_url, psycopg; \
	db = dj_database_url.parse(sys.argv[1]); \
	ok = db["ENGINE"].endswith("postgresql") or sys.exit("make test needs PostgreSQL; DATABASE_URL is " + sys.argv[1]); \
	psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"] or "postgres", password=db["PASSWORD"] or None, dbname="postgres", connect_timeout=5).close()' \
	"$(TEST_DATABASE_URL)" || { echo "PostgreSQL is not reachable at $(TEST_DATABASE_URL); start it (see README) and run make test again." >&2; exit 1; }

test: check-test-database
	DATABASE_URL="$(TEST_DATABASE_URL)" $(BIN)/pytest $(PYTEST_ARGS)
