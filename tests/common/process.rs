//! The one way the tests run the built binary: a clean environment, its output read as it comes
//! (so a TRACE log never fills a pipe and blocks the server), readiness from what it prints,
//! SIGTERM, and an exit bounded in time.
use std::{
    io::Read,
    net::SocketAddr,
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex, PoisonError,
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

pub const BIN: &str = env!("CARGO_BIN_EXE_better-auth-grpc");

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(20);

/// The binary run in `dir`, with nothing but PATH in its environment and no stdin.
pub fn command(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .current_dir(dir)
        .stdin(Stdio::null());
    c
}

/// Runs `c` to its end; a run still going after `limit` fails the test, showing its output.
#[track_caller]
pub fn output(c: Command, limit: Duration) -> Ended {
    Running::spawn(c).wait(limit)
}

/// A port free at the time of asking, for a test that must know the address in advance.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// How a run ended, and everything it printed.
#[derive(Debug)]
pub struct Ended {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

/// A started binary; killed on drop.
pub struct Running {
    child: Child,
    what: String,
    stdout: Capture,
    stderr: Capture,
}

impl Running {
    pub fn spawn(mut c: Command) -> Self {
        let args: Vec<_> = c
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let what = format!("better-auth-grpc {}", args.join(" "));
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().expect("the binary starts");
        let stdout = Capture::start(child.stdout.take().expect("piped stdout"));
        let stderr = Capture::start(child.stderr.take().expect("piped stderr"));
        Self {
            child,
            what,
            stdout,
            stderr,
        }
    }

    /// What it wrote to stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.text()
    }

    /// What it wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// Stops reading stdout: the pipe closes at the next write, like a reader that went away.
    pub fn close_stdout(&self) {
        self.stdout.close();
    }

    pub fn try_exit(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("wait")
    }

    /// Waits until `ready` finds what it looks for in the complete lines of (stdout, stderr);
    /// a run that exits first, or is not ready within `limit`, fails the test.
    #[track_caller]
    pub fn wait_for<T>(
        &mut self,
        limit: Duration,
        mut ready: impl FnMut(&str, &str) -> Option<T>,
    ) -> T {
        let started = Instant::now();
        loop {
            let (out, err) = (self.stdout(), self.stderr());
            if let Some(found) = ready(complete_lines(&out), complete_lines(&err)) {
                return found;
            }
            if let Some(status) = self.try_exit() {
                panic!(
                    "{}: exited with {status} before it was ready\n{}",
                    self.what,
                    shown(&out, &err)
                );
            }
            assert!(
                started.elapsed() < limit,
                "{}: not ready after {limit:?}\n{}",
                self.what,
                shown(&out, &err)
            );
            std::thread::sleep(POLL);
        }
    }

    /// Where it listens, from the `addr=` of its "serving" start-up line.
    #[track_caller]
    pub fn serving(&mut self, limit: Duration) -> SocketAddr {
        // Its stderr is a pipe, not a terminal: the log has no colour codes to strip.
        self.wait_for(limit, |_, err| {
            err.lines()
                .filter(|l| l.contains("serving"))
                .flat_map(|l| l.split_whitespace())
                .find_map(|w| w.strip_prefix("addr=")?.parse().ok())
        })
    }

    #[track_caller]
    pub fn sigterm(&self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(
            matches!(&sent, Ok(s) if s.success()),
            "kill -TERM {pid}: {sent:?}"
        );
    }

    /// SIGTERM, then [`Running::wait`].
    #[track_caller]
    pub fn terminate(self, limit: Duration) -> Ended {
        self.sigterm();
        self.wait(limit)
    }

    /// Waits for the exit; a run still going after `limit` fails the test, showing its output.
    #[track_caller]
    pub fn wait(self, limit: Duration) -> Ended {
        let what = self.what.clone();
        let (exited, ended) = self.end(limit);
        assert!(
            exited,
            "{what}: still running after {limit:?}\n{}",
            shown(&ended.stdout, &ended.stderr)
        );
        ended
    }

    /// Waits up to `limit` for the exit, then kills it; how it ended either way.
    pub fn wait_or_kill(self, limit: Duration) -> Ended {
        self.end(limit).1
    }

    /// (whether it exited by itself within `limit`, how it ended and all it printed).
    fn end(mut self, limit: Duration) -> (bool, Ended) {
        let started = Instant::now();
        let mut status = self.try_exit();
        while status.is_none() && started.elapsed() < limit {
            std::thread::sleep(POLL);
            status = self.try_exit();
        }
        let exited = status.is_some();
        if !exited {
            let _ = self.child.kill();
        }
        let status = self.child.wait().expect("wait");
        let ended = Ended {
            status,
            stdout: self.stdout.finish(),
            stderr: self.stderr.finish(),
        };
        (exited, ended)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text up to its last line break: a line still being written is not read yet.
fn complete_lines(text: &str) -> &str {
    &text[..text.rfind('\n').map_or(0, |i| i + 1)]
}

fn shown(stdout: &str, stderr: &str) -> String {
    format!("stdout: {stdout}\nstderr: {stderr}")
}

/// One pipe of the child, read on a thread into memory as it comes.
struct Capture {
    text: Arc<Mutex<Vec<u8>>>,
    open: Arc<AtomicBool>,
    reader: Option<JoinHandle<()>>,
}

impl Capture {
    fn start(mut pipe: impl Read + Send + 'static) -> Self {
        let text = Arc::new(Mutex::new(Vec::new()));
        let open = Arc::new(AtomicBool::new(true));
        let (sink, reading) = (Arc::clone(&text), Arc::clone(&open));
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while reading.load(Ordering::Relaxed) {
                match pipe.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => lock(&sink).extend_from_slice(&buf[..n]),
                }
            }
        });
        Self {
            text,
            open,
            reader: Some(reader),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&lock(&self.text)).into_owned()
    }

    fn close(&self) {
        self.open.store(false, Ordering::Relaxed);
    }

    /// All of it, once the child has exited (its end of the pipe is closed).
    fn finish(&mut self) -> String {
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        self.text()
    }
}

fn lock(text: &Mutex<Vec<u8>>) -> std::sync::MutexGuard<'_, Vec<u8>> {
    text.lock().unwrap_or_else(PoisonError::into_inner)
}
