# The README's two commands: `make demo` (the main job, embedded defaults) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup postgres chromium demo test lint typecheck bench

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

postgres:
	bash .ci/ensure-postgres

# the console's browser tests drive Debian's chromium (Playwright's own download is not used)
chromium:
	bash .ci/ensure-chromium

demo: setup
	$(VENV)/bin/dhispatch demo

test: setup postgres chromium
	$(PY) -m pytest -q -p no:cacheprovider -n auto --dist loadfile
	$(MAKE) --no-print-directory lint typecheck

LINTED := dsl compiler runtime tests benchmarks dhispatch/__init__.py dhispatch/errors.py

lint: setup
	$(PY) -m ruff check $(LINTED)
	$(PY) -m ruff format --check $(LINTED)

# dhispatch/ links the stage folders into the installed namespace, so plain mypy finds it.
typecheck: setup
	$(PY) -m mypy --strict -p dhispatch

bench: setup
	for script in benchmarks/*.py; do $(PY) $$script; done
