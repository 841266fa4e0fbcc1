//! Better Auth's secret(s), as Better Auth resolves them; the embedded default makes its own.
use std::{path::Path, sync::Arc};

use super::defaults::DEFAULT_SECRET_FILE;
use super::error::{bad, ConfigError};
use super::private_file::{read_private, write_private};
use crate::cli::SettingsArgs;
use crate::domain::secret::Secrets;

pub fn secrets(
    s: &SettingsArgs,
    embedded_default: bool,
    workdir: &Path,
) -> Result<Arc<Secrets>, ConfigError> {
    let (versioned, secret, auth) = (&s.secrets, &s.secret, &s.auth_secret);
    let none_given = [versioned, secret, auth]
        .iter()
        .all(|s| s.as_deref().is_none_or(str::is_empty));
    if none_given && embedded_default {
        let s = embedded_secret(&workdir.join(DEFAULT_SECRET_FILE))?;
        return Secrets::from_secret(&s)
            .map(Arc::new)
            .map_err(|e| bad("secret", e.to_string()));
    }
    Secrets::resolve(versioned.as_deref(), secret.as_deref(), auth.as_deref())
        .map(Arc::new)
        .map_err(|e| bad("secret", e.to_string()))
}

/// The embedded default keeps a random secret in a file beside its database, so the demo
/// cookie printed on first start stays valid across restarts.
fn embedded_secret(path: &Path) -> Result<String, ConfigError> {
    if let Some(s) = read_private(path).map_err(|e| bad("secret", e))? {
        return Ok(s.trim().to_owned());
    }
    let s = crate::domain::model::random_id(48);
    write_private(path, &s)
        .map_err(|e| bad("secret", format!("cannot write {}: {e}", path.display())))?;
    Ok(s)
}
