# Two commands on a bare machine (python3.11, pip, make):
#   make up    - the whole system: embedded PostgreSQL, local Kafka-protocol broker, four services
#   make test  - lint, type checks and every test
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PACKAGES := -e contracts -e "backbone[dev]" -e services/intake -e services/assignment \
            -e services/trajectory -e services/notifications

.PHONY: up test lint typecheck unit integration e2e install schemas clean

$(STAMP): constraints.txt requirements-dev.txt contracts/pyproject.toml backbone/pyproject.toml \
          services/*/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip==25.3"
	$(BIN)/pip install --quiet -c constraints.txt -r requirements-dev.txt $(PACKAGES)
	touch $(STAMP)

install: $(STAMP)

up: $(STAMP)
	$(BIN)/passend-dev up

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy contracts/passend_contracts backbone/passend_backbone services/*/passend_* tests
	$(BIN)/python -m passend_contracts.generate --check
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy contracts/passend_contracts backbone/passend_backbone services/*/passend_* tests

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration

e2e: $(STAMP)
	$(BIN)/pytest tests/e2e

schemas: $(STAMP)
	$(BIN)/python -m passend_contracts.generate

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
