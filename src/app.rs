//! Start-up: configuration, database, schema check, then the server. `anyhow` lives here only.
use std::{net::SocketAddr, sync::Arc};

use anyhow::Context;
use tokio::net::TcpListener;

use crate::auth::{
    cookie_cache::CookieCache,
    feed::{Caches, Feed, FeedState},
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
use crate::store::batch::BatchedStore;
use crate::store::{feed as store_feed, postgres, sqlite, SchemaState, Store, StoreError};
use crate::token::{Issuer, JwkRows, KeySet, Verifier};

/// Everything a server needs, built from a validated Config.
pub struct App {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub auth: Authenticator,
    /// JWT issuing; `None` when no issuer is configured or the jwks table is missing.
    pub tokens: Option<TokenService>,
    /// The change feed's state and events.
    pub feed: Feed,
    /// Its background tasks, stopped with the app.
    _feed_tasks: FeedTasks,
}

/// Aborts the feed's tasks when the app goes away (a test's server stops).
struct FeedTasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for FeedTasks {
    fn drop(&mut self) {
        self.0.iter().for_each(|t| t.abort());
    }
}

impl App {
    /// Opens the database and checks its schema; never alters an existing schema
    /// (the embedded default creates its own in an empty file).
    pub async fn build(config: Config, clock: SharedClock) -> Result<Self, StoreError> {
        let store = crate::telemetry::db::MeteredStore::wrap(
            open_store(&config).await?,
            db_system(config.database.kind),
        );
        let feed = Feed::new(match config.feed.on {
            true => FeedState::Starting,
            false => FeedState::NotInstalled,
        });
        let sessions = SessionService::new(
            store.clone(),
            clock.clone(),
            config.session.clone(),
            feed.gate(),
        );
        let jwt = jwt_parts(&config, &store, &clock);
        let check = jwt.as_ref().map(|(verifier, _, _)| JwtCheck {
            verifier: verifier.clone(),
            users: config
                .jwt_check_user
                .map(|ttl| UserCheck::new(store.clone(), ttl, feed.gate())),
        });
        let caches = Caches {
            sessions: sessions.cache().cloned(),
            users: check.as_ref().and_then(|c| c.users.clone()),
            keys: jwt.as_ref().map(|(_, _, keys)| keys.clone()),
        };
        let feed_tasks = FeedTasks(match config.feed.on {
            true => start_feed(&config, &feed, caches)?,
            false => vec![],
        });
        let cookie_cache = config.cookie_cache.clone().map(|rules| {
            let keys = jwt.as_ref().map(|(verifier, _, _)| verifier.clone());
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
        let tokens = jwt.map(|(_, issuer, _)| {
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
            feed,
            _feed_tasks: feed_tasks,
        })
    }

    pub fn grpc(&self) -> AuthGrpc {
        AuthGrpc::new(
            self.auth.clone(),
            self.feed.clone(),
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

fn db_system(kind: DbKind) -> &'static str {
    match kind {
        DbKind::Postgres => "postgresql",
        DbKind::Sqlite => "sqlite",
    }
}

/// Follows the database's changes: the store's feed reports, the app's `Feed` applies.
fn start_feed(
    config: &Config,
    feed: &Feed,
    caches: Caches,
) -> Result<Vec<tokio::task::JoinHandle<()>>, StoreError> {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let follow = match config.database.kind {
        DbKind::Postgres => {
            let mut db = pg_settings(&config.database);
            if let Some(url) = &config.feed.listen_url {
                db.url = url.clone();
            }
            let heartbeat = config.feed.heartbeat;
            store_feed::spawn_postgres(store_feed::PgFeedSettings { db, heartbeat }, tx)
        }
        DbKind::Sqlite => {
            let pool = sqlite::pool(&sqlite_settings(&config.database, false))?;
            store_feed::spawn_sqlite(pool, tx)
        }
    };
    Ok(vec![follow, feed.start(caches, rx)])
}

/// The key set is shared by the verifier and the issuer, so keys the issuer creates verify at
/// once, and handed to the change feed, which reloads it when the jwks table changes.
fn jwt_parts(
    config: &Config,
    store: &Arc<dyn Store>,
    clock: &SharedClock,
) -> Option<(Arc<Verifier>, Arc<Issuer>, Arc<KeySet>)> {
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
        .with_key_set(keys.clone())
        .read_only(config.session.read_only);
    Some((Arc::new(verifier), Arc::new(issuer), keys))
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

/// Session lookups that arrive while every connection is busy share one round trip.
async fn open_postgres(c: Config) -> Result<Arc<dyn Store>, StoreError> {
    let s = pg_settings(&c.database);
    let store = Arc::new(postgres::open(&s, &c.names, &c.boolean_fields).await?);
    let lanes = c.database.lookup_lanes as usize;
    Ok(Arc::new(BatchedStore::new(store, lanes)))
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

/// `migrate --change-feed`: the triggers that NOTIFY each replica (PostgreSQL only).
pub async fn install_change_feed(db: &DatabaseConfig) -> Result<(), StoreError> {
    match db.kind {
        DbKind::Postgres => store_feed::install(&pg_settings(db)).await,
        DbKind::Sqlite => Err(StoreError::Schema(
            "SQLite needs no triggers: serve follows its changes through PRAGMA data_version \
             (--follow-changes auto, the default)"
                .into(),
        )),
    }
}

/// The binary's whole life: returns the process exit code.
pub async fn main(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate { change_feed } => {
            let database = Config::load_database(&cli.settings)?;
            let outcome = migrate(&database).await.context("migrate")?;
            say(match outcome {
                MigrateOutcome::Created => {
                    "created Better Auth's schema (user, session, account, verification, jwks)"
                }
                MigrateOutcome::AlreadyPresent if change_feed => {
                    "Better Auth's schema is already present"
                }
                MigrateOutcome::AlreadyPresent => {
                    "Better Auth's schema is already present; nothing to do"
                }
            });
            if change_feed {
                install_change_feed(&database)
                    .await
                    .context("migrate --change-feed")?;
                say("installed the change feed's triggers (channel better_auth_grpc): serve follows them");
            }
            Ok(())
        }
        Command::Serve => {
            let config = Config::load(&cli.settings)?;
            let _telemetry = crate::telemetry::init(&config.log, &config.observe)
                .context("OpenTelemetry traces (OTEL_EXPORTER_OTLP_ENDPOINT)")?;
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
    let metrics = start_metrics(config.observe.metrics_addr).await?;
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
    tracing::info!("change feed: {}", feed_line(&app.config).await);
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
    drop(metrics);
    tracing::info!("stopped");
    Ok(())
}

/// Whether the change feed is on, for the start-up line (the feed itself reports changes later).
async fn feed_line(config: &Config) -> String {
    if !config.feed.on {
        return "off (--follow-changes off): no session cache unless --session-cache-ms".into();
    }
    if config.database.kind == DbKind::Sqlite {
        return format!(
            "on: PRAGMA data_version every {:?}",
            store_feed::SQLITE_POLL_EVERY
        );
    }
    let mut db = pg_settings(&config.database);
    if let Some(url) = &config.feed.listen_url {
        db.url = url.clone();
    }
    match store_feed::probe(&db).await {
        Ok(true) => {
            "on: triggers installed, LISTEN on a connection of its own; session cache on".into()
        }
        Ok(false) => "off: no triggers (run `better-auth-grpc migrate --change-feed`); \
             it turns on by itself once they exist"
            .into(),
        Err(e) => format!("not known yet ({e}): on once the database answers with the triggers"),
    }
}

/// The `/metrics` listener, bound before the database is opened so a bad address stops
/// start-up at once; it serves until the returned sender is dropped.
async fn start_metrics(
    addr: Option<SocketAddr>,
) -> anyhow::Result<Option<tokio::sync::oneshot::Sender<()>>> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("metrics_addr: cannot bind {addr}"))?;
    let bound = listener.local_addr()?;
    let handle = crate::telemetry::metrics::install().context("metrics recorder")?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        if let Err(e) = crate::telemetry::metrics::serve(listener, handle, shutdown).await {
            tracing::error!(error = %e, "metrics listener failed");
        }
    });
    tracing::info!(metrics_addr = %bound, "Prometheus /metrics listening");
    Ok(Some(stop))
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
