//! JWK JSON in and out. Output key order is jose's `exportJWK` order (Node's KeyObject
//! export), which is what Better Auth stores in `jwks.publicKey`/`privateKey` (docs/better-auth-compat.md §4.3).
use secrecy::zeroize::Zeroizing;
use serde_json::{Map, Value};

use super::alg::Alg;
use super::b64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PublicJwk {
    Okp { crv: String, x: Vec<u8> },
    Ec { crv: String, x: Vec<u8>, y: Vec<u8> },
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

/// Private material; zeroised on drop.
pub(crate) enum PrivateParts {
    /// OKP and EC: `d`.
    Scalar(Zeroizing<Vec<u8>>),
    Rsa(Box<RsaPrivate>),
}

pub(crate) struct RsaPrivate {
    pub d: Zeroizing<Vec<u8>>,
    pub p: Zeroizing<Vec<u8>>,
    pub q: Zeroizing<Vec<u8>>,
    pub dp: Zeroizing<Vec<u8>>,
    pub dq: Zeroizing<Vec<u8>>,
    pub qi: Zeroizing<Vec<u8>>,
}

pub(crate) struct PrivateJwk {
    pub public: PublicJwk,
    pub private: PrivateParts,
}

impl PublicJwk {
    /// Parses `jwks.publicKey` (or the public half of a private JWK).
    pub fn parse(json: &str) -> Result<Self, String> {
        Self::from_map(&object(json)?)
    }

    fn from_map(m: &Map<String, Value>) -> Result<Self, String> {
        match text(m, "kty")? {
            "OKP" => Ok(PublicJwk::Okp {
                crv: text(m, "crv")?.to_owned(),
                x: bytes(m, "x")?,
            }),
            "EC" => Ok(PublicJwk::Ec {
                crv: text(m, "crv")?.to_owned(),
                x: bytes(m, "x")?,
                y: bytes(m, "y")?,
            }),
            "RSA" => Ok(PublicJwk::Rsa {
                n: bytes(m, "n")?,
                e: bytes(m, "e")?,
            }),
            other => Err(format!("unsupported JWK kty {other:?}")),
        }
    }

    /// Refuses a key whose type or curve does not belong to `alg`, so a stored
    /// `alg` can never make us use, say, an RSA key as ES256.
    pub fn check_alg(&self, alg: Alg) -> Result<(), String> {
        let ok = match (self, alg) {
            (PublicJwk::Okp { crv, .. }, Alg::EdDSA) => crv == "Ed25519",
            (PublicJwk::Ec { crv, .. }, Alg::ES256) => crv == "P-256",
            (PublicJwk::Ec { crv, .. }, Alg::ES512) => crv == "P-521",
            (PublicJwk::Rsa { .. }, Alg::RS256 | Alg::PS256) => true,
            _ => false,
        };
        ok.then_some(())
            .ok_or_else(|| format!("JWK {} does not fit alg {alg}", self.describe()))
    }

    fn describe(&self) -> String {
        match self {
            PublicJwk::Okp { crv, .. } => format!("OKP/{crv}"),
            PublicJwk::Ec { crv, .. } => format!("EC/{crv}"),
            PublicJwk::Rsa { .. } => "RSA".to_owned(),
        }
    }

    /// SEC1 uncompressed point `04 ‖ x ‖ y` of an EC key.
    pub fn ec_point(&self) -> Option<Vec<u8>> {
        match self {
            PublicJwk::Ec { x, y, .. } => Some([&[4u8][..], x, y].concat()),
            _ => None,
        }
    }

    /// JSON text in jose order: OKP `crv,x,kty`; EC `kty,x,y,crv`; RSA `kty,n,e`.
    pub fn to_json(&self) -> String {
        let mut m = Map::new();
        self.write(&mut m, None);
        Value::Object(m).to_string()
    }

    /// Writes the members in jose order, with the private ones (`d`…) where jose puts them.
    fn write(&self, m: &mut Map<String, Value>, private: Option<&PrivateParts>) {
        match (self, private) {
            (PublicJwk::Okp { crv, x }, p) => {
                put_text(m, "crv", crv);
                if let Some(PrivateParts::Scalar(d)) = p {
                    put_bytes(m, "d", d);
                }
                put_bytes(m, "x", x);
                put_text(m, "kty", "OKP");
            }
            (PublicJwk::Ec { crv, x, y }, p) => {
                put_text(m, "kty", "EC");
                put_bytes(m, "x", x);
                put_bytes(m, "y", y);
                put_text(m, "crv", crv);
                if let Some(PrivateParts::Scalar(d)) = p {
                    put_bytes(m, "d", d);
                }
            }
            (PublicJwk::Rsa { n, e }, p) => {
                put_text(m, "kty", "RSA");
                put_bytes(m, "n", n);
                put_bytes(m, "e", e);
                if let Some(PrivateParts::Rsa(r)) = p {
                    for (name, v) in [
                        ("d", &r.d),
                        ("p", &r.p),
                        ("q", &r.q),
                        ("dp", &r.dp),
                        ("dq", &r.dq),
                        ("qi", &r.qi),
                    ] {
                        put_bytes(m, name, v);
                    }
                }
            }
        }
    }
}

impl PrivateJwk {
    /// Parses a decrypted `jwks.privateKey`.
    pub fn parse(json: &str) -> Result<Self, String> {
        let m = object(json)?;
        let public = PublicJwk::from_map(&m)?;
        let private = match public {
            PublicJwk::Rsa { .. } => PrivateParts::Rsa(Box::new(RsaPrivate {
                d: secret(&m, "d")?,
                p: secret(&m, "p")?,
                q: secret(&m, "q")?,
                dp: secret(&m, "dp")?,
                dq: secret(&m, "dq")?,
                qi: secret(&m, "qi")?,
            })),
            _ => PrivateParts::Scalar(secret(&m, "d")?),
        };
        Ok(PrivateJwk { public, private })
    }

    /// JSON text in jose order: OKP `crv,d,x,kty`; EC `kty,x,y,crv,d`;
    /// RSA `kty,n,e,d,p,q,dp,dq,qi`. Zeroised on drop.
    pub fn to_json(&self) -> Zeroizing<String> {
        let mut m = Map::new();
        self.public.write(&mut m, Some(&self.private));
        Zeroizing::new(Value::Object(m).to_string())
    }

    pub fn scalar(&self) -> Option<&[u8]> {
        match &self.private {
            PrivateParts::Scalar(d) => Some(d),
            PrivateParts::Rsa(_) => None,
        }
    }
}

fn object(json: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err("not a JWK JSON object".to_owned()),
    }
}

