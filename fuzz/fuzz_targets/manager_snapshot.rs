//! Any bytes as a ComfyUI-Manager snapshot (JSON or YAML): read to typed values or refused,
//! never a panic or a stack overflow (nesting is bounded before a tree is built).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = comfydock::portability::manager_snapshot::parse(text);
});
