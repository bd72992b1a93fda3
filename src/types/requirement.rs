//! A Python requirement a tracked workflow names (`requires.python`): a PEP 508 string, kept as
//! written (the manifest keeps the user's spelling) once pep508_rs has read it.

use super::{InvalidValue, checked_string};

fn check_python_requirement(value: &str) -> Result<(), InvalidValue> {
    let ok = value.len() <= 1024
        && value.trim() == value
        && !value.starts_with('-')
        && value.parse::<pep508_rs::Requirement>().is_ok();
    if ok {
        Ok(())
    } else {
        Err(InvalidValue::new(
            "Python requirement",
            value,
            "use a PEP 508 requirement such as `numpy>=1.26` or `name @ https://...`, without pip options",
        ))
    }
}

checked_string!(
    /// A PEP 508 requirement (`numpy>=1.26`), as the user wrote it.
    PythonRequirement,
    check_python_requirement
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pep508_and_refuses_the_rest() {
        for ok in [
            "numpy",
            "numpy>=1.26",
            "torch==2.3.0; sys_platform == 'linux'",
            "pkg @ https://x.org/p.whl",
        ] {
            assert_eq!(ok.parse::<PythonRequirement>().unwrap().as_str(), ok);
        }
        for bad in ["", " numpy", "-e .", ">=1.0", "numpy>=>1", "https://x.org/p.whl"] {
            assert!(bad.parse::<PythonRequirement>().is_err(), "{bad}");
        }
    }
}
