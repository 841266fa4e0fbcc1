//! Which row signs, exactly as Better Auth's `resolveSigningKey` picks it (docs/better-auth-compat.md §4.5).
use chrono::{DateTime, Utc};

use super::alg::Alg;
use crate::domain::model::JwkRow;

/// A row is live while `expiresAt` is NULL or strictly in the future.
pub fn is_live(row: &JwkRow, now: DateTime<Utc>) -> bool {
    row.expires_at.is_none_or(|e| e > now)
}

/// The newest live row of the configured alg (NULL `alg` counts as configured), else the newest
/// live row of any alg, else `None` (the caller then creates a key). Ties on `createdAt`
/// are broken by id so the choice is stable across calls.
pub fn select_signing_row(rows: &[JwkRow], now: DateTime<Utc>, configured: Alg) -> Option<&JwkRow> {
    let live = || rows.iter().filter(move |r| is_live(r, now));
    let configured_alg = |r: &&JwkRow| r.alg.as_deref().is_none_or(|a| a == configured.as_str());
    newest(live().filter(configured_alg)).or_else(|| newest(live()))
}

fn newest<'a>(rows: impl Iterator<Item = &'a JwkRow>) -> Option<&'a JwkRow> {
    rows.max_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn row(
        id: &str,
        alg: Option<&str>,
        age_s: i64,
        expires_in_s: Option<i64>,
        now: DateTime<Utc>,
    ) -> JwkRow {
        JwkRow {
            id: id.into(),
            public_key: String::new(),
            private_key: String::new(),
            created_at: now - TimeDelta::seconds(age_s),
            expires_at: expires_in_s.map(|s| now + TimeDelta::seconds(s)),
            alg: alg.map(str::to_owned),
            crv: None,
        }
    }

    #[test]
    fn follows_better_auth() {
        let now = Utc::now();
        let pick = |rows: &[JwkRow], alg| select_signing_row(rows, now, alg).map(|r| r.id.clone());

        assert_eq!(pick(&[], Alg::EdDSA), None);
        // Newest live row of the configured alg wins over a newer row of another alg.
        let rows = [
            row("old", Some("EdDSA"), 100, None, now),
            row("new", Some("EdDSA"), 10, None, now),
            row("rsa", Some("RS256"), 1, None, now),
        ];
        assert_eq!(pick(&rows, Alg::EdDSA).as_deref(), Some("new"));
        // No live row of the configured alg: newest live row of any alg.
        assert_eq!(pick(&rows, Alg::ES256).as_deref(), Some("rsa"));
        // NULL alg counts as the configured alg.
        let rows = [
            row("legacy", None, 100, None, now),
            row("rsa", Some("RS256"), 1, None, now),
        ];
        assert_eq!(pick(&rows, Alg::ES256).as_deref(), Some("legacy"));
        // expiresAt == now is dead; expired rows never sign.
        let rows = [
            row("dead", Some("EdDSA"), 10, Some(0), now),
            row("gone", Some("EdDSA"), 5, Some(-5), now),
        ];
        assert_eq!(pick(&rows, Alg::EdDSA), None);
        let rows = [
            row("dead", Some("EdDSA"), 1, Some(-1), now),
            row("live", Some("EdDSA"), 100, Some(1), now),
        ];
        assert_eq!(pick(&rows, Alg::EdDSA).as_deref(), Some("live"));
    }
}
