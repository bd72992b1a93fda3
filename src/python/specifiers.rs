//! Just enough of PEP 440 version specifiers to tell whether two requirements on one package can
//! ever agree (`numpy<2` and `numpy>=2` cannot; `numpy>=1.25` agrees with either). Conflict
//! advice uses it to name only the parties that really clash, and to suggest a constraint only
//! when a version could satisfy everyone.

use std::cmp::Ordering;

/// A release version as comparable numbers (`1.25.0` → [1, 25]); pre/post/local parts are
/// ignored, which errs on the side of "may agree".
#[derive(Debug, Clone, PartialEq, Eq)]
struct Release(Vec<u64>);

impl Release {
    fn parse(text: &str) -> Option<Release> {
        let text = text.trim().trim_start_matches(['v', 'V']);
        let text = text.split_once('!').map_or(text, |(_, r)| r); // epochs: rare, ignored
        let mut parts = Vec::new();
        for piece in text.split('.') {
            let digits: String = piece.chars().take_while(char::is_ascii_digit).collect();
            if digits.is_empty() {
                break;
            }
            parts.push(digits.parse().ok()?);
            if digits.len() != piece.len() {
                break; // `0rc1`, `1+local`: the numeric head is the release
            }
        }
        if parts.is_empty() {
            return None;
        }
        while parts.len() > 1 && parts.last() == Some(&0) {
            parts.pop();
        }
        Some(Release(parts))
    }

    /// The next release at `len` components: `1.4.2` at 2 → `1.5`.
    fn bump(&self, len: usize) -> Release {
        let mut parts: Vec<u64> = self
            .0
            .iter()
            .copied()
            .chain(std::iter::repeat(0))
            .take(len.max(1))
            .collect();
        if let Some(last) = parts.last_mut() {
            *last += 1;
        }
        Release(parts)
    }
}

impl PartialOrd for Release {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Release {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.0.len().max(other.0.len());
        for i in 0..n {
            let (a, b) = (self.0.get(i).unwrap_or(&0), other.0.get(i).unwrap_or(&0));
            match a.cmp(b) {
                Ordering::Equal => continue,
                o => return o,
            }
        }
        Ordering::Equal
    }
}

/// The versions a set of specifiers allows, as one interval (`!=` is ignored).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Allowed {
    lower: Option<(Release, bool)>,
    upper: Option<(Release, bool)>,
}

impl Allowed {
    /// From the specifier part of a requirement (`>=1.2,<2`), None when it cannot be read.
    pub fn parse(specifiers: &str) -> Option<Allowed> {
        let mut allowed = Allowed::default();
        for spec in specifiers.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let op_len = spec.find(|c: char| !"<>=!~".contains(c)).unwrap_or(spec.len());
            let (op, version) = spec.split_at(op_len);
            let version = version.trim();
            match op {
                "==" | "===" if version.ends_with(".*") => {
                    let v = Release::parse(version.trim_end_matches(".*"))?;
                    let len = version.trim_end_matches(".*").split('.').count();
                    allowed.raise(v.clone(), true);
                    allowed.cap(v.bump(len), false);
                }
                "==" | "===" => {
                    let v = Release::parse(version)?;
                    allowed.raise(v.clone(), true);
                    allowed.cap(v, true);
                }
                ">=" => allowed.raise(Release::parse(version)?, true),
                ">" => allowed.raise(Release::parse(version)?, false),
                "<=" => allowed.cap(Release::parse(version)?, true),
                "<" => allowed.cap(Release::parse(version)?, false),
                "~=" => {
                    let v = Release::parse(version)?;
                    let len = version.split('.').count().saturating_sub(1);
                    allowed.raise(v.clone(), true);
                    allowed.cap(v.bump(len), false);
                }
                "!=" => {}
                _ => return None,
            }
        }
        Some(allowed)
    }

    fn raise(&mut self, v: Release, inclusive: bool) {
        let tighter = match &self.lower {
            None => true,
            Some((cur, cur_inc)) => v > *cur || (v == *cur && !inclusive && *cur_inc),
        };
        if tighter {
            self.lower = Some((v, inclusive));
        }
    }

    fn cap(&mut self, v: Release, inclusive: bool) {
        let tighter = match &self.upper {
            None => true,
            Some((cur, cur_inc)) => v < *cur || (v == *cur && !inclusive && *cur_inc),
        };
        if tighter {
            self.upper = Some((v, inclusive));
        }
    }

    /// Whether any version is allowed by both.
    pub fn overlaps(&self, other: &Allowed) -> bool {
        let mut both = self.clone();
        if let Some((v, inc)) = &other.lower {
            both.raise(v.clone(), *inc);
        }
        if let Some((v, inc)) = &other.upper {
            both.cap(v.clone(), *inc);
        }
        both.is_satisfiable()
    }

    fn is_satisfiable(&self) -> bool {
        match (&self.lower, &self.upper) {
            (Some((lo, lo_inc)), Some((hi, hi_inc))) => lo < hi || (lo == hi && *lo_inc && *hi_inc),
            _ => true,
        }
    }
}

/// The specifier part of a PEP 508 requirement: after the name and extras, before markers.
pub fn specifier_part(requirement: &str) -> &str {
    let text = requirement.split(';').next().unwrap_or("").trim();
    let after_name = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .map_or("", |i| &text[i..]);
    let after_extras = match after_name.trim_start().strip_prefix('[') {
        Some(rest) => rest.split_once(']').map_or("", |(_, r)| r),
        None => after_name,
    };
    after_extras.trim().trim_start_matches('(').trim_end_matches(')')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(s: &str) -> Allowed {
        Allowed::parse(s).unwrap()
    }

    #[test]
    fn disjoint_ranges_do_not_overlap() {
        assert!(!a("<2").overlaps(&a(">=2")));
        assert!(a(">=1.25.0").overlaps(&a("<2")));
        assert!(a(">=1.25.0").overlaps(&a(">=2")));
        assert!(!a("==1.0.0").overlaps(&a("==2.0.0")));
        assert!(a("==1.0").overlaps(&a("==1.0.0")));
        assert!(!a("~=1.4.2").overlaps(&a(">=1.5")));
        assert!(a("~=1.4").overlaps(&a(">=1.9")));
        assert!(!a("==1.2.*").overlaps(&a(">=1.3")));
        assert!(a("").overlaps(&a("<1")));
        assert!(a(">=1.0,<1.5").overlaps(&a(">1.4")));
        assert!(!a(">=1.0,<1.4").overlaps(&a(">1.4")));
        assert!(Allowed::parse("@ https://x").is_none());
    }

    #[test]
    fn specifier_part_skips_name_extras_and_markers() {
        assert_eq!(specifier_part("numpy<2"), "<2");
        assert_eq!(
            specifier_part("opencv-python[contrib]>=4.9 ; python_version>'3'"),
            ">=4.9"
        );
        assert_eq!(specifier_part("torch"), "");
    }
}
