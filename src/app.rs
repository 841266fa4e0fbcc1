//! Start-up: configuration, database, schema check, then the server. `anyhow` lives here only.
use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use tokio::net::TcpListener;

use crate::auth::{
    cookie_cache::CookieCache,
    fresh_user::UserCheck,
    gateway::Gatekeeper,
    issue::TokenService,
    session::SessionService,
    validate::{Authenticator, JwtCheck},
};
use crate::cli::{Cli, Command};
use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, DatabaseConfig, DbKind};
use crate::demo;
use crate::grpc::{ext_authz::ExtAuthz, server, service::AuthGrpc};
use crate::store::{postgres, sqlite, SchemaState, Store, StoreError};
use crate::token::{Issuer, JwkRows, KeySet, Verifier};

/// Everything a server needs, built from a validated Config.
pub struct App {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub auth: Authenticator,
    /// JWT issuing; `None` when no issuer is configured or the jwks table is missing.
    pub tokens: Option<TokenService>,
}

impl App {
    /// Opens the database and checks its schema; never alters an existing schema
    /// (the embedded default creates its own in an empty file).
    pub async fn build(config: Config, clock: SharedClock) -> Result<Self, StoreError> {
        let store = open_store(&config).await?;
        let sessions = SessionService::new(store.clone(), clock.clone(), config.session.clone());
        let jwt = jwt_parts(&config, &store, &clock);
        let check = jwt.as_ref().map(|(verifier, _)| JwtCheck {
            verifier: verifier.clone(),
            users: config
                .jwt_check_user
                .map(|ttl| UserCheck::new(store.clone(), ttl)),
        });
        let cookie_cache = config.cookie_cache.clone().map(|rules| {
            let keys = jwt.as_ref().map(|(verifier, _)| verifier.clone());
            CookieCache::new(rules, config.secrets.clone(), keys, clock.clone())
        });
        let auth = Authenticator::new(
            config.credentials.clone(),
            config.secrets.clone(),
            sessions,
            check,
            clock,
        )
        .with_cookie_cache(cookie_cache);
        let tokens = jwt.map(|(_, issuer)| {
            let audiences = config
                .jwt
                .as_ref()
                .map(|j| j.audience.values().to_vec())
                .unwrap_or_default();
            TokenService::new(
                auth.clone(),
                store.clone(),
                issuer,
                config.jwt_max_lifetime,
                audiences,
            )
        });
        Ok(Self {
            config,
            store,
            auth,
            tokens,
        })
    }

    pub fn grpc(&self) -> AuthGrpc {
        AuthGrpc::new(
            self.auth.clone(),
            self.tokens.clone(),
            self.config.callers.clone(),
            self.config.database.timeout,
        )
    }

    /// Gateway mode's decisions (ext_authz Check and the HTTP forward-auth endpoint).
    pub fn gatekeeper(&self) -> Gatekeeper {
        let g = &self.config.gateway;
        let gate = Gatekeeper::new(
            self.auth.clone(),
            g.policies.clone(),
            self.config.database.timeout,
        );
        match (&g.upstream_jwt, &self.tokens) {
            (Some(jwt), Some(tokens)) => gate.with_upstream_jwt(jwt.clone(), tokens.clone()),
            _ => gate,
        }
    }

    /// What the embedded default's demo seeding takes from this app.
    fn demo_inputs(&self) -> demo::Inputs<'_> {
        demo::Inputs {
            store: self.store.as_ref(),
            session_lifetime: self.config.session.expires_in,
            secrets: &self.config.secrets,
            cookie_name: &self.config.credentials.session_cookie,
            issuer: self.tokens.as_ref().map(|t| t.issuer().as_ref()),
            api_key: self.config.demo_api_key.as_ref(),
        }
    }

    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send,
    ) -> Result<(), server::ServeError> {
        let health = server::HealthSources {
            store: self.store.clone(),
            issuer: self.tokens.as_ref().map(|t| t.issuer().clone()),
        };
        let ext_authz = ExtAuthz::new(self.gatekeeper(), self.config.gateway.headers.clone());
        server::serve(
            self.grpc(),
            ext_authz,
            health,
            listener,
            &self.config.transport,
            shutdown,
        )
        .await
    }
}

