# Everyday commands. Each target installs what it needs or says what is missing.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help
FUNCTIONS := authorizer me users sessions
CARGO_LAMBDA := $(shell command -v cargo-lambda 2>/dev/null)
# The profile make bench measures with (`release` for the deployed build's exact code).
BENCH_PROFILE ?= benchmark

.PHONY: help dev dev-redis test test-repeat bench lint lint-templates fmt build deploy watch invoke-examples tools-lambda clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-16s %s\n", $$1, $$2}'

dev: tools-lambda ## Local API in one command: PostgreSQL + schema + demo users, cargo lambda watch on :9000, curl commands
	scripts/with-postgres.sh scripts/dev.sh

dev-redis: tools-lambda ## make dev with the sessions in Redis (Better Auth's secondaryStorage): a Redis found or started as for make test
	DEV_SESSIONS=redis scripts/with-postgres.sh scripts/with-redis.sh scripts/dev.sh

test: tools-lambda ## Run every test against a real PostgreSQL and Redis (found or started; see scripts/with-postgres.sh, scripts/with-redis.sh) and PgBouncer (installed if missing), then make dev's printed commands (scripts/check-dev.sh)
	scripts/ensure-pgbouncer.sh
	scripts/with-postgres.sh scripts/with-redis.sh cargo test --workspace --locked
	scripts/with-postgres.sh scripts/check-dev.sh

test-repeat: ## The flake check: .ci/run N times in a row on a fresh clone of HEAD (N=3), each run's time printed
	scripts/test-repeat.sh $(or $(N),3)

bench: tools-lambda ## The benchmark: each path against its limit, Better Auth's getSession, cold start, memory, arm64 zip sizes, capacity model (writes bench/latest.json)
	scripts/ensure-pgbouncer.sh
	scripts/ensure-apt-package.sh valgrind valgrind "make bench counts instructions under callgrind" optional
	cargo lambda build --release --arm64 --output-format zip $(addprefix --bin ,$(FUNCTIONS))
	cargo build --profile $(BENCH_PROFILE) --locked -p authorizer -p bench
	scripts/with-postgres.sh scripts/with-redis.sh cargo run --profile $(BENCH_PROFILE) --locked --quiet -p bench

lint: lint-templates ## cargo fmt --check, clippy with warnings denied, auth-core's layers (no import cycle), and the SAM templates
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings
	cargo test --locked -p auth-core --test layers

lint-templates: ## cfn-lint and an offline SAM transform of template.yaml and deploy/template-httpapi.yaml (installs both from PyPI)
	scripts/lint-templates.sh

fmt: ## Format the code
	cargo fmt --all

tools-lambda: ## Install cargo-lambda (with zig) from PyPI when missing
	@command -v cargo-lambda >/dev/null 2>&1 || { echo "installing cargo-lambda from PyPI"; python3 -m pip install --quiet cargo-lambda; }

build: tools-lambda ## Release builds of every function for Lambda arm64 (target/lambda/<fn>/bootstrap)
	cargo lambda build --release --arm64 $(addprefix --bin ,$(FUNCTIONS))

deploy: ## sam build + sam deploy --guided (needs the AWS SAM CLI and AWS credentials)
	@command -v sam >/dev/null 2>&1 || { echo "make deploy needs the AWS SAM CLI: python3 -m pip install aws-sam-cli"; exit 1; }
	$(MAKE) tools-lambda
	sam build --beta-features
	sam deploy --guided

watch: tools-lambda ## Serve the functions locally with cargo lambda watch (needs DATABASE_URL, BETTER_AUTH_SECRET)
	cargo lambda watch

invoke-examples: tools-lambda ## Invoke make dev's authorizer with each event fixture (events/, filled in with the demo credentials in target/dev/)
	@test -f target/dev/rest-token.json || { echo "no target/dev/rest-token.json: start make dev first (it fills events/ in with the demo credentials)"; exit 1; }
	@for f in target/dev/rest-token.json target/dev/rest-request.json target/dev/http-v2.json; do \
	  echo "== $$f"; cargo lambda invoke authorizer --invoke-address 127.0.0.1 --invoke-port 9000 --data-file $$f || exit 1; echo; done

clean: ## Remove build output
	cargo clean
