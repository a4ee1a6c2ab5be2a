# yuanxian — two commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 5000
STAMP := $(VENV)/.installed
# The tests run on TEST_WORKERS pytest-xdist workers (0: serially, in this process): one a core. More would pay
# (many tests wait on browsers, servers and subprocesses) but loads a 2-core machine past the browser and server
# start-up timeouts. PYTEST_ARGS: more options, e.g. a test file.
TEST_WORKERS ?= 2
PYTEST_ARGS ?=

.PHONY: run test install lint bench migration clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/yuanxian db upgrade
	$(VENV)/bin/yuanxian seed demo --if-empty
	$(VENV)/bin/yuanxian fieldkit show >/dev/null 2>&1 || $(VENV)/bin/yuanxian fieldkit build   # the kit package for fieldkit update
	$(VENV)/bin/yuanxian serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(PY) -m pytest --durations=20 -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check server catalog sync fieldkit gis tests bench

bench: $(STAMP)
	$(PY) bench/catalog_search.py --quick

migration: $(STAMP)
	$(PY) -c "from catalog.migrate import regenerate_initial; print(regenerate_initial())"

clean:
	rm -rf $(VENV) instance .pytest_cache
