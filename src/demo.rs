//! The embedded default's demo user: one user with a live session, and the lines to try it.
use std::net::SocketAddr;

use chrono::{DateTime, TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};

use crate::auth::signature;
use crate::domain::model::{random_id, Session, User};
use crate::domain::secret::Secrets;
use crate::domain::time::millis;
use crate::store::{Store, StoreError};
use crate::token::{IssueOptions, Issuer};

pub const DEMO_EMAIL: &str = "demo@example.com";

pub struct Demo {
    pub user: User,
    pub token: String,
    pub cookie_header: String,
    /// The demo caller's API key, for IssueToken.
    pub api_key: Option<String>,
    /// A JWT issued at start-up, as IssueToken would (valid for the configured lifetime).
    pub jwt: Option<String>,
}

/// What seeding takes from the assembled service.
pub struct Inputs<'a> {
    pub store: &'a dyn Store,
    /// Better Auth's `session.expiresIn`, for a new demo session.
    pub session_lifetime: TimeDelta,
    pub secrets: &'a Secrets,
    pub cookie_name: &'a str,
    /// `None` when JWT issuing is off: the banner then has no IssueToken lines.
    pub issuer: Option<&'a Issuer>,
    pub api_key: Option<&'a SecretString>,
}

/// Inserts the demo user the first time, and a new session whenever the last one is not live
/// for at least another hour.
pub async fn seed(inputs: Inputs<'_>) -> Result<Demo, StoreError> {
    let now = millis(Utc::now());
    let user = demo_user(inputs.store, now).await?;
    let session = live_session(inputs.store, &user, now, inputs.session_lifetime).await?;
    let cookie = signature::sign_cookie_value(&session.token, inputs.secrets.current());
    let cookie_header = format!("{}={cookie}", inputs.cookie_name);
    let jwt = match inputs.issuer {
        Some(issuer) => Some(
            issuer
                .issue(&user, IssueOptions::default())
                .await
                .map_err(token_err)?
                .token,
        ),
        None => None,
    };
    let api_key = inputs.api_key.map(|k| k.expose_secret().to_owned());
    Ok(Demo {
        user,
        token: session.token,
        cookie_header,
        api_key,
        jwt,
    })
}

async fn demo_user(store: &dyn Store, now: DateTime<Utc>) -> Result<User, StoreError> {
    if let Some(u) = store.find_user_by_email(DEMO_EMAIL).await? {
        return Ok(u);
    }
    let u = User {
        id: random_id(32),
        name: "Demo User".into(),
        email: DEMO_EMAIL.into(),
        email_verified: true,
        image: None,
        created_at: now,
        updated_at: now,
        extra: vec![],
    };
    store.insert_user(&u).await?;
    Ok(u)
}

async fn live_session(
    store: &dyn Store,
    user: &User,
    now: DateTime<Utc>,
    lifetime: TimeDelta,
) -> Result<Session, StoreError> {
    let live = store
        .latest_session_of(&user.id)
        .await?
        .filter(|s| s.expires_at > now + TimeDelta::hours(1));
    if let Some(s) = live {
        return Ok(s);
    }
    let s = Session {
        id: random_id(32),
        expires_at: now + lifetime,
        token: random_id(32),
        created_at: now,
        updated_at: now,
        ip_address: Some(String::new()),
        user_agent: Some(String::new()),
        user_id: user.id.clone(),
        extra: vec![],
    };
    store.insert_session(&s).await?;
    Ok(s)
}

fn token_err(e: crate::token::TokenError) -> StoreError {
    match e {
        crate::token::TokenError::Store(s) => s,
        other => StoreError::Other(other.to_string()),
    }
}

impl Demo {
    /// What a new user sees on first start: credentials and grpcurl lines that work as printed.
    pub fn banner(&self, addr: SocketAddr) -> String {
        let t = &self.token;
        let c = &self.cookie_header;
        let mut out = format!(
            "\nbetter-auth-grpc: embedded default (SQLite file {file}, demo data; not for production)\n\
             demo user:      {email} (id {id})\n\
             session token:  {t}\n\
             cookie header:  {c}\n\n\
             try it (grpcurl):\n\
             grpcurl -plaintext {addr} list\n\
             grpcurl -plaintext -d '{{\"token\":\"{t}\"}}' {addr} auth.v1.AuthService/ValidateToken\n\
             grpcurl -plaintext -d '{{\"token\":\"{c}\"}}' {addr} auth.v1.AuthService/GetSession\n",
            file = crate::config::DEFAULT_SQLITE_FILE,
            email = self.user.email,
            id = self.user.id,
        );
        if let (Some(key), Some(jwt)) = (&self.api_key, &self.jwt) {
            let id = &self.user.id;
            out.push_str(&format!(
                "grpcurl -plaintext -H 'x-api-key: {key}' -d '{{\"session_token\":\"{t}\"}}' {addr} auth.v1.AuthService/IssueToken\n\
                 grpcurl -plaintext -H 'x-api-key: {key}' -d '{{\"user_id\":\"{id}\"}}' {addr} auth.v1.AuthService/IssueToken\n\
                 grpcurl -plaintext -d '{{\"token\":\"{jwt}\"}}' {addr} auth.v1.AuthService/ValidateToken\n"
            ));
        }
        out
    }
}
