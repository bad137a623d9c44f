# MLPlatform: `make run` to serve, `make test` to check. Both set everything up first.
SHELL := /bin/bash
PY := .venv/bin/python
MANAGE := $(PY) manage.py
HTTP_PORT ?= $(or $(MLP_HTTP_PORT),8000)

.PHONY: stress bench-choices bench-peers compose-check protos schema bench run test setup venv services imagenet browser migrate bootstrap static check lint format fmt typecheck clean

run: setup migrate bootstrap static ## serve every process in the foreground (Ctrl-C stops all)
	@scripts/print_urls.sh $(HTTP_PORT)
	@exec .venv/bin/honcho start -f Procfile

test: setup browser check ## the whole suite (lint, types, migrations, unit, end-to-end, browser)
	$(PY) -m pytest

bench: setup ## every protocol side by side (bench/run.py: table, results.json, chart), then per-runtime micro-benchmarks
	$(PY) bench/run.py
	$(PY) -m pytest bench -q -p no:randomly --benchmark-only --benchmark-columns=min,median,mean,ops \
		--benchmark-sort=name --benchmark-group-by=group

setup: venv services imagenet

venv:
	@scripts/ensure_venv.sh

services:
	@scripts/ensure_services.sh

imagenet: ## export EfficientNet-Lite0 to ONNX once (cached, keyed by its inputs)
	@scripts/ensure_imagenet.sh

browser:
	@scripts/ensure_chromium.sh

migrate:
	$(MANAGE) migrate --noinput -v0

bootstrap:
	$(MANAGE) bootstrap

static:
	$(MANAGE) collectstatic --noinput -v0

bench-peers: setup ## MLServer, Flask and plain grpcio beside our REST/V2/gRPC, same client, one run
	$(PY) bench/peers/run_peers.py

bench-choices: setup ## uvicorn (Django via WSGI, 1 and 2 workers; via ASGI) vs daphne on REST, GraphQL, SOAP
	$(PY) bench/choices.py

stress: setup ## every protocol at once for 60 s (32 clients): errors, p50/p99, rows == responses, memory bounds
	$(PY) bench/stress.py

compose-check: venv ## validate docker-compose.yml (docker compose config when present, else structural checks)
	$(PY) scripts/compose_check.py

protos: ## regenerate predictions/grpc/gen/ from protos/ (tests fail when it drifts)
	$(PY) scripts/gen_protos.py

schema: ## regenerate the committed OpenAPI schema (tests fail when it drifts)
	$(MANAGE) spectacular --validate --fail-on-warn --file schema/openapi.yaml
	$(MANAGE) graphql_schema --out schema.graphql

check: lint typecheck ## static checks that `make test` runs first
	$(MANAGE) makemigrations --check --dry-run -v0

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

typecheck:
	.venv/bin/mypy mlplatform models_app predictions

fmt format: venv
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

clean:
	rm -rf var .venv .pytest_cache .ruff_cache .mypy_cache
