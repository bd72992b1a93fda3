//! Durable filesystem operations. Every file comfydock writes goes through `write_atomic`:
//! a temp file in the same folder, fsync, rename, fsync of the folder, so a crash leaves
//! either the old bytes or the new ones, never a torn file.

use rustix::fs::OFlags;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` atomically (temp file + fsync + rename + fsync of the parent).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let parent = parent_of(path);
    fs::create_dir_all(&parent)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".comfydock-tmp-")
        .tempfile_in(&parent)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(&parent)
}

/// `write_atomic` for secrets: the file is readable and writable by its owner only (0600) from
/// the moment it exists, whatever the umask; a folder it creates is 0700, and its own folder,
/// when it already exists open to others, is made 0700 (or refused when another user owns it):
/// in a folder others can write, the file could be swapped or replaced by a link.
pub fn write_atomic_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let parent = parent_of(path);
    fs::DirBuilder::new().recursive(true).mode(0o700).create(&parent)?;
    let meta = fs::metadata(&parent)?;
    if meta.uid() != rustix::process::geteuid().as_raw() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{} belongs to another user; a folder for secrets must be yours",
                parent.display()
            ),
        ));
    }
    if meta.mode() & 0o077 != 0 {
        fs::set_permissions(&parent, fs::Permissions::from_mode(0o700))?;
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".comfydock-tmp-")
        .permissions(fs::Permissions::from_mode(0o600))
        .tempfile_in(&parent)?;
    tmp.as_file().set_permissions(fs::Permissions::from_mode(0o600))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(&parent)
}

/// Reads the regular file at `path` (a symlink is followed), at most `max` bytes. Anything else
/// is refused before a byte is read: a FIFO (whose reader would wait for a writer forever, with
/// whatever lock the caller holds), a device such as `/dev/zero` (endless), a folder or a socket.
/// A file larger than `max`, or that grows past it while read, is refused too
/// (`ErrorKind::FileTooLarge`).
/// Entries below `path` (itself included), links not followed: the total a counted removal
/// reports against.
pub fn count_entries(path: &Path) -> u64 {
    walkdir::WalkDir::new(path).into_iter().filter_map(Result::ok).count() as u64
}

/// `remove_dir_all` that reports its progress as counted work `label` of `total` entries (a
/// venv is tens of thousands of files: seconds on a slow disk). Links are removed, never followed.
pub fn remove_tree_counted(
    path: &Path,
    total: u64,
    label: &str,
    reporter: &dyn crate::progress::Reporter,
) -> io::Result<()> {
    let mut done = 0u64;
    for entry in walkdir::WalkDir::new(path).contents_first(true) {
        let entry = entry.map_err(|e| {
            let at = e.path().unwrap_or(path).display().to_string();
            io::Error::other(format!("{at}: {e}"))
        })?;
        let removed = if entry.file_type().is_dir() {
            fs::remove_dir(entry.path())
        } else {
            fs::remove_file(entry.path())
        };
        removed.map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", entry.path().display())))?;
        done += 1;
        if done.is_multiple_of(512) || done == total {
            reporter.count(label, done, total.max(done));
        }
    }
    reporter.count_end(label);
    Ok(())
}

/// Whether every folder between `root` and `path` (a path below it) is a real folder, not a
/// symbolic link: writing or removing `path` then stays inside `root`. A missing folder is fine
/// (it will be created as a real one).
pub fn no_link_between(root: &Path, path: &Path) -> io::Result<()> {
    let rel = path.strip_prefix(root).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not inside {}", path.display(), root.display()),
        )
    })?;
    let mut at = root.to_path_buf();
    for part in rel.components() {
        at.push(part);
        match fs::symlink_metadata(&at) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!(
                        "{} is a symbolic link; comfydock does not write through links here",
                        at.display()
                    ),
                ));
            }
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub fn read_regular(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    read_bounded(path, max, OFlags::NONBLOCK)
}

/// [`read_regular`] that also refuses a symbolic link at `path` (`O_NOFOLLOW`): for files of an
/// untrusted tree (`.cec`), where a link could make comfydock read a file outside it.
pub fn read_regular_nofollow(path: &Path, max: u64) -> io::Result<Vec<u8>> {
    read_bounded(path, max, OFlags::NONBLOCK | OFlags::NOFOLLOW).map_err(|e| {
        if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "a symbolic link, which comfydock does not follow here; replace it with the file itself",
            )
        } else {
            e
        }
    })
}

fn read_bounded(path: &Path, max: u64, flags: OFlags) -> io::Result<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    // O_NONBLOCK: opening a FIFO without a writer returns at once instead of waiting for one;
    // it changes nothing for a regular file.
    // The flags' bits are the C values, which is what `custom_flags` takes.
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a FIFO, device, folder or socket); replace it with the file itself",
        ));
    }
    let too_large = || {
        io::Error::new(
            io::ErrorKind::FileTooLarge,
            format!("larger than {max} bytes, the most comfydock reads of such a file"),
        )
    };
    if meta.len() > max {
        return Err(too_large());
    }
    let mut out = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1).read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(too_large());
    }
    Ok(out)
}

/// Flushes a folder's entries (renames, new files) to disk.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Points `link` at `target` atomically: a temp symlink renamed over the old one.
pub fn replace_symlink(target: &Path, link: &Path) -> io::Result<()> {
    let parent = parent_of(link);
    let tmp = parent.join(format!(
        ".comfydock-link-{}-{}",
        std::process::id(),
        link.file_name().and_then(|n| n.to_str()).unwrap_or("link")
    ));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp)?;
    fs::rename(&tmp, link)?;
    sync_dir(&parent)
}

/// Renames and makes the rename durable.
pub fn rename_durable(from: &Path, to: &Path) -> io::Result<()> {
    fs::rename(from, to)?;
    sync_dir(&parent_of(to))?;
    let from_parent = parent_of(from);
    if from_parent != parent_of(to) {
        sync_dir(&from_parent)?;
    }
    Ok(())
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Copies a tree, keeping symlinks as symlinks and file modes. Files are reflinked where the
/// filesystem can (btrfs, XFS, APFS: instant, no extra space, and still an independent file a
/// node pack may write to), copied elsewhere; never hardlinked, which would let a pack's
/// run-time writes reach the shared store.
pub fn copy_tree(from: &Path, to: &Path) -> io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in walkdir::WalkDir::new(from).min_depth(1) {
        let entry = entry.map_err(io::Error::other)?;
        let rel = entry.path().strip_prefix(from).map_err(io::Error::other)?;
        let dest = to.join(rel);
        let ft = entry.file_type();
        if ft.is_dir() {
            fs::create_dir_all(&dest)?;
        } else if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(entry.path())?, &dest)?;
        } else {
            reflink_copy::reflink_or_copy(entry.path(), &dest)?;
            // A reflink does not carry the mode everywhere; the executable bit is content here.
            fs::set_permissions(&dest, entry.metadata().map_err(io::Error::other)?.permissions())?;
        }
    }
    Ok(())
}

/// Scratch folders carry the id of the process that made them (`<prefix><pid>-…`), so a
/// cleanup can tell an abandoned one (its process gone) from one in use right now. Names
/// without an owner count as abandoned only when a day old.
pub fn scratch_abandoned(path: &Path, prefix: &str) -> bool {
    let Some(rest) = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix(prefix))
    else {
        return false;
    };
    match rest.split('-').next().and_then(|pid| pid.parse::<u32>().ok()) {
        Some(pid) => !process_alive(pid),
        None => older_than(path, 86_400),
    }
}

/// The `<prefix><pid>-` a scratch folder of this process starts with.
pub fn scratch_prefix(prefix: &str) -> String {
    format!("{prefix}{}-", std::process::id())
}

fn process_alive(pid: u32) -> bool {
    pid == std::process::id() || Path::new("/proc").join(pid.to_string()).exists()
}

fn older_than(path: &Path, secs: u64) -> bool {
    path.symlink_metadata()
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() > secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_regular_refuses_fifos_devices_folders_and_large_files() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        for p in [fifo.as_path(), Path::new("/dev/zero"), dir.path()] {
            let e = read_regular(p, 1 << 20).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{}: {e}", p.display());
        }
        let link = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        assert!(read_regular(&link, 1 << 20).is_err());
        let f = dir.path().join("f");
        fs::write(&f, b"12345").unwrap();
        assert_eq!(read_regular(&f, 5).unwrap(), b"12345");
        assert_eq!(read_regular(&f, 4).unwrap_err().kind(), io::ErrorKind::FileTooLarge);
    }

    #[test]
    fn write_atomic_replaces_content_and_leaves_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.toml");
        write_atomic(&path, b"one").unwrap();
        write_atomic(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.toml")]);
    }

    #[test]
    fn copy_tree_keeps_modes_and_links_and_makes_independent_files() {
        use std::os::unix::fs::PermissionsExt;
        let src = tempfile::tempdir().unwrap();
        fs::create_dir_all(src.path().join("bin")).unwrap();
        fs::write(src.path().join("bin/run.sh"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(src.path().join("bin/run.sh"), fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("bin/run.sh", src.path().join("run")).unwrap();
        let dst = tempfile::tempdir().unwrap();
        let out = dst.path().join("copy");
        copy_tree(src.path(), &out).unwrap();
        assert_eq!(
            fs::metadata(out.join("bin/run.sh")).unwrap().permissions().mode() & 0o777,
            0o755
        );
        assert_eq!(fs::read_link(out.join("run")).unwrap(), Path::new("bin/run.sh"));
        fs::write(out.join("bin/run.sh"), "changed").unwrap();
        assert_eq!(
            fs::read_to_string(src.path().join("bin/run.sh")).unwrap(),
            "#!/bin/sh\n"
        );
    }

    #[test]
    fn replace_symlink_switches_target() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join(".venv");
        replace_symlink(Path::new("gen-1"), &link).unwrap();
        replace_symlink(Path::new("gen-2"), &link).unwrap();
        assert_eq!(fs::read_link(&link).unwrap(), Path::new("gen-2"));
    }
}