/// One key set shared by the verifier and the issuer, so keys the issuer creates verify at once.
fn jwt_parts(
    config: &Config,
    store: &Arc<dyn Store>,
    clock: &SharedClock,
) -> Option<(Arc<Verifier>, Arc<Issuer>)> {
    let settings = Arc::new(config.jwt.clone()?);
    if !store.has_jwks() {
        tracing::warn!("no jwks table (Better Auth's jwt plugin): JWTs are refused as UNSUPPORTED and IssueToken is off");
        return None;
    }
    let rows = Arc::new(JwkRows::store(store.clone()));
    let keys = Arc::new(KeySet::new(rows.clone(), &settings, clock.clone()));
    let secrets = config.secrets.clone();
    let verifier = Verifier::new(
        keys.clone(),
        settings.clone(),
        secrets.clone(),
        clock.clone(),
    );
    let issuer = Issuer::new(rows, settings, secrets, clock.clone())
        .with_key_set(keys)
        .read_only(config.session.read_only);
    Some((Arc::new(verifier), Arc::new(issuer)))
}

/// PostgreSQL that cannot be reached at start-up does not stop the service: it starts with a
/// store that opens (and checks the schema) on the first call after the database is back.
/// A schema problem found at start-up still stops it, with a message naming what is missing.
async fn open_store(c: &Config) -> Result<Arc<dyn Store>, StoreError> {
    match c.database.kind {
        DbKind::Postgres => match open_postgres(c.clone()).await {
            Err(StoreError::Unavailable(e)) => {
                tracing::warn!(error = %e, "database unreachable at start-up: health NOT_SERVING until it is back");
                let config = c.clone();
                Ok(Arc::new(crate::store::lazy::LazyStore::new(Box::new(
                    move || Box::pin(open_postgres(config.clone())),
                ))))
            }
            other => other,
        },
        DbKind::Sqlite => {
            let db = &c.database;
            if c.embedded_default {
                db.create_private_sqlite_file().map_err(|e| {
                    StoreError::Other(format!("cannot create the SQLite file: {e}"))
                })?;
            }
            let pool = sqlite::pool(&sqlite_settings(db, c.embedded_default))?;
            if c.embedded_default && sqlite::schema_state(&pool).await?.present.is_empty() {
                sqlite::migrate(&pool).await?;
            }
            Ok(Arc::new(
                sqlite::SqliteStore::open(pool, &c.names, &c.boolean_fields).await?,
            ))
        }
    }
}

async fn open_postgres(c: Config) -> Result<Arc<dyn Store>, StoreError> {
    let s = pg_settings(&c.database);
    Ok(Arc::new(
        postgres::open(&s, &c.names, &c.boolean_fields).await?,
    ))
}

fn pg_settings(db: &DatabaseConfig) -> postgres::PgSettings {
    postgres::PgSettings {
        url: db.url.clone(),
        schema: db.pg_schema.clone(),
        max_connections: db.max_connections,
        acquire_timeout: db.timeout,
        prepared_statements: db.prepared_statements,
    }
}

