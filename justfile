# Everyday recipes. Install just with `cargo install just` (or your package manager); the two
# set-up commands in the README do not need it.

set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
default:
    @just --list

# Run both mocks with generated fixtures (extra flags pass through: just run --seed 7).
run *ARGS:
    cargo run --release -- {{ARGS}}

# Run only the Payt mock's routes... (both are served by one binary; this prints Payt's address first).
serve-payt *ARGS:
    cargo run --release -- {{ARGS}}

# The whole test suite (what CI runs).
test:
    cargo test --workspace

# Formatting check.
fmt:
    cargo fmt --all -- --check

# Clippy with warnings as errors.
lint:
    cargo clippy --workspace --all-targets -- -D warnings

# The contract suite against `mock` (default) or `sandbox` (see README for the variables).
contract target="mock":
    CONTRACT_TARGET={{target}} cargo test -p contract-tests -- --test-threads 4

# Everything CI checks.
ci: fmt lint test
