# The README's two commands: `make demo` (the main job, embedded defaults) and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup postgres demo test lint typecheck bench

$(STAMP): pyproject.toml setup.py
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

postgres:
	bash .ci/ensure-postgres

demo: setup
	$(VENV)/bin/dhispatch demo

test: setup postgres
	$(PY) -m pytest -q -p no:cacheprovider
	$(MAKE) --no-print-directory lint typecheck

lint: setup
	$(PY) -m ruff check dsl compiler runtime tests benchmarks

# mypy cannot follow setuptools' editable-install import hook, so it gets a folder of symlinks
# that lays the stage folders out as the installed dhispatch.* namespace.
typecheck: setup
	mkdir -p .mypy-path/dhispatch
	for stage in dsl compiler runtime; do ln -sfn "$(CURDIR)/$$stage" .mypy-path/dhispatch/$$stage; done
	MYPYPATH=.mypy-path $(PY) -m mypy --strict -p dhispatch.dsl -p dhispatch.compiler -p dhispatch.runtime

bench: setup
	for script in benchmarks/*.py; do $(PY) $$script; done
