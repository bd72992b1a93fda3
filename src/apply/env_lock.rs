//! One writer per environment: an exclusive lock on `.comfydock/lock`, holding a line that
//! says who holds it, so the one who waits can be told.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::path::Path;
use std::time::{Duration, Instant};

pub struct EnvLock {
    _file: File,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum Locked {
    #[error("environment `{env}` is locked by another comfydock ({holder})")]
    #[diagnostic(
        code(comfydock::apply::locked),
        help("wait for it to finish, or raise COMFYDOCK_LOCK_TIMEOUT (seconds, now {waited_secs}) to wait longer")
    )]
    Held {
        env: String,
        holder: String,
        waited_secs: u64,
    },
    /// The lock file could not be made, opened or locked: a disk or permission problem, not
    /// another comfydock.
    #[error("could not take the writer lock of environment `{env}` ({}): {source}", path.display())]
    #[diagnostic(
        code(comfydock::apply::lock_io),
        help("check that the environment's .comfydock folder exists and is writable by you")
    )]
    Io {
        env: String,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl EnvLock {
    pub fn acquire(state_dir: &Path, env: &str, command: &str) -> Result<EnvLock, Locked> {
        let timeout = std::env::var("COMFYDOCK_LOCK_TIMEOUT")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(30u64);
        let path = state_dir.join("lock");
        let io_err = |source: std::io::Error| Locked::Io {
            env: env.into(),
            path: path.clone(),
            source,
        };
        fs_err::create_dir_all(state_dir).map_err(io_err)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io_err)?;
        let deadline = Instant::now() + Duration::from_secs(timeout);
        loop {
            match file.try_lock() {
                Ok(()) => break,
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    return Err(Locked::Held {
                        env: env.into(),
                        holder: holder.trim().to_string(),
                        waited_secs: timeout,
                    });
                }
                Err(std::fs::TryLockError::Error(e)) => return Err(io_err(e)),
            }
        }
        let _ = file.set_len(0);
        let _ = file.rewind();
        // Who holds it, for another command's message: not synced, the lock lives as long as
        // this process and a crash releases it.
        let _ = write!(file, "pid {}, `comfydock {command}`", std::process::id());
        Ok(EnvLock { _file: file })
    }
}
