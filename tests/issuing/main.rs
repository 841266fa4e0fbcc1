//! IssueToken hardening (issue #13) through the real server over both stores: the session
//! cache never answers IssueToken or GetSession (cache), banned users get no JWT (banned), and
//! a read-only service changes no table under any call (read_only); issue #14: a deleted jwks
//! row never signs again (deleted_key).
mod banned;
mod cache;
#[path = "../common/mod.rs"]
mod common;
mod deleted_key;
mod dump;
mod read_only;

use better_auth_grpc::{
    cli::SettingsArgs,
    clock::FixedClock,
    domain::model::Session,
    proto::auth::v1::{
        issue_token_request::Subject, GetSessionRequest, GetSessionResponse, IssueTokenRequest,
        IssueTokenResponse, ValidateTokenRequest, ValidateTokenResponse,
    },
};
use common::{db::Db, server::TestServer, vectors};
use serde_json::Value;
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;

const FILE: &str = "postgres-eddsa.json";
const API_KEY: &str = "issuing-test-caller-key-0123456789";

/// The vector's user and session, served with JWT issuing on and one caller allowed user ids.
pub struct Ctx {
    pub v: Value,
    pub s: TestServer,
    pub clock: FixedClock,
    pub user_id: String,
    pub session: Session,
    /// The session as a browser sends it: a `Cookie` header with the signed cookie.
    pub cookie: String,
    _dir: tempfile::TempDir,
}

/// Starts on a migrated database; `before_start` runs SQL first (plugin columns), and `tune`
/// adjusts the settings (read-only, session cache).
async fn start(db: &Db, before_start: &str, tune: impl FnOnce(&mut SettingsArgs)) -> Ctx {
    common::server::migrate(&db.url).await;
    if !before_start.is_empty() {
        common::sql::exec(&db.url, before_start).await;
    }
    let v = vectors::load(FILE);
    let dir = tempfile::tempdir().unwrap();
    let callers = common::files::callers_file(dir.path(), API_KEY, "");
    let mut args = common::server::settings_with_file(&db.url, vectors::secret(FILE), &callers);
    args.base_url = Some(v["config"]["baseURL"].as_str().unwrap().into());
    tune(&mut args);
    let clock = FixedClock::at(vectors::generated_at(&v));
    let s = TestServer::start_at(args, &clock).await;
    let u = &v["users"][0];
    let user = vectors::user(vectors::row(&u["db"], "user"));
    s.store.insert_user(&user).await.unwrap();
    let session = vectors::session(vectors::row(&u["db"], "session"));
    s.store.insert_session(&session).await.unwrap();
    let cookie = format!(
        "better-auth.session_token={}",
        u["sessionCookie"]["value"].as_str().unwrap()
    );
    Ctx {
        user_id: user.id,
        session,
        cookie,
        clock,
        s,
        v,
        _dir: dir,
    }
}

impl Ctx {
    async fn validate(&self, token: &str) -> ValidateTokenResponse {
        let req = ValidateTokenRequest {
            token: token.into(),
            ..Default::default()
        };
        let r = self.s.client.clone().validate_token(req).await;
        r.expect("status OK").into_inner()
    }

    async fn get_session(&self, token: &str) -> Result<GetSessionResponse, Status> {
        let req = GetSessionRequest {
            token: token.into(),
            disable_refresh: false,
        };
        let r = self.s.client.clone().get_session(req).await;
        r.map(|r| r.into_inner())
    }

    async fn issue(&self, subject: Subject) -> Result<IssueTokenResponse, Status> {
        let mut r = Request::new(IssueTokenRequest {
            subject: Some(subject),
            ..Default::default()
        });
        r.metadata_mut()
            .insert("x-api-key", API_KEY.parse().unwrap());
        let r = self.s.client.clone().issue_token(r).await;
        r.map(|r| r.into_inner())
    }

    async fn issue_for_session(&self) -> Result<IssueTokenResponse, Status> {
        self.issue(Subject::SessionToken(self.cookie.clone())).await
    }

    async fn issue_for_user(&self) -> Result<IssueTokenResponse, Status> {
        self.issue(Subject::UserId(self.user_id.clone())).await
    }
}

/// The status code and `ErrorInfo.reason` of a refusal (panics on success, without printing
/// the answer: it may hold a JWT).
#[track_caller]
fn refusal<T>(r: Result<T, Status>) -> (Code, String) {
    let Err(e) = r else {
        panic!("expected a refusal, got an answer");
    };
    let reason = e.get_error_details().error_info().map(|i| i.reason.clone());
    (e.code(), reason.unwrap_or_default())
}

macro_rules! suite {
    ($engine:ident) => {
        mod $engine {
            use super::*;

            #[tokio::test]
            async fn the_session_cache_never_answers_issue_token_or_get_session() {
                cache::never_answers_issue_or_get_session(Db::$engine().await).await
            }
            #[tokio::test]
            async fn banned_users_get_no_jwt() {
                banned::get_no_jwt(Db::$engine().await).await
            }
            #[tokio::test]
            async fn a_read_only_service_changes_no_table_under_any_call() {
                read_only::changes_no_table(Db::$engine().await).await
            }
            #[tokio::test]
            async fn an_emptied_jwks_table_gets_a_new_row_at_once() {
                deleted_key::emptied_table_gets_a_new_row_at_once(Db::$engine().await).await
            }
            #[tokio::test]
            async fn the_next_live_row_signs_once_the_signing_row_is_deleted() {
                deleted_key::next_live_row_signs_after_the_signing_row_goes(Db::$engine().await)
                    .await
            }
            #[tokio::test]
            async fn read_only_refuses_at_once_after_the_keys_are_deleted() {
                deleted_key::read_only_refuses_at_once(Db::$engine().await).await
            }
        }
    };
}

suite!(sqlite);
suite!(postgres);
