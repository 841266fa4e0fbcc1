//! `{:?}` of every type that holds a secret shows none of it.
use better_auth_grpc::{
    auth::{
        callers::{key_sha256_hex, Caller},
        credential::{self, Credential, CredentialKind, CredentialRules},
        signature::{sign, sign_cookie_value},
    },
    cli::SettingsArgs,
    config::Config,
    domain::{
        model::{random_id, Session},
        secret::Secrets,
        time::millis,
    },
    token::Alg,
};
use chrono::Utc;

use super::{grep::Secret, API_KEY, COOKIE, DB_PASSWORD, SECRET, WRONG_SECRET};

/// `{:?}` of the configuration and of every type that holds a secret shows none of it.
#[test]
fn debug_output_holds_no_secret_material() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let legacy = "redaction-LEGACY-secret-0123456789abcdef";
    std::fs::write(
        &path,
        format!(
            "secret = \"{legacy}\"\nsecrets = \"2:{SECRET},1:{WRONG_SECRET}\"\n\
             base_url = \"https://app.example.com\"\n\n[[callers]]\nname = \"svc\"\n\
             key_sha256 = \"{}\"\n",
            key_sha256_hex(API_KEY)
        ),
    )
    .unwrap();
    let path = path.to_str().unwrap();
    let args = SettingsArgs::from_flags(["--config", path, "--database-url", "sqlite::memory:"]);
    let config = Config::load(&args).expect("config loads");
    let token = random_id(32);
    let signed = sign(&token, SECRET.as_bytes());
    let jwt = "eyJhbGciOiJFZERTQSIsImtpZCI6ImsifQ.eyJzdWIiOiJ1c2VyLWlkLTAxMjM0NTY3ODkifQ.c2lnbmF0dXJlLXNlZ21lbnQtMDEyMzQ1Njc4OQ";

    let mut secrets = Secret::default();
    secrets.add("BETTER_AUTH_SECRETS current", SECRET);
    secrets.add("BETTER_AUTH_SECRETS old", WRONG_SECRET);
    secrets.add("BETTER_AUTH_SECRET (legacy)", legacy);
    secrets.add("the API key", API_KEY);
    secrets.add("the API key's hash", key_sha256_hex(API_KEY));
    secrets.add("a session token", token.clone());
    secrets.add("a signed token", signed.clone());
    secrets.add("a JWT", jwt);
    secrets.add("a JWT's signature", jwt.rsplit('.').next().unwrap());

    let rules = CredentialRules {
        session_cookie: COOKIE.into(),
        dont_remember_cookie: "better-auth.dont_remember".into(),
        max_token_bytes: 8192,
        require_signature: false,
    };
    let header = format!("{COOKIE}={}", sign_cookie_value(&token, SECRET.as_bytes()));
    let parsed = credential::parse(&header, &rules, SECRET.as_bytes()).expect("cookie parses");
    assert!(matches!(&parsed, Credential::Session { token: t, .. } if *t == token));
    let now = millis(Utc::now());
    let session = Session {
        id: "session-id".into(),
        expires_at: now,
        token: token.clone(),
        created_at: now,
        updated_at: now,
        ip_address: None,
        user_agent: None,
        user_id: "user-id".into(),
        extra: vec![],
    };
    let caller = Caller::new("svc".into(), &key_sha256_hex(API_KEY), true, vec![]).unwrap();
    let secrets_value = Secrets::resolve(
        Some(&format!("2:{SECRET},1:{WRONG_SECRET}")),
        Some(legacy),
        None,
    )
    .unwrap();
    let printed = [
        ("Config", format!("{config:?} {config:#?}")),
        ("Secrets", format!("{secrets_value:?} {secrets_value:#?}")),
        ("Session", format!("{session:?} {session:#?}")),
        ("Credential (cookie)", format!("{parsed:?}")),
        (
            "Credential (signed)",
            format!(
                "{:?}",
                credential::parse(&signed, &rules, SECRET.as_bytes()).unwrap()
            ),
        ),
        (
            "Credential::Session",
            format!(
                "{:?}",
                Credential::Session {
                    token: token.clone(),
                    kind: CredentialKind::SessionToken,
                    dont_remember: false,
                }
            ),
        ),
        (
            "Credential::Jwt",
            format!("{:?}", Credential::Jwt(jwt.into())),
        ),
        ("Caller", format!("{caller:?} {caller:#?}")),
        ("Callers", format!("{:?}", config.callers)),
    ];
    let all: String = printed.iter().map(|(_, p)| format!("{p}\n")).collect();
    secrets.assert_detects_planted(&all);
    // The configuration did load what it must not print.
    assert_eq!(config.secrets.current(), SECRET.as_bytes());
    assert!(config.callers.authenticate(API_KEY).is_some());
    for (what, p) in &printed {
        secrets.assert_absent(what, p);
    }
}

