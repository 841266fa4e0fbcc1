//! A real PgBouncer in transaction mode with a small pool, in front of a test database.
//!
//! Run as the `postgres` OS user when we are root (PgBouncer refuses root), from a temporary
//! directory holding its ini, user list, log and pid file; stopped on drop.
use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Server connections per database and user: fewer than the concurrent calls of the tests.
pub const POOL_SIZE: u32 = 2;

const MISSING: &str = "pgbouncer not found on PATH nor in /usr/sbin: install it \
     (apt-get install pgbouncer; .ci/run does)";

pub struct PgBouncer {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl PgBouncer {
    /// Starts PgBouncer in front of the server of `direct_url` (`postgres://user@host:port/db`).
    pub fn start(direct_url: &str) -> Self {
        let backend = url::Url::parse(direct_url).expect("database URL");
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("pgbouncer-{}-{port}", std::process::id()));
        fs::create_dir_all(&dir).expect("pgbouncer dir");
        write_config(&dir, port, backend.port().expect("database port"));
        chown_to_postgres(&dir);
        let child = as_postgres(&binary())
            .arg(dir.join("pgbouncer.ini"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn pgbouncer");
        let bouncer = Self { child, dir, port };
        bouncer.wait_listening();
        bouncer
    }

    /// `direct_url` with its host and port replaced by PgBouncer's.
    pub fn url(&self, direct_url: &str) -> String {
        let mut u = url::Url::parse(direct_url).expect("database URL");
        u.set_port(Some(self.port)).expect("port");
        u.to_string()
    }

    /// The admin console's RECONNECT: every server connection is closed and reopened as soon
    /// as it is released.
    pub fn reconnect(&self) {
        let out = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-h",
                "127.0.0.1",
                "-U",
                "postgres",
                "-d",
                "pgbouncer",
            ])
            .args(["-p", &self.port.to_string(), "-c", "RECONNECT"])
            .output()
            .expect("run psql");
        assert!(
            out.status.success(),
            "RECONNECT failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("pgbouncer.log")).unwrap_or_default()
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "pgbouncer did not listen: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        // runuser waits for PgBouncer without passing signals on: stop PgBouncer itself.
        if let Ok(pid) = fs::read_to_string(self.dir.join("pgbouncer.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn write_config(dir: &Path, port: u16, backend_port: u16) {
    let ini = format!(
        "[databases]\n* = host=127.0.0.1 port={backend_port}\n\n[pgbouncer]\n\
         listen_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n\
         auth_type = trust\nauth_file = {users}\nadmin_users = postgres\n\
         pool_mode = transaction\ndefault_pool_size = {POOL_SIZE}\nmax_client_conn = 200\n\
         ignore_startup_parameters = extra_float_digits\n\
         logfile = {log}\npidfile = {pid}\n",
        users = dir.join("users.txt").display(),
        log = dir.join("pgbouncer.log").display(),
        pid = dir.join("pgbouncer.pid").display(),
    );
    fs::write(dir.join("pgbouncer.ini"), ini).expect("write ini");
    // `trust` still wants the user listed.
    fs::write(dir.join("users.txt"), "\"postgres\" \"\"\n").expect("write users");
}

fn binary() -> PathBuf {
    let on_path = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join("pgbouncer"))
        .find(|p| p.is_file());
    let fallback = PathBuf::from("/usr/sbin/pgbouncer");
    on_path
        .or_else(|| fallback.is_file().then_some(fallback))
        .expect(MISSING)
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// PgBouncer refuses to run as root.
fn as_postgres(program: &Path) -> Command {
    let mut command = match is_root() {
        true => {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        }
        false => Command::new(program),
    };
    command.current_dir("/");
    command
}

fn chown_to_postgres(dir: &Path) {
    if is_root() {
        let ok = Command::new("chown")
            .args(["-R", "postgres:"])
            .arg(dir)
            .status();
        assert!(ok.is_ok_and(|s| s.success()), "chown {}", dir.display());
    }
}
