//! The asymmetric algorithms Better Auth's jwt plugin can be configured with (docs/better-auth-compat.md §4.2).
use std::fmt;
use std::str::FromStr;

use super::error::TokenError;
use crate::domain::model::JwkRow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    EdDSA,
    ES256,
    ES512,
    RS256,
    PS256,
}

impl Alg {
    pub const ALL: [Alg; 5] = [Alg::EdDSA, Alg::ES256, Alg::ES512, Alg::RS256, Alg::PS256];

    /// The JOSE name, as in the JWT header and the `jwks.alg` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::EdDSA => "EdDSA",
            Alg::ES256 => "ES256",
            Alg::ES512 => "ES512",
            Alg::RS256 => "RS256",
            Alg::PS256 => "PS256",
        }
    }

    /// Exact, case-sensitive match: JOSE names are case-sensitive.
    pub fn parse(name: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// The JWK `crv`, which Better Auth also stores in `jwks.crv` (NULL for RSA).
    pub fn curve(self) -> Option<&'static str> {
        match self {
            Alg::EdDSA => Some("Ed25519"),
            Alg::ES256 => Some("P-256"),
            Alg::ES512 => Some("P-521"),
            Alg::RS256 | Alg::PS256 => None,
        }
    }

    /// jsonwebtoken's name for it; `None` for ES512, which jsonwebtoken does not implement.
    pub(crate) fn jsonwebtoken(self) -> Option<jsonwebtoken::Algorithm> {
        match self {
            Alg::EdDSA => Some(jsonwebtoken::Algorithm::EdDSA),
            Alg::ES256 => Some(jsonwebtoken::Algorithm::ES256),
            Alg::RS256 => Some(jsonwebtoken::Algorithm::RS256),
            Alg::PS256 => Some(jsonwebtoken::Algorithm::PS256),
            Alg::ES512 => None,
        }
    }
}

/// A row's algorithm: `jwks.alg`, or the configured alg when it is NULL (legacy rows),
/// exactly as Better Auth resolves it.
pub fn alg_of_row(row: &JwkRow, configured: Alg) -> Result<Alg, TokenError> {
    match row.alg.as_deref() {
        None => Ok(configured),
        Some(name) => Alg::parse(name)
            .ok_or_else(|| TokenError::bad_key(&row.id, format!("unsupported alg {name:?}"))),
    }
}

impl FromStr for Alg {
    type Err = TokenError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Alg::parse(s).ok_or_else(|| TokenError::UnsupportedAlg(s.to_owned()))
    }
}

impl fmt::Display for Alg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for a in Alg::ALL {
            assert_eq!(Alg::parse(a.as_str()), Some(a));
        }
        assert_eq!(Alg::parse("eddsa"), None);
        assert_eq!(Alg::parse("HS256"), None);
        assert_eq!(Alg::parse("none"), None);
        assert!(matches!(
            "ES384".parse::<Alg>(),
            Err(TokenError::UnsupportedAlg(_))
        ));
    }
}
