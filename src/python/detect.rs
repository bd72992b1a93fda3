//! `--torch-backend auto`: the PyTorch backend this machine can use, and why. NVIDIA first (the
//! driver version bounds the newest CUDA it runs), then ROCm, else cpu.

use std::path::Path;
use std::process::{Command, Stdio};

/// A chosen backend and the reason, for the user to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detected {
    pub backend: String,
    pub reason: String,
}

/// The minimum Linux driver of each CUDA backend PyTorch publishes, newest first
/// (NVIDIA's CUDA toolkit release notes, table 3).
const CUDA_DRIVERS: &[(&str, &str, [u64; 2])] = &[
    ("cu128", "12.8", [570, 26]),
    ("cu126", "12.6", [560, 28]),
    ("cu124", "12.4", [550, 54]),
    ("cu121", "12.1", [530, 30]),
    ("cu118", "11.8", [520, 61]),
];

pub fn detect() -> Detected {
    if let Some(driver) = nvidia_driver() {
        return cuda_for_driver(&driver);
    }
    if let Some(version) = rocm_version(Path::new("/opt/rocm")) {
        return Detected {
            backend: format!("rocm{version}"),
            reason: format!("ROCm {version} is installed in /opt/rocm"),
        };
    }
    Detected {
        backend: "cpu".into(),
        reason: "no NVIDIA driver (nvidia-smi did not answer) and no ROCm (/opt/rocm) found".into(),
    }
}

/// The newest CUDA backend a driver version (`550.54.14`) supports.
pub fn cuda_for_driver(driver: &str) -> Detected {
    let parts: Vec<u64> = driver.split('.').filter_map(|p| p.trim().parse().ok()).collect();
    let have = [parts.first().copied().unwrap_or(0), parts.get(1).copied().unwrap_or(0)];
    for (backend, cuda, min) in CUDA_DRIVERS {
        if have >= *min {
            return Detected {
                backend: (*backend).to_string(),
                reason: format!("NVIDIA driver {driver} supports CUDA {cuda}"),
            };
        }
    }
    Detected {
        backend: "cpu".into(),
        reason: format!("NVIDIA driver {driver} is older than any CUDA build of PyTorch supports (>= 520.61)"),
    }
}

fn nvidia_driver() -> Option<String> {
    let mut cmd = Command::new("nvidia-smi");
    cmd.args(["--query-gpu=driver_version", "--format=csv,noheader"])
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    crate::process::die_with_parent(&mut cmd);
    let out = cmd.output().ok().filter(|o| o.status.success())?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .next()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
}

/// `6.2` from `/opt/rocm/.info/version` (`6.2.0-66`).
fn rocm_version(root: &Path) -> Option<String> {
    let text = fs_err::read_to_string(root.join(".info/version")).ok()?;
    let mut parts = text.trim().split(['.', '-']);
    let (major, minor) = (parts.next()?, parts.next()?);
    (major.chars().all(|c| c.is_ascii_digit()) && minor.chars().all(|c| c.is_ascii_digit()))
        .then(|| format!("{major}.{minor}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn driver_versions_map_to_the_newest_cuda_they_run() {
        assert_eq!(cuda_for_driver("550.54.14").backend, "cu124");
        assert_eq!(cuda_for_driver("575.10").backend, "cu128");
        assert_eq!(cuda_for_driver("535.104.05").backend, "cu121");
        assert_eq!(cuda_for_driver("470.1").backend, "cpu");
        let dir = tempfile::tempdir().unwrap();
        fs_err::create_dir_all(dir.path().join(".info")).unwrap();
        fs_err::write(dir.path().join(".info/version"), "6.2.0-66\n").unwrap();
        assert_eq!(rocm_version(dir.path()).as_deref(), Some("6.2"));
    }
}
