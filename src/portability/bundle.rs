//! The bundle `export` writes and `import` reads: a gzip-compressed tar holding `bundle.json`
//! and the `.cec` files under `cec/`.
//!
//! gzip, not zstd: the content is a few text files (locks compress to a tenth either way), the
//! tar.gz reader and its safe extraction already exist for node archives, and every machine can
//! open it with `tar xzf` to review it. No new dependency, nothing to gain from zstd's speed.
//!
//! A bundle is untrusted: it is extracted with the store's safe extraction (no absolute paths,
//! no `..`, no links, size caps), `bundle.json` is parsed into typed values, and every file under
//! `cec/` must be listed there with its size and blake3, and nothing else may be present.

use super::error::{PortabilityError, Result};
use crate::manifest::{Lock, ModelSource};
use crate::types::{Blake3, ModelFile, ModelKey, RelPath, Sha256};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

pub const FORMAT_VERSION: u32 = 1;
pub const MANIFEST_NAME: &str = "bundle.json";
/// The folder inside the bundle that holds the `.cec` files.
pub const CEC_DIR: &str = "cec";

/// Bounds for what a bundle may unpack to: a manifest and locks, with room for many workflows.
pub const LIMITS: crate::store::Limits = crate::store::Limits {
    max_total_bytes: 256 << 20,
    max_entry_bytes: 64 << 20,
    max_entries: 20_000,
};

/// `bundle.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleManifest {
    pub format_version: u32,
    pub comfydock_version: String,
    /// RFC 3339, UTC.
    pub created: String,
    /// The environment's name where it was exported.
    pub environment: crate::types::EnvName,
    /// Every file under `cec/`, by its path relative to `.cec`.
    pub files: BTreeMap<RelPath, FileEntry>,
    #[serde(default)]
    pub models: BTreeMap<ModelKey, BundleModel>,
    /// What export was allowed to let through (`--allow`), one line each.
    #[serde(default)]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    pub size: u64,
    pub blake3: Blake3,
}

/// A model the environment places: its content hashes, size and where to download it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleModel {
    pub blake3: Blake3,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    pub category: RelPath,
    pub filename: ModelFile,
    #[serde(default)]
    pub sources: Vec<ModelSource>,
}

impl BundleModel {
    pub fn from_lock(lock: &Lock) -> BTreeMap<ModelKey, BundleModel> {
        lock.models
            .iter()
            .map(|(key, m)| {
                let model = BundleModel {
                    blake3: m.blake3.clone(),
                    sha256: m.sha256.clone(),
                    size: m.size,
                    category: m.category.clone(),
                    filename: m.filename.clone(),
                    sources: m.sources.clone(),
                };
                (key.clone(), model)
            })
            .collect()
    }
}

/// Writes the bundle for `files` of `cec` to `out` (temp file, fsync, rename). Entries are
/// written in sorted order with fixed metadata, so the same content gives the same tar.
pub fn write(out: &Path, cec: &Path, files: &[String], manifest: &BundleManifest) -> Result<()> {
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let io = PortabilityError::io(out);
    let tmp = tempfile::Builder::new()
        .prefix(".comfydock-tmp-bundle-")
        .tempfile_in(&dir)
        .map_err(&io)?;
    let gz = flate2::write::GzEncoder::new(tmp.as_file(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let json = serde_json::to_vec_pretty(manifest).map_err(|e| io(std::io::Error::other(e)))?;
    append(&mut tar, MANIFEST_NAME, &json).map_err(&io)?;
    for rel in files {
        let src = cec.join(rel);
        let bytes = std::fs::read(&src).map_err(PortabilityError::io(&src))?;
        append(&mut tar, &format!("{CEC_DIR}/{rel}"), &bytes).map_err(&io)?;
    }
    let gz = tar.into_inner().map_err(&io)?;
    let mut file = gz.finish().map_err(&io)?;
    file.flush().map_err(&io)?;
    file.sync_all().map_err(&io)?;
    tmp.persist_noclobber(out).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            PortabilityError::OutputExists {
                path: out.to_path_buf(),
            }
        } else {
            io(e.error)
        }
    })?;
    crate::fsx::sync_dir(&dir).map_err(&io)?;
    Ok(())
}

