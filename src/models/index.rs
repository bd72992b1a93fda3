//! The workspace's model index, `.metadata/model_index.db` (SQLite, WAL).
//!
//! - `models`: one row per distinct content (a model), named after its primary file.
//! - `model_hashes`: every known hash of a model; the primary key (hash_type, hash_value) makes
//!   any hash, or a hash prefix (a range on that key), one indexed lookup.
//! - `model_locations`: the files holding a model, with the fingerprint (size, mtime, inode,
//!   device) that lets a rescan skip unchanged files. A model can sit in several files (copies,
//!   hardlinks); a model whose files are all gone stays, marked missing, so its hashes still
//!   resolve and it is recognised by hash when it comes back.
//! - `model_scans`: when each folder was last scanned. A scan that finds a file unchanged writes
//!   nothing for it: a present model was last seen by the latest scan of a folder holding one of
//!   its files, which [`ModelIndex`] reads from here; a row's own `last_seen` is the last time
//!   the row was written (or, for a missing model, the last scan that saw a file of it).

use super::{ModelError, Result};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Schema version, kept in `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 2;

const SCHEMA_V1: &str = r#"
CREATE TABLE models (
    id            INTEGER PRIMARY KEY,
    name          TEXT NOT NULL,
    size          INTEGER NOT NULL,
    local_path    TEXT,
    original_name TEXT NOT NULL,
    category      TEXT,
    first_seen    INTEGER NOT NULL,
    last_seen     INTEGER NOT NULL,
    missing       INTEGER NOT NULL DEFAULT 0,
    metadata      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX models_by_name ON models(name);
CREATE TABLE model_hashes (
    model_id   INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    hash_type  TEXT NOT NULL,
    hash_value TEXT NOT NULL,
    PRIMARY KEY (hash_type, hash_value)
) WITHOUT ROWID;
CREATE INDEX model_hashes_by_model ON model_hashes(model_id);
CREATE TABLE model_locations (
    path      TEXT PRIMARY KEY,
    model_id  INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    category  TEXT,
    size      INTEGER NOT NULL,
    mtime_ns  INTEGER NOT NULL,
    inode     INTEGER NOT NULL,
    dev       INTEGER NOT NULL,
    last_seen INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX model_locations_by_model ON model_locations(model_id);
"#;

/// Version 2: one row per scanned folder, so a rescan that changes nothing rewrites no row of
/// `models` or `model_locations` (version 1 stamped `last_seen` on every one of them).
const SCHEMA_V2: &str = r#"
CREATE TABLE model_scans (
    dir        TEXT PRIMARY KEY,
    scanned_at INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// Page cache of a connection, in KiB (SQLite's default is 2 MiB). A first index of 100,000
/// files inserts hashes at random places of a 10 MB B-tree: with the default cache most inserts
/// read a page back from disk and every transaction writes most of the tree again. Memory is
/// taken only as pages are read.
const CACHE_KIB: i64 = 64 * 1024;

/// WAL pages (4 KiB) written before SQLite copies them into the database (its default is 1,000).
/// A large first index otherwise checkpoints hundreds of times, each with two fsyncs.
const WAL_AUTOCHECKPOINT_PAGES: i64 = 16 * 1024;

/// What identifies a file's state without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    pub size: u64,
    pub mtime_ns: i64,
    pub inode: u64,
    pub dev: u64,
}

/// A file known to the index.
#[derive(Debug, Clone)]
pub struct Location {
    pub path: String,
    pub model_id: i64,
    pub category: Option<String>,
    pub fingerprint: Fingerprint,
    /// Whether the model's sha256 is known (a `--sha256` scan computes the missing ones).
    pub has_sha256: bool,
}

/// A model as commands show it.
#[derive(Debug, Clone, Serialize)]
pub struct Model {
    pub id: i64,
    pub name: String,
    pub size: u64,
    pub category: Option<String>,
    /// The primary file; the last one known when the model is missing.
    pub local_path: Option<String>,
    pub original_name: String,
    pub first_seen: i64,
    pub last_seen: i64,
    pub missing: bool,
    /// hash type -> lowercase hex.
    pub hashes: BTreeMap<String, String>,
    /// Every file holding this content.
    pub locations: Vec<String>,
    pub metadata: serde_json::Value,
}

pub struct ModelIndex {
    conn: Connection,
    path: PathBuf,
    /// Rows were written through [`ModelIndex::write`]: closing checkpoints the WAL into the
    /// database (two fsyncs), so what was written is durable when the command ends.
    dirty: bool,
}

impl Drop for ModelIndex {
    fn drop(&mut self) {
        if self.dirty {
            // An error here leaves the WAL for the next connection, which reads it as usual.
            let _ = self.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
        }
    }
}

impl ModelIndex {
    /// Opens (creating when absent) the index at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(ModelError::io(parent))?;
        }
        let err = |source| ModelError::Index {
            path: path.to_path_buf(),
            source,
        };
        let conn = Connection::open(path).map_err(err)?;
        conn.busy_timeout(std::time::Duration::from_secs(10)).map_err(err)?;
        // WAL: readers never block the scanner, and a killed process loses at most the batch
        // in flight; NORMAL sync is crash-safe in WAL mode.
        // Switching to WAL takes an exclusive lock and may fail at once (no busy wait) while
        // another connection is open: only switch a database that is not WAL yet.
        let mode: String = conn
            .pragma_query_value(None, "journal_mode", |r| r.get(0))
            .map_err(err)?;
        if !mode.eq_ignore_ascii_case("wal") {
            conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        }
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(err)?;
        conn.pragma_update(None, "foreign_keys", true).map_err(err)?;
        conn.pragma_update(None, "cache_size", -CACHE_KIB).map_err(err)?;
        conn.pragma_update(None, "wal_autocheckpoint", WAL_AUTOCHECKPOINT_PAGES)
            .map_err(err)?;
        // Closing a connection does not checkpoint on its own: one that wrote rows does it
        // explicitly (see `Drop`), one that only read, or only recorded scan times, writes and
        // syncs nothing.
        conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
            .map_err(err)?;
        let mut index = ModelIndex {
            conn,
            path: path.to_path_buf(),
            dirty: false,
        };
        index.migrate()?;
        Ok(index)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> ModelError + '_ {
        |source| ModelError::Index {
            path: self.path.clone(),
            source,
        }
    }

    fn migrate(&mut self) -> Result<()> {
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(self.err())?;
        if version > SCHEMA_VERSION {
            return Err(ModelError::IndexTooNew {
                path: self.path.clone(),
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        let path = self.path.clone();
        let err = |source| ModelError::Index {
            path: path.clone(),
            source,
        };
        // Under the write lock, read the version again: another process (or a thread of this
        // one) may have laid out the schema since.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(err)?;
        if version == SCHEMA_VERSION {
            return tx.commit().map_err(err);
        }
        // Each step moves the schema one version up; later versions append steps here.
        if version < 1 {
            tx.execute_batch(SCHEMA_V1).map_err(err)?;
        }
        if version < 2 {
            tx.execute_batch(SCHEMA_V2).map_err(err)?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(err)?;
        tx.commit().map_err(err)
    }

    /// Runs `f` in one transaction: all of it lands, or none of it.
    pub fn write<T>(&mut self, f: impl FnOnce(&Writer<'_>) -> rusqlite::Result<T>) -> Result<T> {
        let path = self.path.clone();
        let err = |source| ModelError::Index {
            path: path.clone(),
            source,
        };
        self.dirty = true;
        let tx = self.conn.transaction().map_err(err)?;
        let out = f(&Writer { conn: &tx }).map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(out)
    }

    /// Records that `dirs` were scanned at `now` (see [`Writer::record_scan`]) when nothing else
    /// changed: one small transaction in the WAL, with no checkpoint and no fsync of its own (a
    /// power cut that loses it only makes "last seen" older). It lands in the database with the
    /// next checkpoint.
    pub fn record_scans(&mut self, dirs: &[String], now: i64) -> Result<()> {
        let path = self.path.clone();
        let err = |source| ModelError::Index {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(err)?;
        let w = Writer { conn: &tx };
        for d in dirs {
            w.record_scan(d, now).map_err(err)?;
        }
        tx.commit().map_err(err)
    }

    /// Known files whose path is `dir` or below it; every known file when `dir` is `None`.
    /// `has_sha256` is looked up (one indexed probe per file) only when `with_sha256` is true,
    /// else it is false.
    pub fn locations(&self, dir: Option<&str>, with_sha256: bool) -> Result<Vec<Location>> {
        let sql = if with_sha256 {
            "SELECT l.path, l.model_id, l.category, l.size, l.mtime_ns, l.inode, l.dev,
                    EXISTS(SELECT 1 FROM model_hashes h WHERE h.model_id = l.model_id AND h.hash_type = 'sha256')
             FROM model_locations l WHERE l.path >= ?1 AND l.path < ?2"
        } else {
            "SELECT l.path, l.model_id, l.category, l.size, l.mtime_ns, l.inode, l.dev, 0
             FROM model_locations l WHERE l.path >= ?1 AND l.path < ?2"
        };
        let (lo, hi) = match dir {
            Some(d) => dir_range(d),
            None => (String::new(), "\u{10FFFF}".to_string()),
        };
        let mut stmt = self.conn.prepare_cached(sql).map_err(self.err())?;
        let rows = stmt
            .query_map(params![lo, hi], |r| {
                Ok(Location {
                    path: r.get(0)?,
                    model_id: r.get(1)?,
                    category: r.get(2)?,
                    fingerprint: Fingerprint {
                        size: r.get::<_, i64>(3)? as u64,
                        mtime_ns: r.get(4)?,
                        inode: r.get::<_, i64>(5)? as u64,
                        dev: r.get::<_, i64>(6)? as u64,
                    },
                    has_sha256: r.get(7)?,
                })
            })
            .map_err(self.err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(self.err())
    }

    /// When each folder was last scanned (Unix seconds), one row per folder ever scanned.
    pub fn scans(&self) -> Result<Scans> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT dir, scanned_at FROM model_scans")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .map_err(self.err())?;
        Ok(Scans(rows.collect::<rusqlite::Result<_>>().map_err(self.err())?))
    }

    /// Every model, sorted by name.
    pub fn all(&self) -> Result<Vec<Model>> {
        self.models_where("1", params![])
    }

    pub fn by_id(&self, id: i64) -> Result<Option<Model>> {
        Ok(self.models_where("m.id = ?1", params![id])?.pop())
    }

    /// Models whose hash of `hash_type` (any type when `None`) starts with `prefix` (lowercase
    /// hex): a range scan on the primary key of `model_hashes`.
    pub fn by_hash_prefix(&self, hash_type: Option<&str>, prefix: &str) -> Result<Vec<Model>> {
        let hi = format!("{prefix}\u{7f}");
        match hash_type {
            Some(t) => self.models_where(
                "m.id IN (SELECT model_id FROM model_hashes WHERE hash_type = ?1 AND hash_value >= ?2 AND hash_value < ?3)",
                params![t, prefix, hi],
            ),
            None => self.models_where(
                "m.id IN (SELECT model_id FROM model_hashes WHERE hash_type IN ('blake3', 'sha256') AND hash_value >= ?1 AND hash_value < ?2)",
                params![prefix, hi],
            ),
        }
    }

    /// The model with exactly this hash (lowercase hex), if indexed.
    pub fn by_hash(&self, hash_type: &str, value: &str) -> Result<Option<Model>> {
        Ok(self
            .models_where(
                "m.id IN (SELECT model_id FROM model_hashes WHERE hash_type = ?1 AND hash_value = ?2)",
                params![hash_type, value],
            )?
            .pop())
    }

    /// The files known to hold the content with this blake3 (lowercase hex), sorted: one indexed
    /// lookup, whatever the size of the index.
    pub fn files_with_blake3(&self, blake3: &str) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT l.path FROM model_hashes h JOIN model_locations l ON l.model_id = h.model_id
                 WHERE h.hash_type = 'blake3' AND h.hash_value = ?1 ORDER BY l.path",
            )
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![blake3], |r| r.get::<_, String>(0))
            .map_err(self.err())?;
        rows.collect::<rusqlite::Result<_>>().map_err(self.err())
    }

    /// Models with a file (or original file) name containing `needle`, ignoring ASCII case.
    pub fn by_name(&self, needle: &str) -> Result<Vec<Model>> {
        let pattern = format!("%{}%", escape_like(needle));
        self.models_where(
            "(m.name LIKE ?1 ESCAPE '\\' OR m.original_name LIKE ?1 ESCAPE '\\')",
            params![pattern],
        )
    }

    /// The model held by the file at `path`, if indexed.
    pub fn by_path(&self, path: &str) -> Result<Option<Model>> {
        Ok(self
            .models_where(
                "m.id IN (SELECT model_id FROM model_locations WHERE path = ?1)",
                params![path],
            )?
            .pop())
    }

    fn models_where(&self, cond: &str, args: &[&dyn rusqlite::ToSql]) -> Result<Vec<Model>> {
        let sql = format!(
            "SELECT m.id, m.name, m.size, m.category, m.local_path, m.original_name, m.first_seen,
                    m.last_seen, m.missing, m.metadata
             FROM models m WHERE {cond} ORDER BY m.name, m.id"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(self.err())?;
        let mut models: Vec<Model> = stmt
            .query_map(args, |r| {
                let metadata: String = r.get(9)?;
                Ok(Model {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    size: r.get::<_, i64>(2)? as u64,
                    category: r.get(3)?,
                    local_path: r.get(4)?,
                    original_name: r.get(5)?,
                    first_seen: r.get(6)?,
                    last_seen: r.get(7)?,
                    missing: r.get(8)?,
                    hashes: BTreeMap::new(),
                    locations: Vec::new(),
                    metadata: serde_json::from_str(&metadata).unwrap_or(serde_json::Value::Null),
                })
            })
            .map_err(self.err())?
            .collect::<rusqlite::Result<_>>()
            .map_err(self.err())?;
        if models.is_empty() {
            return Ok(models);
        }
        if models.len() <= PER_MODEL_LOOKUPS {
            // A few models (a lookup by hash, path or id): their own rows only, by the per-model
            // indexes, so the cost does not grow with the size of the index.
            for m in &mut models {
                self.fill_one(m)?;
            }
        } else {
            self.fill_all(&mut models)?;
        }
        let scans = self.scans()?;
        for m in models.iter_mut().filter(|m| !m.missing) {
            m.last_seen = m.last_seen.max(scans.last_seen(&m.locations));
        }
        Ok(models)
    }

    /// Fills the hashes and locations of many models: one pass over each table, not one query
    /// per model.
    fn fill_all(&self, models: &mut [Model]) -> Result<()> {
        let pos: HashMap<i64, usize> = models.iter().enumerate().map(|(i, m)| (m.id, i)).collect();
        let mut stmt = self
            .conn
            .prepare_cached("SELECT model_id, hash_type, hash_value FROM model_hashes")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
            })
            .map_err(self.err())?;
        for row in rows {
            let (id, t, v) = row.map_err(self.err())?;
            if let Some(&i) = pos.get(&id) {
                models[i].hashes.insert(t, v);
            }
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT model_id, path FROM model_locations ORDER BY path")
            .map_err(self.err())?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
            .map_err(self.err())?;
        for row in rows {
            let (id, p) = row.map_err(self.err())?;
            if let Some(&i) = pos.get(&id) {
                models[i].locations.push(p);
            }
        }
        Ok(())
    }

    /// Fills one model's hashes and locations.
    fn fill_one(&self, m: &mut Model) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT hash_type, hash_value FROM model_hashes WHERE model_id = ?1")
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![m.id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(self.err())?;
        for row in rows {
            let (t, v) = row.map_err(self.err())?;
            m.hashes.insert(t, v);
        }
        let mut stmt = self
            .conn
            .prepare_cached("SELECT path FROM model_locations WHERE model_id = ?1 ORDER BY path")
            .map_err(self.err())?;
        let rows = stmt
            .query_map(params![m.id], |r| r.get::<_, String>(0))
            .map_err(self.err())?;
        m.locations = rows.collect::<rusqlite::Result<_>>().map_err(self.err())?;
        Ok(())
    }
}

/// The `model_scans` table: when each folder was last scanned.
#[derive(Debug, Clone, Default)]
pub struct Scans(Vec<(String, i64)>);

impl Scans {
    /// The latest scan of a folder holding `path` (0 when none did).
    pub fn covering(&self, path: &str) -> i64 {
        self.0
            .iter()
            .filter(|(dir, _)| is_under(path, dir))
            .map(|(_, at)| *at)
            .max()
            .unwrap_or(0)
    }

    /// The latest scan that saw one of `paths` (files a model is known to be in): a scan of a
    /// folder either finds each of its known files or removes it from the index.
    pub fn last_seen(&self, paths: &[String]) -> i64 {
        paths.iter().map(|p| self.covering(p)).max().unwrap_or(0)
    }
}

/// True when `path` is `dir` or below it.
pub(super) fn is_under(path: &str, dir: &str) -> bool {
    let dir = dir.trim_end_matches('/');
    path == dir || (path.starts_with(dir) && path.as_bytes().get(dir.len()) == Some(&b'/'))
}

/// Up to this many models, [`ModelIndex::models_where`] reads each one's hashes and locations by
/// its id; above it, one pass over both tables is cheaper.
const PER_MODEL_LOOKUPS: usize = 64;

/// Writes inside one transaction (see [`ModelIndex::write`]).
pub struct Writer<'a> {
    conn: &'a Connection,
}

/// A new model's first file.
pub struct NewModel<'a> {
    pub path: &'a str,
    pub name: &'a str,
    pub category: Option<&'a str>,
    pub size: u64,
    pub now: i64,
}

impl Writer<'_> {
    pub fn model_by_hash(&self, hash_type: &str, value: &str) -> rusqlite::Result<Option<i64>> {
        self.conn
            .prepare_cached("SELECT model_id FROM model_hashes WHERE hash_type = ?1 AND hash_value = ?2")?
            .query_row(params![hash_type, value], |r| r.get(0))
            .optional()
    }

    pub fn insert_model(&self, m: &NewModel<'_>) -> rusqlite::Result<i64> {
        self.conn
            .prepare_cached(
                "INSERT INTO models (name, size, local_path, original_name, category, first_seen, last_seen)
                 VALUES (?1, ?2, ?3, ?1, ?4, ?5, ?5)",
            )?
            .execute(params![m.name, m.size as i64, m.path, m.category, m.now])?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records a hash of a model; a hash already known (for this model) is left as it is.
    pub fn add_hash(&self, model_id: i64, hash_type: &str, value: &str) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached("INSERT OR IGNORE INTO model_hashes (model_id, hash_type, hash_value) VALUES (?1, ?2, ?3)")?
            .execute(params![model_id, hash_type, value])?;
        Ok(())
    }

    /// Points the file at `path` to `model_id` with its current fingerprint.
    pub fn put_location(
        &self,
        path: &str,
        model_id: i64,
        category: Option<&str>,
        fp: &Fingerprint,
        now: i64,
    ) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO model_locations (path, model_id, category, size, mtime_ns, inode, dev, last_seen)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT(path) DO UPDATE SET model_id = excluded.model_id, category = excluded.category,
                    size = excluded.size, mtime_ns = excluded.mtime_ns, inode = excluded.inode,
                    dev = excluded.dev, last_seen = excluded.last_seen",
            )?
            .execute(params![
                path,
                model_id,
                category,
                fp.size as i64,
                fp.mtime_ns,
                fp.inode as i64,
                fp.dev as i64,
                now
            ])?;
        Ok(())
    }

    pub fn delete_location(&self, path: &str) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached("DELETE FROM model_locations WHERE path = ?1")?
            .execute(params![path])?;
        Ok(())
    }

    /// Deletes every location at or below `dir`; returns the models that held them.
    pub fn delete_locations_under(&self, dir: &str) -> rusqlite::Result<Vec<i64>> {
        let (lo, hi) = dir_range(dir);
        let ids: Vec<i64> = self
            .conn
            .prepare("SELECT DISTINCT model_id FROM model_locations WHERE path >= ?1 AND path < ?2")?
            .query_map(params![lo, hi], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        self.conn.execute(
            "DELETE FROM model_locations WHERE path >= ?1 AND path < ?2",
            params![lo, hi],
        )?;
        Ok(ids)
    }

    /// Forgets the models that no known file holds any more and whose last file was at or below
    /// `dir` (their hashes go with them). Returns how many.
    pub fn forget_unlocated_under(&self, dir: &str) -> rusqlite::Result<usize> {
        let (lo, hi) = dir_range(dir);
        self.conn.execute(
            "DELETE FROM models WHERE local_path >= ?1 AND local_path < ?2
               AND NOT EXISTS (SELECT 1 FROM model_locations l WHERE l.model_id = models.id)",
            params![lo, hi],
        )
    }

    /// Records that `dir` was scanned at `now`: every file still indexed at or below it was
    /// seen then. One row per folder; the rows of unchanged files are not written.
    pub fn record_scan(&self, dir: &str, now: i64) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached(
                "INSERT INTO model_scans (dir, scanned_at) VALUES (?1, ?2)
                 ON CONFLICT(dir) DO UPDATE SET scanned_at = max(scanned_at, excluded.scanned_at)",
            )?
            .execute(params![dir.trim_end_matches('/'), now])?;
        Ok(())
    }

    /// A model's `last_seen` becomes at least `at` (a model gone missing keeps the time of the
    /// last scan that saw one of its files).
    pub fn seen_at_least(&self, model_id: i64, at: i64) -> rusqlite::Result<()> {
        self.conn
            .prepare_cached("UPDATE models SET last_seen = max(last_seen, ?2) WHERE id = ?1")?
            .execute(params![model_id, at])?;
        Ok(())
    }

    /// Brings a model's summary in line with its files: the primary path stays while it is
    /// still a location, else the first remaining one; no location left means missing.
    /// Returns true when the model is missing.
    pub fn refresh_model(&self, model_id: i64, now: i64) -> rusqlite::Result<bool> {
        let current: Option<String> = self
            .conn
            .prepare_cached("SELECT local_path FROM models WHERE id = ?1")?
            .query_row(params![model_id], |r| r.get(0))?;
        let still_there = match &current {
            Some(p) => self
                .conn
                .prepare_cached("SELECT category FROM model_locations WHERE path = ?1 AND model_id = ?2")?
                .query_row(params![p, model_id], |r| r.get::<_, Option<String>>(0))
                .optional()?
                .map(|c| (p.clone(), c)),
            None => None,
        };
        let primary = match still_there {
            Some(found) => Some(found),
            None => self
                .conn
                .prepare_cached("SELECT path, category FROM model_locations WHERE model_id = ?1 ORDER BY path LIMIT 1")?
                .query_row(params![model_id], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
                })
                .optional()?,
        };
        match primary {
            Some((path, category)) => {
                let name = Path::new(&path)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| path.clone());
                self.conn
                    .prepare_cached(
                        "UPDATE models SET local_path = ?2, name = ?3, category = ?4, missing = 0, last_seen = ?5
                         WHERE id = ?1",
                    )?
                    .execute(params![model_id, path, name, category, now])?;
                Ok(false)
            }
            None => {
                self.conn
                    .prepare_cached("UPDATE models SET missing = 1 WHERE id = ?1")?
                    .execute(params![model_id])?;
                Ok(true)
            }
        }
    }
}

/// The key range of paths at or below `dir`: `dir/` up to `dir0` ('0' follows '/'), so that
/// `/m/models` does not take in `/m/models2`.
fn dir_range(dir: &str) -> (String, String) {
    let base = dir.trim_end_matches('/');
    (format!("{base}/"), format!("{base}0"))
}

fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(n: u64) -> Fingerprint {
        Fingerprint {
            size: n,
            mtime_ns: n as i64,
            inode: n,
            dev: 1,
        }
    }

    #[test]
    fn hashes_prefixes_names_and_missing() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("m.db");
        let mut ix = ModelIndex::open(&db).unwrap();
        ix.write(|w| {
            let id = w.insert_model(&NewModel {
                path: "/m/loras/a_b.safetensors",
                name: "a_b.safetensors",
                category: Some("loras"),
                size: 10,
                now: 1,
            })?;
            w.add_hash(id, "blake3", "abcdef0123456789")?;
            w.add_hash(id, "sha256", "0123456789abcdef")?;
            w.put_location("/m/loras/a_b.safetensors", id, Some("loras"), &fp(10), 1)?;
            Ok(())
        })
        .unwrap();
        assert_eq!(ix.by_hash_prefix(Some("blake3"), "abcdef01").unwrap().len(), 1);
        assert_eq!(ix.by_hash_prefix(Some("sha256"), "abcdef01").unwrap().len(), 0);
        assert_eq!(ix.by_hash_prefix(None, "01234567").unwrap().len(), 1);
        assert!(ix.by_hash("blake3", "abcdef0123456789").unwrap().is_some());
        assert!(ix.by_hash("blake3", "abcdef01").unwrap().is_none());
        assert_eq!(ix.by_name("A_B").unwrap().len(), 1);
        // `_` is literal, not a wildcard.
        assert_eq!(ix.by_name("a_c").unwrap().len(), 0);
        assert_eq!(ix.locations(Some("/m"), false).unwrap().len(), 1);
        assert_eq!(ix.locations(Some("/m/lo"), false).unwrap().len(), 0);

        let missing = ix
            .write(|w| {
                w.delete_location("/m/loras/a_b.safetensors")?;
                w.refresh_model(1, 2)
            })
            .unwrap();
        assert!(missing);
        let m = ix.by_id(1).unwrap().unwrap();
        assert!(m.missing);
        assert_eq!(m.local_path.as_deref(), Some("/m/loras/a_b.safetensors"));
        drop(ix);
        // Reopening keeps the schema version and the data.
        let ix = ModelIndex::open(&db).unwrap();
        assert_eq!(ix.all().unwrap().len(), 1);
    }

    #[test]
    fn lookups_read_their_own_rows_and_listings_read_all() {
        let dir = tempfile::tempdir().unwrap();
        let mut ix = ModelIndex::open(&dir.path().join("m.db")).unwrap();
        ix.write(|w| {
            for n in 0..100u64 {
                let path = format!("/m{}/loras/f{n}.safetensors", n % 2);
                let id = w.insert_model(&NewModel {
                    path: &path,
                    name: "f",
                    category: Some("loras"),
                    size: n,
                    now: 1,
                })?;
                w.add_hash(id, "blake3", &format!("{n:064x}"))?;
                w.put_location(&path, id, Some("loras"), &fp(n), 1)?;
            }
            Ok(())
        })
        .unwrap();
        let one = ix.by_hash("blake3", &format!("{:064x}", 7)).unwrap().unwrap();
        assert_eq!(one.locations, ["/m1/loras/f7.safetensors"]);
        assert_eq!(one.hashes.len(), 1);
        assert_eq!(
            ix.files_with_blake3(&format!("{:064x}", 8)).unwrap(),
            ["/m0/loras/f8.safetensors"]
        );
        assert!(ix.files_with_blake3("00").unwrap().is_empty());
        let all = ix.all().unwrap();
        assert_eq!(all.len(), 100);
        assert!(all.iter().all(|m| m.hashes.len() == 1 && m.locations.len() == 1));

        // Forgetting a folder: its models with no other file go, hashes included.
        let forgotten = ix
            .write(|w| {
                for id in w.delete_locations_under("/m1")? {
                    w.refresh_model(id, 2)?;
                }
                w.forget_unlocated_under("/m1")
            })
            .unwrap();
        assert_eq!(forgotten, 50);
        assert_eq!(ix.all().unwrap().len(), 50);
        assert!(ix.by_hash("blake3", &format!("{:064x}", 7)).unwrap().is_none());
    }
}
