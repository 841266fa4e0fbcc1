//! Services allowed to call IssueToken, known by an API key or, under mutual TLS, by a name in
//! their client certificate. Only SHA-256 hashes of API keys are configured; a presented key
//! is hashed and compared with every configured hash in constant time. Certificate names are
//! not secrets: the TLS layer has already verified the certificate against the client CA.
use aws_lc_rs::{constant_time, digest};
use x509_parser::{certificate::X509Certificate, extensions::GeneralName, prelude::FromDer};

#[derive(Clone)]
pub struct Caller {
    pub name: String,
    key_sha256: Option<[u8; 32]>,
    /// A DNS or URI subject alternative name, or the subject common name, of its client certificate.
    pub cert_name: Option<String>,
    /// May ask for a JWT for any user id (service-to-service), not only for a session's user.
    pub allow_user_id: bool,
    /// Audiences this caller may ask for besides the default one.
    pub audiences: Vec<String>,
}

impl std::fmt::Debug for Caller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Caller")
            .field("name", &self.name)
            .field("cert_name", &self.cert_name)
            .field("allow_user_id", &self.allow_user_id)
            .field("audiences", &self.audiences)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BadCaller {
    #[error("caller {name:?}: key_sha256 must be 64 hex digits (the SHA-256 of the API key)")]
    KeyHash { name: String },
    #[error("caller {name:?}: needs key_sha256 (an API key) or client_cert_name (mutual TLS)")]
    NoCredential { name: String },
}

impl Caller {
    /// A caller known by its API key.
    pub fn new(
        name: String,
        key_sha256_hex: &str,
        allow_user_id: bool,
        audiences: Vec<String>,
    ) -> Result<Self, BadCaller> {
        let mut key_sha256 = [0u8; 32];
        hex::decode_to_slice(key_sha256_hex.trim(), &mut key_sha256)
            .map_err(|_| BadCaller::KeyHash { name: name.clone() })?;
        Ok(Self {
            name,
            key_sha256: Some(key_sha256),
            cert_name: None,
            allow_user_id,
            audiences,
        })
    }

    /// A caller known by its API key, its client certificate, or either.
    pub fn with_credentials(
        name: String,
        key_sha256_hex: Option<&str>,
        cert_name: Option<String>,
        allow_user_id: bool,
        audiences: Vec<String>,
    ) -> Result<Self, BadCaller> {
        let cert_name = cert_name.filter(|n| !n.is_empty());
        let mut caller = match key_sha256_hex {
            Some(hex) => Self::new(name, hex, allow_user_id, audiences)?,
            None if cert_name.is_some() => Self {
                name,
                key_sha256: None,
                cert_name: None,
                allow_user_id,
                audiences,
            },
            None => return Err(BadCaller::NoCredential { name }),
        };
        caller.cert_name = cert_name;
        Ok(caller)
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
            let Some(hash) = &c.key_sha256 else { continue };
            if constant_time::verify_slices_are_equal(presented.as_ref(), hash).is_ok() {
                found = Some(c);
            }
        }
        found
    }

    /// The caller named by a verified client certificate (DER). A certificate whose names match
    /// two different callers names none: picking one by configuration order would let the
    /// order of `[[callers]]` decide who a certificate is.
    pub fn by_certificate(&self, der: &[u8]) -> Option<&Caller> {
        let names = certificate_names(der);
        let mut named = self.0.iter().filter(|c| {
            c.cert_name
                .as_ref()
                .is_some_and(|want| names.iter().any(|n| n == want))
        });
        let first = named.next()?;
        named.next().is_none().then_some(first)
    }

    pub fn any_by_certificate(&self) -> bool {
        self.0.iter().any(|c| c.cert_name.is_some())
    }
}

/// The names a certificate vouches for, as RFC 6125 reads them: its DNS and URI subject
/// alternative names when it has any, the subject common names only when it has none (a CA
/// that issues SANs need not vet the CN); none if unparsable.
fn certificate_names(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return Vec::new();
    };
    let sans: Vec<String> = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(s) | GeneralName::URI(s) => Some((*s).to_owned()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    if !sans.is_empty() {
        return sans;
    }
    cert.subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok().map(str::to_owned))
        .collect()
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

    fn cert(cn: &str, sans: Vec<rcgen::SanType>) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::default();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn);
        params.subject_alt_names = sans;
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    fn by_cert(name: &str) -> Callers {
        let c = Caller::with_credentials("svc".into(), None, Some(name.into()), false, vec![]);
        Callers::new(vec![c.unwrap()])
    }

    fn san_dns(name: &str) -> rcgen::SanType {
        rcgen::SanType::DnsName(name.try_into().unwrap())
    }

    #[test]
    fn certificate_callers_match_a_san_and_the_common_name_only_without_sans() {
        let uri = rcgen::SanType::URI("spiffe://prod/ns/chat/sa/api".try_into().unwrap());
        let der = cert("chat-backend", vec![san_dns("chat.internal"), uri]);
        for name in ["chat.internal", "spiffe://prod/ns/chat/sa/api"] {
            assert!(by_cert(name).by_certificate(&der).is_some(), "{name}");
        }
        for name in ["chat-backend", "chat", "other.internal", "CHAT.INTERNAL"] {
            assert!(by_cert(name).by_certificate(&der).is_none(), "{name}");
        }
        let cn_only = cert("chat-backend", vec![]);
        assert!(by_cert("chat-backend").by_certificate(&cn_only).is_some());
        assert!(by_cert("CHAT-BACKEND").by_certificate(&cn_only).is_none());
        assert!(by_cert("chat-backend").by_certificate(b"not DER").is_none());
        // A certificate caller has no API key, and an API key never matches it.
        assert!(by_cert("chat-backend").authenticate("").is_none());
    }

    fn named(name: &str, cert_name: &str, allow_user_id: bool) -> Caller {
        Caller::with_credentials(
            name.into(),
            None,
            Some(cert_name.into()),
            allow_user_id,
            vec![],
        )
        .unwrap()
    }

    #[test]
    fn a_common_name_naming_a_privileged_caller_does_not_count_beside_a_san() {
        let callers = Callers::new(vec![
            named("admin-tool", "admin", true),
            named("chat-backend", "chat.internal", false),
        ]);
        let der = cert("admin", vec![san_dns("chat.internal")]);
        let caller = callers.by_certificate(&der).map(|c| c.name.as_str());
        assert_eq!(caller, Some("chat-backend"));
    }

    #[test]
    fn a_certificate_naming_two_callers_names_none() {
        let callers = Callers::new(vec![
            named("admin-tool", "admin.internal", true),
            named("chat-backend", "chat.internal", false),
        ]);
        let der = cert(
            "x",
            vec![san_dns("chat.internal"), san_dns("admin.internal")],
        );
        assert!(callers.by_certificate(&der).is_none());
    }

    #[test]
    fn a_caller_needs_a_key_or_a_certificate_name() {
        let e = Caller::with_credentials("x".into(), None, Some(String::new()), true, vec![]);
        assert!(matches!(e, Err(BadCaller::NoCredential { .. })));
        let both = Caller::with_credentials(
            "x".into(),
            Some(&key_sha256_hex("k")),
            Some("x".into()),
            true,
            vec![],
        )
        .unwrap();
        let callers = Callers::new(vec![both]);
        assert!(callers.authenticate("k").is_some());
        assert!(callers.by_certificate(&cert("x", vec![])).is_some());
    }
}
