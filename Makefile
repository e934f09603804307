# Consulta Abierta: `make run` serves the demo, `make test` runs every check.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi
# The task queue's worker (huey): two threads; TASK_QUEUE_URL picks the queue (README).
WORKER := $(BIN)/huey_consumer app.tasks.huey -w 2
PORT ?= $(or $(FLASK_RUN_PORT),5000)
CATALOGS := translations/es/LC_MESSAGES/messages.po translations/en/LC_MESSAGES/messages.po
COMPILED := $(CATALOGS:.po=.mo)
# pytest-xdist workers for `make test` (one per core; 0 runs the suite in one process).
TEST_WORKERS ?= auto

.PHONY: help install run worker setup test test-fast lint i18n-extract i18n-update i18n-compile i18n-check bench clean

help: ## List the targets.
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

install: $(BIN)/.installed ## Create .venv and install the pinned dependencies.

translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(BIN)/.installed
	@# No pipe: pybabel exits non-zero on any error (e.g. incompatible placeholders), and so must make.
	$(BIN)/pybabel compile -d translations -l $* --statistics

i18n-compile: $(COMPILED) ## Compile the catalogs (.mo files are not committed).

setup: install i18n-compile ## Migrate the database and load the geography and the demo.
	$(FLASK) db upgrade
	$(FLASK) geo load
	$(FLASK) demo load

run: setup ## Set up, then serve on http://127.0.0.1:$(PORT) with a job worker beside it.
	@if $(BIN)/python -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', $(PORT))) != 0)"; then \
	  echo "Port $(PORT) is already in use: is 'make run' already serving? Stop it, or set FLASK_RUN_PORT."; exit 1; fi
	@# The worker runs imports and snapshots off the request; it stops when the server does.
	@$(WORKER) & worker=$$!; \
	  trap 'kill -INT $$worker 2>/dev/null; wait $$worker' EXIT; trap 'exit 130' INT TERM; \
	  $(FLASK) run --port $(PORT)

worker: install ## Run the job worker alone (imports, snapshots), as production does.
	$(WORKER)

lint: install ## ruff.
	$(BIN)/ruff check .

test: install i18n-compile lint ## Lint, then the whole suite (SQLite; PostgreSQL with TEST_DATABASE_URL).
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

i18n-extract: install ## Extract messages into translations/messages.pot.
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 --add-comments="Translators:" --no-location --sort-output --omit-header -o translations/messages.pot app

i18n-update: i18n-extract ## Merge new messages into the es and en catalogs.
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching --ignore-obsolete --width 100
	$(BIN)/python scripts/i18n_fill_en.py

i18n-check: install ## Fail when the template is stale or a catalog is incomplete.
	$(BIN)/python -m pytest tests/test_translations.py -q

bench: install ## Run the benchmarks (see bench/README.md).
	$(MAKE) -C bench all

clean: ## Remove compiled catalogs and caches (keeps .venv and instance/).
	rm -f $(COMPILED)
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
