# flowengine: `make run` starts the smart-farm demo, `make test` runs the test suite.
# Both set everything up first (Debian packages, a venv in .venv/, the package installed editable).

VENV     ?= .venv
PYTHON   ?= python3
BIN      := $(VENV)/bin
FLOWS    ?= flows/smart-farm.json
RUN_ARGS ?=

.PHONY: setup run test test-all lint system-deps test-deps conformance bench clean

# The venv is rebuilt when pyproject.toml changes.
$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	    { echo "error: flowengine needs Python >= 3.11 ($(PYTHON) is older); set PYTHON=python3.11" >&2; exit 1; }
	@# Debian splits venv/ensurepip into python3-venv; install it only when it is missing.
	$(PYTHON) -c "import venv, ensurepip" 2>/dev/null || ./scripts/ensure-debian-packages.sh python3-venv
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

setup: $(BIN)/.installed

run: setup
	$(BIN)/flowengine run $(FLOWS) $(RUN_ARGS)

test-deps:
	./scripts/ensure-debian-packages.sh mosquitto

lint: setup
	$(BIN)/ruff check flowengine nodes tests

# The default suite: fast unit tests, MQTT integration with a real mosquitto, conformance cases.
test: setup test-deps lint
	$(BIN)/pytest -q

# Everything, including the slow soak/fault tests.
test-all: setup test-deps lint
	$(BIN)/pytest -q -m ""

# The shared differential runner against this engine, one process per case (needs ../shared).
conformance: setup test-deps
	$(PYTHON) ../shared/conformance/runner/run.py check ../shared/conformance/cases/public --engine command \
	    --engine-cmd '$(abspath $(BIN))/flowengine run {flows} --data-dir {workdir} --port 0'

bench: setup test-deps
	./scripts/bench.sh

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
