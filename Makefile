# Bookstore developer commands. `make run` and `make test` work on a fresh
# machine with only Python 3.11+ and make.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8000
MANAGE := $(BIN)/python manage.py
PYTEST_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help run test lint typecheck fmt services openapi migrate superuser staff-password e2e test-replica fuzz bench venv venv-dev clean

# Every target has a `## help text` on its rule line (tests/bookstore/test_makefile.py checks it).
help:  ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-15s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

venv: $(VENV)/.runtime  ## Create .venv with the runtime dependencies
venv-dev: $(VENV)/.dev  ## Create .venv with the development and test dependencies

.env:
	@$(BIN)/python -c "import secrets; print('# Local settings written by make run; never commit this file.'); print('SECRET_KEY=' + secrets.token_urlsafe(50)); print('DEBUG=false')" > .env
	@echo "Wrote .env with a fresh SECRET_KEY."

run: venv .env  ## Install, migrate, load demo data once, serve on 127.0.0.1:8000 (PORT=9000 for another port) with a Celery worker and beat
	$(MANAGE) migrate --noinput
	$(MANAGE) collectstatic --noinput --verbosity 0
	$(MANAGE) demo_setup --base-url http://127.0.0.1:$(PORT)
	@echo "Serving the store on http://127.0.0.1:$(PORT)/  (API /api/v1/, docs /api/docs/, admin /admin/)"
	@echo "A Celery worker and the beat scheduler run beside it (README: Background work); Ctrl-C stops all three."
	@rm -rf var/metrics && mkdir -p var/metrics
	@export PROMETHEUS_MULTIPROC_DIR=$(CURDIR)/var/metrics SERVE_MEDIA=$${SERVE_MEDIA:-true}; \
	$(BIN)/celery -A bookstore worker --concurrency=1 --loglevel=INFO --without-gossip --without-mingle & worker=$$!; \
	$(BIN)/celery -A bookstore beat --loglevel=INFO & beat=$$!; \
	$(BIN)/gunicorn bookstore.wsgi:application -c gunicorn.conf.py --bind 127.0.0.1:$(PORT) & web=$$!; \
	trap 'kill -TERM $$web $$worker $$beat 2>/dev/null' INT TERM; \
	wait $$web; kill -TERM $$worker $$beat 2>/dev/null; wait $$worker; wait $$beat; wait $$web

test: venv-dev lint  ## Lint, type-check and run the whole test suite (DATABASE_URL selects the database)
	$(BIN)/pytest $(PYTEST_ARGS)

lint: venv-dev typecheck  ## ruff lint + format check, then mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv-dev  ## mypy type check
	$(BIN)/mypy .

fmt: venv-dev  ## Apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

services:  ## Start the local PostgreSQL, Redis and RabbitMQ some tests need (where installed) and show what runs
	@bash scripts/services

openapi: venv .env  ## Regenerate docs/openapi.yaml, the committed API schema (a test checks it is current)
	DATABASE_URL=sqlite:///:memory: REDIS_URL= $(MANAGE) spectacular --validate --file docs/openapi.yaml

migrate: venv  ## Apply migrations
	$(MANAGE) migrate

superuser: venv  ## Create a superuser (DJANGO_SUPERUSER_EMAIL/PASSWORD for --noinput)
	$(MANAGE) createsuperuser

staff-password: venv .env  ## Give the demo staff account of `make run` a new random password and print it once
	$(MANAGE) demo_staff_password

e2e: venv-dev  ## Browser tests (needs /usr/bin/chromium)
	$(BIN)/pytest -m e2e tests/e2e $(PYTEST_ARGS)

test-replica: venv-dev  ## Tests against a real streaming replica and PgBouncer (own clusters on ports 5441, 5442, 6441)
	$(BIN)/pytest -m replica tests/replica $(PYTEST_ARGS)

FUZZ_EXAMPLES ?= 300

fuzz: venv-dev  ## Contract fuzzing, fresh random inputs (FUZZ_EXAMPLES=300 per operation and caller; CI runs 17)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_RANDOM=1 $(BIN)/pytest tests/security/test_contract_fuzzing.py $(PYTEST_ARGS)

BOOKS      ?= 100000
SCENARIOS  ?= all
DURATION   ?= 10
DB         ?= postgres
BENCH_ARGS ?=

bench: venv-dev  ## Benchmark vs ceilings J and P (BOOKS=100000 SCENARIOS=all DURATION=10 DB=postgres|sqlite)
	$(BIN)/python -m bench.run --books $(BOOKS) --scenarios $(SCENARIOS) --duration $(DURATION) --db $(DB) $(BENCH_ARGS)

clean:  ## Remove the virtualenv, caches and collected static files
	rm -rf $(VENV) staticfiles var .pytest_cache .mypy_cache .ruff_cache
