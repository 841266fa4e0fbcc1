//! Per-operation cost of the JWT layer (the crypto ceiling of ValidateToken/IssueToken):
//!
//! * `sig_verify/<alg>`: `VerifyingKey::verify` of one signature (EdDSA, ES256, RS256);
//! * `sig_sign/<alg>`: `SigningKey::sign` (EdDSA, ES256, RS256);
//! * `verify_jwt/<alg>`: the whole `Verifier::verify` (split, base64url, JSON header and
//!   payload, key lookup, signature, claims) of a token Issuer minted, keys in memory
//!   (`test_util::BlockingFixture`, fixed clock);
//! * `issue_jwt/<alg>`: the whole `Issuer::issue` (claims JSON, sign) with a cached key.
//!
//! `cargo bench --bench verify` (criterion; `-- --quick` for a fast pass).
use std::sync::Arc;

use base64::Engine as _;
use better_auth_grpc::test_util::{self, BlockingFixture};
use better_auth_grpc::token::{Alg, IssueOptions, Issuer, SigningKey, VerifyingKey};
use criterion::{criterion_group, criterion_main, Criterion};

struct Setup<'f> {
    alg: Alg,
    token: String,
    verifying: VerifyingKey,
    signing: &'f SigningKey,
    issuer: Issuer,
}

/// Key `k` of the shared fixture, an issuer signing with its alg, and a token it minted.
fn setup(fx: &BlockingFixture, k: usize) -> Setup<'_> {
    let (row, signing) = fx.pair(k);
    let alg = signing.alg();
    let verifying = VerifyingKey::from_row(row, alg).expect("verifying key");
    let mut settings = test_util::settings();
    settings.alg = alg;
    let issuer = fx.fx.issuer_with(Arc::new(settings));
    let token = fx
        .rt
        .block_on(issuer.issue(&test_util::user(), IssueOptions::default()))
        .expect("issue")
        .token;
    fx.verify(&token).expect("the minted token verifies");
    Setup {
        alg,
        token,
        verifying,
        signing,
        issuer,
    }
}

fn benches(c: &mut Criterion) {
    // Keys: EdDSA, ES256 (always there), RS256.
    let fx = BlockingFixture::new(&[Alg::RS256]);
    let setups: Vec<Setup> = (0..3).map(|k| setup(&fx, k)).collect();

    let mut g = c.benchmark_group("sig_verify");
    for s in &setups {
        let (input, sig) = s.token.rsplit_once('.').expect("three segments");
        let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sig)
            .expect("base64url signature");
        assert!(s.verifying.verify(input.as_bytes(), &sig).expect("verify"));
        g.bench_function(s.alg.as_str(), |b| {
            b.iter(|| {
                s.verifying
                    .verify(std::hint::black_box(input.as_bytes()), &sig)
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("sig_sign");
    for s in &setups {
        let input = s.token.rsplit_once('.').expect("three segments").0;
        g.bench_function(s.alg.as_str(), |b| {
            b.iter(|| s.signing.sign(std::hint::black_box(input.as_bytes())))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("verify_jwt");
    for s in &setups {
        g.bench_function(s.alg.as_str(), |b| b.iter(|| fx.verify(&s.token)));
    }
    g.finish();

    let u = test_util::user();
    let mut g = c.benchmark_group("issue_jwt");
    for s in &setups {
        g.bench_function(s.alg.as_str(), |b| {
            b.iter(|| fx.rt.block_on(s.issuer.issue(&u, IssueOptions::default())))
        });
    }
    g.finish();
}

criterion_group!(verify, benches);
criterion_main!(verify);
