//! DER unwrapping shared by key generation and signing: aws-lc-rs exports RSA keys as PKCS#8,
//! while the RSA components (and jsonwebtoken) want the PKCS#1 key inside.
const RSA_ENCRYPTION_OID: pkcs8::ObjectIdentifier =
    pkcs8::ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo`.
pub(crate) fn pkcs1_of_pkcs8(der: &[u8]) -> Result<&[u8], String> {
    let info = pkcs8::PrivateKeyInfo::try_from(der).map_err(|e| format!("PKCS#8: {e}"))?;
    if info.algorithm.oid != RSA_ENCRYPTION_OID {
        return Err("PKCS#8 key is not rsaEncryption".into());
    }
    Ok(info.private_key)
}
