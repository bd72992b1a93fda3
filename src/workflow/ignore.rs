//! `.cec/.comfydockignore`: glob patterns (one a line, `#` comments) naming workflows that
//! `workflow track --all` never tracks. A pattern matches the workflow's name or its file name
//! (`draft-*` and `draft-*.json` both work); `*` is any run of characters, `?` one character.

#[derive(Debug, Clone, Default)]
pub struct IgnoreList {
    patterns: Vec<Vec<char>>,
}

impl IgnoreList {
    pub fn parse(text: &str) -> Self {
        let patterns = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| l.chars().collect())
            .collect();
        IgnoreList { patterns }
    }

    /// Reads the file; a missing file ignores nothing.
    pub fn load(path: &std::path::Path) -> Self {
        std::fs::read_to_string(path)
            .map(|t| Self::parse(&t))
            .unwrap_or_default()
    }

    pub fn ignores(&self, name: &str) -> bool {
        let bare: Vec<char> = name.chars().collect();
        let file: Vec<char> = format!("{name}.json").chars().collect();
        self.patterns.iter().any(|p| glob(p, &bare) || glob(p, &file))
    }
}

/// `*`/`?` matching by the usual two-pointer walk with one backtrack point: linear, no recursion.
fn glob(pattern: &[char], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some('*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == '?' || text.get(t) == Some(&c) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern.get(p..).is_some_and(|rest| rest.iter().all(|&c| c == '*'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_names_and_file_names() {
        let list = IgnoreList::parse("# drafts\ndraft-*\n\n*.tmp.json\nexact\n");
        assert!(list.ignores("draft-1"));
        assert!(list.ignores("x.tmp"));
        assert!(list.ignores("exact"));
        assert!(!list.ignores("exactly"));
        assert!(!list.ignores("my draft"));
        assert!(IgnoreList::parse("a?c").ignores("abc"));
        assert!(IgnoreList::parse("*").ignores("anything"));
        assert!(!IgnoreList::default().ignores("x"));
    }
}
