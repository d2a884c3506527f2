# idsvc — the two commands of the README, and a few helpers.
#   make run    install, migrate SQLite, generate dev keys, load demo data, serve on 127.0.0.1:5000 (+ demo agency on :8000)
#   make test   install and run the whole test suite (add PostgreSQL: see README)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: install setup run test lint e2e-deps bench-import bench-lookup bench-oidc bench-check bench-check-api bench-registry bench-ledger bench-mydata clean

E2E_RP := tests/e2e/rp
E2E_A11Y := tests/e2e/a11y

$(BIN)/idsvc: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/idsvc

setup: install
	$(BIN)/idsvc db upgrade
	$(BIN)/idsvc keys generate --if-missing
	$(BIN)/idsvc seed --if-empty

# The demo agency (a relying party, at 127.0.0.1:8000 where the seeded demo-agency client's
# redirect URI points), the eligibility worker (which checks the lists uploaded as batches) and the
# audit ledger's sealer (which closes new audit events into signed blocks every 5 seconds) run
# in the background and stop with the provider: Ctrl-C, or any exit.
run: setup
	$(BIN)/idsvc demo-agency --host $(HOST) --port 8000 & agency=$$!; \
	$(BIN)/idsvc eligibility worker & worker=$$!; \
	$(BIN)/idsvc audit seal --follow --every 5 & sealer=$$!; \
	trap 'kill $$agency $$worker $$sealer 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
	$(BIN)/idsvc run --host $(HOST) --port $(PORT)

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

# Debian's chromium and Node.js with npm for tests/e2e, installed when missing (apt-get as root or
# through sudo -n; otherwise it prints the command to run and fails).
.PHONY: test-deps
test-deps:
	sh tests/e2e/install-deps.sh

# The relying party of the interoperability test (openid-client, from npm).
$(E2E_RP)/node_modules: $(E2E_RP)/package.json $(E2E_RP)/package-lock.json | test-deps
	npm ci --prefix $(E2E_RP) --no-audit --no-fund
	touch $@

# axe-core, which the accessibility test injects into the pages (WCAG 2.2 AA).
$(E2E_A11Y)/node_modules: $(E2E_A11Y)/package.json $(E2E_A11Y)/package-lock.json
	npm ci --prefix $(E2E_A11Y) --no-audit --no-fund
	touch $@

e2e-deps: $(E2E_RP)/node_modules $(E2E_A11Y)/node_modules

test: lint test-deps e2e-deps
	$(BIN)/pytest

bench-import: install
	$(BIN)/python bench/bench_import.py

bench-lookup: install
	$(BIN)/python bench/bench_lookup.py

bench-check: install
	$(BIN)/python bench/bench_check.py

bench-check-api: install
	$(BIN)/python bench/bench_check_api.py

bench-registry: install
	$(BIN)/python bench/bench_registry.py

bench-mydata: install
	$(BIN)/python bench/bench_mydata.py

bench-ledger: install
	$(BIN)/python bench/bench_ledger.py

bench/oidc-provider/node_modules: bench/oidc-provider/package.json bench/oidc-provider/package-lock.json
	npm ci --prefix bench/oidc-provider --no-audit --no-fund
	touch $@

bench-oidc: install bench/oidc-provider/node_modules
	$(BIN)/python bench/bench_oidc.py

clean:
	rm -rf $(VENV) instance *.egg-info .pytest_cache .ruff_cache .mypy_cache $(E2E_RP)/node_modules $(E2E_A11Y)/node_modules
