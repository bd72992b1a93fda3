//! Pure-Python wheels written by hand (a wheel is a zip with a dist-info folder), so uv can
//! install real packages with no index and no network.

use base64::Engine;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

pub struct WheelSpec<'a> {
    /// Distribution name as in requirements (`comfy-mini-dep`).
    pub name: &'a str,
    pub version: &'a str,
    pub requires: &'a [&'a str],
    /// Extra lines for the package's `__init__.py`.
    pub body: &'a str,
}

impl WheelSpec<'_> {
    fn module(&self) -> String {
        self.name.replace('-', "_")
    }

    pub fn file_name(&self) -> String {
        format!("{}-{}-py3-none-any.whl", self.module(), self.version)
    }
}

/// Writes the wheel into `dir` and returns its path. Same spec, same bytes.
pub fn build_wheel(dir: &Path, spec: &WheelSpec<'_>) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let module = spec.module();
    let dist_info = format!("{module}-{}.dist-info", spec.version);
    let mut metadata = format!(
        "Metadata-Version: 2.1\nName: {}\nVersion: {}\n",
        spec.name, spec.version
    );
    for r in spec.requires {
        metadata.push_str(&format!("Requires-Dist: {r}\n"));
    }
    let files = vec![
        (
            format!("{module}/__init__.py"),
            format!("__version__ = \"{}\"\n{}", spec.version, spec.body),
        ),
        (format!("{dist_info}/METADATA"), metadata),
        (
            format!("{dist_info}/WHEEL"),
            "Wheel-Version: 1.0\nGenerator: comfydock-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n".to_string(),
        ),
    ];
    let mut record = String::new();
    for (path, content) in &files {
        let digest = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(content.as_bytes()));
        record.push_str(&format!("{path},sha256={digest},{}\n", content.len()));
    }
    record.push_str(&format!("{dist_info}/RECORD,,\n"));

    let path = dir.join(spec.file_name());
    let mut zip = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for (name, content) in files
        .iter()
        .chain(std::iter::once(&(format!("{dist_info}/RECORD"), record)))
    {
        zip.start_file(name.as_str(), options).unwrap();
        zip.write_all(content.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    path
}

/// The wheels the miniature ComfyUI's requirements name (also committed in `fixtures/wheels/`).
pub const FIXTURE_WHEELS: &[WheelSpec<'static>] = &[WheelSpec {
    name: "comfy-mini-dep",
    version: "1.0.0",
    requires: &[],
    body: "",
}];

pub fn build_fixture_wheels(dir: &Path) {
    for spec in FIXTURE_WHEELS {
        build_wheel(dir, spec);
    }
}
