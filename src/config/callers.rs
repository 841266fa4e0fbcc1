//! IssueToken callers: the file's `[[callers]]` tables (file only), and the embedded default's
//! demo caller.
use std::path::Path;

use secrecy::SecretString;
use serde::Deserialize;

use super::defaults::DEFAULT_API_KEY_FILE;
use super::error::{bad, ConfigError};
use super::private_file::{read_private, write_private};
use crate::auth::callers::{key_sha256_hex, Caller, Callers};

/// One `[[callers]]` table of the TOML file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallerEntry {
    name: String,
    key_sha256: Option<String>,
    /// Under mutual TLS: a DNS/URI SAN or the CN of the caller's client certificate.
    client_cert_name: Option<String>,
    #[serde(default)]
    allow_user_id: bool,
    #[serde(default)]
    audiences: Vec<String>,
}

pub fn callers(entries: &[CallerEntry]) -> Result<Callers, ConfigError> {
    let list = entries
        .iter()
        .cloned()
        .map(|e| {
            Caller::with_credentials(
                e.name,
                e.key_sha256.as_deref(),
                e.client_cert_name,
                e.allow_user_id,
                e.audiences,
            )
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad("callers", e.to_string()))?;
    Ok(Callers::new(list))
}

/// Callers known by certificate need mutual TLS; with none configured, the embedded default
/// gets its demo caller (whose key is returned, for its banner).
pub fn finish(
    callers: Callers,
    mutual_tls: bool,
    embedded_default: bool,
    workdir: &Path,
) -> Result<(Callers, Option<SecretString>), ConfigError> {
    if callers.any_by_certificate() && !mutual_tls {
        return Err(bad(
            "callers",
            "client_cert_name needs mutual TLS: set tls_cert, tls_key and tls_client_ca",
        ));
    }
    match embedded_default && callers.is_empty() {
        true => demo_caller(workdir).map(|(c, key)| (c, Some(key))),
        false => Ok((callers, None)),
    }
}

/// The embedded default lets one demo caller use IssueToken, with a key kept beside its database.
fn demo_caller(workdir: &Path) -> Result<(Callers, SecretString), ConfigError> {
    let path = workdir.join(DEFAULT_API_KEY_FILE);
    let key = match read_private(&path).map_err(|e| bad("callers", e))? {
        Some(k) => k.trim().to_owned(),
        None => {
            let k = crate::domain::model::random_id(40);
            write_private(&path, &k)
                .map_err(|e| bad("callers", format!("cannot write {}: {e}", path.display())))?;
            k
        }
    };
    let caller = Caller::new("demo".into(), &key_sha256_hex(&key), true, vec![])
        .map_err(|e| bad("callers", e.to_string()))?;
    Ok((Callers::new(vec![caller]), SecretString::from(key)))
}
