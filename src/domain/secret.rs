//! Better Auth's secrets (docs/better-auth-compat.md §5): one current secret for HMACs, plus the versioned
//! set and the legacy secret that older encrypted jwks rows may need.
use secrecy::{ExposeSecret, SecretString};

/// The public default Better Auth falls back to; anyone can forge cookies with it.
pub const PUBLIC_DEFAULT_SECRET: &str = "better-auth-secret-12345678901234567890";
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("{0} is Better Auth's public default secret; anyone could forge sessions with it")]
    PublicDefault(&'static str),
    #[error("{0} is {1} bytes; at least 32 are required")]
    TooShort(&'static str, usize),
    #[error("BETTER_AUTH_SECRETS must look like \"<version>:<secret>,<version>:<secret>\"; entry {0} does not")]
    BadVersionedEntry(usize),
    #[error("no secret: set BETTER_AUTH_SECRET (or BETTER_AUTH_SECRETS / AUTH_SECRET)")]
    Missing,
}

#[derive(Debug, Clone)]
pub struct Secrets {
    /// Signs and verifies session cookies; derives keys for new jwks rows.
    current: SecretString,
    /// `BETTER_AUTH_SECRETS` entries in order (first = current), for `$ba$<v>$` envelopes.
    versioned: Vec<(String, SecretString)>,
    /// `BETTER_AUTH_SECRET`/`AUTH_SECRET` when versioned secrets are in use: decrypts unversioned rows.
    legacy: Option<SecretString>,
}

impl Secrets {
    /// Better Auth's precedence: BETTER_AUTH_SECRETS, then BETTER_AUTH_SECRET, then AUTH_SECRET.
    pub fn resolve(
        versioned: Option<&str>,
        secret: Option<&str>,
        auth_secret: Option<&str>,
    ) -> Result<Self, SecretError> {
        let plain = match (secret, auth_secret) {
            (Some(s), _) if !s.is_empty() => Some(("BETTER_AUTH_SECRET", s)),
            (_, Some(s)) if !s.is_empty() => Some(("AUTH_SECRET", s)),
            _ => None,
        };
        if let Some(list) = versioned.filter(|v| !v.trim().is_empty()) {
            let versioned = parse_versioned(list)?;
            let legacy = match plain {
                Some((name, s)) => Some(checked(name, s)?),
                None => None,
            };
            let current = versioned[0].1.clone();
            return Ok(Self {
                current,
                versioned,
                legacy,
            });
        }
        let (name, s) = plain.ok_or(SecretError::Missing)?;
        Ok(Self::single(checked(name, s)?))
    }

    fn single(current: SecretString) -> Self {
        Self {
            current,
            versioned: Vec::new(),
            legacy: None,
        }
    }

    /// A single secret, checked like a BETTER_AUTH_SECRET.
    pub fn from_secret(secret: &str) -> Result<Self, SecretError> {
        Ok(Self::single(checked("BETTER_AUTH_SECRET", secret)?))
    }

    pub fn current(&self) -> &[u8] {
        self.current.expose_secret().as_bytes()
    }

    /// The version tag of the current secret when versioned secrets are in use.
    pub fn current_version(&self) -> Option<&str> {
        self.versioned.first().map(|(v, _)| v.as_str())
    }

    pub fn by_version(&self, version: &str) -> Option<&[u8]> {
        self.versioned
            .iter()
            .find(|(v, _)| v == version)
            .map(|(_, s)| s.expose_secret().as_bytes())
    }

    /// Every secret Better Auth tries when decrypting its own JWEs (`getAllSecrets`): the
    /// `BETTER_AUTH_SECRETS` entries in order, then the legacy secret when it differs; or the one secret.
    pub fn all(&self) -> Vec<&[u8]> {
        if self.versioned.is_empty() {
            return vec![self.current()];
        }
        let mut all: Vec<&[u8]> = self
            .versioned
            .iter()
            .map(|(_, s)| s.expose_secret().as_bytes())
            .collect();
        if let Some(l) = &self.legacy {
            let l = l.expose_secret().as_bytes();
            if !all.contains(&l) {
                all.push(l);
            }
        }
        all
    }

    /// The secret that decrypts an unversioned (`"<hex>"`) jwks row.
    pub fn unversioned(&self) -> &[u8] {
        match (&self.legacy, self.versioned.is_empty()) {
            (Some(l), false) => l.expose_secret().as_bytes(),
            _ => self.current(),
        }
    }
}

fn checked(name: &'static str, s: &str) -> Result<SecretString, SecretError> {
    if s == PUBLIC_DEFAULT_SECRET {
        return Err(SecretError::PublicDefault(name));
    }
    if s.len() < MIN_SECRET_BYTES {
        return Err(SecretError::TooShort(name, s.len()));
    }
    Ok(SecretString::from(s.to_owned()))
}

fn parse_versioned(list: &str) -> Result<Vec<(String, SecretString)>, SecretError> {
    list.split(',')
        .enumerate()
        .map(|(i, entry)| {
            let (v, s) = entry
                .trim()
                .split_once(':')
                .filter(|(v, s)| !v.is_empty() && !s.is_empty())
                .ok_or(SecretError::BadVersionedEntry(i + 1))?;
            Ok((
                v.trim().to_owned(),
                checked("BETTER_AUTH_SECRETS", s.trim())?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn precedence_follows_better_auth() {
        let s = Secrets::resolve(None, Some(A), Some(B)).unwrap();
        assert_eq!(s.current(), A.as_bytes());
        let s = Secrets::resolve(None, None, Some(B)).unwrap();
        assert_eq!(s.current(), B.as_bytes());
        let s = Secrets::resolve(Some(&format!("2:{B},1:{A}")), Some(A), None).unwrap();
        assert_eq!(s.current(), B.as_bytes());
        assert_eq!(s.current_version(), Some("2"));
        assert_eq!(s.by_version("1"), Some(A.as_bytes()));
        assert_eq!(s.unversioned(), A.as_bytes());
        assert_eq!(s.all(), vec![B.as_bytes(), A.as_bytes()]);
        let same = Secrets::resolve(Some(&format!("2:{B},1:{A}")), Some(B), None).unwrap();
        assert_eq!(same.all(), vec![B.as_bytes(), A.as_bytes()]);
        assert_eq!(Secrets::from_secret(A).unwrap().all(), vec![A.as_bytes()]);
    }

    #[test]
    fn weak_secrets_are_refused() {
        assert_eq!(
            Secrets::resolve(None, Some(PUBLIC_DEFAULT_SECRET), None).unwrap_err(),
            SecretError::PublicDefault("BETTER_AUTH_SECRET")
        );
        assert_eq!(
            Secrets::resolve(None, Some("short"), None).unwrap_err(),
            SecretError::TooShort("BETTER_AUTH_SECRET", 5)
        );
        assert_eq!(
            Secrets::resolve(None, None, None).unwrap_err(),
            SecretError::Missing
        );
        assert_eq!(
            Secrets::resolve(Some("nocolon"), None, None).unwrap_err(),
            SecretError::BadVersionedEntry(1)
        );
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let s = Secrets::from_secret(A).unwrap();
        assert!(!format!("{s:?}").contains(A));
    }
}
