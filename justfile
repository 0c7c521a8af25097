# Everyday recipes. Install just with `cargo install just` (or your package manager); the two
# set-up commands in the README do not need it.

set shell := ["bash", "-euo", "pipefail", "-c"]

# List the recipes.
default:
    @just --list

# Run both mocks with generated fixtures (extra flags pass through: just run --seed 7).
run *ARGS:
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

# The contract suite: `just contract --target mock|sandbox` (mock is the default; README lists
# the variables the sandbox needs). Further arguments go to the test runner, e.g. a test name.
contract *ARGS:
    #!/usr/bin/env bash
    set -euo pipefail
    target=mock; rest=()
    set -- {{ARGS}}
    while [ $# -gt 0 ]; do
      case "$1" in
        --target) target="${2:?--target needs mock or sandbox}"; shift 2 ;;
        --target=*) target="${1#--target=}"; shift ;;
        mock|sandbox) target="$1"; shift ;;
        *) rest+=("$1"); shift ;;
      esac
    done
    case "$target" in mock|sandbox) ;; *) echo "--target must be mock or sandbox, not '$target'" >&2; exit 2 ;; esac
    CONTRACT_TARGET="$target" cargo test -p contract-tests -- "${rest[@]}"

# The contract suite in sandbox mode against a separately started mock binary (what CI rehearses).
rehearse *ARGS:
    .ci/rehearse-sandbox {{ARGS}}

# Everything CI checks.
ci: fmt lint test
