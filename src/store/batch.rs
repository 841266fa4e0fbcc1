//! Session lookups that arrive together share one round trip. Each call queues its token; a
//! lane (one per pool connection) takes every token waiting when it comes free and asks for them
//! all in one query (`find_sessions`). Nothing waits on purpose: with a lane free a lookup goes
//! out at once, alone; under load, the lookups that queued while every connection was busy go
//! out together. Each query is sent after every call in it arrived, so a call never gets an
//! answer older than itself. Everything else passes straight through.
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, oneshot, Mutex};

use super::{SessionRow, Store, StoreError};
use crate::domain::model::{JwkRow, Session, User};

/// The most tokens one query carries.
const MAX_BATCH: usize = 128;

type Answer = Result<Option<SessionRow>, StoreError>;

struct Ask {
    token: String,
    reply: oneshot::Sender<Answer>,
}

pub struct BatchedStore {
    inner: Arc<dyn Store>,
    asks: mpsc::UnboundedSender<Ask>,
}

impl BatchedStore {
    /// Spawns `lanes` lanes on the current runtime; they end when the store is dropped.
    pub fn new(inner: Arc<dyn Store>, lanes: usize) -> Self {
        let (asks, rx) = mpsc::unbounded_channel();
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..lanes.max(1) {
            tokio::spawn(lane(inner.clone(), rx.clone()));
        }
        Self { inner, asks }
    }
}

async fn lane(store: Arc<dyn Store>, rx: Arc<Mutex<mpsc::UnboundedReceiver<Ask>>>) {
    while let Some(batch) = next_batch(&rx).await {
        let (tokens, replies): (Vec<String>, Vec<_>) =
            batch.into_iter().map(|a| (a.token, a.reply)).unzip();
        let found = store.find_sessions(&tokens).await;
        for (token, reply) in tokens.iter().zip(replies) {
            let answer = match &found {
                Ok(rows) => Ok(rows.iter().find(|r| &r.session.token == token).cloned()),
                Err(e) => Err(e.clone()),
            };
            // The caller may have given up (deadline): nobody to tell.
            let _ = reply.send(answer);
        }
    }
}

/// The first waiting ask (waiting for one if none is), and every other already queued.
async fn next_batch(rx: &Mutex<mpsc::UnboundedReceiver<Ask>>) -> Option<Vec<Ask>> {
    let mut rx = rx.lock().await;
    let mut batch = vec![rx.recv().await?];
    while batch.len() < MAX_BATCH {
        match rx.try_recv() {
            Ok(ask) => batch.push(ask),
            Err(_) => break,
        }
    }
    Some(batch)
}

#[async_trait]
impl Store for BatchedStore {
    async fn find_session(&self, token: &str) -> Result<Option<SessionRow>, StoreError> {
        let (reply, answer) = oneshot::channel();
        let ask = Ask {
            token: token.to_owned(),
            reply,
        };
        let lost = || StoreError::Unavailable("the session lookup lanes have stopped".into());
        self.asks.send(ask).map_err(|_| lost())?;
        answer.await.map_err(|_| lost())?
    }

    async fn find_sessions(&self, tokens: &[String]) -> Result<Vec<SessionRow>, StoreError> {
        self.inner.find_sessions(tokens).await
    }

    async fn refresh_session(
        &self,
        token: &str,
        expires_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.inner
            .refresh_session(token, expires_at, updated_at)
            .await
    }

    async fn delete_session(&self, token: &str) -> Result<(), StoreError> {
        self.inner.delete_session(token).await
    }

    async fn find_user(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.inner.find_user(id).await
    }

    async fn list_jwks(&self) -> Result<Vec<JwkRow>, StoreError> {
        self.inner.list_jwks().await
    }

    async fn find_jwk(&self, id: &str) -> Result<Option<JwkRow>, StoreError> {
        self.inner.find_jwk(id).await
    }

    async fn insert_jwk(&self, row: &JwkRow) -> Result<(), StoreError> {
        self.inner.insert_jwk(row).await
    }

    fn has_jwks(&self) -> bool {
        self.inner.has_jwks()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.inner.ping().await
    }

