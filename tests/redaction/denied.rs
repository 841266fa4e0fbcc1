//! IssueToken calls the server must refuse: caller keys, subjects, audiences, lifetimes.
use better_auth_grpc::proto::auth::v1::issue_token_request::Subject;
use tonic::Code;

use super::{
    calls::{Denied, KEY},
    WRONG_API_KEY,
};

/// `user_id` is the seeded user; `big_key` an oversized API key, `bearer_key` the right key
/// sent as a bearer token; `cookie_header` a live session and `unknown` no user id at all.
pub fn denied_cases<'a>(
    user_id: &str,
    big_key: &'a str,
    bearer_key: &'a str,
    cookie_header: &str,
    unknown: &str,
) -> Vec<Denied<'a>> {
    let user = || Some(Subject::UserId(user_id.to_owned()));
    vec![
        ("no API key", None, user(), "", None, Code::Unauthenticated),
        (
            "wrong API key",
            Some(("x-api-key", WRONG_API_KEY)),
            user(),
            "",
            None,
            Code::Unauthenticated,
        ),
        (
            "oversized API key",
            Some(("x-api-key", big_key)),
            user(),
            "",
            None,
            Code::Unauthenticated,
        ),
        (
            "API key in the authorization header",
            Some(("authorization", bearer_key)),
            user(),
            "",
            None,
            Code::Unauthenticated,
        ),
        (
            "wrong API key with a live session",
            Some(("x-api-key", WRONG_API_KEY)),
            Some(Subject::SessionToken(cookie_header.to_owned())),
            "",
            None,
            Code::Unauthenticated,
        ),
        ("no subject", KEY, None, "", None, Code::InvalidArgument),
        (
            "unknown user id",
            KEY,
            Some(Subject::UserId(unknown.to_owned())),
            "",
            None,
            Code::NotFound,
        ),
        (
            "audience not allowed",
            KEY,
            user(),
            "https://elsewhere.example",
            None,
            Code::PermissionDenied,
        ),
        (
            "lifetime 0",
            KEY,
            user(),
            "",
            Some(0),
            Code::InvalidArgument,
        ),
        (
            "lifetime too long",
            KEY,
            user(),
            "",
            Some(1_000_000),
            Code::InvalidArgument,
        ),
    ]
}
