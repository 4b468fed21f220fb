# progress service -- every target sets up what it needs (a pinned virtualenv in .venv).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: run test lint typecheck unit bench loadtest adl fmt clean

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "progress needs Python >= 3.11; run e.g. make PYTHON=python3.12 ..." >&2; exit 1; }
	@echo "==> setting up $(VENV) with the pinned dependencies of constraints.txt (about a minute; later runs reuse it)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -qq --upgrade "pip>=24"
	@$(BIN)/python -m pip install -qq -c constraints.txt -e '.[dev]'
	@touch $(STAMP)
	@echo "==> $(VENV) ready"

run: $(STAMP)  ## serve the LRS on http://127.0.0.1:$${PORT:-8080}/xapi
	@$(BIN)/python -m progress.local.server

test: lint unit  ## everything CI runs

unit: $(STAMP)
	@$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	@echo "==> ruff";          $(BIN)/ruff check layers functions tests loadtests
	@echo "==> ruff format";   $(BIN)/ruff format --check layers functions tests loadtests
	@echo "==> mypy --strict"; $(BIN)/mypy
	@for f in functions/*/handler.py; do $(BIN)/mypy --strict --follow-imports=silent $$f || exit 1; done
	@$(BIN)/mypy --strict tests loadtests
	@echo "==> import-linter"; $(BIN)/lint-imports

fmt: $(STAMP)
	@$(BIN)/ruff format layers functions tests loadtests
	@$(BIN)/ruff check --fix layers functions tests loadtests

bench: $(STAMP)  ## benchmark figures (never fails on speed)
	@$(BIN)/python -m loadtests.bench

loadtest: $(STAMP)  ## locust over HTTP against a running `make run` (headless, 60 s)
	@$(BIN)/locust -f loadtests/locustfile.py --headless -u $${USERS:-8} -r 4 -t $${DURATION:-60s} \
	  --host http://127.0.0.1:$${PORT:-8080}

adl: $(STAMP)  ## the ADL conformance suite against a running `make run` (see README)
	@../shared/tools/adl-conformance.sh -x 1.0.3 http://127.0.0.1:$${PORT:-8080}/xapi "$$LRS_KEY" "$$LRS_SECRET"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
