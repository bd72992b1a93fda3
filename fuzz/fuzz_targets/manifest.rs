//! Any bytes as `.cec/pyproject.toml`: parsed or refused, never a panic; what parses renders
//! back to a manifest that parses to the same values.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(m) = comfydock::manifest::Manifest::parse(Path::new("pyproject.toml"), text) {
        let again = comfydock::manifest::Manifest::parse(Path::new("pyproject.toml"), &m.render())
            .expect("a rendered manifest parses");
        assert_eq!(again.config(), m.config());
    }
});
