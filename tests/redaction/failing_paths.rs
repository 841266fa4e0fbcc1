//! Every failing path the test can reach over gRPC, at TRACE, then a restart with a wrong
//! secret: one phase after another on one database, then the grep over everything.
use std::time::{Duration, Instant};

use better_auth_grpc::{
    proto::auth::v1::{
        self as pb, auth_service_client::AuthServiceClient, issue_token_request::Subject,
    },
    store::sqlite::SqliteStore,
};
use tonic::{transport::Channel, Code, Status};

use super::{
    binary::{config_file, migrate, Server},
    calls::{get_session, is_valid, issue, reason, validate, KEY},
    denied::denied_cases,
    grep::{strip_ansi, Secret, Seen},
    jwts::{crafted_jwts, segments, tampered_jwts, Key},
    sessions::{open_store, seed, session_cases, Forms},
    API_KEY, CALLER_AUDIENCE, ORIGIN, SECRET, SESSION_DATA, WRONG_API_KEY, WRONG_SECRET,
};

type Client = AuthServiceClient<Channel>;

/// What the phases share: the database and its rows, the secrets handed out, and every
/// status and refusal the server answered.
struct Ctx {
    dir: tempfile::TempDir,
    url: String,
    store: SqliteStore,
    user_id: String,
    forms: Forms,
    secrets: Secret,
    seen: Seen,
}

impl Ctx {
    /// A migrated, seeded SQLite database, and the secrets known before any call.
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("auth.sqlite").display());
        migrate(dir.path(), &url);
        let store = open_store(&url).await;
        let fx = seed(&store).await;
        let mut secrets = Secret::default();
        secrets.add("BETTER_AUTH_SECRET", SECRET);
        secrets.add("the wrong BETTER_AUTH_SECRET", WRONG_SECRET);
        secrets.add("the API key", API_KEY);
        secrets.add("a wrong API key", WRONG_API_KEY);
        secrets.add("the session_data cookie", SESSION_DATA);
        let forms = Forms::new(&fx);
        forms.add_to(&mut secrets);
        Self {
            dir,
            url,
            store,
            user_id: fx.user.id,
            forms,
            secrets,
            seen: Seen::default(),
        }
    }

    fn user_id(&self) -> Option<Subject> {
        Some(Subject::UserId(self.user_id.clone()))
    }

    /// The server with BETTER_AUTH_SECRET and the callers' config file.
    fn serve(&self) -> Server {
        let config = config_file(self.dir.path(), "callers.toml", "");
        Server::start(
            self.dir.path(),
            &[
                ("DATABASE_URL", &self.url),
                ("BETTER_AUTH_SECRET", SECRET),
                ("BETTER_AUTH_URL", ORIGIN),
                ("BETTER_AUTH_GRPC_CONFIG", config.to_str().unwrap()),
            ],
        )
    }
}

