# Two commands do all set-up on a fresh machine:
#   make run    create the virtualenv, migrate, load demo data on first run, serve on :5000
#               (the app runs its background jobs itself: CIRCLE_JOBS_IN_APP=1)
#   make test   create the virtualenv, lint, and run the test suite
# TEST_DATABASE_URL=postgresql://... make test   runs the suite on PostgreSQL instead of SQLite.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint serve worker translations clean bench

# Two stamps: `make run`, `serve` and `worker` install what the app needs at run time
# (requirements.txt) and nothing more; `make test` and `lint` add the test tools
# (requirements-dev.txt, which includes the runtime list).
$(BIN)/.installed-runtime: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(BIN)/.installed: $(BIN)/.installed-runtime requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

# The port and address are make variables, so `PORT=8080 make run` (or `make run PORT=8080`)
# serves on http://127.0.0.1:8080; HOST=0.0.0.0 opens it to the network.
run: $(BIN)/.installed-runtime
	$(BIN)/flask --app app circle bootstrap
	CIRCLE_JOBS_IN_APP=1 $(BIN)/flask --app app run --host $(HOST) --port $(PORT)

# The test command lints first: a lint error fails it as a failing test does.
test: lint
	$(BIN)/python -m pytest -n auto --durations=10 $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .

# Production-style server (see README): settings in gunicorn.conf.py, from the environment.
serve: $(BIN)/.installed-runtime
	$(BIN)/flask --app app circle bootstrap --no-demo
	@# gunicorn.conf.py shares the login throttle across workers (Redis by default) and
	@# refuses to start several workers on memory://.
	GUNICORN_BIND=$${GUNICORN_BIND:-$(HOST):$(PORT)} $(BIN)/gunicorn app:app

# The job consumer for production (SLA scan, digest, WeCom and e-mail); run one or more
# beside `make serve`, on any host (see README).
worker: $(BIN)/.installed-runtime
	$(BIN)/flask --app app circle worker

# Issue #6 benchmark (gunicorn, SQLite and PostgreSQL, 10k–1M issues): see bench/README.md.
bench: $(BIN)/.installed
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Re-extract UI strings and recompile the Chinese catalogue after changing them.
translations: $(BIN)/.installed-runtime
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location \
		-o circle/translations/messages.pot .
	$(BIN)/pybabel update -i circle/translations/messages.pot -d circle/translations \
		--no-fuzzy-matching
	$(BIN)/pybabel compile -d circle/translations -D "messages admin"

clean:
	rm -rf $(VENV) .pytest_cache
