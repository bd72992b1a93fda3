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

fn check_model_file(value: &str) -> Result<(), InvalidValue> {
    let component = |c: &str| c.len() <= 255 && !c.starts_with('.') && check_component(c);
    let ok = !value.is_empty() && value.len() <= MAX_LEN && value.split('/').all(component);
    if ok {
        Ok(())
    } else {
        Err(InvalidValue::new(
            "model file",
            value,
            "use a file name, or subfolders and a file name (`SD1.5/x.safetensors`): no `..`, no leading `/`, no part starting with `.`",
        ))
    }
}

checked_string!(
    /// A path relative to a folder it cannot leave (a model category under `ComfyUI/models`).
    RelPath,
    check_rel_path
);
checked_string!(
    /// A model's file inside its category folder: a file name, or subfolders and a file name
    /// (`hyvid/vae.safetensors`, as workflows write them), never leaving the folder.
    ModelFile,
    check_model_file
);

impl RelPath {
    /// `self/file`.
    pub fn join_file(&self, file: &ModelFile) -> RelPath {
        RelPath(format!("{}/{}", self.0, file.as_str()))
    }

    /// `self/other`.
    pub fn join(&self, other: &RelPath) -> RelPath {
        RelPath(format!("{}/{}", self.0, other.0))
    }
}

impl From<ModelFile> for RelPath {
    fn from(file: ModelFile) -> RelPath {
        RelPath(String::from(file))
    }
}

impl ModelFile {
    /// The last component: the file's own name.
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The same path with `prefix` before the file's own name (`a/x.bin` -> `a/<prefix>x.bin`).
    pub fn with_name_prefix(&self, prefix: &str) -> ModelFile {
        match self.0.rsplit_once('/') {
            Some((dir, name)) => ModelFile(format!("{dir}/{prefix}{name}")),
            None => ModelFile(format!("{prefix}{}", self.0)),
        }
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
        for bad in [
            ".hidden",
            "a/.git/config",
            "..",
            "a/../b",
            "/abs",
            "a//b",
            "a/",
            "a\\b",
            "",
        ] {
            assert!(bad.parse::<ModelFile>().is_err(), "{bad:?}");
        }
        for good in ["x.safetensors", "hyvid/vae.safetensors", "SD1.5/sub/x y.ckpt"] {
            assert!(good.parse::<ModelFile>().is_ok(), "{good:?}");
        }
        let p: RelPath = "models".parse().unwrap();
        let file: ModelFile = "hyvid/x.bin".parse().unwrap();
        assert_eq!(p.join_file(&file).as_str(), "models/hyvid/x.bin");
        assert_eq!(file.name(), "x.bin");
        assert_eq!(file.with_name_prefix("ab-").as_str(), "hyvid/ab-x.bin");
    }
}
