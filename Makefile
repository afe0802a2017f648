# S.O.S. Amico Giovani — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PG_URL ?= postgresql://postgres@127.0.0.1:5432/test
CHROMIUM := /usr/bin/chromium
TEST_WORKERS ?= 6

.PHONY: run test deps lint format bench soak migration clean

run: $(VENV)/.installed  ## create the venv, install, migrate the SQLite database, start everything
	$(BIN)/sos-bot run

# One pytest run, spread over TEST_WORKERS processes: every test on SQLite, and every test that
# uses the database on PostgreSQL too (those runs are skipped, saying why, when it does not answer).
# The tests mostly wait on servers and sockets, so more processes than cores pay off.
test: $(VENV)/.installed-test lint | $(CHROMIUM)  ## install what tests need and run them
	@if $(BIN)/python -c "import psycopg; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; \
	then databases="sqlite $(PG_URL)"; \
	else databases=sqlite; echo "PostgreSQL at $(PG_URL) does not answer: its runs are skipped"; fi; \
	echo "SOS_TEST_DATABASES=\"$$databases\" $(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal"; \
	SOS_TEST_DATABASES="$$databases" $(BIN)/pytest -q -n $(TEST_WORKERS) --dist worksteal

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

# Once per machine: the system packages the tests need, that is Debian's chromium for the browser
# tests (installed when we may: root or sudo). `make test` runs it only when chromium is missing.
deps:  ## install the system packages the tests need
	@if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium not installed and no root: browser tests will be skipped"; fi

$(CHROMIUM):
	@$(MAKE) --no-print-directory deps

lint: $(VENV)/.installed-test
	$(BIN)/ruff check bot flows operators tests benchmarks docs
	$(BIN)/ruff format --check bot flows operators tests benchmarks docs
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(VENV)/.installed-test  ## rewrite the code in ruff's format
	$(BIN)/ruff format bot flows operators tests benchmarks docs

# Every benchmark, each printing its table, then one summary: each headline figure beside its
# target. A target not met is reported, not an error; a benchmark that stops early is.
BENCH_SUMMARY ?= $(CURDIR)/var/bench-summary.jsonl
bench: $(VENV)/.installed-test  ## every benchmark, each printing a table, then the summary
	@mkdir -p $(dir $(BENCH_SUMMARY)); rm -f $(BENCH_SUMMARY); failed=""; \
	for b in benchmarks/bench_*.py; do echo "== $$b"; \
	  SOS_BENCH_SUMMARY=$(BENCH_SUMMARY) $(BIN)/python $$b || failed="$$failed $$b"; done; \
	$(BIN)/python benchmarks/summary.py $(BENCH_SUMMARY) --ran benchmarks/bench_*.py \
	  || failed="$$failed (no headline recorded)"; \
	if [ -n "$$failed" ]; then echo "failed:$$failed"; exit 1; fi

# Ten minutes of WhatsApp traffic on a PostgreSQL cluster of its own while a worker is killed,
# PostgreSQL restarts and Twilio fails; exits non-zero if a message is lost or duplicated.
soak: $(VENV)/.installed-test  ## the soak with faults (docs/deploy.md)
	$(BIN)/python benchmarks/soak.py

# There is no released schema yet: regenerate the initial migration from the models.
migration: $(VENV)/.installed
	rm -f bot/migrations/versions/0001_initial.py /tmp/sos-migration.sqlite
	$(BIN)/alembic -x url=sqlite:////tmp/sos-migration.sqlite -c bot/migrations/alembic.ini revision --autogenerate --rev-id 0001 -m "initial schema"
	mv bot/migrations/versions/0001_initial_schema.py bot/migrations/versions/0001_initial.py
	$(BIN)/ruff check --fix -q bot/migrations; $(BIN)/ruff format -q bot/migrations

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
