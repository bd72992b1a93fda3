//! Paths inside a pack folder that the pack writes at run time (its config, caches, fetched
//! weights): never drift, carried to the pack's next version, never trashed. A node declares its
//! own (`runtime_paths = ["config.json", "cache"]`); a few are known for every pack.

/// Written at run time by packs people use (found on Impact-Pack, rgthree-comfy and
/// ComfyUI-Custom-Scripts), and Python's byte-code caches.
pub const DEFAULTS: &[&str] = &[
    "__pycache__",
    "*.pyc",
    "impact-pack.ini",
    "rgthree_config.json",
    "pysssss.json",
    "*.log",
];

/// A node's runtime paths: each pattern names a file or a folder (and what is below it); `*`
/// matches within one path part.
#[derive(Debug, Clone, Default)]
pub struct RuntimePaths {
    patterns: Vec<Vec<String>>,
}

impl RuntimePaths {
    /// The defaults and `declared`.
    pub fn new<'a>(declared: impl IntoIterator<Item = &'a str>) -> RuntimePaths {
        let patterns = DEFAULTS
            .iter()
            .copied()
            .chain(declared)
            .map(|p| p.split('/').filter(|c| !c.is_empty()).map(str::to_string).collect())
            .collect();
        RuntimePaths { patterns }
    }

    /// Whether `rel` (a path in the pack folder) is, or lies under, a runtime path. A pattern
    /// of one part (`*.log`) matches that name at any depth, as `.gitignore` does.
    pub fn matches(&self, rel: &str) -> bool {
        let parts: Vec<&str> = rel.split('/').collect();
        self.patterns.iter().any(|pattern| match pattern.as_slice() {
            [one] => parts.iter().any(|p| glob(one, p)),
            many => many.len() <= parts.len() && many.iter().zip(&parts).all(|(pat, part)| glob(pat, part)),
        })
    }
}

/// `*` matches any run of characters (within one path part); everything else matches itself.
fn glob(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, rest)) => {
            let Some(tail) = name.strip_prefix(head) else {
                return false;
            };
            (0..=tail.len()).any(|i| tail.is_char_boundary(i) && glob(rest, &tail[i..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_and_default_paths_match_files_under_them() {
        let r = RuntimePaths::new(["cache", "models/*.onnx", "settings.json"]);
        for yes in [
            "cache/a/b.bin",
            "models/face.onnx",
            "settings.json",
            "nodes/__pycache__/x.cpython-311.pyc",
            "impact-pack.ini",
            "logs/run.log",
        ] {
            assert!(r.matches(yes), "{yes}");
        }
        for no in ["nodes.py", "models/face.pt", "sub/settings.json.bak", "cachex/y"] {
            assert!(!r.matches(no), "{no}");
        }
    }
}
