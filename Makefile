# Two commands do all the set-up on a fresh machine (Python 3.11+ only):
#   make demo   creates .venv, installs the engine and runs a complete demo month-end
#   make test   creates .venv if needed and runs the whole test suite
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
DEMO   ?= demo

.PHONY: demo test bench lint clean

demo: $(VENV)/.installed
	$(BIN)/chargeback demo --out $(DEMO)

test: $(VENV)/.installed
	$(BIN)/python -m pytest
	$(BIN)/lint-imports

bench: $(VENV)/.installed
	$(BIN)/python bench/bench.py

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .hypothesis
