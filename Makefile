# Everyday commands. Each target installs what it needs or says what is missing.
SHELL := /usr/bin/env bash
.DEFAULT_GOAL := help
FUNCTIONS := authorizer me users sessions
CARGO_LAMBDA := $(shell command -v cargo-lambda 2>/dev/null)

.PHONY: help test lint fmt build watch invoke-examples tools-lambda clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-16s %s\n", $$1, $$2}'

test: ## Run every test against a real PostgreSQL (found or started; see scripts/with-postgres.sh)
	scripts/with-postgres.sh cargo test --workspace --locked

lint: ## cargo fmt --check and clippy with warnings denied
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

fmt: ## Format the code
	cargo fmt --all

tools-lambda: ## Install cargo-lambda (with zig) from PyPI when missing
	@command -v cargo-lambda >/dev/null 2>&1 || { echo "installing cargo-lambda from PyPI"; python3 -m pip install --quiet cargo-lambda; }

build: tools-lambda ## Release builds of every function for Lambda arm64 (target/lambda/<fn>/bootstrap)
	cargo lambda build --release --arm64 $(addprefix --bin ,$(FUNCTIONS))

watch: tools-lambda ## Serve the functions locally with cargo lambda watch (needs DATABASE_URL, BETTER_AUTH_SECRET)
	cargo lambda watch

invoke-examples: tools-lambda ## Invoke the running authorizer with each event fixture in events/
	@for f in events/rest-token.json events/rest-request.json events/http-v2.json; do \
	  echo "== $$f"; cargo lambda invoke authorizer --data-file $$f || true; echo; done

clean: ## Remove build output
	cargo clean
