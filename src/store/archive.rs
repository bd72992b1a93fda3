//! Safe extraction of node-pack archives (zip, tar.gz) into a staging folder.
//!
//! An archive from the internet is untrusted input. Entries with absolute paths or `..`,
//! symlinks that point outside the tree, hard links, device files and entries that would be
//! written through a symlink are refused; sizes are counted as bytes are written (headers can
//! lie), and a truncated or corrupt archive is an error, never a partial tree.

use super::{Result, StoreError};
use std::fs::{self, File};
use std::io::{self, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// Bounds on what one archive may unpack to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_total_bytes: u64,
    pub max_entry_bytes: u64,
    pub max_entries: u64,
}

impl Default for Limits {
    /// Generous for node packs (some ship small models), small enough to stop a zip bomb.
    fn default() -> Self {
        Limits {
            max_total_bytes: 4 << 30,
            max_entry_bytes: 2 << 30,
            max_entries: 200_000,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchiveFormat {
    Zip,
    TarGz,
}

impl ArchiveFormat {
    /// Detected from the first bytes, not the name: `downloadUrl`s are opaque and store files
    /// are named by hash.
    pub fn detect(path: &Path) -> Result<ArchiveFormat> {
        let mut magic = [0u8; 4];
        let mut f = File::open(path).map_err(StoreError::io(path))?;
        let n = read_up_to(&mut f, &mut magic).map_err(StoreError::io(path))?;
        match &magic[..n] {
            [b'P', b'K', 3, 4] | [b'P', b'K', 5, 6] => Ok(ArchiveFormat::Zip),
            [0x1f, 0x8b, ..] => Ok(ArchiveFormat::TarGz),
            _ => Err(StoreError::UnknownFormat {
                archive: path.to_path_buf(),
            }),
        }
    }
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// What an extraction produced.
#[derive(Debug, Clone)]
pub struct Extracted {
    pub format: ArchiveFormat,
    pub files: u64,
    pub bytes: u64,
}

/// Extracts `archive` into `dest`, which must not exist yet (it is created). On error `dest` is
/// removed, so a caller never sees half a tree.
pub fn extract(archive: &Path, dest: &Path, limits: Limits) -> Result<Extracted> {
    let format = ArchiveFormat::detect(archive)?;
    if dest.exists() {
        return Err(StoreError::io(dest)(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "the staging folder already exists",
        )));
    }
    fs::create_dir_all(dest).map_err(StoreError::io(dest))?;
    let mut sink = Sink {
        archive,
        root: dest,
        limits,
        files: 0,
        bytes: 0,
        entries: 0,
    };
    let result = match format {
        ArchiveFormat::Zip => extract_zip(&mut sink),
        ArchiveFormat::TarGz => extract_tar_gz(&mut sink),
    }
    .and_then(|()| verify_symlinks(archive, dest));
    match result {
        Ok(()) => Ok(Extracted {
            format,
            files: sink.files,
            bytes: sink.bytes,
        }),
        Err(e) => {
            let _ = fs::remove_dir_all(dest);
            Err(e)
        }
    }
}

/// The folder holding the pack: the extraction root, or its only entry when that is a folder
/// (GitHub-style archives wrap everything in `<repo>-<rev>/`).
pub fn pack_root(extracted: &Path) -> Result<PathBuf> {
    let mut entries = fs::read_dir(extracted)
        .map_err(StoreError::io(extracted))?
        .filter_map(|e| e.ok());
    if let (Some(only), None) = (entries.next(), entries.next())
        && only.file_type().is_ok_and(|t| t.is_dir())
    {
        return Ok(only.path());
    }
    Ok(extracted.to_path_buf())
}

struct Sink<'a> {
    archive: &'a Path,
    root: &'a Path,
    limits: Limits,
    files: u64,
    bytes: u64,
    entries: u64,
}

enum Kind<'t> {
    Dir,
    File { executable: bool },
    Symlink { target: &'t str },
}

impl Sink<'_> {
    fn unsafe_entry(&self, entry: &str, reason: &'static str) -> StoreError {
        StoreError::UnsafeEntry {
            archive: self.archive.to_path_buf(),
            entry: shown(entry),
            reason,
        }
    }

    fn corrupt(&self, reason: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt {
            archive: self.archive.to_path_buf(),
            reason: reason.to_string(),
        }
    }

    /// Checks a name from the archive and returns where it goes below the root.
    fn place(&mut self, name: &str) -> Result<Option<PathBuf>> {
        self.entries += 1;
        if self.entries > self.limits.max_entries {
            return Err(StoreError::TooLarge {
                archive: self.archive.to_path_buf(),
                what: "the number of entries".into(),
                limit: self.limits.max_entries,
            });
        }
        if name.contains('\0') {
            return Err(self.unsafe_entry(name, "has a NUL byte in its name"));
        }
        // Zip names written on Windows may use backslashes; treat them as separators so that
        // `..\x` cannot slip through as a single odd file name.
        let normalized = name.replace('\\', "/");
        if normalized.starts_with('/') || normalized.as_bytes().get(1) == Some(&b':') {
            return Err(self.unsafe_entry(name, "has an absolute path"));
        }
        let mut rel = PathBuf::new();
        for comp in Path::new(&normalized).components() {
            match comp {
                Component::Normal(c) => rel.push(c),
                Component::CurDir => {}
                Component::ParentDir => return Err(self.unsafe_entry(name, "contains `..`")),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(self.unsafe_entry(name, "has an absolute path"));
                }
            }
        }
        if rel.as_os_str().is_empty() {
            return Ok(None);
        }
        // Never write through a symlink the archive made earlier: every parent must be a real
        // folder inside the root.
        let mut cur = self.root.to_path_buf();
        if let Some(parent) = rel.parent() {
            for c in parent.components() {
                cur.push(c);
                match fs::symlink_metadata(&cur) {
                    Ok(m) if m.file_type().is_symlink() => {
                        return Err(self.unsafe_entry(name, "is written through a symlink"));
                    }
                    Ok(m) if !m.is_dir() => {
                        return Err(self.corrupt(format!("`{}` is below a file", shown(name))));
                    }
                    Ok(_) => {}
                    Err(_) => fs::create_dir(&cur).map_err(StoreError::io(&cur))?,
                }
            }
        }
        Ok(Some(self.root.join(rel)))
    }

