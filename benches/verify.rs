//! Per-operation cost of the JWT layer (the crypto ceiling of ValidateToken/IssueToken):
//!
//! * `sig_verify/<alg>`: `VerifyingKey::verify` of one signature (EdDSA, ES256, RS256);
//! * `sig_sign/<alg>`: `SigningKey::sign` (EdDSA, ES256, RS256);
//! * `verify_jwt/<alg>`: the whole `Verifier::verify` (split, base64url, JSON header and
//!   payload, key lookup, signature, claims) of a token Issuer minted, keys in memory;
//! * `issue_jwt/<alg>`: the whole `Issuer::issue` (claims JSON, sign) with a cached key.
//!
//! `cargo bench --bench verify` (criterion; `-- --quick` for a fast pass).
use std::sync::Arc;

use base64::Engine as _;
use better_auth_grpc::clock::SystemClock;
use better_auth_grpc::domain::model::User;
use better_auth_grpc::domain::secret::Secrets;
use better_auth_grpc::token::{
    new_jwk_row, Alg, IssueOptions, Issuer, JwkRows, JwtSettings, KeySet, Verifier, VerifyOptions,
    VerifyingKey,
};
use chrono::Utc;
use criterion::{criterion_group, criterion_main, Criterion};

const SECRET: &str = "better-auth-grpc-bench-secret-0123456789abcdef";
const ORIGIN: &str = "http://127.0.0.1:3000";

fn user() -> User {
    let now =
        chrono::DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).unwrap_or_default();
    User {
        id: "JjFfTgCaINnjVYjc9VVNVpJ2Q4ONLJ1x".into(),
        name: "Bench User".into(),
        email: "bench-user@example.com".into(),
        email_verified: false,
        image: None,
        created_at: now,
        updated_at: now,
        extra: Vec::new(),
    }
}

struct Setup {
    alg: Alg,
    token: String,
    verifying: VerifyingKey,
    signing: better_auth_grpc::token::SigningKey,
    verifier: Verifier,
    issuer: Issuer,
}

fn setup(rt: &tokio::runtime::Runtime, alg: Alg) -> Setup {
    let secrets = Arc::new(Secrets::from_secret(SECRET).expect("secret"));
    let mut settings = JwtSettings::for_origin(ORIGIN);
    settings.alg = alg;
    let (row, signing) = new_jwk_row(&settings, &secrets, Utc::now()).expect("key");
    let verifying = VerifyingKey::from_row(&row, alg).expect("verifying key");
    let settings = Arc::new(settings);
    let clock = Arc::new(SystemClock);
    let rows = Arc::new(JwkRows::memory(vec![row.clone()]));
    let keys = rt
        .block_on(KeySet::from_rows(vec![row], &settings, clock.clone()))
        .expect("key set");
    let verifier = Verifier::new(
        Arc::new(keys),
        settings.clone(),
        secrets.clone(),
        clock.clone(),
    );
    let issuer = Issuer::new(rows, settings, secrets, clock);
    let token = rt
        .block_on(issuer.issue(&user(), IssueOptions::default()))
        .expect("issue")
        .token;
    rt.block_on(verifier.verify(&token, VerifyOptions::default()))
        .expect("the minted token verifies");
    Setup {
        alg,
        token,
        verifying,
        signing,
        verifier,
        issuer,
    }
}

fn benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let setups: Vec<Setup> = [Alg::EdDSA, Alg::ES256, Alg::RS256]
        .into_iter()
        .map(|a| setup(&rt, a))
        .collect();

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
        g.bench_function(s.alg.as_str(), |b| {
            b.iter(|| rt.block_on(s.verifier.verify(&s.token, VerifyOptions::default())))
        });
    }
    g.finish();

    let u = user();
    let mut g = c.benchmark_group("issue_jwt");
    for s in &setups {
        g.bench_function(s.alg.as_str(), |b| {
            b.iter(|| rt.block_on(s.issuer.issue(&u, IssueOptions::default())))
        });
    }
    g.finish();
}

criterion_group!(verify, benches);
criterion_main!(verify);
