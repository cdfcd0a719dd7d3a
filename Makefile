# Two commands on a bare machine (python3.11, pip, make):
#   make up    - the whole system: embedded PostgreSQL, local Kafka-protocol broker, four services
#   make test  - lint, type checks and every test
# and a fast layer while working:
#   make check - lint, type checks, document currency, unit and in-memory tests (no servers)
.DEFAULT_GOAL := install
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PACKAGES := -e contracts -e consumerkit -e backbone -e devstack -e services/intake -e services/assignment \
            -e services/trajectory -e services/notifications -e services/gateway \
            -e services/portal

TYPED := contracts/passend_contracts backbone/passend_backbone devstack/passend_devstack \
         services/intake/passend_intake services/assignment/passend_assignment \
         services/trajectory/passend_trajectory services/notifications/passend_notifications \
         services/gateway/passend_gateway services/portal/passend_portal \
         consumerkit/passend_consumerkit consumerkit/examples benchmarks tests

# Benchmarks: minutes, not part of the tests; the peer library is installed for them only.
bench: $(STAMP)
	$(BIN)/pip install --quiet -c constraints.txt -r benchmarks/requirements.txt
	$(BIN)/python -m benchmarks

.PHONY: bench up test check lint typecheck unit integration e2e install schemas rules screenshots clean nemesis

# Parallel test processes for the slow layers (each starts its own PostgreSQL and broker).
WORKERS ?= 3

$(STAMP): constraints.txt requirements-dev.txt contracts/pyproject.toml backbone/pyproject.toml \
          services/*/pyproject.toml consumerkit/pyproject.toml devstack/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip==25.3"
	$(BIN)/pip install --quiet -c constraints.txt -r requirements-dev.txt $(PACKAGES)
	touch $(STAMP)

install: $(STAMP)

up: $(STAMP)
	$(BIN)/passend-dev up

# The portal's browser tests drive Debian's Chromium (no browser download needed).
CHROMIUM := /usr/bin/chromium

$(CHROMIUM):
	@echo "Installing Chromium for the portal's browser tests (Debian package, needs root)"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null

check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy $(TYPED)
	$(BIN)/python -m passend_contracts.generate --check
	$(BIN)/python -m passend_devstack.rules --check
	$(BIN)/pytest -q -m "not integration and not e2e" tests/unit tests/contracts

# The official AsyncAPI parser (npm, versions pinned in tools/asyncapi/package.json) checks
# the generated document independently of the Python tooling.
ASYNCAPI_PARSER := tools/asyncapi/node_modules/.installed

$(ASYNCAPI_PARSER): tools/asyncapi/package.json
	cd tools/asyncapi && npm install --no-package-lock --no-audit --no-fund --loglevel=error
	touch $(ASYNCAPI_PARSER)

# Everything: the fast layer, then every test that needs real servers, in parallel.
test: check $(CHROMIUM) $(ASYNCAPI_PARSER)
	$(BIN)/pytest -n $(WORKERS) --dist loadscope --ignore=tests/unit --durations=20

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy $(TYPED)

unit: $(STAMP)
	$(BIN)/pytest tests/unit

integration: $(STAMP)
	$(BIN)/pytest tests/integration

e2e: $(STAMP) $(CHROMIUM)
	$(BIN)/pytest tests/e2e

# The nemesis suite (docs/nemesis.md): two of every service under crashes, pauses, network
# partitions and rebalances while whole cases run, then every check. Needs root and
# iproute2; minutes, not part of `make test`. NEMESIS_ARGS="--minutes 2" for a short run.
NEMESIS_ARGS ?= --minutes 10
nemesis: $(STAMP)
	$(BIN)/python -m tests.nemesis $(NEMESIS_ARGS)

schemas: $(STAMP)
	$(BIN)/python -m passend_contracts.generate

# docs/screenshots/: the portal's main screens, taken by the browser tests (tests never write them).
screenshots: $(STAMP) $(CHROMIUM)
	PASSEND_SCREENSHOTS=1 $(BIN)/pytest -q -p no:randomly tests/portal/test_browser_flow.py tests/portal/test_browser_days.py tests/portal/test_browser_documents.py tests/portal/test_browser_dossier.py

# docs/rules.md: every rule tag, its sentence from the seeds, where it is enforced and tested.
rules: $(STAMP)
	$(BIN)/python -m passend_devstack.rules

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