    fn write_entry(&mut self, name: &str, kind: Kind<'_>, data: &mut dyn Read) -> Result<()> {
        let Some(path) = self.place(name)? else {
            return Ok(());
        };
        if let Ok(m) = fs::symlink_metadata(&path)
            && !(m.is_dir() && matches!(kind, Kind::Dir))
        {
            return Err(self.unsafe_entry(name, "appears twice in the archive"));
        }
        match kind {
            Kind::Dir => {
                if !path.is_dir() {
                    fs::create_dir(&path).map_err(StoreError::io(&path))?;
                }
            }
            Kind::Symlink { target } => {
                if !symlink_stays_inside(Path::new(name), target) {
                    return Err(self.unsafe_entry(name, "is a symlink pointing outside the pack"));
                }
                std::os::unix::fs::symlink(target, &path).map_err(StoreError::io(&path))?;
            }
            Kind::File { executable } => {
                let mut out = File::create(&path).map_err(StoreError::io(&path))?;
                let entry_limit = self.limits.max_entry_bytes;
                let total_left = self.limits.max_total_bytes.saturating_sub(self.bytes);
                let cap = entry_limit.min(total_left);
                let written = io::copy(&mut data.take(cap + 1), &mut out).map_err(|e| {
                    if e.kind() == io::ErrorKind::UnexpectedEof || e.kind() == io::ErrorKind::InvalidData {
                        self.corrupt(format!("`{}`: {e}", shown(name)))
                    } else {
                        self.corrupt(format!("reading `{}`: {e}", shown(name)))
                    }
                })?;
                if written > cap {
                    let (what, limit) = if written > entry_limit {
                        (format!("entry `{}`", shown(name)), entry_limit)
                    } else {
                        ("the unpacked size".to_string(), self.limits.max_total_bytes)
                    };
                    return Err(StoreError::TooLarge {
                        archive: self.archive.to_path_buf(),
                        what,
                        limit,
                    });
                }
                let mode = if executable { 0o755 } else { 0o644 };
                out.set_permissions(fs::Permissions::from_mode(mode))
                    .map_err(StoreError::io(&path))?;
                self.files += 1;
                self.bytes += written;
            }
        }
        Ok(())
    }
}

