//! The triggers' payloads (migrations/postgres/change_feed.sql) and the heartbeat's.
use crate::domain::change::Change;

#[derive(Debug, PartialEq, Eq)]
pub enum Payload {
    Changed(Change),
    /// A heartbeat: whether the triggers were all present when it was sent, and when this
    /// process sent it (ms since the epoch, its own clock).
    Heartbeat {
        installed: bool,
        sent_ms: Option<i64>,
    },
}

/// `None` for a payload this version does not know (another writer on the channel).
pub fn parse(payload: &str) -> Option<Payload> {
    let (tag, rest) = payload.split_once(':').unwrap_or((payload, ""));
    match tag {
        "s" => session(rest).map(Payload::Changed),
        "u" if !rest.is_empty() => Some(Payload::Changed(Change::User {
            user_id: rest.to_owned(),
        })),
        "k" => Some(Payload::Changed(Change::Keys)),
        "h" => {
            let (installed, sent) = rest.split_once(':').unwrap_or((rest, ""));
            Some(Payload::Heartbeat {
                installed: installed == "true",
                sent_ms: sent.parse().ok(),
            })
        }
        _ => None,
    }
}

fn session(rest: &str) -> Option<Change> {
    let (hash, user_id) = rest.split_once(':')?;
    let mut token_sha256 = [0u8; 32];
    hex::decode_to_slice(hash, &mut token_sha256).ok()?;
    Some(Change::Session {
        token_sha256,
        user_id: user_id.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_trigger_payload_is_read() {
        let hash = "ab".repeat(32);
        let Some(Payload::Changed(Change::Session {
            token_sha256,
            user_id,
        })) = parse(&format!("s:{hash}:user:with:colons"))
        else {
            panic!("session payload not read");
        };
        assert_eq!(token_sha256, [0xab; 32]);
        assert_eq!(user_id, "user:with:colons");
        assert_eq!(
            parse("u:u1"),
            Some(Payload::Changed(Change::User {
                user_id: "u1".into()
            }))
        );
        assert_eq!(parse("k"), Some(Payload::Changed(Change::Keys)));
        let beat = |installed, sent_ms| Some(Payload::Heartbeat { installed, sent_ms });
        assert_eq!(
            parse("h:true:1700000000000"),
            beat(true, Some(1_700_000_000_000))
        );
        assert_eq!(parse("h:false"), beat(false, None));
    }

    #[test]
    fn unknown_or_broken_payloads_are_none() {
        for p in ["", "x:1", "u:", "s:nothex:u1", "s:abcd:u1", "s:only"] {
            assert_eq!(parse(p), None, "{p}");
        }
    }
}
