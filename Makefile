# Two commands: `make run` (demo portal on http://127.0.0.1:5000) and `make test` (whole suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
FLASK  := $(BIN)/flask --app portal
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test lint venv system-deps migrate demo bench i18n clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall when the dependency list changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

system-deps:
	scripts/install-system-deps.sh

migrate: venv
	$(FLASK) db upgrade

demo: migrate
	$(FLASK) demo --base-url http://$(HOST):$(PORT)

run: demo
	$(FLASK) run --host $(HOST) --port $(PORT)

# Lint and types first: any finding fails the run (mypy's scope is [tool.mypy] in pyproject.toml).
lint: venv
	$(BIN)/ruff check portal signing tests bench
	$(BIN)/mypy

# PORTAL_TESTS_LINTED: the lint prerequisite just ran ruff and mypy, so the suite's own lint
# tests (tests/test_lint.py, for a bare pytest run) skip instead of running them a second time.
# Bytecode is written even where the environment says PYTHONDONTWRITEBYTECODE: without it every
# xdist worker and every portal subprocess compiles the project and pytest rewrites each test
# module's asserts again (~19 s of CPU per worker); __pycache__/ is ignored by git.
test: venv system-deps lint
	env -u PYTHONDONTWRITEBYTECODE PORTAL_TESTS_LINTED=1 $(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# Every bench with short defaults and one summary table (BENCH_ARGS=--full: each bench at full length).
bench: venv system-deps
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

# After changing a translated string: extract, merge into nl/de/fr, then translate the empty
# msgstr entries and run it again to compile (portal/translations/README.md).
i18n: venv
	$(BIN)/pybabel -q extract -F babel.cfg -k lazy_gettext -k _l \
		--project=mandate-portal --copyright-holder="mandate-portal contributors" \
		-o portal/translations/messages.pot .
	$(BIN)/pybabel -q update -i portal/translations/messages.pot -d portal/translations \
		--no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d portal/translations --statistics

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache test-artifacts
