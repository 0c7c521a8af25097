//! How much the control plane costs: reset, world creation and snapshots of default-size worlds
//! of both mocks, measured in-process (no HTTP), with the clone of a seeded template as the
//! reference the reset is compared against.
//!
//! `just bench-worlds` (or `cargo bench --bench worlds`). Prints a table; the README carries the
//! latest one. The target is a reset well under 10 ms at the default size.

use std::time::{Duration, Instant};

use mock_core::harness::Builder;
use mock_core::world::{DEFAULT_WORLD, Vendor};

fn measure(rounds: usize, mut f: impl FnMut()) -> (Duration, Duration) {
    f();
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[times.len() / 2], times[times.len() * 99 / 100])
}

fn row(what: &str, (p50, p99): (Duration, Duration)) {
    println!(
        "| {what:<44} | {:>9.3} ms | {:>9.3} ms |",
        p50.as_secs_f64() * 1e3,
        p99.as_secs_f64() * 1e3
    );
}

fn bench<V: Vendor>(builder: Builder<V>) {
    let (worlds, _router) = builder.build();
    let default = worlds.default_world();
    let name = V::NAME;
    let spec = worlds.config().spec;
    let template = worlds.vendor().generate(&spec);
    row(
        &format!("{name}: clone of the seeded data (reference)"),
        measure(50, || drop(std::hint::black_box(template.clone()))),
    );
    row(
        &format!("{name}: reset of the default world"),
        measure(50, || worlds.reset(&default, None)),
    );
    let mut n = 0;
    row(
        &format!("{name}: new world from the template"),
        measure(50, || {
            n += 1;
            let w = format!("bench-{n}");
            if worlds.create(&w, None).is_ok() {
                let _dropped = worlds.drop_world(&w);
            }
        }),
    );
    row(
        &format!("{name}: snapshot (export as JSON)"),
        measure(10, || drop(std::hint::black_box(worlds.snapshot(&default)))),
    );
    let snapshot = worlds.snapshot(&default).unwrap_or_default();
    row(
        &format!("{name}: restore (import the JSON)"),
        measure(10, || {
            if let Err(e) = worlds.restore(&default, snapshot.clone()) {
                panic!("the export does not load: {e}");
            }
        }),
    );
    assert!(worlds.get(DEFAULT_WORLD).is_some());
}

fn main() {
    // Only `cargo bench` runs the body; `cargo test --benches` passes --bench too, but not when
    // listing, so a plain test build stays quick.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    println!("| operation (default size, seed 42)            |        p50 |        p99 |");
    println!("|----------------------------------------------|------------|------------|");
    bench(mock_payt::MockPayt::test());
    bench(mock_paywise::MockPaywise::test());
}
