# The two commands: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# runtime dependencies only (make run); the dev tools come with make test
STAMP := $(VENV)/.installed-stamp
DEV_STAMP := $(VENV)/.installed-dev-stamp

.PHONY: run test lint types pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $(STAMP)

$(DEV_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(DEV_STAMP)

run: $(STAMP)
	$(BIN)/switchboard run

lint: $(DEV_STAMP)
	$(BIN)/ruff check switchboard tests bench

types: $(DEV_STAMP)
	$(BIN)/mypy --strict switchboard

# the suite runs in PYTEST_WORKERS processes (pytest-xdist), each on a database of its own
PYTEST_WORKERS ?= 3
PYTEST := $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadfile

pytest: $(DEV_STAMP)
	SWITCHBOARD_TEST_BACKEND=sqlite $(PYTEST)
	@if [ -n "$$SWITCHBOARD_TEST_DATABASE_URL" ] && [ -n "$$SWITCHBOARD_TEST_REDIS_URL" ]; then \
		echo "== again on PostgreSQL + Redis =="; \
		SWITCHBOARD_TEST_BACKEND=postgres $(PYTEST); \
	else \
		echo "(SWITCHBOARD_TEST_DATABASE_URL / SWITCHBOARD_TEST_REDIS_URL unset: PostgreSQL run skipped)"; \
	fi

test: lint types pytest

bench: $(DEV_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
