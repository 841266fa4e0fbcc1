//! `http`: one HTTP/1.1 keep-alive measurement against Better Auth.
use std::path::Path;
use std::sync::Arc;

use anyhow::Result;

use crate::cli::{HttpMode, Window};
use crate::measure::{cmdline, measure};
use crate::output::read_lines;

pub(crate) async fn http(
    url: &str,
    mode: HttpMode,
    creds: &Path,
    cookie_name: &str,
    w: Window,
) -> Result<()> {
    let creds = Arc::new(read_lines(creds)?);
    let client = reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(w.concurrency + 4)
        .tcp_nodelay(true)
        .build()?;
    let base = url.trim_end_matches('/').to_owned();
    let target: Arc<str> = match mode {
        HttpMode::Token => format!("{base}/token"),
        _ => format!("{base}/get-session"),
    }
    .into();
    let cookie_name: Arc<str> = cookie_name.into();
    let n = creds.len();
    measure(&w, n, format!("load {}", cmdline()), move |_, i| {
        let (client, target, cookie_name) = (client.clone(), target.clone(), cookie_name.clone());
        let cred = creds[i].clone();
        async move {
            let req = client.get(&*target);
            let req = match mode {
                // The signed value as Better Auth sets it (URL-encoded).
                HttpMode::GetSessionCookie | HttpMode::Token => {
                    req.header("cookie", format!("{cookie_name}={cred}"))
                }
                // The bearer plugin's set-auth-token value: token.sig, decoded.
                HttpMode::GetSessionBearer => {
                    let raw = cred
                        .replace("%2B", "+")
                        .replace("%2F", "/")
                        .replace("%3D", "=");
                    req.header("authorization", format!("Bearer {raw}"))
                }
            };
            match req.send().await {
                Ok(resp) => {
                    let code = resp.status();
                    match resp.bytes().await {
                        Ok(body) => {
                            let want: &[u8] = match mode {
                                HttpMode::Token => b"\"token\":\"ey",
                                _ => b"\"session\":{",
                            };
                            if code.is_success() && body.windows(want.len()).any(|w| w == want) {
                                (Ok(()), false)
                            } else {
                                let text = String::from_utf8_lossy(&body);
                                (
                                    Err(format!(
                                        "HTTP {code}: {}",
                                        text.get(..200).unwrap_or(&text)
                                    )),
                                    false,
                                )
                            }
                        }
                        Err(e) => (Err(e.to_string()), true),
                    }
                }
                Err(e) => (Err(e.to_string()), true),
            }
        }
    })
    .await
}
