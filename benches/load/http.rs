//! `http`: one HTTP/1.1 keep-alive measurement against Better Auth.
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    let cookie_name: Arc<str> = cookie_name.into();
    let n = creds.len();
    let used = Arc::new(AtomicUsize::new(0));
    measure(&w, n, format!("load {}", cmdline()), move |_, i| {
        let (client, cookie_name, used) = (client.clone(), cookie_name.clone(), used.clone());
        let cred = creds[i].clone();
        let url = format!("{base}{}", path(mode));
        async move {
            // A cookie signed out again deletes no row: `--once` keeps that from happening.
            if mode == HttpMode::SignOut && used.fetch_add(1, Ordering::Relaxed) >= n {
                return (Err("a cookie signed out twice: pass --once".into()), false);
            }
            let req = request(&client, &url, mode, &cookie_name, &cred);
            match req.send().await {
                Ok(resp) => judge(mode, resp).await,
                Err(e) => (Err(e.to_string()), true),
            }
        }
    })
    .await
}

fn path(mode: HttpMode) -> &'static str {
    match mode {
        HttpMode::Token => "/token",
        HttpMode::SignIn => "/sign-in/email",
        HttpMode::SignOut => "/sign-out",
        HttpMode::GetSessionCookie | HttpMode::GetSessionBearer => "/get-session",
    }
}

fn request(
    client: &reqwest::Client,
    url: &str,
    mode: HttpMode,
    cookie_name: &str,
    cred: &str,
) -> reqwest::RequestBuilder {
    // Better Auth checks the Origin of cookie-carrying POSTs against its base URL.
    let origin = url.split("/api/").next().unwrap_or(url).to_owned();
    match mode {
        // The signed value as Better Auth sets it (URL-encoded).
        HttpMode::GetSessionCookie | HttpMode::Token => client
            .get(url)
            .header("cookie", format!("{cookie_name}={cred}")),
        HttpMode::SignOut => client
            .post(url)
            .header("origin", origin)
            .header("cookie", format!("{cookie_name}={cred}")),
        HttpMode::SignIn => {
            let (email, password) = cred.split_once('\t').unwrap_or((cred, ""));
            let body = serde_json::json!({ "email": email, "password": password });
            client.post(url).header("origin", origin).json(&body)
        }
        // The bearer plugin's set-auth-token value: token.sig, decoded.
        HttpMode::GetSessionBearer => {
            let raw = cred
                .replace("%2B", "+")
                .replace("%2F", "/")
                .replace("%3D", "=");
            client
                .get(url)
                .header("authorization", format!("Bearer {raw}"))
        }
    }
}

async fn judge(mode: HttpMode, resp: reqwest::Response) -> (Result<(), String>, bool) {
    let code = resp.status();
    let body = match resp.bytes().await {
        Ok(b) => b,
        Err(e) => return (Err(e.to_string()), true),
    };
    let want: &[u8] = match mode {
        HttpMode::Token => b"\"token\":\"ey",
        HttpMode::SignIn => b"\"token\":\"",
        HttpMode::SignOut => b"\"success\":true",
        HttpMode::GetSessionCookie | HttpMode::GetSessionBearer => b"\"session\":{",
    };
    if code.is_success() && body.windows(want.len()).any(|w| w == want) {
        return (Ok(()), false);
    }
    let text = String::from_utf8_lossy(&body);
    let text = text.get(..200).unwrap_or(&text);
    (Err(format!("HTTP {code}: {text}")), false)
}
