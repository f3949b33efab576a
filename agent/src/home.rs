//! Home directories, and a leading `~` or `~user` expanded as Python's
//! `os.path.expanduser` does on POSIX (what Ansible applies to paths and arguments).

/// A user's home directory from the password database (`/etc/passwd`).
pub fn home_of(user: &str) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        (fields.first() == Some(&user) && fields.len() > 5).then(|| fields[5].to_owned())
    })
}

/// `path` with a leading `~` (the home `home` gives: `$HOME`, say) or `~user` (from the
/// password database) replaced; unchanged when there is none or the user is unknown.
pub fn expanduser(path: &str, home: impl FnOnce() -> Option<String>) -> String {
    let Some(rest) = path.strip_prefix('~') else {
        return path.to_owned();
    };
    let (user, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let found = if user.is_empty() {
        home()
    } else {
        home_of(user)
    };
    match found {
        Some(h) => {
            let h = if h == "/" {
                ""
            } else {
                h.trim_end_matches('/')
            };
            let joined = format!("{h}{tail}");
            if joined.is_empty() {
                "/".to_owned()
            } else {
                joined
            }
        }
        None => path.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tilde_forms_expand_as_pythons() {
        let home = || Some("/home/me/".to_owned());
        assert_eq!(expanduser("~", home), "/home/me");
        assert_eq!(expanduser("~/x", home), "/home/me/x");
        assert_eq!(expanduser("~root/.ssh", home), "/root/.ssh");
        assert_eq!(expanduser("~nosuchuser-dr/x", home), "~nosuchuser-dr/x");
        assert_eq!(expanduser("a/~", home), "a/~");
        assert_eq!(expanduser("~", || Some("/".into())), "/");
    }
}
