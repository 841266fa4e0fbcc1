//! Base64url without padding, strict: JWS (RFC 7515 §2) allows exactly one encoding per byte
//! string, so padding, whitespace and set trailing bits are refused rather than tolerated.
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;

const STRICT: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_allow_trailing_bits(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    STRICT.encode(bytes)
}

/// `None` unless `s` is the canonical unpadded base64url form of some bytes.
pub fn decode(s: &str) -> Option<Vec<u8>> {
    STRICT.decode(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for len in 0..40 {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            assert_eq!(decode(&encode(&bytes)), Some(bytes));
        }
    }

    #[test]
    fn refuses_non_canonical_forms() {
        assert_eq!(decode("QQ"), Some(b"A".to_vec()));
        assert_eq!(decode("QR"), None, "trailing bits set");
        assert_eq!(decode("QQ=="), None, "padding");
        assert_eq!(decode("Q"), None, "impossible length");
        assert_eq!(decode("Q Q"), None, "whitespace");
        assert_eq!(decode("+/"), None, "standard alphabet");
        assert_eq!(decode("-w"), Some(vec![0xfb]));
        assert_eq!(decode("-_"), None, "trailing bits set");
    }
}
