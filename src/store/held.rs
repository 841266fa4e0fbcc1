//! Connections kept out of sqlx's pool while they are healthy. sqlx pings a connection every
//! time it goes back to its pool (a round trip to the server, and 17 % of the service's CPU per
//! session validation in `scripts/bench`), so the store keeps the connections it has used and
//! hands them out itself. sqlx's pool still opens every connection (with its options and
//! acquire timeout) and gets back any connection whose query ended early or failed, which it
//! cleans up or closes as it always does.
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::{pool::PoolConnection, Connection, Database, Pool};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::domain::metric;

/// A connection not used for this long is pinged before use: a server restart, Neon's suspend
/// or a pooler's RECONNECT may have closed it meanwhile. One in steady use is known alive.
pub const PING_IF_IDLE_FOR: Duration = Duration::from_secs(1);

/// sqlx's pool plus the connections this store keeps.
pub struct Held<DB: Database> {
    pool: Pool<DB>,
    /// One permit per connection that may be in use or parked: at most sqlx's `max_connections`.
    permits: Arc<Semaphore>,
    /// Parked connections, the most recently used last, with when each was parked.
    parked: Mutex<Vec<(PoolConnection<DB>, Instant)>>,
}

impl<DB: Database> Held<DB> {
    pub fn new(pool: Pool<DB>) -> Self {
        let size = pool.options().get_max_connections() as usize;
        Self {
            pool,
            permits: Arc::new(Semaphore::new(size)),
            parked: Mutex::new(Vec::new()),
        }
    }

    /// A connection for one statement; call `Lease::done` once the statement has completed.
    pub async fn get(&self) -> Result<Lease<'_, DB>, sqlx::Error> {
        let timeout = self.pool.options().get_acquire_timeout();
        let permit = tokio::time::timeout(timeout, self.permits.clone().acquire_owned()).await;
        let permit = match permit {
            Ok(Ok(p)) => p,
            Ok(Err(_)) => return Err(sqlx::Error::PoolClosed),
            Err(_) => return Err(sqlx::Error::PoolTimedOut),
        };
        let conn = match self.unpark().await {
            Some(conn) => conn,
            None => self.pool.acquire().await?,
        };
        self.report(0);
        Ok(Lease {
            home: self,
            conn: Some(conn),
            done: false,
            _permit: permit,
        })
    }

    /// The most recently parked connection that is alive, if any.
    async fn unpark(&self) -> Option<PoolConnection<DB>> {
        loop {
            let (mut conn, since) = self.lock().pop()?;
            if since.elapsed() < PING_IF_IDLE_FOR || conn.ping().await.is_ok() {
                return Some(conn);
            }
            // Dropped: sqlx's pool closes it and opens another when asked.
        }
    }

    /// Parks `conn`, and hands back to sqlx's pool (which closes them in time) the connections
    /// parked for longer than its idle timeout: a quiet service does not keep its peak.
    fn park(&self, conn: PoolConnection<DB>) {
        let idle_timeout = self.pool.options().get_idle_timeout();
        let mut parked = self.lock();
        if let Some(limit) = idle_timeout {
            parked.retain(|(_, since)| since.elapsed() < limit);
        }
        parked.push((conn, Instant::now()));
    }

    /// The pool's gauges; `leaving`: leases being dropped, whose permits are not back yet.
    fn report(&self, leaving: usize) {
        let size = self.pool.options().get_max_connections() as usize;
        let in_use = size.saturating_sub(self.permits.available_permits() + leaving);
        metric::db_pool(in_use, self.lock().len());
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<(PoolConnection<DB>, Instant)>> {
        self.parked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One connection in use. Parked again only when its statement completed: a statement dropped
/// halfway (a cancelled call, a timeout) or failed may leave the connection mid-protocol, so it
/// goes back to sqlx's pool, which settles or closes it.
pub struct Lease<'h, DB: Database> {
    home: &'h Held<DB>,
    /// Always `Some` until dropped.
    conn: Option<PoolConnection<DB>>,
    done: bool,
    _permit: OwnedSemaphorePermit,
}

impl<DB: Database> Lease<'_, DB> {
    pub fn conn(&mut self) -> Result<&mut DB::Connection, sqlx::Error> {
        self.conn.as_deref_mut().ok_or(sqlx::Error::PoolClosed)
    }

    /// The statement completed: the connection may serve the next one.
    pub fn done(mut self) {
        self.done = true;
    }
}

impl<DB: Database> Drop for Lease<'_, DB> {
    fn drop(&mut self) {
        match (self.done, self.conn.take()) {
            (true, Some(conn)) => self.home.park(conn),
            // Back to sqlx's pool, which pings it and keeps it or closes it.
            (false, conn) => drop(conn),
            (true, None) => {}
        }
        self.home.report(1);
    }
}

#[cfg(test)]
mod tests {
    use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
    use sqlx::Sqlite;

    use super::*;

    fn pool(idle_timeout: Option<Duration>) -> SqlitePool {
        SqlitePoolOptions::new()
            .max_connections(2)
            .idle_timeout(idle_timeout)
            .connect_lazy("sqlite::memory:")
            .unwrap()
    }

    /// A temporary table lives on its connection only: seeing it proves the same connection.
    async fn mark(lease: &mut Lease<'_, Sqlite>) {
        let conn = lease.conn().unwrap();
        sqlx::query("CREATE TEMP TABLE mark (x)")
            .execute(conn)
            .await
            .unwrap();
    }

    async fn marked(lease: &mut Lease<'_, Sqlite>) -> bool {
        let conn = lease.conn().unwrap();
        sqlx::query("SELECT * FROM mark")
            .fetch_all(conn)
            .await
            .is_ok()
    }

    #[tokio::test]
    async fn a_completed_lease_parks_its_connection_for_the_next() {
        let held = Held::new(pool(None));
        let mut first = held.get().await.unwrap();
        mark(&mut first).await;
        first.done();
        assert_eq!(held.lock().len(), 1);
        let mut second = held.get().await.unwrap();
        assert!(marked(&mut second).await);
    }

    /// A statement that did not complete may have left its connection mid-protocol.
    #[tokio::test]
    async fn an_unfinished_lease_goes_back_to_sqlx_not_to_the_parked() {
        let held = Held::new(pool(None));
        let mut first = held.get().await.unwrap();
        mark(&mut first).await;
        drop(first);
        assert_eq!(held.lock().len(), 0);
    }

    #[tokio::test]
    async fn connections_parked_past_the_idle_timeout_are_handed_back() {
        let held = Held::new(pool(Some(Duration::from_millis(50))));
        let (a, b) = (held.get().await.unwrap(), held.get().await.unwrap());
        a.done();
        tokio::time::sleep(Duration::from_millis(80)).await;
        b.done();
        assert_eq!(held.lock().len(), 1, "the older one was handed back");
    }

    #[tokio::test]
    async fn leases_wait_for_a_free_connection_within_the_acquire_timeout() {
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_millis(50))
            .connect_lazy("sqlite::memory:")
            .unwrap();
        let held = Held::new(pool);
        let first = held.get().await.unwrap();
        assert!(matches!(
            held.get().await.err(),
            Some(sqlx::Error::PoolTimedOut)
        ));
        first.done();
        assert!(held.get().await.is_ok());
    }
}