/// The JWTs IssueToken gave out.
struct Issued {
    jwt: String,
    aud_jwt: String,
    short_jwt: String,
    short_issued: Instant,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_failing_path_at_trace_keeps_secrets_out_of_logs_and_statuses() {
    let mut ctx = Ctx::new().await;
    let server = ctx.serve();
    let mut c = server.client().await;
    sessions(&mut ctx, &mut c).await;
    refused_issues(&mut ctx, &mut c).await;
    let issued = issue_jwts(&mut ctx, &mut c).await;
    let key = Key::decrypt(&ctx.store, &mut ctx.secrets).await;
    jwts(&mut ctx, &mut c, &issued, &key).await;
    let serve_log = server.stop();
    let wrong_log = wrong_secret(&mut ctx, &issued.jwt, &key.kid).await;
    assert_clean(&ctx, &serve_log, &wrong_log);
}

/// ValidateToken (read-only) first, then GetSession (which deletes the expired row and
/// refreshes the due one) and IssueToken from the same credential.
async fn sessions(ctx: &mut Ctx, c: &mut Client) {
    let seen = &mut ctx.seen;
    let sessions = session_cases(&ctx.forms);
    for (what, input, expected) in &sessions {
        let r = validate(c, seen, what, input, "").await;
        match expected {
            None => assert!(is_valid(&r), "{what}: {r:?}"),
            Some(reason_) => assert_eq!(reason(&r), *reason_, "{what}: {r:?}"),
        }
    }
    for (what, input, expected) in &sessions {
        let r = get_session(c, seen, what, input).await;
        assert_eq!(r.is_ok(), expected.is_none(), "GetSession {what}: {r:?}");
    }
    for (what, input, expected) in &sessions {
        let subject = Some(Subject::SessionToken(input.clone()));
        let r = issue(c, seen, what, KEY, subject, "", None).await;
        assert_eq!(r.is_ok(), expected.is_none(), "IssueToken {what}: {r:?}");
        if let Ok(t) = r {
            ctx.secrets
                .add(format!("a JWT issued for the {what}"), t.token);
        }
    }
}

/// IssueToken refused: caller keys, subjects, audiences, lifetimes.
async fn refused_issues(ctx: &mut Ctx, c: &mut Client) {
    let big_key = format!("{WRONG_API_KEY}{}", "k".repeat(4000));
    ctx.secrets.add("an oversized API key", big_key.clone());
    let bearer_key = format!("Bearer {API_KEY}");
    let f = &ctx.forms;
    let denied = denied_cases(
        &ctx.user_id,
        &big_key,
        &bearer_key,
        &f.cookie_header,
        &f.unknown,
    );
    for (what, k, subject, aud, lifetime, code) in denied {
        let r = issue(c, &mut ctx.seen, what, k, subject, aud, lifetime).await;
        assert_eq!(
            r.as_ref().err().map(Status::code),
            Some(code),
            "{what}: {r:?}"
        );
    }
}

/// JWTs for the user: plain, for the caller's audience, and one that lives 1 s.
async fn issue_jwts(ctx: &mut Ctx, c: &mut Client) -> Issued {
    let jwt = issue_for_user(ctx, c, "user id", "", None).await;
    let aud_jwt = issue_for_user(
        ctx,
        c,
        "user id, caller audience",
        CALLER_AUDIENCE,
        Some(60),
    )
    .await;
    let short_jwt = issue_for_user(ctx, c, "1 s lifetime", "", Some(1)).await;
    let short_issued = Instant::now();
    for (label, t) in [
        ("a JWT", &jwt),
        ("a JWT with the caller's audience", &aud_jwt),
        ("a 1 s JWT", &short_jwt),
    ] {
        ctx.secrets.add(label, t.clone());
        ctx.secrets
            .add(format!("the signature of {label}"), segments(t)[2].clone());
    }
    Issued {
        jwt,
        aud_jwt,
        short_jwt,
        short_issued,
    }
}

async fn issue_for_user(
    ctx: &mut Ctx,
    c: &mut Client,
    what: &str,
    audience: &str,
    lifetime: Option<u32>,
) -> String {
    let subject = ctx.user_id();
    issue(c, &mut ctx.seen, what, KEY, subject, audience, lifetime)
        .await
        .unwrap_or_else(|s| panic!("IssueToken {what}: {s:?}"))
        .token
}

/// JWTs valid, tampered, with forbidden headers, and validly signed with bad claims; then a
/// foreign audience and the 1 s JWT once expired.
async fn jwts(ctx: &mut Ctx, c: &mut Client, issued: &Issued, key: &Key) {
    let unknown = &ctx.forms.unknown;
    let mut jwts = tampered_jwts(&issued.jwt, &issued.aud_jwt, key, unknown);
    jwts.extend(crafted_jwts(&issued.jwt, key, unknown));
    for (what, t, _, _) in &jwts {
        if t.len() >= 16 {
            ctx.secrets.add(format!("JWT: {what}"), t.clone());
            if let Some(sig) = t.rsplit('.').next().filter(|s| s.len() >= 16) {
                ctx.secrets.add(format!("JWT signature: {what}"), sig);
            }
        }
    }
    for (what, t, aud, expected) in &jwts {
        let r = validate(c, &mut ctx.seen, what, t, aud).await;
        match expected {
            None => assert!(is_valid(&r), "{what}: {r:?}"),
            // A truncated JWT is not recognised as one: any refusal will do.
            Some(_) if *what == "truncated" => assert!(!is_valid(&r), "{what}: {r:?}"),
            Some(reason_) => assert_eq!(reason(&r), *reason_, "{what}: {r:?}"),
        }
        refused_as_a_session(c, &mut ctx.seen, what, t).await;
    }
    // Narrowing to an audience this service does not accept is INVALID_ARGUMENT.
    let seen = &mut ctx.seen;
    let foreign = "https://evil.example";
    let r = validate(c, seen, "foreign audience", &issued.jwt, foreign).await;
    assert_eq!(r.err().map(|s| s.code()), Some(Code::InvalidArgument));
    // The 1 s JWT, once expired.
    let left = Duration::from_millis(2100).saturating_sub(issued.short_issued.elapsed());
    tokio::time::sleep(left).await;
    let r = validate(c, seen, "expired issued JWT", &issued.short_jwt, "").await;
    assert_eq!(reason(&r), pb::Reason::JwtExpired);
}

/// A JWT is not a session credential: GetSession and IssueToken refuse all of them.
async fn refused_as_a_session(c: &mut Client, seen: &mut Seen, what: &str, t: &str) {
    let g = get_session(c, seen, what, t).await;
    assert!(g.is_err(), "GetSession {what}: {g:?}");
    let subject = Some(Subject::SessionToken(t.to_owned()));
    let i = issue(c, seen, what, KEY, subject, "", None).await;
    assert!(i.is_err(), "IssueToken {what}: {i:?}");
}

/// Restart with a wrong secret (from the TOML file this time): the stored key cannot be
/// decrypted, IssueToken answers FAILED_PRECONDITION and health logs why. Returns its stderr.
async fn wrong_secret(ctx: &mut Ctx, jwt: &str, kid: &str) -> String {
    let d = ctx.dir.path();
    let wrong = config_file(
        d,
        "wrong-secret.toml",
        &format!("secret = \"{WRONG_SECRET}\""),
    );
    let server = Server::start(
        d,
        &[
            ("DATABASE_URL", &ctx.url),
            ("BETTER_AUTH_URL", ORIGIN),
            ("BETTER_AUTH_GRPC_CONFIG", wrong.to_str().unwrap()),
        ],
    );
    let mut c = server.client().await;
    let subjects = [
        ("wrong secret, user id", ctx.user_id()),
        (
            "wrong secret, session",
            Some(Subject::SessionToken(ctx.forms.live.clone())),
        ),
    ];
    let seen = &mut ctx.seen;
    for (what, subject) in subjects {
        let r = issue(&mut c, seen, what, KEY, subject, "", None).await;
        let s = r.expect_err(what);
        assert_eq!(s.code(), Code::FailedPrecondition, "{what}: {s:?}");
        assert!(s.message().contains(kid), "names the key: {s:?}");
    }
    let cookie_header = &ctx.forms.cookie_header;
    let r = validate(&mut c, seen, "old cookie", cookie_header, "").await;
    assert_eq!(reason(&r), pb::Reason::BadSignature);
    let r = get_session(&mut c, seen, "old cookie", cookie_header).await;
    assert!(r.is_err());
    let r = validate(&mut c, seen, "JWT after a secret change", jwt, "").await;
    assert!(is_valid(&r), "public keys need no secret: {r:?}");
    // Let the issuing health probe log its error.
    let started = Instant::now();
    while !server.stderr().contains("cannot be decrypted")
        && started.elapsed() < Duration::from_secs(8)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop()
}

/// The grep works, the logs really are at TRACE, the failing paths were answered, and no
/// secret is in a log, a status or a refusal.
fn assert_clean(ctx: &Ctx, serve_log: &str, wrong_log: &str) {
    let (secrets, seen) = (&ctx.secrets, &ctx.seen);
    secrets.assert_detects_planted(serve_log);
    for (name, log) in [("serve", serve_log), ("wrong-secret", wrong_log)] {
        let plain = strip_ansi(log);
        assert!(
            plain.contains("TRACE") && plain.contains("DEBUG"),
            "{name}: stderr is not at TRACE:\n{plain}"
        );
        assert!(plain.contains("credential refused"), "{name}: {plain}");
    }
    assert!(strip_ansi(wrong_log).contains("cannot be decrypted"));
    assert!(seen.statuses >= 60, "only {} statuses", seen.statuses);
    assert!(seen.refusals >= 35, "only {} refusals", seen.refusals);

    secrets.assert_absent("stderr of serve (TRACE)", serve_log);
    secrets.assert_absent("stderr with a wrong secret (TRACE)", wrong_log);
    secrets.assert_absent("statuses and refusals", &seen.text);
}
