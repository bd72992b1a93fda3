//! Any bytes as a workflow file (JSON, or a PNG/WebP/FLAC/MP4 with one embedded): analysed or
//! refused, never a panic; the embedded text a file yields stays within its bounds.
#![no_main]
use libfuzzer_sys::fuzz_target;
use comfydock::workflow::{Builtins, Container, analyze, embedded};

fuzz_target!(|data: &[u8]| {
    let _ = analyze(data, "fuzz", Builtins::shipped());
    // Every container parser on every input, not only the one the first bytes pick.
    for container in [Container::Png, Container::Webp, Container::Flac, Container::Mp4] {
        if let Ok(entries) = embedded::entries(container, data) {
            let text: usize = entries.iter().map(|e| e.text.len()).sum();
            assert!(text as u64 <= data.len() as u64 * 4 + embedded::MAX_INFLATED_TOTAL);
        }
    }
});
