//! Cookie header parsing exactly as better-call does it (docs/better-auth-compat.md §2.4 step 1).

/// The value of the first cookie called `name`, decoded like better-call: surrounding quotes
/// dropped, `decodeURIComponent` applied when the value holds a `%` (kept raw when that fails).
/// The first occurrence wins even when a later copy would be valid.
pub fn find_cookie(header: &str, name: &str) -> Option<String> {
    header
        .split(';')
        .filter_map(|part| part.split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| decode_value(v.trim()))
}

/// A cookie value as better-call hands it over: unquoted, URL-decoded when it can be.
pub fn decode_value(v: &str) -> String {
    let v = strip_quotes(v);
    if v.contains('%') {
        decode_uri_component(v).unwrap_or_else(|| v.to_owned())
    } else {
        v.to_owned()
    }
}

fn strip_quotes(v: &str) -> &str {
    if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
        &v[1..v.len() - 1]
    } else {
        v
    }
}

/// JavaScript's `decodeURIComponent`: `None` where JS would throw (a `%` not followed by two
/// hex digits, or bytes that are not UTF-8).
pub fn decode_uri_component(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "better-auth.session_token";

    #[test]
    fn first_occurrence_wins() {
        let h = "a=1; better-auth.session_token=first; better-auth.session_token=second";
        assert_eq!(find_cookie(h, NAME).as_deref(), Some("first"));
    }

    #[test]
    fn url_encoded_and_quoted_values_are_decoded() {
        let h = "better-auth.session_token=\"abc.d%2Fe%3D\"";
        assert_eq!(find_cookie(h, NAME).as_deref(), Some("abc.d/e="));
    }

    #[test]
    fn bad_percent_escapes_keep_the_raw_value() {
        let h = "better-auth.session_token=abc%zz";
        assert_eq!(find_cookie(h, NAME).as_deref(), Some("abc%zz"));
        assert_eq!(decode_uri_component("%E0%A4%A"), None);
        assert_eq!(decode_uri_component("%FF"), None);
    }

    #[test]
    fn other_names_do_not_match() {
        assert_eq!(
            find_cookie("__Secure-better-auth.session_token=x", NAME),
            None
        );
        assert_eq!(find_cookie("better-auth.session_tokenx=x", NAME), None);
        assert_eq!(find_cookie("", NAME), None);
    }
}
