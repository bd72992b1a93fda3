//! Any bytes as a node-pack archive (zip or tar.gz): extracted or refused, never a panic, and
//! never a file outside the extraction folder.
#![no_main]
use libfuzzer_sys::fuzz_target;
use comfydock::store::{Limits, extract};

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("archive");
    std::fs::write(&archive, data).expect("write");
    let out = dir.path().join("box/out");
    std::fs::create_dir_all(dir.path().join("box")).expect("mkdir");
    let limits = Limits {
        max_total_bytes: 16 << 20,
        max_entry_bytes: 8 << 20,
        max_entries: 1000,
    };
    if extract(&archive, &out, limits).is_err() {
        assert!(!out.exists(), "a failed extraction leaves nothing");
    }
    // Nothing escaped the folder: `box/` holds only `out`.
    let names: Vec<_> = std::fs::read_dir(dir.path().join("box"))
        .expect("read box")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(names.iter().all(|n| n == "out"), "{names:?}");
});
