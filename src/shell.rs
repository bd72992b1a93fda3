//! Commands comfydock suggests to the user (`comfydock workflow sync 'my flow'`) are pasted into
//! a shell: names and paths in them are quoted when a shell would split or expand them.

use std::borrow::Cow;

/// `text` as one shell word: unchanged when it is plain, else in single quotes (a `'` inside
/// becomes `'\''`).
pub fn quote(text: &str) -> Cow<'_, str> {
    let plain = !text.is_empty()
        && text.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/' | ':' | '@' | '+' | '=' | ',' | '%')
        });
    if plain {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(format!("'{}'", text.replace('\'', r"'\''")))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn words_a_shell_would_split_are_quoted() {
        assert_eq!(super::quote("portrait-flow_2.json"), "portrait-flow_2.json");
        assert_eq!(super::quote("my flow"), "'my flow'");
        assert_eq!(super::quote("it's $HOME"), r"'it'\''s $HOME'");
        assert_eq!(super::quote(""), "''");
    }
}