/// The embedded default's generated secret and demo API key stay out of `{:?}` too.
#[test]
fn embedded_default_config_debug_hides_its_generated_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let config = Config::build(&SettingsArgs::default(), dir.path()).expect("embedded default");
    let read = |f: &str| {
        std::fs::read_to_string(dir.path().join(f))
            .unwrap()
            .trim()
            .to_owned()
    };
    let mut secrets = Secret::default();
    secrets.add(
        "the embedded secret",
        read(better_auth_grpc::config::DEFAULT_SECRET_FILE),
    );
    secrets.add(
        "the demo API key",
        read(better_auth_grpc::config::DEFAULT_API_KEY_FILE),
    );
    let printed = format!("{config:?} {config:#?}");
    secrets.assert_detects_planted(&printed);
    assert!(config.demo_api_key.is_some());
    secrets.assert_absent("embedded Config", &printed);
}

// Leaks this suite once found (latent: no code path printed them): each type now redacts,
// and these keep it so.

/// `{:?}` of a PostgreSQL configuration must not print the password of DATABASE_URL.
/// `DatabaseConfig` redacts the URL's password; `PgSettings`, `SettingsArgs` and its
/// `FileStructures` hold it as given and have no `Debug` at all (so nothing can print them).
#[test]
fn debug_of_the_database_url_hides_its_password() {
    let url = format!("postgres://app:{DB_PASSWORD}@db.example/app");
    let args = SettingsArgs {
        database_url: Some(url),
        secret: Some(SECRET.into()),
        ..Default::default()
    };
    let config = Config::load(&args).expect("config loads");
    let mut secrets = Secret::default();
    secrets.add("the database password", DB_PASSWORD);
    let printed = [
        ("Config with a PostgreSQL URL", format!("{config:?}")),
        ("DatabaseConfig", format!("{:?}", config.database)),
    ];
    secrets.assert_detects_planted(&printed[0].1);
    for (what, p) in &printed {
        secrets.assert_absent(what, p);
    }
}

/// An issued JWT is a bearer credential like a session token (whose `Session` Debug redacts it).
#[test]
fn debug_of_an_issued_jwt_hides_the_token() {
    let jwt = "eyJhbGciOiJFZERTQSIsImtpZCI6ImsifQ.eyJzdWIiOiJ1c2VyLWlkLTAxMjM0NTY3ODkifQ.c2lnbmF0dXJlLXNlZ21lbnQtMDEyMzQ1Njc4OQ";
    let issued = better_auth_grpc::token::IssuedJwt {
        token: jwt.into(),
        kid: "kid".into(),
        alg: Alg::EdDSA,
        issued_at: millis(Utc::now()),
        expires_at: millis(Utc::now()),
    };
    let mut secrets = Secret::default();
    secrets.add("a JWT", jwt);
    secrets.add("a JWT's signature", jwt.rsplit('.').next().unwrap());
    let printed = format!("{issued:?}");
    secrets.assert_detects_planted(&printed);
    secrets.assert_absent("IssuedJwt", &printed);
}