fn text<'a>(m: &'a Map<String, Value>, name: &str) -> Result<&'a str, String> {
    m.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("JWK member {name:?} missing"))
}

fn bytes(m: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    b64::decode(text(m, name)?).ok_or_else(|| format!("JWK member {name:?} is not base64url"))
}

fn secret(m: &Map<String, Value>, name: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    bytes(m, name).map(Zeroizing::new)
}

fn put_text(m: &mut Map<String, Value>, name: &str, v: &str) {
    m.insert(name.to_owned(), Value::String(v.to_owned()));
}

fn put_bytes(m: &mut Map<String, Value>, name: &str, v: &[u8]) {
    m.insert(name.to_owned(), Value::String(b64::encode(v)));
}

#[cfg(test)]
mod tests {
    use super::*;

    const OKP: &str = r#"{"crv":"Ed25519","d":"CoMIRDGngwILRwn-Kw7wHy_ge1VRQGZ7uSTbwsFst_w","x":"_LuMpyBRWQLnDn9wieiAt8yEwb_yiTPrlu8bSbdv7fw","kty":"OKP"}"#;
    const EC: &str = r#"{"kty":"EC","x":"yPTuvDOguFftGuOiSHy55G64CNnuNLuXe1Jbrq38Rao","y":"KP_MTpUzxM-XOK4yE-WQ7lMFOokT2SyOSH5zhmDHOV8","crv":"P-256","d":"KZsUTYvrbNz75ZM-62_KCCc87eF8lBv9j274OQRROH8"}"#;

    #[test]
    fn private_jwks_re_export_byte_identically() {
        for json in [OKP, EC] {
            assert_eq!(PrivateJwk::parse(json).unwrap().to_json().as_str(), json);
        }
    }

    #[test]
    fn public_halves_use_jose_order() {
        let okp = PrivateJwk::parse(OKP).unwrap().public;
        assert_eq!(
            okp.to_json(),
            r#"{"crv":"Ed25519","x":"_LuMpyBRWQLnDn9wieiAt8yEwb_yiTPrlu8bSbdv7fw","kty":"OKP"}"#
        );
        let ec = PrivateJwk::parse(EC).unwrap().public;
        assert_eq!(
            ec.to_json(),
            r#"{"kty":"EC","x":"yPTuvDOguFftGuOiSHy55G64CNnuNLuXe1Jbrq38Rao","y":"KP_MTpUzxM-XOK4yE-WQ7lMFOokT2SyOSH5zhmDHOV8","crv":"P-256"}"#
        );
        let rsa = PublicJwk::Rsa {
            n: vec![0xc1, 2, 3],
            e: vec![1, 0, 1],
        };
        assert_eq!(rsa.to_json(), r#"{"kty":"RSA","n":"wQID","e":"AQAB"}"#);
        assert_eq!(PublicJwk::parse(&rsa.to_json()).unwrap(), rsa);
    }

    #[test]
    fn alg_must_fit_the_key() {
        let okp = PrivateJwk::parse(OKP).unwrap().public;
        let ec = PrivateJwk::parse(EC).unwrap().public;
        assert!(okp.check_alg(Alg::EdDSA).is_ok());
        assert!(okp.check_alg(Alg::ES256).is_err());
        assert!(ec.check_alg(Alg::ES256).is_ok());
        assert!(ec.check_alg(Alg::ES512).is_err());
        assert!(ec.check_alg(Alg::RS256).is_err());
    }

    #[test]
    fn malformed_jwks_are_errors() {
        for json in [
            "",
            "[]",
            "{}",
            r#"{"kty":"oct","k":"AA"}"#,
            r#"{"kty":"OKP","crv":"Ed25519","x":"AA=="}"#,
            r#"{"kty":"EC","crv":"P-256","x":"AA"}"#,
        ] {
            assert!(PublicJwk::parse(json).is_err(), "{json}");
        }
        assert!(PrivateJwk::parse(r#"{"kty":"OKP","crv":"Ed25519","x":"AA"}"#).is_err());
    }
}
