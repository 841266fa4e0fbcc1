//! JWTs that other Better Auth plugins sign with the jwt plugin's `jwks` keys
//! (@better-auth/oauth-provider and @better-auth/mcp 1.7.5, for better-auth 1.7.25), shaped as
//! those plugins shape them: none is taken for a jwt-plugin token, even where an operator's
//! settings make its `iss` and `aud` match.
use serde_json::{json, Value};

use super::super::{TokenError, VerifyOptions};
use crate::domain::reason::Reason;
use crate::test_util::{forge, Fixture, NOW, ORIGIN};

const CLIENT_ID: &str = "OAuthClientId0123456789";

async fn refusal(f: &Fixture, header: &Value, claims: &Value) -> Reason {
    let token = forge(header, claims, &f.eddsa.1);
    match f.verifier().verify(&token, VerifyOptions::default()).await {
        Err(TokenError::Refused(r)) => r,
        other => panic!("{header} {claims}: expected a refusal, got {other:?}"),
    }
}

fn header(f: &Fixture, typ: Option<&str>) -> Value {
    let mut h = f.eddsa_header();
    if let Some(t) = typ {
        h["typ"] = json!(t);
    }
    h
}

/// oauth-provider's `createJwtAccessToken`: `aud` is the requested resource, `iss` is
/// `jwt.issuer` (here set to the origin, so that only the type tells it apart).
fn access_token(aud: &str) -> Value {
    json!({"sub": "u1", "aud": aud, "client_id": CLIENT_ID, "azp": CLIENT_ID,
           "scope": "openid profile", "iss": ORIGIN, "iat": NOW, "exp": NOW + 3600, "jti": "j"})
}

#[tokio::test]
async fn an_oauth_access_token_for_the_origin_is_refused_by_its_type() {
    let f = Fixture::new().await;
    assert_eq!(
        refusal(&f, &header(&f, Some("at+jwt")), &access_token(ORIGIN)).await,
        Reason::JwtForbiddenHeader
    );
}

#[tokio::test]
async fn other_types_are_refused_and_plain_jwt_types_are_not() {
    let f = Fixture::new().await;
    for typ in ["logout+jwt", "dpop+jwt", "application/at+jwt", "JOSE", ""] {
        let h = header(&f, Some(typ));
        assert_eq!(
            refusal(&f, &h, &f.claims()).await,
            Reason::JwtForbiddenHeader,
            "{typ}"
        );
    }
    let mut h = f.eddsa_header();
    h["typ"] = json!(1);
    assert_eq!(
        refusal(&f, &h, &f.claims()).await,
        Reason::JwtForbiddenHeader
    );
    for typ in ["JWT", "jwt", "application/jwt"] {
        let token = forge(&header(&f, Some(typ)), &f.claims(), &f.eddsa.1);
        let verified = f.verifier().verify(&token, VerifyOptions::default()).await;
        assert!(verified.is_ok(), "{typ}: {verified:?}");
    }
}

/// With Better Auth's defaults the other plugins' tokens already fail `iss` or `aud`.
#[tokio::test]
async fn by_default_their_issuer_or_audience_does_not_match() {
    let f = Fixture::new().await;
    // `iss` defaults to `ctx.context.baseURL`, which carries the base path.
    let mut at = access_token(ORIGIN);
    at["iss"] = json!(format!("{ORIGIN}/api/auth"));
    assert_eq!(
        refusal(&f, &header(&f, None), &at).await,
        Reason::JwtBadIssuer
    );
    // An access token for an MCP resource, or any other registered resource.
    let mcp = access_token("https://api.example.com/mcp");
    assert_eq!(
        refusal(&f, &header(&f, None), &mcp).await,
        Reason::JwtBadAudience
    );
    // ID tokens carry no `typ`; their `aud` is the client id.
    let id_token = json!({"sub": "u1", "aud": CLIENT_ID, "iss": ORIGIN, "iat": NOW,
                          "exp": NOW + 36000, "acr": "0", "nonce": "n"});
    assert_eq!(
        refusal(&f, &header(&f, None), &id_token).await,
        Reason::JwtBadAudience
    );
}
