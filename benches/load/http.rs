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
    mut w: Window,
) -> Result<()> {
    // A cookie signed out again deletes no row (no trigger fires): each is used once.
    w.once |= mode == HttpMode::SignOut;
    let creds = Arc::new(read_lines(creds)?);
    let client = reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(w.concurrency + 4)
        .tcp_nodelay(true)
        .build()?;
    let base = url.trim_end_matches('/');
    let target = Arc::new(Target {
        url: format!("{base}{}", path(mode)),
        // Better Auth checks the Origin of cookie-carrying POSTs against its base URL.
        origin: base.split("/api/").next().unwrap_or(base).to_owned(),
        cookie_name: cookie_name.to_owned(),
        mode,
    });
    let n = creds.len();
    measure(&w, n, format!("load {}", cmdline()), move |_, i| {
        let (client, target) = (client.clone(), target.clone());
        let cred = creds[i].clone();
        async move {
            let req = target.request(&client, &cred);
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

/// Where every request of a measurement goes, and how it carries its credential.
struct Target {
    url: String,
    origin: String,
    cookie_name: String,
    mode: HttpMode,
}

impl Target {
    fn request(&self, client: &reqwest::Client, cred: &str) -> reqwest::RequestBuilder {
        let (url, origin, cookie_name) = (&self.url, &self.origin, &self.cookie_name);
        match self.mode {
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
