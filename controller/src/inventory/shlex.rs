//! Python's `shlex.split(line, comments=True)` (POSIX mode), which Ansible's INI inventory
//! uses to cut a host line into the host and its `key=value` words.
//!
//! Quotes group and are removed (`a='x y'` is `a=x y`), a backslash escapes outside single
//! quotes, and an unquoted `#` starts a comment anywhere, even inside a word (`pw=a#b` is
//! `pw=a`).

/// One word, and the character index in the line where it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Word {
    pub text: String,
    pub start: usize,
}

/// Why a line cannot be split, with the character index of the culprit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SplitError {
    /// A quote opened at this index is never closed.
    NoClosingQuotation(usize),
    /// The line ends with a backslash at this index.
    NoEscapedCharacter(usize),
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Between,
    Word,
    Quote(char),
    Escape,
}

const WHITESPACE: &[char] = &[' ', '\t', '\r', '\n'];

/// Splits one line as `shlex.split(line, comments=True)` does.
pub(super) fn split(line: &str) -> Result<Vec<Word>, SplitError> {
    let chars: Vec<char> = line.chars().collect();
    let mut words = Vec::new();
    let mut state = State::Between;
    // The state a backslash returns to, and where the open quote and the backslash are.
    let mut escaped_from = State::Word;
    let (mut quote_at, mut escape_at) = (0, 0);
    let mut token = String::new();
    let mut start = 0;
    let mut i = 0;
    loop {
        let c = chars.get(i).copied();
        i += 1;
        match state {
            State::Between => match c {
                None => break,
                Some(c) if WHITESPACE.contains(&c) => {}
                Some('#') => break,
                Some('\\') => {
                    start = i - 1;
                    escape_at = i - 1;
                    escaped_from = State::Word;
                    state = State::Escape;
                }
                Some(q @ ('\'' | '"')) => {
                    start = i - 1;
                    quote_at = i - 1;
                    state = State::Quote(q);
                }
                Some(c) => {
                    start = i - 1;
                    token.push(c);
                    state = State::Word;
                }
            },
            State::Quote(q) => match c {
                None => return Err(SplitError::NoClosingQuotation(quote_at)),
                Some(c) if c == q => state = State::Word,
                Some('\\') if q == '"' => {
                    escaped_from = state;
                    escape_at = i - 1;
                    state = State::Escape;
                }
                Some(c) => token.push(c),
            },
            State::Escape => {
                let Some(c) = c else {
                    return Err(SplitError::NoEscapedCharacter(escape_at));
                };
                // In double quotes only the quote and the backslash itself are escaped.
                if let State::Quote(q) = escaped_from
                    && c != '\\'
                    && c != q
                {
                    token.push('\\');
                }
                token.push(c);
                state = escaped_from;
            }
            State::Word => match c {
                None => {
                    words.push(Word {
                        text: std::mem::take(&mut token),
                        start,
                    });
                    break;
                }
                Some(c) if WHITESPACE.contains(&c) || c == '#' => {
                    words.push(Word {
                        text: std::mem::take(&mut token),
                        start,
                    });
                    if c == '#' {
                        break;
                    }
                    state = State::Between;
                }
                Some(q @ ('\'' | '"')) => {
                    quote_at = i - 1;
                    state = State::Quote(q);
                }
                Some('\\') => {
                    escape_at = i - 1;
                    escaped_from = State::Word;
                    state = State::Escape;
                }
                Some(c) => token.push(c),
            },
        }
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(line: &str) -> Vec<String> {
        split(line).unwrap().into_iter().map(|w| w.text).collect()
    }

    #[test]
    fn quotes_group_and_vanish() {
        assert_eq!(texts(r#"h a="x y" b='c d'"#), ["h", "a=x y", "b=c d"]);
        assert_eq!(texts(r#"h pw="'03#pa33w0rd'""#), ["h", "pw='03#pa33w0rd'"]);
        assert_eq!(texts(r#"h e="" f=''"#), ["h", "e=", "f="]);
        assert_eq!(texts(r#""" x"#), ["", "x"]);
    }

    #[test]
    fn comments_start_at_any_unquoted_hash() {
        assert_eq!(texts("h a=1 # note"), ["h", "a=1"]);
        assert_eq!(texts("h w=x#y z=1"), ["h", "w=x"]);
        assert_eq!(texts(r"h w=x\#y"), ["h", "w=x#y"]);
    }

    #[test]
    fn backslashes_escape_outside_single_quotes() {
        assert_eq!(texts(r#"h a=\"b c=\\d"#), ["h", "a=\"b", "c=\\d"]);
        assert_eq!(texts(r#"h a="x\"y\z""#), ["h", r#"a=x"y\z"#]);
        assert_eq!(texts(r"h a='x\y'"), ["h", r"a=x\y"]);
    }

    #[test]
    fn words_know_where_they_start() {
        let words = split("h  a='x'  b=1").unwrap();
        assert_eq!(
            words.iter().map(|w| w.start).collect::<Vec<_>>(),
            [0, 3, 10]
        );
    }

    #[test]
    fn unclosed_quotes_and_trailing_backslashes_are_errors() {
        assert_eq!(split("h a='x"), Err(SplitError::NoClosingQuotation(4)));
        assert_eq!(split("h a=\\"), Err(SplitError::NoEscapedCharacter(4)));
    }
}
