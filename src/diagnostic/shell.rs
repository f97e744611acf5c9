//! Commands kotalc prints for a person to paste into a shell. A value from the inputs (a
//! directory, a name) could hold `$(...)`, `;` or a quote: each word is quoted for a POSIX
//! shell, so that pasting the command runs that command and nothing else.

use std::borrow::Cow;

/// `word` as one word for a POSIX shell: as it is when no character in it is special to a
/// shell, else in single quotes (a single quote in it as `'\''`).
pub fn quote(word: &str) -> Cow<'_, str> {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b));
    if plain {
        Cow::Borrowed(word)
    } else {
        Cow::Owned(format!("'{}'", word.replace('\'', r"'\''")))
    }
}

/// A command line from its words, each quoted.
pub fn command<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Commands joined by pipes, each quoted: `kubectl get ... | kotalc seal ...`.
pub fn pipeline<S: AsRef<str>>(commands: &[&[S]]) -> String {
    commands
        .iter()
        .map(|words| command(words))
        .collect::<Vec<_>>()
        .join(" | ")
}

/// `kotalc seal` for the Secret `name` in `namespace` (or a placeholder), then `rest`, as one
/// quoted command line: the start every printed seal command shares.
pub fn seal(namespace: Option<&str>, name: &str, rest: &[&str]) -> String {
    let mut words = vec![
        "kotalc",
        "seal",
        "--cert",
        "<controller.pem>",
        "--namespace",
        namespace.unwrap_or("<namespace>"),
        "--name",
        name,
    ];
    words.extend(rest);
    command(&words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_what_a_shell_would_interpret() {
        assert_eq!(quote("ipfs/peer-0.yaml"), "ipfs/peer-0.yaml");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("<controller.pem>"), "'<controller.pem>'");
        assert_eq!(
            quote("ipfs/$(touch${IFS}PWNED)"),
            "'ipfs/$(touch${IFS}PWNED)'"
        );
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(command(&["a b", "c"]), "'a b' c");
    }
}
