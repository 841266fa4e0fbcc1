//! Property tests of the credential parsers: `credential::parse`, the cookie and signature
//! helpers (credentials.rs), the JWT verifier: base64url segments, header, claims (jwt.rs),
//! and that both run in linear time (linear_time.rs). Every property can fail; none needs a
//! database. One test binary: linking is the slow part.
//!
//! Bounded by default (proptest's `PROPTEST_CASES`, 256 cases per property); for a long run:
//! `PROPTEST_CASES=1000000 cargo test --release --test prop_parsers -- --nocapture`.
//! Each property prints how many cases it ran. `PROPTEST_RNG_SEED=<u64>` replays a run.
//! See docs/FUZZING.md.
use std::cell::Cell;
use std::fmt::Debug;
use std::time::Instant;

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, TestCaseResult, TestRunner};

mod credentials;
mod jwt;
mod linear_time;

/// proptest's defaults (so `PROPTEST_CASES`, `PROPTEST_RNG_SEED`… apply; 256 cases unless
/// told otherwise), without regression files: a failure prints its minimal input instead.
fn config() -> Config {
    Config {
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs `test` over `strategy` and reports how many cases ran and how long they took.
fn check<S>(name: &str, strategy: S, test: impl Fn(S::Value) -> TestCaseResult)
where
    S: Strategy,
    S::Value: Debug,
{
    let config = config();
    let required = config.cases;
    let ran = Cell::new(0u64);
    let start = Instant::now();
    let result = TestRunner::new(config).run(&strategy, |v| {
        ran.set(ran.get() + 1);
        test(v)
    });
    eprintln!(
        "prop_parsers::{name}: {} cases run ({required} required) in {:.2?}",
        ran.get(),
        start.elapsed()
    );
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
}
