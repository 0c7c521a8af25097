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

# The API docs of the workspace's crates, warnings as errors (CI runs this); opens nothing:
# target/doc/<crate>/index.html.
doc:
    RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

# The contract suite and its drift report: `just contract --target mock|sandbox` (mock is the
# default; README lists the variables the sandbox needs). Also `--vendor payt|paywise`, `--all`
# (every endpoint in the report, not only failures) and test-name filters.
contract *ARGS:
    contract-tests/run {{ARGS}}

# The drift report of the last contract run again (`--all` lists every endpoint). It runs the
# report binary `cargo test --workspace` builds (contract-tests/report), so it compiles nothing.
report *ARGS:
    contract-tests/report {{ARGS}}

# The contract suite in sandbox mode against a separately started mock binary (what CI rehearses).
rehearse *ARGS:
    .ci/rehearse-sandbox {{ARGS}}

# The test suite with the system date moved (libfaketime): `just test-dates +14d +400d -30d`
# (default +540d, what CI runs).
test-dates *OFFSETS:
    .ci/test-at-dates {{OFFSETS}}

# Review snapshot changes: writes each changed or new snapshot as a .snap.new and shows it
# (`cargo insta review` if cargo-insta is installed, else a diff). Then `just snap-accept`, or
# `.ci/snapshots reject` to drop them.
snap:
    .ci/snapshots review

# Accept the pending snapshots (every .snap.new replaces its .snap).
snap-accept:
    .ci/snapshots accept

# What CI checks of the snapshots: none changed, missing, unreferenced or pending.
snap-check:
    .ci/snapshots check

# The HTTP benchmark: both mocks against a bare limit server sending the same bytes and against
# Prism (installs wrk and Prism by itself); prints a table, writes target/bench/http.json.
bench *ARGS:
    cargo build --release --bin payt-paywise-mocks
    cargo bench --bench http -- {{ARGS}}

# Large worlds (`--scale`): generation time, memory and page latencies at 10,000 and 1,000,000 records.
bench-scale *ARGS:
    cargo build --release --bin payt-paywise-mocks
    cargo bench --bench scale -- {{ARGS}}

# Writes under load: 32 concurrent writers (payment plans, paywise claims) with readers running.
bench-writes *ARGS:
    cargo build --release --bin payt-paywise-mocks
    cargo bench --bench writes -- {{ARGS}}

# The dashboard's browser tests alone (Playwright driving Debian's Chromium; `cargo test` runs them too).
browser-tests *ARGS:
    browser-tests/run {{ARGS}}

# The README's dashboard screenshots again (docs/screenshots/*.png): a fresh mock on a frozen
# clock with seed 42, each view made by the requests a user would send.
screenshots:
    browser-tests/screenshots

# What the control plane costs (reset, new world, snapshot, restore), in release mode.
bench-worlds:
    cargo bench --bench worlds

# Exactly what CI runs: .ci/run (fmt, clippy, doc, the tests, the snapshot check, the tests 540
# days ahead, the drift report and the contract rehearsal).
ci:
    .ci/run
