# Two commands do all the set-up on a fresh machine (Python 3.11+ only):
#   make demo   creates .venv, installs the engine and runs a complete demo month-end
#   make portal starts the portal on the demo's store (http://127.0.0.1:8000/; the demo prints the sign-ins)
#   make test   creates .venv if needed and runs the whole test suite
# make focus-validator installs the FOCUS validator the conformance tests use (.venv-focus).
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DEMO   ?= demo

.PHONY: demo portal test bench lint clean focus-validator

demo: $(VENV)/.installed
	$(BIN)/chargeback demo --out $(DEMO)

portal: $(VENV)/.installed
	$(BIN)/chargeback --db sqlite:///$(DEMO)/chargeback.db serve

test: $(VENV)/.installed
	$(BIN)/python -m pytest -n auto --durations=15
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	$(BIN)/mypy

focus-validator:
	bash .ci/focus-validator

bench: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python bench/bench.py

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

clean:
	rm -rf $(VENV) .venv-focus $(DEMO) .pytest_cache .hypothesis
