//! Gateway mode's test bench: real Better Auth and this service on one SQLite file, the HTTP
//! forward-auth endpoint, an upstream that echoes the headers it receives, and real nginx and
//! Caddy run from the configs in deploy/gateway/.
use std::{
    collections::BTreeMap,
    convert::Infallible,
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use better_auth_grpc::app::App;
use http_body_util::Full;
use hyper::{body::Bytes, server::conn::http1, service::service_fn, Request, Response};
use hyper_util::rt::TokioIo;
use tokio::{net::TcpListener, sync::oneshot};

use super::{
    better_auth::{BetterAuth, BetterAuthOptions, DEFAULT_BASE_URL, DEFAULT_SECRET},
    db::Db,
    process::free_port,
    server::{config, settings_with, Serving},
};

/// `/public` for anyone, `/admin` for the admin role, everything else for signed-in users.
pub const POLICIES: &str = r#"
[[policies]]
path_prefix = "/public"
access = "public"

[[policies]]
path_prefix = "/admin"
access = "role"
roles = ["admin"]
"#;

pub struct Gateway {
    pub db: Db,
    pub ba: BetterAuth,
    pub grpc: SocketAddr,
    pub http_auth: SocketAddr,
    serving: Option<Serving>,
    stop_http: Option<oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Gateway {
    /// Better Auth with the jwt, bearer and admin plugins; the service with [`POLICIES`] and
    /// `flags`, serving gRPC (with ext_authz) and the HTTP endpoint.
    pub async fn start(flags: &[&str]) -> Self {
        let db = Db::sqlite().await;
        let path = db.sqlite_path().expect("sqlite");
        let mut opts = BetterAuthOptions::sqlite(&path);
        opts.plugins = vec!["jwt", "bearer", "admin"];
        let ba = BetterAuth::start(opts).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("gateway.toml");
        std::fs::write(&file, POLICIES).expect("write policies");
        let mut all = vec![
            "--config",
            file.to_str().expect("utf-8"),
            "--base-url",
            DEFAULT_BASE_URL,
        ];
        all.extend_from_slice(flags);
        let app = App::build(
            config(&settings_with(&db.url, DEFAULT_SECRET, &all)),
            clock(),
        )
        .await
        .expect("app builds");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let http_auth = listener.local_addr().expect("addr");
        let (stop_http, stopped) = oneshot::channel::<()>();
        let (gate, names) = (app.gatekeeper(), app.config.gateway.headers.clone());
        tokio::spawn(better_auth_grpc::http_auth::serve(
            listener,
            gate,
            names,
            better_auth_grpc::http_auth::Limits {
                max_connections: 64,
                drain_timeout: Duration::from_secs(1),
            },
            async {
                let _ = stopped.await;
            },
        ));
        let serving = Serving::start(app).await;
        Self {
            db,
            ba,
            grpc: serving.addr,
            http_auth,
            serving: Some(serving),
            stop_http: Some(stop_http),
            _dir: dir,
        }
    }

    pub async fn stop(mut self) {
        if let Some(s) = self.stop_http.take() {
            let _ = s.send(());
        }
        if let Some(s) = self.serving.take() {
            s.stop().await;
        }
    }
}

fn clock() -> better_auth_grpc::clock::SharedClock {
    std::sync::Arc::new(better_auth_grpc::clock::SystemClock)
}

/// An upstream that answers every request with a JSON object of the headers it received
/// (lower-case names; repeated headers joined with ", ").
pub async fn echo_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = service_fn(echo);
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

async fn echo(req: Request<hyper::body::Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for (k, v) in req.headers() {
        let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
        seen.entry(k.as_str().to_owned())
            .and_modify(|e| {
                e.push_str(", ");
                e.push_str(&v);
            })
            .or_insert(v);
    }
    let body = serde_json::to_vec(&seen).unwrap_or_default();
    Ok(Response::new(Full::new(Bytes::from(body))))
}

/// A proxy process (nginx or Caddy), killed on drop.
pub struct Proxy {
    child: Child,
    pub addr: SocketAddr,
    /// nginx's second server: the same upstream without auth.
    pub noauth: Option<SocketAddr>,
    dir: tempfile::TempDir,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proxy {
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

/// The Debian package's binary; a missing one fails the test with the fix.
fn binary(name: &str, package: &str) -> PathBuf {
    let candidates = [format!("/usr/sbin/{name}"), format!("/usr/bin/{name}")];
    let found = candidates.iter().map(PathBuf::from).find(|p| p.exists());
    found.unwrap_or_else(|| {
        panic!("{name} is not installed: apt-get install {package} (.ci/run installs it)")
    })
}

fn template(file: &str, values: &[(&str, String)]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy/gateway")
        .join(file);
    let mut text = std::fs::read_to_string(&path).expect("deploy/gateway config");
    for (k, v) in values {
        text = text.replace(&format!("@{k}@"), v);
    }
    text
}

/// nginx running deploy/gateway/nginx.conf in front of `upstream`, asking `auth`.
pub async fn nginx(auth: SocketAddr, upstream: SocketAddr) -> Proxy {
    let dir = tempfile::tempdir().expect("tempdir");
    let (listen, noauth) = (local(free_port()), local(free_port()));
    let conf = template(
        "nginx.conf",
        &[
            ("DIR", dir.path().display().to_string()),
            ("LISTEN", listen.to_string()),
            ("LISTEN_NOAUTH", noauth.to_string()),
            ("AUTH", auth.to_string()),
            ("UPSTREAM", upstream.to_string()),
        ],
    );
    let file = dir.path().join("nginx.conf");
    std::fs::write(&file, conf).expect("write nginx.conf");
    let mut c = Command::new(binary("nginx", "nginx"));
    c.arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&file)
        .args(["-g", "daemon off;", "-e", "stderr"]);
    started(c, listen, Some(noauth), dir).await
}

/// Caddy running deploy/gateway/Caddyfile in front of `upstream`, asking `auth`.
pub async fn caddy(auth: SocketAddr, upstream: SocketAddr) -> Proxy {
    let dir = tempfile::tempdir().expect("tempdir");
    let listen = local(free_port());
    let conf = template(
        "Caddyfile",
        &[
            ("DIR", dir.path().display().to_string()),
            ("LISTEN", listen.to_string()),
            ("AUTH", auth.to_string()),
            ("UPSTREAM", upstream.to_string()),
        ],
    );
    let file = dir.path().join("Caddyfile");
    std::fs::write(&file, conf).expect("write Caddyfile");
    let mut c = Command::new(binary("caddy", "caddy"));
    c.args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&file);
    c.env("HOME", dir.path())
        .env("XDG_DATA_HOME", dir.path())
        .env("XDG_CONFIG_HOME", dir.path());
    started(c, listen, None, dir).await
}

fn local(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

async fn started(
    mut c: Command,
    addr: SocketAddr,
    noauth: Option<SocketAddr>,
    dir: tempfile::TempDir,
) -> Proxy {
    let log = std::fs::File::create(dir.path().join("error.log")).expect("log file");
    c.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log);
    let child = c.spawn().expect("the proxy starts");
    let mut proxy = Proxy {
        child,
        addr,
        noauth,
        dir,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        if let Ok(Some(status)) = proxy.child.try_wait() {
            panic!("the proxy exited ({status}): {}", proxy.log());
        }
        assert!(
            Instant::now() < deadline,
            "the proxy never listened: {}",
            proxy.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    proxy
}
