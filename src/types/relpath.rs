//! Relative paths that stay inside the folder they are joined to: no `..`, no absolute start,
//! no empty or `.` components, no backslashes or control characters.

use super::{InvalidValue, checked_string};

const MAX_LEN: usize = 1024;

fn check_component(c: &str) -> bool {
    !c.is_empty() && c != "." && c != ".." && !c.chars().any(|ch| ch == '\\' || ch.is_control())
}

fn check_rel_path(value: &str) -> Result<(), InvalidValue> {
    let ok = !value.is_empty() && value.len() <= MAX_LEN && value.split('/').all(check_component);
    if ok {
        Ok(())
    } else {
        Err(InvalidValue::new(
            "relative path",
            value,
            "use `folder/file` form: no `..`, no leading `/`, no empty parts or backslashes",
        ))
    }
}

fn check_file_name(value: &str) -> Result<(), InvalidValue> {
    let ok = value.len() <= 255 && !value.contains('/') && !value.starts_with('.') && check_component(value);
    if ok {
        Ok(())
    } else {
        Err(InvalidValue::new(
            "file name",
            value,
            "use a plain file name: no `/`, not starting with `.`",
        ))
    }
}

checked_string!(
    /// A path relative to a folder it cannot leave (a model category under `ComfyUI/models`).
    RelPath,
    check_rel_path
);
checked_string!(
    /// One plain file name (a model's file in its category folder).
    FileName,
    check_file_name
);

impl RelPath {
    /// `self/name`.
    pub fn join_name(&self, name: &FileName) -> RelPath {
        RelPath(format!("{}/{}", self.0, name.as_str()))
    }

    /// `self/other`.
    pub fn join(&self, other: &RelPath) -> RelPath {
        RelPath(format!("{}/{}", self.0, other.0))
    }
}

impl From<FileName> for RelPath {
    fn from(name: FileName) -> RelPath {
        RelPath(String::from(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_escape_are_refused() {
        for bad in [
            "",
            "/etc",
            "../../outside",
            "a/../b",
            "a//b",
            "./a",
            "a/",
            "a\\..\\b",
            "a\0b",
        ] {
            assert!(bad.parse::<RelPath>().is_err(), "{bad:?}");
        }
        for good in ["checkpoints", "ultralytics/bbox", "SDXL/x y.safetensors"] {
            assert!(good.parse::<RelPath>().is_ok(), "{good:?}");
        }
        for bad in ["a/b", ".hidden", "..", ""] {
            assert!(bad.parse::<FileName>().is_err(), "{bad:?}");
        }
        let p: RelPath = "models".parse().unwrap();
        assert_eq!(p.join_name(&"x.bin".parse().unwrap()).as_str(), "models/x.bin");
    }
}
