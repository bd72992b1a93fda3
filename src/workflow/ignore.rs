//! `.cec/.comfydockignore`: glob patterns (one a line, `#` comments) naming workflows that
//! `workflow track --all` never tracks. A pattern matches the workflow's name or its file name
//! (`draft-*` and `draft-*.json` both work); `*` is any run of characters, `?` one character,
//! every other character itself. Matched by `globset`, as ripgrep matches its globs.

#[derive(Debug, Clone, Default)]
pub struct IgnoreList {
    patterns: globset::GlobSet,
}

impl IgnoreList {
    pub fn parse(text: &str) -> Self {
        let mut set = globset::GlobSetBuilder::new();
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            // Only `*` and `?` are special, as documented: any other character (`[`, `{`, `\`)
            // is itself, so a name with brackets is matched as written.
            let pattern: String = line
                .chars()
                .map(|c| match c {
                    '*' | '?' => c.to_string(),
                    other => globset::escape(&other.to_string()),
                })
                .collect();
            if let Ok(glob) = globset::GlobBuilder::new(&pattern)
                .literal_separator(false)
                .backslash_escape(false)
                .build()
            {
                set.add(glob);
            }
        }
        IgnoreList {
            patterns: set.build().unwrap_or_else(|_| globset::GlobSet::empty()),
        }
    }

    /// Reads the file; a missing file ignores nothing.
    pub fn load(path: &std::path::Path) -> Self {
        fs_err::read_to_string(path)
            .map(|t| Self::parse(&t))
            .unwrap_or_default()
    }

    pub fn ignores(&self, name: &str) -> bool {
        self.patterns.is_match(name) || self.patterns.is_match(format!("{name}.json"))
    }
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

    #[test]
    fn only_star_and_question_mark_are_special() {
        assert!(IgnoreList::parse("[draft]*").ignores("[draft] portrait"));
        assert!(!IgnoreList::parse("[draft]*").ignores("d portrait"));
        assert!(IgnoreList::parse("{a,b}").ignores("{a,b}"));
        assert!(!IgnoreList::parse("{a,b}").ignores("a"));
        assert!(IgnoreList::parse("a\\b").ignores("a\\b"));
        assert!(IgnoreList::parse("*x*y*").ignores("aaxbbycc"));
        assert!(!IgnoreList::parse("*x*y*").ignores("aaybbxcc"));
    }
}
