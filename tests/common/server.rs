//! Starts the real server on 127.0.0.1:0 and connects a generated client to it.
use std::{net::SocketAddr, path::Path, sync::Arc};

use better_auth_grpc::{
    app::{self, App},
    cli::SettingsArgs,
    clock::{FixedClock, SharedClock},
    config::Config,
    proto::auth::v1::auth_service_client::AuthServiceClient,
    store::Store,
};
use tokio::{net::TcpListener, sync::oneshot, task::JoinHandle};
use tonic::transport::Channel;

pub struct TestServer {
    pub addr: SocketAddr,
    pub client: AuthServiceClient<Channel>,
    pub store: Arc<dyn Store>,
    pub config: Config,
    serving: Serving,
}

/// An app serving on 127.0.0.1:0 in this runtime, until [`Serving::stop`].
pub struct Serving {
    pub addr: SocketAddr,
    stop: oneshot::Sender<()>,
    handle: JoinHandle<()>,
}

impl Serving {
    pub async fn start(app: App) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            app.serve(listener, async {
                let _ = stopped.await;
            })
            .await
            .expect("server runs");
        });
        Self { addr, stop, handle }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.handle.await;
    }
}

/// Settings for a database URL and secret; adjust fields before `start`.
pub fn settings(database_url: &str, secret: &str) -> SettingsArgs {
    settings_with(database_url, secret, &[])
}

/// The same plus `flags` (e.g. `--config` and a TOML file), parsed as the binary parses them,
/// the environment aside. A field set afterwards wins, as a flag does.
pub fn settings_with(database_url: &str, secret: &str, flags: &[&str]) -> SettingsArgs {
    let base = [
        "--database-url",
        database_url,
        "--secret",
        secret,
        "--listen-addr",
        "127.0.0.1:0",
    ];
    SettingsArgs::from_flags(base.iter().chain(flags))
}

/// `settings` with the TOML file at `config`.
pub fn settings_with_file(database_url: &str, secret: &str, config: &Path) -> SettingsArgs {
    let config = config.to_str().expect("test paths are UTF-8");
    settings_with(database_url, secret, &["--config", config])
}

/// The config the binary would build: flags over the TOML file named by `args.config`.
pub fn config(args: &SettingsArgs) -> Config {
    Config::load(args).expect("valid test config")
}

/// Creates Better Auth's schema with this service's own `migrate`.
pub async fn migrate(database_url: &str) {
    let c = config(&settings(
        database_url,
        "x-test-secret-0123456789abcdefghijkl",
    ));
    app::migrate(&c.database).await.expect("migrate");
}

impl TestServer {
    pub async fn start(args: SettingsArgs) -> Self {
        Self::start_with_clock(args, Arc::new(better_auth_grpc::clock::SystemClock)).await
    }

    pub async fn start_at(args: SettingsArgs, clock: &FixedClock) -> Self {
        Self::start_with_clock(args, Arc::new(clock.clone())).await
    }

    pub async fn start_with_clock(args: SettingsArgs, clock: SharedClock) -> Self {
        let config = config(&args);
        let app = App::build(config.clone(), clock).await.expect("app builds");
        let store = app.store.clone();
        let serving = Serving::start(app).await;
        let addr = serving.addr;
        let client = AuthServiceClient::connect(format!("http://{addr}"))
            .await
            .expect("client connects");
        Self {
            addr,
            client,
            store,
            config,
            serving,
        }
    }

    pub fn channel_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn stop(self) {
        self.serving.stop().await;
    }
}
