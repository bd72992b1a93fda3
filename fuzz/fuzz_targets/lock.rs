//! Any bytes as `.cec/comfydock.lock`: parsed or refused, never a panic; what parses renders
//! deterministically and reads back equal.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(lock) = comfydock::manifest::Lock::parse(Path::new("comfydock.lock"), text) {
        let rendered = lock.render();
        let again = comfydock::manifest::Lock::parse(Path::new("comfydock.lock"), &rendered)
            .expect("a rendered lock parses");
        assert_eq!(again, lock);
    }
});
