# flowengine: `make run` starts the smart-farm demo, `make test` runs the test suite.
# Both set everything up first (Debian packages, a venv in .venv/, the package installed editable).

VENV     ?= .venv
PYTHON   ?= python3
BIN      := $(VENV)/bin
FLOWS    ?= flows/smart-farm.json
RUN_ARGS ?=

.PHONY: setup run test test-all lint system-deps test-deps conformance bench clean editor screenshots

# The browser editor: built into flowengine/editor_dist (not committed) when its sources change.
EDITOR_OUT  := flowengine/editor_dist/index.html
EDITOR_SRC  := $(shell find web_editor/src web_editor/public web_editor/index.html web_editor/vite.config.ts web_editor/tsconfig.json \
                 web_editor/package.json -type f 2>/dev/null)
EDITOR_DEPS := web_editor/node_modules/.package-lock.json
WITH_NODE   := PATH="$$($(CURDIR)/scripts/ensure-node.sh):$$PATH"

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

$(EDITOR_DEPS): web_editor/package-lock.json
	cd web_editor && $(WITH_NODE) npm ci --no-audit --no-fund
	touch $@

$(EDITOR_OUT): $(EDITOR_DEPS) $(EDITOR_SRC)
	cd web_editor && $(WITH_NODE) npm run build

editor: $(EDITOR_OUT)

setup: $(EDITOR_OUT) $(BIN)/.installed

run: setup
	$(BIN)/flowengine run $(FLOWS) $(RUN_ARGS)

# mosquitto for the MQTT tests, chromium for the editor's end-to-end tests (Playwright drives
# Debian's /usr/bin/chromium; it never downloads a browser).
test-deps:
	./scripts/ensure-debian-packages.sh mosquitto chromium

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

# The README's pictures, taken by the e2e test from the smart-farm demo in the real editor.
screenshots: setup test-deps
	FLOWENGINE_SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest -q tests/e2e/test_screenshots.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache flowengine/editor_dist web_editor/node_modules .tools
