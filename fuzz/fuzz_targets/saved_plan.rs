//! Any bytes as a saved plan file: loaded or refused, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("comfydock-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("plan.json");
    if std::fs::write(&path, data).is_ok()
        && let Ok(plan) = comfydock::plan::SavedPlan::load(&path)
    {
        let _ = comfydock::manifest::Lock::parse(&path, &plan.lock);
    }
});