    async fn insert_user(&self, user: &User) -> Result<(), StoreError> {
        self.inner.insert_user(user).await
    }

    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        self.inner.insert_session(session).await
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.inner.find_user_by_email(email).await
    }

    async fn latest_session_of(&self, user_id: &str) -> Result<Option<Session>, StoreError> {
        self.inner.latest_session_of(user_id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::user;
    use std::sync::Mutex as StdMutex;
    use tokio::sync::Semaphore;

    /// Answers `find_sessions` from a fixed set of tokens, records each batch, and holds every
    /// batch until the test lets it through.
    struct Recording {
        known: Vec<&'static str>,
        batches: StdMutex<Vec<Vec<String>>>,
        gate: Semaphore,
        fail: bool,
    }

    fn row(token: &str) -> SessionRow {
        let u = user();
        let session = Session {
            id: format!("id-{token}"),
            expires_at: u.created_at,
            token: token.into(),
            created_at: u.created_at,
            updated_at: u.created_at,
            ip_address: None,
            user_agent: None,
            user_id: u.id.clone(),
            extra: Default::default(),
        };
        SessionRow {
            session,
            user: Some(u),
        }
    }

    #[async_trait]
    impl Store for Recording {
        async fn find_session(&self, _: &str) -> Result<Option<SessionRow>, StoreError> {
            panic!("lookups go through find_sessions")
        }
        async fn find_sessions(&self, tokens: &[String]) -> Result<Vec<SessionRow>, StoreError> {
            self.batches.lock().unwrap().push(tokens.to_vec());
            self.gate.acquire().await.unwrap().forget();
            if self.fail {
                return Err(StoreError::Unavailable("down".into()));
            }
            let hits = self.known.iter().filter(|k| tokens.iter().any(|t| t == *k));
            Ok(hits.map(|k| row(k)).collect())
        }
        async fn refresh_session(
            &self,
            _: &str,
            _: DateTime<Utc>,
            _: DateTime<Utc>,
        ) -> Result<bool, StoreError> {
            unreachable!()
        }
        async fn delete_session(&self, _: &str) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn find_user(&self, _: &str) -> Result<Option<User>, StoreError> {
            unreachable!()
        }
        async fn list_jwks(&self) -> Result<Vec<JwkRow>, StoreError> {
            unreachable!()
        }
        async fn find_jwk(&self, _: &str) -> Result<Option<JwkRow>, StoreError> {
            unreachable!()
        }
        async fn insert_jwk(&self, _: &JwkRow) -> Result<(), StoreError> {
            unreachable!()
        }
        fn has_jwks(&self) -> bool {
            unreachable!()
        }
        async fn ping(&self) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn insert_user(&self, _: &User) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn insert_session(&self, _: &Session) -> Result<(), StoreError> {
            unreachable!()
        }
        async fn find_user_by_email(&self, _: &str) -> Result<Option<User>, StoreError> {
            unreachable!()
        }
        async fn latest_session_of(&self, _: &str) -> Result<Option<Session>, StoreError> {
            unreachable!()
        }
    }

    fn recording(fail: bool) -> Arc<Recording> {
        Arc::new(Recording {
            known: vec!["a", "b", "c"],
            batches: StdMutex::default(),
            gate: Semaphore::new(0),
            fail,
        })
    }

    /// Asks `tokens` at once; the first goes out alone and holds the one lane while the rest
    /// queue behind it (the test runtime has one thread: a yield runs every spawned call up to
    /// its wait for an answer).
    async fn burst(inner: &Arc<Recording>, tokens: &[&str]) -> Vec<Answer> {
        let store = Arc::new(BatchedStore::new(inner.clone(), 1));
        let ask = |t: &str| {
            let (store, t) = (store.clone(), t.to_owned());
            tokio::spawn(async move { store.find_session(&t).await })
        };
        let first = ask(tokens[0]);
        while inner.batches.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        let mut calls = vec![first];
        calls.extend(tokens[1..].iter().map(|t| ask(t)));
        tokio::task::yield_now().await;
        inner.gate.add_permits(2);
        let mut all = Vec::new();
        for c in calls {
            all.push(c.await.unwrap());
        }
        all
    }

    #[tokio::test]
    async fn calls_queued_behind_a_busy_lane_go_out_in_one_batch() {
        let inner = recording(false);
        let got = burst(&inner, &["a", "b", "x", "c", "b"]).await;
        let batches = inner.batches.lock().unwrap().clone();
        assert_eq!(batches, vec![vec!["a"], vec!["b", "x", "c", "b"]]);
        let tokens: Vec<_> = got
            .iter()
            .map(|a| {
                a.as_ref()
                    .unwrap()
                    .as_ref()
                    .map(|r| r.session.token.clone())
            })
            .collect();
        let want = [Some("a"), Some("b"), None, Some("c"), Some("b")];
        assert_eq!(tokens, want.map(|t| t.map(String::from)));
    }

    #[tokio::test]
    async fn a_failed_batch_fails_each_of_its_calls() {
        let inner = recording(true);
        for answer in burst(&inner, &["a", "b", "c"]).await {
            assert!(matches!(answer, Err(StoreError::Unavailable(_))));
        }
    }
}
