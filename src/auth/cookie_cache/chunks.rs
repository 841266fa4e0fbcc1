//! The cookie's value from a `Cookie` header, as get-session's `getChunkedCookie` reads it: the
//! whole cookie when present and non-empty, else its chunks `<name>.0`, `<name>.1`, … joined in
//! index order. A chunk suffix must be a canonical non-negative integer (`01` and `+1` are not
//! chunks); of two copies of one chunk the later wins, as in Better Auth's cookie map.
use std::collections::BTreeMap;

use crate::auth::cookie;

/// Better Auth writes at most 100 chunks; more is not a cookie it wrote.
const MAX_CHUNKS: usize = 100;

pub fn read(header: &str, name: &str) -> Option<String> {
    if let Some(whole) = cookie::find_cookie(header, name).filter(|v| !v.is_empty()) {
        return Some(whole);
    }
    let prefix = format!("{name}.");
    let mut chunks = BTreeMap::new();
    for (key, value) in pairs(header) {
        if let Some(index) = key.strip_prefix(&prefix).and_then(chunk_index) {
            chunks.insert(index, value);
        }
    }
    if chunks.is_empty() || chunks.len() > MAX_CHUNKS {
        return None;
    }
    Some(chunks.into_values().collect())
}

fn pairs(header: &str) -> impl Iterator<Item = (&str, String)> {
    header
        .split(';')
        .filter_map(|part| part.split_once('='))
        .map(|(k, v)| (k.trim(), cookie::decode_value(v.trim())))
}

/// `Number(suffix)` is a safe non-negative integer whose `String()` is the suffix itself.
fn chunk_index(suffix: &str) -> Option<u64> {
    let canonical = suffix == "0" || (!suffix.starts_with('0') && !suffix.is_empty());
    if !canonical || !suffix.bytes().all(|b| b.is_ascii_digit()) || suffix.len() > 15 {
        return None;
    }
    suffix.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: &str = "better-auth.session_data";

    #[test]
    fn the_whole_cookie_wins_over_chunks() {
        let h = format!("{N}.0=aa; {N}=whole; {N}.1=bb");
        assert_eq!(read(&h, N).as_deref(), Some("whole"));
    }

    #[test]
    fn chunks_join_in_index_order_not_header_order() {
        let h = format!("x=1; {N}.10=k; {N}.1=b; {N}.0=a; {N}.2=c");
        assert_eq!(read(&h, N).as_deref(), Some("abck"));
    }

    #[test]
    fn an_empty_whole_cookie_falls_to_the_chunks() {
        let h = format!("{N}=; {N}.0=a; {N}.1=b");
        assert_eq!(read(&h, N).as_deref(), Some("ab"));
    }

    #[test]
    fn only_canonical_indexes_are_chunks() {
        let h = format!("{N}.0=a; {N}.01=x; {N}.+1=y; {N}.1e0=z; {N}.=w; {N}.1=b");
        assert_eq!(read(&h, N).as_deref(), Some("ab"));
        assert_eq!(read(&format!("{N}.x=a"), N), None);
        assert_eq!(read("other=1", N), None);
        assert_eq!(read(&format!("__Secure-{N}=v"), N), None);
    }

    #[test]
    fn a_later_copy_of_a_chunk_wins_and_values_are_decoded() {
        let h = format!("{N}.0=old; {N}.0=a%2D; {N}.1=\"b\"");
        assert_eq!(read(&h, N).as_deref(), Some("a-b"));
    }

    #[test]
    fn too_many_chunks_are_not_a_cookie_better_auth_wrote() {
        let h: Vec<String> = (0..=MAX_CHUNKS).map(|i| format!("{N}.{i}=a")).collect();
        assert_eq!(read(&h.join("; "), N), None);
    }
}