/// Whether a symlink at `link` (relative to the root) pointing at `target` resolves inside the
/// root, judged on the names alone.
fn symlink_stays_inside(link: &Path, target: &str) -> bool {
    let target = Path::new(target);
    if target.is_absolute() || target.as_os_str().is_empty() {
        return false;
    }
    let mut depth: Vec<&std::ffi::OsStr> = link
        .parent()
        .map(|p| {
            p.components()
                .filter_map(|c| match c {
                    Component::Normal(s) => Some(s),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    for c in target.components() {
        match c {
            Component::Normal(s) => depth.push(s),
            Component::CurDir => {}
            Component::ParentDir => {
                if depth.pop().is_none() {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// Symlinks can chain (`a -> b/..` with `b -> .`), which names alone do not catch: resolve
/// every link that resolves and require it to stay below the root.
fn verify_symlinks(archive: &Path, root: &Path) -> Result<()> {
    let canonical_root = fs::canonicalize(root).map_err(StoreError::io(root))?;
    for entry in walkdir::WalkDir::new(root).min_depth(1) {
        let entry = entry.map_err(|e| StoreError::io(root)(io::Error::other(e)))?;
        if !entry.path_is_symlink() {
            continue;
        }
        if let Ok(real) = fs::canonicalize(entry.path())
            && !real.starts_with(&canonical_root)
        {
            let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
            return Err(StoreError::UnsafeEntry {
                archive: archive.to_path_buf(),
                entry: rel.display().to_string(),
                reason: "is a symlink pointing outside the pack",
            });
        }
    }
    Ok(())
}

fn extract_zip(sink: &mut Sink<'_>) -> Result<()> {
    let file = File::open(sink.archive).map_err(StoreError::io(sink.archive))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| sink.corrupt(e))?;
    for i in 0..zip.len() {
        let mut entry = zip.by_index(i).map_err(|e| sink.corrupt(e))?;
        let name = String::from_utf8_lossy(entry.name_raw()).into_owned();
        if entry.is_symlink() {
            let mut target = String::new();
            entry
                .by_ref()
                .take(4096)
                .read_to_string(&mut target)
                .map_err(|e| sink.corrupt(format!("`{}`: {e}", shown(&name))))?;
            sink.write_entry(&name, Kind::Symlink { target: &target }, &mut io::empty())?;
        } else if entry.is_dir() {
            sink.write_entry(&name, Kind::Dir, &mut io::empty())?;
        } else {
            let executable = entry.unix_mode().is_some_and(|m| m & 0o111 != 0);
            sink.write_entry(&name, Kind::File { executable }, &mut entry)?;
        }
    }
    Ok(())
}

/// The largest GNU long-name/long-link (`L`/`K`) or PAX (`x`, `g`) extension entry a tar
/// archive may hold. The `tar` crate reads these whole into memory before any other check, so
/// they are read here, raw, and refused by their declared size before a byte of them is read.
/// Real paths are at most a few KiB (`PATH_MAX` is 4096).
pub const MAX_TAR_EXTENSION_BYTES: u64 = 64 * 1024;

/// The longest entry name an error message quotes; longer names are cut with `…`.
pub const MAX_ENTRY_NAME_SHOWN: usize = 256;

/// `name` cut to [`MAX_ENTRY_NAME_SHOWN`] characters for a message.
fn shown(name: &str) -> String {
    match name.char_indices().nth(MAX_ENTRY_NAME_SHOWN) {
        Some((i, _)) => format!("{}…", &name[..i]),
        None => name.to_string(),
    }
}

/// Extension entries seen since the last real entry, which describe the next one.
#[derive(Default)]
struct Pending {
    long_name: Option<Vec<u8>>,
    long_link: Option<Vec<u8>>,
    pax: Option<Vec<u8>>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.long_name.is_none() && self.long_link.is_none() && self.pax.is_none()
    }

    fn pax_value(&self, key: &str) -> Option<Vec<u8>> {
        let pax = self.pax.as_deref()?;
        tar::PaxExtensions::new(pax)
            .filter_map(|e| e.ok())
            .find(|e| e.key_bytes() == key.as_bytes())
            .map(|e| e.value_bytes().to_vec())
    }
}

fn strip_nul(mut bytes: Vec<u8>) -> Vec<u8> {
    while bytes.last() == Some(&0) {
        bytes.pop();
    }
    bytes
}

fn extract_tar_gz(sink: &mut Sink<'_>) -> Result<()> {
    let file = File::open(sink.archive).map_err(StoreError::io(sink.archive))?;
    let gz = flate2::read::GzDecoder::new(BufReader::new(file));
    let mut tar = tar::Archive::new(gz);
    // Raw: extension entries come to this loop as entries of their own, so their size is
    // checked before they are read (the crate's own handling buffers them whole, unbounded).
    let entries = tar.entries().map_err(|e| sink.corrupt(e))?.raw(true);
    let mut pending = Pending::default();
    use tar::EntryType as T;
    for entry in entries {
        let mut entry = entry.map_err(|e| sink.corrupt(e))?;
        let header = entry.header();
        let ty = header.entry_type();
        let size = header.entry_size().map_err(|e| sink.corrupt(e))?;
        if matches!(ty, T::GNULongName | T::GNULongLink | T::XHeader | T::XGlobalHeader) {
            if size > MAX_TAR_EXTENSION_BYTES {
                let what = match ty {
                    T::GNULongName => "a GNU long-name (`L`) header",
                    T::GNULongLink => "a GNU long-link (`K`) header",
                    _ => "a PAX extended header",
                };
                return Err(StoreError::TooLarge {
                    archive: sink.archive.to_path_buf(),
                    what: format!("{what} of {size} bytes"),
                    limit: MAX_TAR_EXTENSION_BYTES,
                });
            }
            if ty == T::XGlobalHeader {
                continue; // `git archive` writes the commit id here; nothing of ours is in it
            }
            let mut data = Vec::with_capacity(size as usize);
            entry
                .read_to_end(&mut data)
                .map_err(|e| sink.corrupt(format!("extension header: {e}")))?;
            let slot = match ty {
                T::GNULongName => &mut pending.long_name,
                T::GNULongLink => &mut pending.long_link,
                _ => &mut pending.pax,
            };
            if slot.replace(data).is_some() {
                return Err(sink.corrupt("two extension headers of one kind describe the same entry"));
            }
            continue;
        }
        let ext = std::mem::take(&mut pending);
        if let Some(declared) = ext.pax_value("size")
            && declared != size.to_string().as_bytes()
        {
            // Only sizes of 8 GiB and more need the PAX field, far beyond the entry limit.
            return Err(StoreError::TooLarge {
                archive: sink.archive.to_path_buf(),
                what: "an entry whose size is given in a PAX header".into(),
                limit: sink.limits.max_entry_bytes,
            });
        }
        let name_bytes = match (ext.long_name.clone(), ext.pax_value("path")) {
            (Some(long), _) => strip_nul(long),
            (None, Some(path)) => path,
            (None, None) => entry.path_bytes().into_owned(),
        };
        let name = String::from_utf8_lossy(&name_bytes).into_owned();
        let mode = header.mode().unwrap_or(0o644);
        match ty {
            T::Regular | T::Continuous => {
                let kind = Kind::File {
                    executable: mode & 0o111 != 0,
                };
                sink.write_entry(&name, kind, &mut entry)?;
            }
            T::Directory => sink.write_entry(&name, Kind::Dir, &mut io::empty())?,
            T::Symlink => {
                let target = match (ext.long_link.clone(), ext.pax_value("linkpath")) {
                    (Some(long), _) => strip_nul(long),
                    (None, Some(link)) => link,
                    (None, None) => entry.link_name_bytes().map(|b| b.into_owned()).unwrap_or_default(),
                };
                let target = String::from_utf8_lossy(&target).into_owned();
                sink.write_entry(&name, Kind::Symlink { target: &target }, &mut io::empty())?;
            }
            T::Link => return Err(sink.unsafe_entry(&name, "is a hard link (not supported in node packs)")),
            T::GNUSparse => return Err(sink.unsafe_entry(&name, "is a sparse file (not supported in node packs)")),
            _ => return Err(sink.unsafe_entry(&name, "is a device, fifo or other special file")),
        }
    }
    if !pending.is_empty() {
        return Err(sink.corrupt("extension headers at the end describe no entry"));
    }
    // The tar reader stops at the end-of-archive marker; reading the gzip stream to its end
    // checks its length and CRC, which is what catches an archive cut off after that point.
    let mut rest = tar.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|e| sink.corrupt(format!("gzip stream: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    fn zip_with(entries: &[(&str, &[u8])], symlinks: &[(&str, &str)]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let opts = SimpleFileOptions::default().unix_permissions(0o644);
        for (name, data) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        for (name, target) in symlinks {
            w.add_symlink(*name, *target, opts).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    /// A tar.gz whose member names are written raw, so that names the `tar` builder would
    /// refuse (`../x`, `/etc/x`) can be produced.
    fn tar_gz_raw(entries: &[(&str, tar::EntryType, &[u8], &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let gz = flate2::write::GzEncoder::new(&mut out, flate2::Compression::fast());
            let mut b = tar::Builder::new(gz);
            for (name, ty, data, link) in entries {
                let mut h = tar::Header::new_old();
                let raw = &mut h.as_old_mut().name;
                raw[..name.len()].copy_from_slice(name.as_bytes());
                if !link.is_empty() {
                    h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
                }
                h.set_entry_type(*ty);
                h.set_size(data.len() as u64);
                h.set_mode(0o755);
                h.set_cksum();
                b.append(&h, *data).unwrap();
            }
            b.into_inner().unwrap().finish().unwrap();
        }
        out
    }

    fn run(bytes: &[u8]) -> (tempfile::TempDir, Result<Extracted>) {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("a");
        fs::write(&archive, bytes).unwrap();
        let r = extract(&archive, &dir.path().join("out"), Limits::default());
        (dir, r)
    }

    fn assert_unsafe(r: Result<Extracted>, needle: &str) {
        match r {
            Err(StoreError::UnsafeEntry { reason, entry, .. }) => {
                assert!(reason.contains(needle), "{entry}: {reason}")
            }
            other => panic!("expected an unsafe entry, got {other:?}"),
        }
    }

    #[test]
    fn zip_extracts_files_with_modes() {
        let bytes = zip_with(
            &[("pack/__init__.py", b"x = 1\n"), ("pack/sub/a.txt", b"a")],
            &[("pack/link", "sub/a.txt")],
        );
        let (dir, r) = run(&bytes);
        let ex = r.unwrap();
        assert_eq!((ex.format, ex.files, ex.bytes), (ArchiveFormat::Zip, 2, 7));
        let out = dir.path().join("out");
        assert_eq!(fs::read(out.join("pack/__init__.py")).unwrap(), b"x = 1\n");
        assert_eq!(fs::read(out.join("pack/link")).unwrap(), b"a");
        assert_eq!(pack_root(&out).unwrap(), out.join("pack"));
    }

    #[test]
    fn zip_refuses_parent_dir_and_absolute_entries_and_leaves_nothing() {
        let (dir, r) = run(&zip_with(&[("ok.py", b""), ("../evil.py", b"x")], &[]));
        assert_unsafe(r, "..");
        assert!(!dir.path().join("out").exists());
        assert!(!dir.path().join("evil.py").exists());
        let (_d, r) = run(&zip_with(&[("/tmp/evil.py", b"x")], &[]));
        assert_unsafe(r, "absolute");
        let (_d, r) = run(&zip_with(&[("a\\..\\..\\evil.py", b"x")], &[]));
        assert_unsafe(r, "..");
    }

    #[test]
    fn symlinks_out_of_the_tree_are_refused() {
        let (_d, r) = run(&zip_with(&[], &[("pack/l", "../../etc/passwd")]));
        assert_unsafe(r, "outside");
        let (_d, r) = run(&zip_with(&[], &[("pack/l", "/etc/passwd")]));
        assert_unsafe(r, "outside");
        // In-tree by name, but a file written through it could land anywhere later links lead.
        let (_d, r) = run(&tar_gz_raw(&[
            ("d", tar::EntryType::Symlink, b"", "."),
            ("d/x", tar::EntryType::Regular, b"x", ""),
        ]));
        assert_unsafe(r, "through a symlink");
        // A chain: `a -> d/..` looks inside by name, but `d -> .` makes it the parent of the root.
        let (_d, r) = run(&tar_gz_raw(&[
            ("d", tar::EntryType::Symlink, b"", "."),
            ("a", tar::EntryType::Symlink, b"", "d/.."),
        ]));
        assert_unsafe(r, "outside");
    }

    #[test]
    fn tar_gz_refuses_escapes_and_hard_links() {
        let (_d, r) = run(&tar_gz_raw(&[("../x", tar::EntryType::Regular, b"x", "")]));
        assert_unsafe(r, "..");
        let (_d, r) = run(&tar_gz_raw(&[("/x", tar::EntryType::Regular, b"x", "")]));
        assert_unsafe(r, "absolute");
        let (_d, r) = run(&tar_gz_raw(&[("h", tar::EntryType::Link, b"", "/etc/passwd")]));
        assert_unsafe(r, "hard link");
    }

    #[test]
    fn tar_gz_extracts_with_exec_bit() {
        let (dir, r) = run(&tar_gz_raw(&[
            ("p/", tar::EntryType::Directory, b"", ""),
            ("p/run.sh", tar::EntryType::Regular, b"#!/bin/sh\n", ""),
        ]));
        let ex = r.unwrap();
        assert_eq!(ex.format, ArchiveFormat::TarGz);
        let mode = fs::metadata(dir.path().join("out/p/run.sh"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    #[test]
    fn truncated_archives_are_errors() {
        let zip = zip_with(&[("a.py", &[7u8; 5000])], &[]);
        let (d, r) = run(&zip[..zip.len() - 30]);
        assert!(matches!(r, Err(StoreError::Corrupt { .. })), "{r:?}");
        assert!(!d.path().join("out").exists());
        let tgz = tar_gz_raw(&[("a.py", tar::EntryType::Regular, &[7u8; 5000], "")]);
        for cut in [10, tgz.len() / 2, tgz.len() - 4] {
            let (_d, r) = run(&tgz[..cut]);
            assert!(matches!(r, Err(StoreError::Corrupt { .. })), "cut at {cut}: {r:?}");
        }
    }

    #[test]
    fn size_limits_count_real_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("a.zip");
        fs::write(&archive, zip_with(&[("a", &[0u8; 1000]), ("b", &[0u8; 1000])], &[])).unwrap();
        let small = Limits {
            max_entry_bytes: 999,
            ..Limits::default()
        };
        let r = extract(&archive, &dir.path().join("o1"), small);
        assert!(
            matches!(r, Err(StoreError::TooLarge { ref what, .. }) if what.contains("`a`")),
            "{r:?}"
        );
        let total = Limits {
            max_total_bytes: 1500,
            ..Limits::default()
        };
        let r = extract(&archive, &dir.path().join("o2"), total);
        assert!(
            matches!(r, Err(StoreError::TooLarge { ref what, .. }) if what.contains("unpacked size")),
            "{r:?}"
        );
    }

    #[test]
    fn unknown_format_is_named() {
        let (_d, r) = run(b"<html>not an archive</html>");
        assert!(matches!(r, Err(StoreError::UnknownFormat { .. })));
    }

    /// A gzip'd tar that starts with one extension entry of `ty` declaring `claimed` bytes, of
    /// which only `sent` follow (a bomb needs no more: the reader trusts the header).
    fn tar_gz_extension(ty: tar::EntryType, claimed: u64, sent: usize) -> Vec<u8> {
        let mut h = tar::Header::new_gnu();
        h.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
        h.set_entry_type(ty);
        h.set_size(claimed);
        h.set_mode(0o644);
        h.set_cksum();
        let mut raw = h.as_bytes().to_vec();
        raw.extend(std::iter::repeat_n(b'a', sent));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&raw).unwrap();
        gz.finish().unwrap()
    }

    #[test]
    fn huge_long_name_and_pax_headers_are_refused_before_they_are_read() {
        for ty in [
            tar::EntryType::GNULongName,
            tar::EntryType::GNULongLink,
            tar::EntryType::XHeader,
            tar::EntryType::XGlobalHeader,
        ] {
            let (d, r) = run(&tar_gz_extension(ty, 2 << 30, 1 << 20));
            match r {
                Err(StoreError::TooLarge { what, limit, .. }) => {
                    assert_eq!(limit, MAX_TAR_EXTENSION_BYTES, "{ty:?}");
                    assert!(what.contains("header"), "{ty:?}: {what}");
                }
                other => panic!("{ty:?}: expected TooLarge, got {other:?}"),
            }
            assert!(!d.path().join("out").exists());
        }
    }

    #[test]
    fn long_names_through_gnu_and_pax_headers_still_extract() {
        let long = format!("pack/{}/file.py", "d".repeat(150));
        let mut out = Vec::new();
        {
            let gz = flate2::write::GzEncoder::new(&mut out, flate2::Compression::fast());
            let mut b = tar::Builder::new(gz);
            // GNU: the builder writes an `L` entry for a name over 100 bytes.
            let mut h = tar::Header::new_gnu();
            h.set_size(3);
            h.set_mode(0o644);
            b.append_data(&mut h, &long, &b"gnu"[..]).unwrap();
            // PAX: a `path` record for the next entry, whose own header holds a short name.
            let pax_long = format!("pack/{}/pax.py", "p".repeat(150));
            b.append_pax_extensions([("path", pax_long.as_bytes())]).unwrap();
            let mut h = tar::Header::new_ustar();
            h.set_path("short.py").unwrap();
            h.set_size(3);
            h.set_mode(0o644);
            h.set_cksum();
            b.append(&h, &b"pax"[..]).unwrap();
            b.into_inner().unwrap().finish().unwrap();
        }
        let (dir, r) = run(&out);
        r.unwrap();
        let root = dir.path().join("out");
        assert_eq!(fs::read(root.join(&long)).unwrap(), b"gnu");
        let pax = format!("pack/{}/pax.py", "p".repeat(150));
        assert_eq!(fs::read(root.join(pax)).unwrap(), b"pax");
        assert!(!root.join("short.py").exists());
    }

    #[test]
    fn error_messages_quote_at_most_a_bounded_name() {
        let long = "x/".repeat(2000) + "../evil";
        let (_d, r) = run(&zip_with(&[(&long, b"x")], &[]));
        match r {
            Err(e @ StoreError::UnsafeEntry { .. }) => {
                assert!(
                    e.to_string().len() < MAX_ENTRY_NAME_SHOWN * 4 + 200,
                    "{}",
                    e.to_string().len()
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
