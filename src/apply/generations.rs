//! `.comfydock/generations/<N>.json`: every applied state, self-contained (manifest, lock and
//! uv.lock as they were), so `rollback` needs neither the network nor `.cec` history.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Generation {
    pub number: u64,
    /// Seconds since the Unix epoch.
    pub created: u64,
    pub cec_commit: Option<String>,
    pub summary: String,
    pub actions: Vec<String>,
    pub pyproject: String,
    pub lock: String,
    pub uv_lock: String,
    pub uv_lock_hash: String,
    pub venv: Option<String>,
    /// The torch backend extra the venv was synced with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub torch_backend: Option<String>,
    /// Store entries (node trees) this generation uses; gc keeps them while it is kept.
    pub trees: Vec<String>,
}

pub fn dir(state_dir: &Path) -> PathBuf {
    state_dir.join("generations")
}

pub fn path(state_dir: &Path, number: u64) -> PathBuf {
    dir(state_dir).join(format!("{number}.json"))
}

/// All generations, oldest first.
pub fn list(state_dir: &Path) -> std::io::Result<Vec<Generation>> {
    let Ok(read) = std::fs::read_dir(dir(state_dir)) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in read {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            let bytes = std::fs::read(&path)?;
            out.push(serde_json::from_slice::<Generation>(&bytes).map_err(std::io::Error::other)?);
        }
    }
    out.sort_by_key(|g| g.number);
    Ok(out)
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `2026-11-21 15:04:05 UTC`, without a date crate: days since the epoch to a civil date.
pub fn format_time(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_civil_time() {
        assert_eq!(super::format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::format_time(1_795_000_000), "2026-11-18 11:06:40 UTC");
    }
}
