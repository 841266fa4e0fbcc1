//! Services allowed to call IssueToken. Only SHA-256 hashes of their API keys are configured;
//! a presented key is hashed and compared with every configured hash in constant time.
use aws_lc_rs::{constant_time, digest};

#[derive(Clone)]
pub struct Caller {
    pub name: String,
    key_sha256: [u8; 32],
    /// May ask for a JWT for any user id (service-to-service), not only for a session's user.
    pub allow_user_id: bool,
    /// Audiences this caller may ask for besides the default one.
    pub audiences: Vec<String>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("name", &self.name)
            .field("allow_user_id", &self.allow_user_id)
            .field("audiences", &self.audiences)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("caller {name:?}: key_sha256 must be 64 hex digits (the SHA-256 of the API key)")]
pub struct BadKeyHash {
    pub name: String,
}

impl Caller {
    pub fn new(
        name: String,
        key_sha256_hex: &str,
        allow_user_id: bool,
        audiences: Vec<String>,
    ) -> Result<Self, BadKeyHash> {
        let mut key_sha256 = [0u8; 32];
        hex::decode_to_slice(key_sha256_hex.trim(), &mut key_sha256)
            .map_err(|_| BadKeyHash { name: name.clone() })?;
        Ok(Self {
            name,
            key_sha256,
            allow_user_id,
            audiences,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct Callers(Vec<Caller>);

impl Callers {
    pub fn new(callers: Vec<Caller>) -> Self {
        Self(callers)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Caller> {
        self.0.iter()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every configured hash is compared (no early exit), each comparison in constant time.
    pub fn authenticate(&self, api_key: &str) -> Option<&Caller> {
        let presented = digest::digest(&digest::SHA256, api_key.as_bytes());
        let mut found = None;
        for c in &self.0 {
            if constant_time::verify_slices_are_equal(presented.as_ref(), &c.key_sha256).is_ok() {
                found = Some(c);
            }
        }
        found
    }
}

/// The hex SHA-256 of an API key, as `key_sha256` wants it.
pub fn key_sha256_hex(api_key: &str) -> String {
    hex::encode(digest::digest(&digest::SHA256, api_key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configured_key_authenticates() {
        let c = Caller::new("svc".into(), &key_sha256_hex("s3cret-key"), true, vec![]).unwrap();
        let callers = Callers::new(vec![c]);
        assert_eq!(
            callers.authenticate("s3cret-key").map(|c| c.name.as_str()),
            Some("svc")
        );
        assert!(callers.authenticate("s3cret-kex").is_none());
        assert!(callers.authenticate("").is_none());
    }

    #[test]
    fn bad_hashes_are_refused_and_debug_hides_them() {
        assert!(Caller::new("x".into(), "abc", false, vec![]).is_err());
        let h = key_sha256_hex("k");
        let c = Caller::new("x".into(), &h, false, vec![]).unwrap();
        assert!(!format!("{c:?}").contains(&h[..16]));
    }
}
