//! The committed fixtures are what tests/support builds, so the offline demo and the tests
//! run the same ComfyUI.

use crate::support::{MANIFEST_DIR, wheel};
use std::path::Path;

#[test]
fn committed_wheels_match_the_builder() {
    let dir = tempfile::tempdir().unwrap();
    let committed = Path::new(MANIFEST_DIR).join("fixtures/wheels");
    for spec in wheel::FIXTURE_WHEELS {
        let built = std::fs::read(wheel::build_wheel(dir.path(), spec)).unwrap();
        let path = committed.join(spec.file_name());
        if std::env::var_os("COMFYDOCK_BLESS").is_some() {
            std::fs::create_dir_all(&committed).unwrap();
            std::fs::write(&path, &built).unwrap();
        }
        let on_disk = std::fs::read(&path)
            .unwrap_or_else(|_| panic!("{} is missing; run with COMFYDOCK_BLESS=1", path.display()));
        assert!(
            on_disk == built,
            "{} is stale; run with COMFYDOCK_BLESS=1",
            path.display()
        );
    }
}