fn sqlite_settings(db: &DatabaseConfig, create: bool) -> sqlite::SqliteSettings {
    sqlite::SqliteSettings {
        url: db.url.clone(),
        create,
        max_connections: db.max_connections,
        acquire_timeout: db.timeout,
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum MigrateOutcome {
    Created,
    AlreadyPresent,
}

/// `better-auth-grpc migrate`: creates Better Auth's schema in an empty database; refuses a
/// database that has only part of it, naming what is there and what is missing.
pub async fn migrate(db: &DatabaseConfig) -> Result<MigrateOutcome, StoreError> {
    let state = match db.kind {
        DbKind::Postgres => postgres::schema_state(&postgres::pool(&pg_settings(db))?).await?,
        DbKind::Sqlite => sqlite::schema_state(&sqlite::pool(&sqlite_settings(db, true))?).await?,
    };
    match state {
        SchemaState { missing, .. } if missing.is_empty() => Ok(MigrateOutcome::AlreadyPresent),
        SchemaState { present, missing } if !present.is_empty() => {
            Err(StoreError::Schema(format!(
                "the database already has {} but lacks {}; migrate only fills an empty database \
             (run Better Auth's own migration for an existing one)",
                present.join(", "),
                missing.join(", ")
            )))
        }
        _ => {
            match db.kind {
                DbKind::Postgres => postgres::migrate(&postgres::pool(&pg_settings(db))?).await?,
                DbKind::Sqlite => {
                    sqlite::migrate(&sqlite::pool(&sqlite_settings(db, true))?).await?
                }
            }
            Ok(MigrateOutcome::Created)
        }
    }
}

/// The binary's whole life: returns the process exit code.
pub async fn main(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            let database = Config::load_database(&cli.settings)?;
            let outcome = migrate(&database).await.context("migrate")?;
            say(match outcome {
                MigrateOutcome::Created => {
                    "created Better Auth's schema (user, session, account, verification, jwks)"
                }
                MigrateOutcome::AlreadyPresent => {
                    "Better Auth's schema is already present; nothing to do"
                }
            });
            Ok(())
        }
        Command::Serve => {
            let config = Config::load(&cli.settings)?;
            init_logging(&config.log);
            serve(config).await
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listener = TcpListener::bind(config.listen_addr)
        .await
        .with_context(|| format!("listen_addr: cannot bind {}", config.listen_addr))?;
    let addr: SocketAddr = listener.local_addr()?;
    let shutdown = shutdown_signal();
    let embedded = config.embedded_default;
    let app = App::build(config, Arc::new(SystemClock))
        .await
        .context("database")?;
    if embedded {
        let seeded = demo::seed(app.demo_inputs())
            .await
            .context("seeding the demo user")?;
        say(&seeded.banner(addr));
    }
    let tls = match &app.config.transport.tls {
        None => "off",
        Some(t) if t.mutual => "mutual",
        Some(_) => "on",
    };
    log_cookie_choice(&app.config);
    tracing::info!(
        %addr,
        tls,
        "serving gRPC (auth.v1.AuthService, grpc.health.v1, reflection)"
    );
    // One shutdown for both listeners: the gRPC server's drain starts it.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let http_auth = match app.config.gateway.http_auth_addr {
        Some(addr) => {
            let listener = TcpListener::bind(addr)
                .await
                .with_context(|| format!("http_auth_addr: cannot bind {addr}"))?;
            tracing::info!(addr = %listener.local_addr()?, "serving HTTP forward-auth");
            let mut rx = stop_rx.clone();
            let stopped = async move {
                let _ = rx.wait_for(|s| *s).await;
            };
            let (gate, names) = (app.gatekeeper(), app.config.gateway.headers.clone());
            let limits = crate::http_auth::Limits {
                max_connections: app.config.transport.connections.max_connections,
                drain_timeout: app.config.transport.drain_timeout,
            };
            let serve = crate::http_auth::serve(listener, gate, names, limits, stopped);
            Some(tokio::spawn(serve))
        }
        None => None,
    };
    let shutdown = async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    };
    app.serve(listener, shutdown).await?;
    if let Some(task) = http_auth {
        let _ = task.await;
    }
    tracing::info!("stopped");
    Ok(())
}

/// Which session cookie is read, and why; without BETTER_AUTH_URL a real database is served on
/// guesses (the cookie's `__Secure-` prefix, the JWT issuer), said once as a warning.
fn log_cookie_choice(config: &Config) {
    let cookie = &config.credentials.session_cookie;
    tracing::info!("session cookie: {cookie} ({})", config.cookie_reason);
    if config.base_origin.is_none() && !config.embedded_default {
        tracing::warn!(
            "no BETTER_AUTH_URL with a real database: the session cookie name may not be \
             Better Auth's, and JWTs are refused unless jwt_issuer is set; set BETTER_AUTH_URL \
             to Better Auth's base URL"
        );
    }
}

/// Prints to stdout; a reader that went away (a closed pipe) must not take the service down.
fn say(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{text}");
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a terminal: logs written to files or collectors stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_ansi(ansi)
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Registers the SIGTERM handler now (not at first poll), so a signal that arrives while
/// start-up is still printing its banner is not fatal.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        #[cfg(unix)]
        let term = async {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term => {},
        }
        tracing::info!("shutting down: finishing in-flight calls");
    }
}
