//! `.metadata/api_cache.db`: registry answers by URL, with the time they were fetched. The
//! client decides freshness (a TTL) and uses stale answers offline or when the network fails.

use super::RegistryError;
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SCHEMA_VERSION: i64 = 1;

/// A cached answer: 200 bodies, and the definite refusals 403 (banned) and 404 (no such pack),
/// so that those also work offline.
#[derive(Debug, Clone)]
pub struct CachedResponse {
    pub status: u16,
    pub body: Vec<u8>,
    pub fetched_at: SystemTime,
}

impl CachedResponse {
    pub fn age(&self) -> Duration {
        SystemTime::now().duration_since(self.fetched_at).unwrap_or_default()
    }
}

pub struct ApiCache {
    path: PathBuf,
    // One connection shared by the client's threads; SQLite serialises writers anyway.
    conn: Mutex<Connection>,
}

impl ApiCache {
    pub fn open(path: &Path) -> Result<ApiCache, RegistryError> {
        let err = |source| RegistryError::Cache {
            path: path.to_path_buf(),
            source,
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(RegistryError::io(parent))?;
        }
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(err)?;
        // WAL: readers in other comfydock processes are never blocked by a writer.
        // Switching to WAL takes an exclusive lock and may fail at once (no busy wait) while
        // another connection is open: only switch a database that is not WAL yet.
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        }
        // Several threads and processes may open a new cache at once: the check and the
        // migration happen under one write lock, so exactly one of them lays out the table.
        let mut conn = conn;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(err)?;
        if version != SCHEMA_VERSION {
            // A cache of another layout is only copies: start over.
            tx.execute_batch(
                "DROP TABLE IF EXISTS responses;
                 CREATE TABLE responses (
                     url TEXT PRIMARY KEY,
                     status INTEGER NOT NULL,
                     body BLOB NOT NULL,
                     fetched_at INTEGER NOT NULL
                 );",
            )
            .map_err(err)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(err)?;
        }
        tx.commit().map_err(err)?;
        Ok(ApiCache {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self) -> impl FnOnce(rusqlite::Error) -> RegistryError + '_ {
        |source| RegistryError::Cache {
            path: self.path.clone(),
            source,
        }
    }

    pub fn get(&self, url: &str) -> Result<Option<CachedResponse>, RegistryError> {
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.query_row(
            "SELECT status, body, fetched_at FROM responses WHERE url = ?1",
            params![url],
            |r| {
                let millis: i64 = r.get(2)?;
                Ok(CachedResponse {
                    status: r.get(0)?,
                    body: r.get(1)?,
                    fetched_at: UNIX_EPOCH + Duration::from_millis(millis.max(0) as u64),
                })
            },
        )
        .optional()
        .map_err(self.err())
    }

    pub fn put(&self, url: &str, status: u16, body: &[u8]) -> Result<(), RegistryError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        conn.execute(
            "INSERT INTO responses (url, status, body, fetched_at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(url) DO UPDATE SET status = excluded.status, body = excluded.body,
                                            fetched_at = excluded.fetched_at",
            params![url, status, body, now],
        )
        .map_err(self.err())?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_and_replaces_answers_and_survives_reopen() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join(".metadata/api_cache.db");
        let cache = ApiCache::open(&path).unwrap();
        assert!(cache.get("http://x/nodes/a").unwrap().is_none());
        cache.put("http://x/nodes/a", 200, b"{}").unwrap();
        cache.put("http://x/nodes/a", 404, b"gone").unwrap();
        drop(cache);
        let cache = ApiCache::open(&path).unwrap();
        let hit = cache.get("http://x/nodes/a").unwrap().unwrap();
        assert_eq!((hit.status, hit.body.as_slice()), (404, b"gone".as_slice()));
        assert!(hit.age() < Duration::from_secs(60));
    }
}
