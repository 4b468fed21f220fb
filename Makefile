# progress service -- every target sets up what it needs (a pinned virtualenv in .venv).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
export PYTHONDONTWRITEBYTECODE := 1
# jsii (CDK) runs on Node; on Node 20 it would print an end-of-life banner on every synth.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: run test lint typecheck unit infra synth bench loadtest adl fmt clean coverage mutation openapi

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "progress needs Python >= 3.11; run e.g. make PYTHON=python3.12 ..." >&2; exit 1; }
	@echo "==> setting up $(VENV) with the pinned dependencies of constraints.txt (about a minute; later runs reuse it)"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install -qq --upgrade "pip>=24"
	@$(BIN)/python -m pip install -qq -c constraints.txt -e '.[dev]'
	@touch $(STAMP)
	@echo "==> $(VENV) ready"

$(NODE_STAMP): package.json package-lock.json
	@echo "==> npm ci: asl-validator and the AWS CDK CLI (package-lock.json)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $(NODE_STAMP)

run: $(STAMP)  ## serve the LRS on http://127.0.0.1:$${PORT:-8080}/xapi
	@$(BIN)/python -m progress.local.server

test: lint unit  ## everything CI runs

unit: $(STAMP) $(NODE_STAMP)
	@$(BIN)/python -m pytest -n 2 -q

infra: $(STAMP) $(NODE_STAMP)  ## the infrastructure gates alone: synth + cdk-nag, cfn-lint, asl-validator, assertions
	@$(BIN)/python -m pytest -q -m infra

synth: $(STAMP)  ## CloudFormation templates of every stage into cdk.out/ (offline; builds the layer with pip)
	@rm -rf cdk.out
	@CDK_OUTDIR=cdk.out $(BIN)/python app.py
	@echo "==> cdk.out/: $$(ls cdk.out/*.template.json | xargs -n1 basename | tr '\n' ' ')"

lint: $(STAMP)
	@echo "==> ruff";          $(BIN)/ruff check --no-cache layers functions tests loadtests infra app.py .ci/mutation.py
	@echo "==> ruff format";   $(BIN)/ruff format --no-cache --check layers functions tests loadtests infra app.py .ci/mutation.py
	@echo "==> mypy --strict"; $(BIN)/mypy
	@for f in functions/*/handler.py; do $(BIN)/mypy --strict --follow-imports=silent $$f || exit 1; done
	@$(BIN)/mypy --strict tests loadtests infra app.py .ci/mutation.py
	@echo "==> import-linter"; $(BIN)/lint-imports

fmt: $(STAMP)
	@$(BIN)/ruff format layers functions tests loadtests infra app.py .ci/mutation.py
	@$(BIN)/ruff check --fix layers functions tests loadtests infra app.py .ci/mutation.py

openapi: $(STAMP)  ## regenerate schemas/openapi/admin-api.json from the admin API's code
	@$(BIN)/python -m progress.local.openapi

bench: $(STAMP)  ## benchmark figures (never fails on speed)
	@$(BIN)/python -m loadtests.bench

coverage: $(STAMP)  ## line coverage of progress.domain by its fast tests (fails under 95%)
	@$(BIN)/python -m pytest -q -n 2 -p no:cacheprovider tests/unit tests/contract/test_event_schemas.py \
	  --cov=progress.domain --cov-report=term-missing:skip-covered --cov-fail-under=95

mutation: $(STAMP)  ## mutation score of progress.domain with mutmut (5-10 min on 2 cores; fails under 80%)
	@$(BIN)/python .ci/mutation.py

loadtest: $(STAMP)  ## locust over HTTP against a running `make run` (headless, 60 s)
	@$(BIN)/locust -f loadtests/locustfile.py --headless -u $${USERS:-8} -r 4 -t $${DURATION:-60s} \
	  --host http://127.0.0.1:$${PORT:-8080}

adl: $(STAMP)  ## the ADL conformance suite against a running `make run` (see README)
	@../shared/tools/adl-conformance.sh -x 1.0.3 http://127.0.0.1:$${PORT:-8080}/xapi "$$LRS_KEY" "$$LRS_SECRET"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache node_modules cdk.out