fn append<W: Write>(tar: &mut tar::Builder<W>, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    let mut header = tar::Header::new_gnu();
    header.set_size(bytes.len() as u64);
    header.set_mode(0o644);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_entry_type(tar::EntryType::Regular);
    tar.append_data(&mut header, name, bytes)
}

/// A bundle opened and checked: its manifest, and the folder holding its `.cec` files (inside
/// the scratch folder, removed when this value is dropped).
pub struct OpenBundle {
    pub manifest: BundleManifest,
    pub cec: PathBuf,
    pub files: Vec<String>,
    _scratch: tempfile::TempDir,
}

/// Extracts `path` safely into a scratch folder under `scratch_parent` and checks it against
/// its `bundle.json`. Nothing is used before every hash matched.
pub fn open(path: &Path, scratch_parent: &Path) -> Result<OpenBundle> {
    let bad = |reason: String| PortabilityError::BadBundle {
        path: path.to_path_buf(),
        reason,
    };
    let scratch = tempfile::Builder::new()
        .prefix(&crate::fsx::scratch_prefix(super::IMPORT_SCRATCH))
        .tempdir_in(scratch_parent)
        .map_err(PortabilityError::io(scratch_parent))?;
    let root = scratch.path().join("bundle");
    if crate::store::ArchiveFormat::detect(path)? != crate::store::ArchiveFormat::TarGz {
        return Err(bad("it is not a tar.gz file".into()));
    }
    crate::store::extract(path, &root, LIMITS)?;

    let json_path = root.join(MANIFEST_NAME);
    let json = fs_err::read(&json_path).map_err(|_| bad(format!("it has no {MANIFEST_NAME}")))?;
    let manifest: BundleManifest =
        serde_json::from_slice(&json).map_err(|e| bad(format!("{MANIFEST_NAME} is not valid: {e}")))?;
    if manifest.format_version != FORMAT_VERSION {
        return Err(bad(format!(
            "format version {} is not one this comfydock reads ({FORMAT_VERSION}); upgrade comfydock",
            manifest.format_version
        )));
    }
    // Only bundle.json and cec/ at the top.
    for entry in std::fs::read_dir(&root).map_err(PortabilityError::io(&root))? {
        let entry = entry.map_err(PortabilityError::io(&root))?;
        let name = entry.file_name();
        if name != MANIFEST_NAME && name != CEC_DIR {
            return Err(bad(format!(
                "it holds `{}`, which is not part of the bundle format",
                name.to_string_lossy()
            )));
        }
    }
    let cec = root.join(CEC_DIR);
    let present = if cec.is_dir() {
        super::cec_files::list(&cec)?
    } else {
        Vec::new()
    };
    for rel in &present {
        if !manifest.files.keys().any(|k| k.as_str() == rel) {
            return Err(bad(format!("cec/{rel} is not listed in {MANIFEST_NAME}")));
        }
    }
    for (rel, expected) in &manifest.files {
        let file = cec.join(rel.as_str());
        let bytes = fs_err::read(&file).map_err(|_| bad(format!("cec/{rel} is listed but missing")))?;
        let actual = Blake3::of_bytes(&bytes);
        if bytes.len() as u64 != expected.size || actual != expected.blake3 {
            return Err(bad(format!(
                "cec/{rel} has blake3 {actual} ({} bytes); {MANIFEST_NAME} records {} ({} bytes)",
                bytes.len(),
                expected.blake3,
                expected.size
            )));
        }
    }
    Ok(OpenBundle {
        manifest,
        cec,
        files: present,
        _scratch: scratch,
    })
}
