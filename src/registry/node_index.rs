//! `.metadata/node_index.db`: which packs provide a node type, for resolving workflows offline.
//! Loaded from a node mappings file (`install_mappings`, swapped in atomically so a failed
//! update keeps the old index) and holding the node types of packs installed in the
//! workspace's environments (`installed_nodes`, kept across updates).
//!
//! One query serves resolution: [`NodeIndex::providers`].

use super::mappings::rank::{Conventions, Evidence};
use super::mappings::signature::{NAME_ONLY, signature_hash};
use super::mappings::{Mappings, SOURCE_MANAGER};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use std::path::{Path, PathBuf};

pub const INDEX_FILE: &str = "node_index.db";

/// Where a workspace keeps its node index.
pub fn index_path(workspace_root: &Path) -> PathBuf {
    workspace_root.join(".metadata").join(INDEX_FILE)
}

/// Where the knowledge that a pack provides a node type comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// The registry's node classes of the pack's versions.
    Registry,
    /// ComfyUI-Manager's extension-node-map (name only, no versions).
    Manager,
    /// A pack installed in one of the workspace's environments declares it.
    Installed,
}

/// How a candidate matched the node asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    /// Node type and input signature.
    Signature,
    /// Node type only.
    Name,
    /// A Manager `nodename_pattern`.
    Pattern,
    /// Installed in an environment.
    Installed,
}

/// One pack that provides a node type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackCandidate {
    /// The registry id; for a pack known only from ComfyUI-Manager, its repository URL as the
    /// repository spells it (never an internal key).
    pub pack_id: String,
    /// Versions known to provide it, newest first by semver (empty: unknown, e.g. Manager).
    pub versions: Vec<String>,
    /// 1 = best within its match kind; 0 for installed packs.
    pub rank: u32,
    pub origin: Origin,
    pub matched: MatchKind,
    pub display_name: Option<String>,
    pub repository: Option<String>,
    /// For `Installed`: the environment.
    pub environment: Option<String>,
    /// Registry downloads, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub downloads: Option<u64>,
    /// GitHub stars (registry, or ComfyUI-Manager's github-stats), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stars: Option<u64>,
    /// The node type carries this pack's naming convention (`rank::Evidence::describe`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// Why it is listed and why it ranks where it does, for people.
    pub reason: String,
}

