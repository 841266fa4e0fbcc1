//! Test support shared by the unit tests, tests/, benches/ and fuzz/: JWT keys, rows and
//! settings, a fixed clock, verifiers and issuers over in-memory rows, token forging, and the
//! credential parser's test rules. Compiled for the crate's own tests and under the
//! `test-util` feature (off by default, so never in the release binary); a failed set-up
//! panics, as a test should.
pub mod credential;
mod fixture;
mod fixture_blocking;
mod forge;
mod keys;
mod settings;

pub use fixture::Fixture;
pub use fixture_blocking::BlockingFixture;
pub use forge::{b64, forge, forge_bytes, forge_hs256, forge_hs256_bytes};
pub use keys::{claims_for, key_row, now, secrets, settings, user, NOW, ORIGIN, SECRET};
