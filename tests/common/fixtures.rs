//! Rows the tests insert directly through the `Store`.
use better_auth_grpc::{
    domain::{
        model::{random_id, Session, User},
        time::millis,
    },
    store::Store,
};
use chrono::{DateTime, TimeDelta, Utc};

/// Now, at JavaScript's millisecond precision (what the stores keep).
pub fn now_millis() -> DateTime<Utc> {
    millis(Utc::now())
}

/// A user with one session live for 7 days; returns (user id, session token).
pub async fn live_session(store: &dyn Store, name: &str) -> (String, String) {
    let now = now_millis();
    let user = User {
        id: random_id(32),
        name: name.into(),
        email: format!("{}@example.com", random_id(8).to_lowercase()),
        email_verified: false,
        image: None,
        created_at: now,
        updated_at: now,
        extra: vec![],
    };
    let session = Session {
        id: random_id(32),
        expires_at: now + TimeDelta::days(7),
        token: random_id(32),
        created_at: now,
        updated_at: now,
        ip_address: None,
        user_agent: None,
        user_id: user.id.clone(),
        extra: vec![],
    };
    store.insert_user(&user).await.expect("insert user");
    store
        .insert_session(&session)
        .await
        .expect("insert session");
    (user.id, session.token)
}
