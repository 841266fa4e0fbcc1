//! The secrets a test handed out, the grep for them, and what the server answered.
use std::fmt::Write as _;

use better_auth_grpc::{auth::signature::encode_uri_component, proto::auth::v1 as pb};
use tonic::Status;

/// Every secret the test hands the server, by label, with the forms it could be printed in.
#[derive(Default)]
pub struct Secret {
    items: Vec<(String, String)>,
}

impl Secret {
    pub fn add(&mut self, label: impl Into<String>, value: impl Into<String>) {
        let (label, value) = (label.into(), value.into());
        assert!(
            value.len() >= 16,
            "{label}: too short to grep for without false positives"
        );
        self.items.push((label, value));
    }

    /// The secret itself, URL-encoded (cookies), and escaped as `{:?}` would print it.
    fn forms(value: &str) -> Vec<String> {
        let mut forms = vec![value.to_owned()];
        let encoded = encode_uri_component(value);
        let debug = format!("{value:?}");
        let escaped = debug[1..debug.len() - 1].to_owned();
        let decoded = better_auth_grpc::auth::cookie::decode_uri_component(value);
        for f in [Some(encoded), Some(escaped), decoded]
            .into_iter()
            .flatten()
        {
            if !forms.contains(&f) {
                forms.push(f);
            }
        }
        forms
    }

    /// Labels of the secrets found in `text` (also with ANSI colour codes removed).
    fn found_in(&self, text: &str) -> Vec<String> {
        let plain = strip_ansi(text);
        let mut found: Vec<String> = self
            .items
            .iter()
            .filter(|(_, v)| {
                Self::forms(v)
                    .iter()
                    .any(|f| text.contains(f.as_str()) || plain.contains(f.as_str()))
            })
            .map(|(l, _)| l.clone())
            .collect();
        // A private JWK in any form: the member that holds the private scalar.
        if plain.contains("\"d\":\"") || plain.contains("\\\"d\\\":\\\"") {
            found.push("a private JWK (\"d\":)".into());
        }
        found
    }

    /// Proves the grep works: every secret planted in (the start of) `text` is found.
    pub fn assert_detects_planted(&self, text: &str) {
        let text: String = text.chars().take(4096).collect();
        for (label, value) in &self.items {
            for form in Self::forms(value) {
                let planted = format!("{text}\nplanted: {form}\n");
                assert!(
                    self.found_in(&planted).contains(label),
                    "the grep misses a planted {label}"
                );
            }
        }
        assert!(!self
            .found_in("x {\"kty\":\"OKP\",\"d\":\"abc\"} y")
            .is_empty());
    }

    pub fn assert_absent(&self, what: &str, text: &str) {
        let found = self.found_in(text);
        assert!(
            found.is_empty(),
            "{what} holds secret material: {found:?}\n--- {what} ---\n{}",
            excerpt(text, &self.items)
        );
    }
}

/// The lines that leak, so a failure shows where.
fn excerpt(text: &str, items: &[(String, String)]) -> String {
    let plain = strip_ansi(text);
    let lines: Vec<&str> = plain
        .lines()
        .filter(|l| {
            l.contains("\"d\":")
                || items
                    .iter()
                    .any(|(_, v)| Secret::forms(v).iter().any(|f| l.contains(f.as_str())))
        })
        .take(20)
        .collect();
    lines.join("\n")
}

pub fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            chars.next();
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What the server answered on failing paths: statuses and ValidateToken refusals.
#[derive(Default)]
pub struct Seen {
    pub text: String,
    pub statuses: usize,
    pub refusals: usize,
}

impl Seen {
    pub fn status(&mut self, what: &str, s: &Status) {
        self.statuses += 1;
        let _ = writeln!(
            self.text,
            "{what}: {s:?}\nmessage: {}\ndetails: {}\nmetadata: {:?}",
            s.message(),
            String::from_utf8_lossy(s.details()),
            s.metadata()
        );
    }

    pub fn refusal(&mut self, what: &str, r: &pb::ValidateTokenResponse) {
        self.refusals += 1;
        let _ = writeln!(self.text, "{what}: {r:?}");
    }
}