/// Where the index's data came from, when and how much.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IndexInfo {
    pub source: String,
    /// `node-mappings` (a published mappings file) or `comfyui-manager` (built from
    /// ComfyUI-Manager's public files).
    pub kind: String,
    pub sha256: String,
    pub installed_at: String,
    pub mappings_version: String,
    pub generated_at: String,
    pub packages: u64,
    pub keys: u64,
    pub builtin: u64,
    pub installed_nodes: u64,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum NodeIndexError {
    #[error("the node index {} failed: {source}", path.display())]
    #[diagnostic(
        code(comfydock::registry::node_index),
        help("the index holds only downloaded data; delete it and run `comfydock registry update`")
    )]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },

    #[error("{}: {source}", path.display())]
    #[diagnostic(code(comfydock::registry::node_index_io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = NodeIndexError> = std::result::Result<T, E>;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS packages (
    id TEXT PRIMARY KEY, display_name TEXT, repository TEXT, source TEXT,
    downloads INTEGER, stars INTEGER, git_url TEXT
);
CREATE TABLE IF NOT EXISTS mappings (
    node_type TEXT NOT NULL, signature TEXT NOT NULL, pack_id TEXT NOT NULL,
    versions TEXT NOT NULL, rank INTEGER NOT NULL, source TEXT, evidence TEXT
);
CREATE INDEX IF NOT EXISTS mappings_by_type ON mappings (node_type, signature);
CREATE TABLE IF NOT EXISTS builtin (node_type TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS patterns (pack_id TEXT NOT NULL, pattern TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS installed_nodes (
    env TEXT NOT NULL, pack_id TEXT NOT NULL, node_type TEXT NOT NULL,
    PRIMARY KEY (env, pack_id, node_type)
);
CREATE INDEX IF NOT EXISTS installed_by_type ON installed_nodes (node_type);
";

pub struct NodeIndex {
    conn: Connection,
    path: PathBuf,
}

impl NodeIndex {
    /// Opens (creating if needed) the index at `path`.
    pub fn open(path: &Path) -> Result<NodeIndex> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| NodeIndexError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let sql = sql_err(path);
        let conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sql_err(path))?;
        conn.execute_batch(SCHEMA).map_err(sql_err(path))?;
        // Columns added after the first release: an index written before them gains them empty.
        for (table, column, kind) in [
            ("packages", "downloads", "INTEGER"),
            ("packages", "stars", "INTEGER"),
            ("packages", "git_url", "TEXT"),
            ("mappings", "evidence", "TEXT"),
        ] {
            let has = conn
                .prepare(&format!("SELECT 1 FROM pragma_table_info('{table}') WHERE name = ?1"))
                .and_then(|mut st| st.exists([column]))
                .map_err(sql_err(path))?;
            if !has {
                conn.execute_batch(&format!("ALTER TABLE {table} ADD COLUMN {column} {kind}"))
                    .map_err(sql_err(path))?;
            }
        }
        Ok(NodeIndex {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// The packs providing `node_type`, best first: exact signature matches (when `signature`
    /// is given: a canonical signature such as `image:IMAGE|seed:INT`, or its 8-hex hash), then
    /// name-only matches not already listed, then Manager `nodename_pattern` matches when
    /// nothing else matched; each group by rank. Packs installed in the workspace's
    /// environments that declare the type follow, with origin `Installed`. Empty when no pack
    /// is known to provide it (and for ComfyUI's own node types: see `is_builtin`).
    pub fn providers(&self, node_type: &str, signature: Option<&str>) -> Result<Vec<PackCandidate>> {
        let mut out: Vec<PackCandidate> = Vec::new();
        let hash = signature.map(signature_hash).filter(|h| h != NAME_ONLY);
        if let Some(h) = &hash {
            out.extend(self.mapped(node_type, h, MatchKind::Signature)?);
        }
        for c in self.mapped(node_type, NAME_ONLY, MatchKind::Name)? {
            if !out.iter().any(|o| o.pack_id == c.pack_id) {
                out.push(c);
            }
        }
        if out.is_empty() {
            out.extend(self.by_pattern(node_type)?);
        }
        out.extend(self.installed(node_type)?);
        Ok(out)
    }

    /// Whether ComfyUI itself provides `node_type`.
    pub fn is_builtin(&self, node_type: &str) -> Result<bool> {
        self.conn
            .query_row("SELECT 1 FROM builtin WHERE node_type = ?1", [node_type], |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
            .map_err(sql_err(&self.path))
    }

    fn mapped(&self, node_type: &str, signature: &str, kind: MatchKind) -> Result<Vec<PackCandidate>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT m.pack_id, m.versions, m.rank, m.source, p.display_name, p.repository,
                        p.source, p.git_url, p.downloads, p.stars, m.evidence
                 FROM mappings m LEFT JOIN packages p ON p.id = m.pack_id
                 WHERE m.node_type = ?1 AND m.signature = ?2 ORDER BY m.rank, m.pack_id",
            )
            .map_err(sql_err(&self.path))?;
        let rows = stmt
            .query_map(params![node_type, signature], |r| {
                let versions: String = r.get(1)?;
                let source: Option<String> = r.get(3)?;
                let pack_source: Option<String> = r.get(6)?;
                let repository: Option<String> = r.get(5)?;
                let git_url: Option<String> = r.get(7)?;
                let key: String = r.get(0)?;
                let evidence: Option<String> = r.get(10)?;
                Ok(PackCandidate {
                    pack_id: pack_identity(key, pack_source.as_deref(), git_url, repository.as_deref()),
                    versions: serde_json::from_str(&versions).unwrap_or_default(),
                    rank: r.get(2)?,
                    origin: if source.as_deref() == Some(SOURCE_MANAGER) {
                        Origin::Manager
                    } else {
                        Origin::Registry
                    },
                    matched: kind,
                    display_name: r.get(4)?,
                    repository,
                    environment: None,
                    downloads: r.get::<_, Option<i64>>(8)?.and_then(|n| u64::try_from(n).ok()),
                    stars: r.get::<_, Option<i64>>(9)?.and_then(|n| u64::try_from(n).ok()),
                    evidence: evidence.as_deref().and_then(Evidence::decode).map(|e| e.describe()),
                    reason: String::new(),
                })
            })
            .map_err(sql_err(&self.path))?;
        let mut out: Vec<PackCandidate> = rows.collect::<rusqlite::Result<_>>().map_err(sql_err(&self.path))?;
        for c in &mut out {
            c.reason = reason(c, node_type);
        }
        Ok(out)
    }

    fn by_pattern(&self, node_type: &str) -> Result<Vec<PackCandidate>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT t.pack_id, t.pattern, p.display_name, p.repository, p.source, p.git_url, p.stars
                 FROM patterns t LEFT JOIN packages p ON p.id = t.pack_id ORDER BY t.pack_id",
            )
            .map_err(sql_err(&self.path))?;
        type Row = (
            String,
            String,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
        );
        let rows: Vec<Row> = stmt
            .query_map([], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                ))
            })
            .map_err(sql_err(&self.path))?
            .collect::<rusqlite::Result<_>>()
            .map_err(sql_err(&self.path))?;
        let mut out = Vec::new();
        for (key, pattern, display_name, repository, source, git_url, stars) in rows {
            // Patterns were checked when the mappings were built; one that no longer compiles
            // simply matches nothing.
            if regex::Regex::new(&pattern).is_ok_and(|re| re.is_match(node_type)) {
                let mut c = PackCandidate {
                    pack_id: pack_identity(key, source.as_deref(), git_url, repository.as_deref()),
                    versions: Vec::new(),
                    rank: u32::try_from(out.len() + 1).unwrap_or(u32::MAX),
                    origin: Origin::Manager,
                    matched: MatchKind::Pattern,
                    display_name,
                    repository,
                    environment: None,
                    downloads: None,
                    stars: stars.and_then(|n| u64::try_from(n).ok()),
                    evidence: None,
                    reason: String::new(),
                };
                c.reason = reason(&c, node_type);
                out.push(c);
            }
        }
        Ok(out)
    }

    fn installed(&self, node_type: &str) -> Result<Vec<PackCandidate>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT i.pack_id, i.env, p.display_name, p.repository FROM installed_nodes i
                 LEFT JOIN packages p ON p.id = i.pack_id WHERE i.node_type = ?1 ORDER BY i.env, i.pack_id",
            )
            .map_err(sql_err(&self.path))?;
        let rows = stmt
            .query_map([node_type], |r| {
                let env: String = r.get(1)?;
                Ok(PackCandidate {
                    pack_id: r.get(0)?,
                    versions: Vec::new(),
                    rank: 0,
                    origin: Origin::Installed,
                    matched: MatchKind::Installed,
                    display_name: r.get(2)?,
                    repository: r.get(3)?,
                    reason: format!("installed in environment `{env}`"),
                    environment: Some(env),
                    downloads: None,
                    stars: None,
                    evidence: None,
                })
            })
            .map_err(sql_err(&self.path))?;
        rows.collect::<rusqlite::Result<_>>().map_err(sql_err(&self.path))
    }

    /// Replaces what environment `env` records for `pack_id` with `node_types`.
    pub fn set_installed_nodes(&mut self, env: &str, pack_id: &str, node_types: &[String]) -> Result<()> {
        let tx = self.conn.transaction().map_err(sql_err(&self.path))?;
        tx.execute(
            "DELETE FROM installed_nodes WHERE env = ?1 AND pack_id = ?2",
            params![env, pack_id],
        )
        .map_err(sql_err(&self.path))?;
        for t in node_types {
            tx.execute(
                "INSERT OR IGNORE INTO installed_nodes (env, pack_id, node_type) VALUES (?1, ?2, ?3)",
                params![env, pack_id, t],
            )
            .map_err(sql_err(&self.path))?;
        }
        tx.commit().map_err(sql_err(&self.path))
    }

    /// Forgets everything recorded for environment `env` (it was deleted).
    pub fn clear_installed(&mut self, env: &str) -> Result<()> {
        self.conn
            .execute("DELETE FROM installed_nodes WHERE env = ?1", [env])
            .map(|_| ())
            .map_err(sql_err(&self.path))
    }

    /// The (environment, pack) pairs whose installed packs declare `node_type`.
    pub fn installed_providers(&self, node_type: &str) -> Result<Vec<(String, String)>> {
        Ok(self
            .installed(node_type)?
            .into_iter()
            .map(|c| (c.environment.unwrap_or_default(), c.pack_id))
            .collect())
    }

    /// What is loaded; `None` before the first `registry update`.
    pub fn info(&self) -> Result<Option<IndexInfo>> {
        let get = |k: &str| -> Result<Option<String>> {
            self.conn
                .query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
                .optional()
                .map_err(sql_err(&self.path))
        };
        let Some(source) = get("source")? else {
            return Ok(None);
        };
        let count = |table: &str| -> Result<u64> {
            self.conn
                .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |r| r.get::<_, i64>(0))
                .map(|n| u64::try_from(n).unwrap_or(0))
                .map_err(sql_err(&self.path))
        };
        Ok(Some(IndexInfo {
            source,
            kind: get("kind")?.unwrap_or_else(|| "node-mappings".into()),
            sha256: get("sha256")?.unwrap_or_default(),
            installed_at: get("installed_at")?.unwrap_or_default(),
            mappings_version: get("version")?.unwrap_or_default(),
            generated_at: get("generated_at")?.unwrap_or_default(),
            packages: count("packages")?,
            keys: self
                .conn
                .query_row(
                    "SELECT COUNT(*) FROM (SELECT DISTINCT node_type, signature FROM mappings)",
                    [],
                    |r| r.get::<_, i64>(0),
                )
                .map(|n| u64::try_from(n).unwrap_or(0))
                .map_err(sql_err(&self.path))?,
            builtin: count("builtin")?,
            installed_nodes: count("installed_nodes")?,
        }))
    }
}

/// How a pack is named to users and to workflow resolution: its registry id, or for a pack
/// known only from ComfyUI-Manager its repository (the internal `manager_…` key never leaves
/// the index).
fn pack_identity(key: String, source: Option<&str>, git_url: Option<String>, repository: Option<&str>) -> String {
    if source != Some(SOURCE_MANAGER) {
        return key;
    }
    git_url.or_else(|| repository.map(str::to_string)).unwrap_or(key)
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Where the knowledge comes from, then what ranks it: downloads, stars, the name's evidence.
fn reason(c: &PackCandidate, node_type: &str) -> String {
    let what = match (c.origin, c.matched) {
        (_, MatchKind::Pattern) => format!("ComfyUI-Manager's name pattern matches `{node_type}`"),
        (Origin::Manager, _) => format!("ComfyUI-Manager's node map lists `{node_type}`"),
        (_, MatchKind::Signature) => format!("its registry node list has `{node_type}` with these inputs"),
        _ => format!("its registry node list names `{node_type}`"),
    };
    let mut why = Vec::new();
    if let Some(d) = c.downloads.filter(|&d| d > 0) {
        why.push(format!("{} registry downloads", thousands(d)));
    }
    match c.stars {
        Some(1) => why.push("1 star".to_string()),
        Some(s) if s > 0 => why.push(format!("{} stars", thousands(s))),
        _ => {}
    }
    if let Some(e) = &c.evidence {
        why.push(e.clone());
    }
    if why.is_empty() {
        why.push("no download or star counts".to_string());
    }
    format!("{what} (rank {}: {})", c.rank, why.join("; "))
}

fn sql_err(path: &Path) -> impl Fn(rusqlite::Error) -> NodeIndexError + '_ {
    move |source| NodeIndexError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

/// Loads `mappings` into a new index beside `path` and swaps it in with a rename, so readers
/// see the old index or the new one, never a mix, and a failure leaves the old one. The
/// installed-node records of the old index are carried over.
pub fn install_mappings(path: &Path, mappings: &Mappings, source: &str, sha256: &str, kind: &str) -> Result<IndexInfo> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|source| NodeIndexError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let tmp = tempfile::Builder::new()
        .prefix(".node_index-")
        .suffix(".db")
        .tempfile_in(dir)
        .map_err(|source| NodeIndexError::Io {
            path: dir.to_path_buf(),
            source,
        })?
        .into_temp_path();
    {
        let mut index = NodeIndex::open(&tmp)?;
        let sql = sql_err(&tmp);
        index
            .conn
            .execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;")
            .map_err(sql_err(&tmp))?;
        let tx = index.conn.transaction().map_err(sql_err(&tmp))?;
        {
            let mut pk = tx
                .prepare(
                    "INSERT OR REPLACE INTO packages (id, display_name, repository, source, downloads, stars, git_url)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .map_err(sql_err(&tmp))?;
            let count = |n: Option<u64>| n.and_then(|n| i64::try_from(n).ok());
            for (id, p) in &mappings.packages {
                pk.execute(params![
                    id,
                    p.display_name,
                    p.repository,
                    p.source,
                    count(p.downloads),
                    count(p.github_stars),
                    p.git_url
                ])
                .map_err(sql_err(&tmp))?;
            }
            let conventions = Conventions::of(mappings);
            let mut mk = tx
                .prepare("INSERT INTO mappings (node_type, signature, pack_id, versions, rank, source, evidence) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
                .map_err(sql_err(&tmp))?;
            for (key, entries) in &mappings.mappings {
                let Some((node_type, sig)) = super::mappings::signature::split_key(key) else {
                    continue;
                };
                for e in entries {
                    let mut versions = e.versions.clone();
                    versions.sort_by_key(|v| std::cmp::Reverse(super::resolve::parse_version(v)));
                    let versions = serde_json::to_string(&versions).unwrap_or_else(|_| "[]".into());
                    let evidence = conventions.evidence(&e.package_id, node_type).map(|e| e.encode());
                    mk.execute(params![
                        node_type,
                        sig,
                        e.package_id,
                        versions,
                        e.rank,
                        e.source,
                        evidence
                    ])
                    .map_err(sql_err(&tmp))?;
                }
            }
            let mut bk = tx
                .prepare("INSERT OR IGNORE INTO builtin (node_type) VALUES (?1)")
                .map_err(sql_err(&tmp))?;
            for b in &mappings.builtin {
                bk.execute([b]).map_err(sql_err(&tmp))?;
            }
            let mut rk = tx
                .prepare("INSERT INTO patterns (pack_id, pattern) VALUES (?1, ?2)")
                .map_err(sql_err(&tmp))?;
            for r in &mappings.patterns {
                rk.execute(params![r.package_id, r.pattern]).map_err(sql_err(&tmp))?;
            }
            let now = super::snapshot::rfc3339_now();
            let mut meta = tx
                .prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)")
                .map_err(sql_err(&tmp))?;
            for (k, v) in [
                ("source", source),
                ("kind", kind),
                ("sha256", sha256),
                ("installed_at", now.as_str()),
                ("version", mappings.version.as_str()),
                ("generated_at", mappings.generated_at.as_str()),
            ] {
                meta.execute(params![k, v]).map_err(sql_err(&tmp))?;
            }
        }
        tx.commit().map_err(sql_err(&tmp))?;
        // The installed packs' node types belong to the workspace, not to the download.
        // An old index too damaged to read is replaced all the same: the installed records are
        // rebuilt when environments are next resolved, and refusing would leave it broken.
        if path.is_file() {
            let old = path.to_string_lossy().into_owned();
            if index.conn.execute("ATTACH DATABASE ?1 AS old", [old]).is_ok() {
                let _ = index.conn.execute_batch(
                    "INSERT OR IGNORE INTO installed_nodes SELECT env, pack_id, node_type FROM old.installed_nodes;",
                );
                let _ = index.conn.execute("DETACH DATABASE old", []);
            }
        }
        index.conn.execute_batch("PRAGMA journal_mode = DELETE;").map_err(sql)?;
        let file = std::fs::File::open(&tmp).map_err(|source| NodeIndexError::Io {
            path: tmp.to_path_buf(),
            source,
        })?;
        file.sync_all().map_err(|source| NodeIndexError::Io {
            path: tmp.to_path_buf(),
            source,
        })?;
    }
    tmp.persist(path).map_err(|e| NodeIndexError::Io {
        path: path.to_path_buf(),
        source: e.error,
    })?;
    let _ = crate::fsx::sync_dir(dir);
    let info = NodeIndex::open(path)?.info()?;
    Ok(info.unwrap_or_default())
}

/// The one query interface workflow resolution asks "which packs provide this node type":
/// packs installed in the workspace's environments first (what the user already has), then the
/// registry's node classes and the Manager map, each best-ranked first.
impl crate::workflow::resolve::NodeProviders for NodeIndex {
    fn providers(&self, node_type: &str) -> Vec<crate::workflow::resolve::Provider> {
        let Ok(mut found) = NodeIndex::providers(self, node_type, None) else {
            return Vec::new();
        };
        found.sort_by_key(|c| c.origin != Origin::Installed);
        found
            .into_iter()
            .map(|c| crate::workflow::resolve::Provider {
                source: match c.origin {
                    Origin::Installed => "installed",
                    Origin::Registry => "registry",
                    Origin::Manager => "mapping",
                }
                .to_string(),
                version: c.versions.first().cloned(),
                pack: c.pack_id,
                reason: c.reason,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::mappings::{MappingEntry, Package, PatternRule};

    fn sample() -> Mappings {
        let mut m = Mappings::default();
        for id in ["a", "b"] {
            m.packages.insert(
                id.into(),
                Package {
                    display_name: id.to_uppercase(),
                    ..Package::default()
                },
            );
        }
        let e = |id: &str, rank, versions: &[&str]| MappingEntry {
            package_id: id.into(),
            versions: versions.iter().map(|s| s.to_string()).collect(),
            rank,
            source: None,
        };
        m.mappings
            .insert("N::692ec41a".into(), vec![e("b", 1, &["1.0.0", "1.10.0"])]);
        m.mappings
            .insert("N::_".into(), vec![e("a", 1, &["2.0.0"]), e("b", 2, &["1.10.0"])]);
        m.builtin = vec!["KSampler".into()];
        m.patterns = vec![PatternRule {
            package_id: "a".into(),
            pattern: "^Pat".into(),
        }];
        m
    }

    #[test]
    fn providers_order_signature_then_name_then_installed() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("node_index.db");
        install_mappings(&path, &sample(), "test", "00", "node-mappings").unwrap();
        let mut idx = NodeIndex::open(&path).unwrap();
        idx.set_installed_nodes("dev", "c", &["N".into()]).unwrap();
        let got = idx.providers("N", Some("text:STRING")).unwrap();
        let summary: Vec<(&str, MatchKind)> = got.iter().map(|c| (c.pack_id.as_str(), c.matched)).collect();
        assert_eq!(
            summary,
            vec![
                ("b", MatchKind::Signature),
                ("a", MatchKind::Name),
                ("c", MatchKind::Installed)
            ]
        );
        assert_eq!(got[0].versions, vec!["1.10.0", "1.0.0"]);
        assert_eq!(got[0].display_name.as_deref(), Some("B"));
        // By hash too; without a signature, name-only order.
        assert_eq!(idx.providers("N", Some("692ec41a")).unwrap()[0].pack_id, "b");
        assert_eq!(idx.providers("N", None).unwrap()[0].pack_id, "a");
        assert_eq!(idx.providers("PatThing", None).unwrap()[0].matched, MatchKind::Pattern);
        assert!(idx.providers("Unknown", None).unwrap().is_empty());
        assert!(idx.is_builtin("KSampler").unwrap());

        // A new install keeps the installed records and replaces the rest.
        let mut m = sample();
        m.mappings.remove("N::_");
        install_mappings(&path, &m, "second", "11", "node-mappings").unwrap();
        let idx = NodeIndex::open(&path).unwrap();
        assert_eq!(
            idx.installed_providers("N").unwrap(),
            vec![("dev".to_string(), "c".to_string())]
        );
        assert_eq!(idx.info().unwrap().unwrap().source, "second");
        assert_eq!(idx.providers("N", None).unwrap().len(), 1);
    }

    #[test]
    fn a_damaged_index_is_replaced_by_the_next_install() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("node_index.db");
        fs_err::write(
            &path,
            b"this is not SQLite, not even close, and long enough to look like a header",
        )
        .unwrap();
        assert!(NodeIndex::open(&path).is_err());
        install_mappings(&path, &sample(), "test", "00", "node-mappings").unwrap();
        assert_eq!(NodeIndex::open(&path).unwrap().providers("N", None).unwrap().len(), 2);
    }
}
