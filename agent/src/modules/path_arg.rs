//! Arguments Ansible declares `type='path'` (`stat`'s `path`, `slurp`'s `src`): `$NAME`
//! and `${NAME}` expanded from the module's environment, then a leading `~` or `~user`.

use super::accounts;

/// `path` as Ansible's `type='path'` hands it to a module: `os.path.expanduser(
/// os.path.expandvars(path))`, where the environment is the agent's plus the task's
/// `environment:` (which wins). Unknown variables and users stay as written.
pub(super) fn expand(path: &str, environment: &[(String, String)]) -> String {
    let var = |name: &str| env_var(environment, name);
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let (name, consumed) = match after.strip_prefix('{') {
            Some(braced) => match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            },
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        match var(name).filter(|_| !name.is_empty()) {
            Some(value) => out.push_str(&value),
            None => out.push_str(&rest[i..i + 1 + consumed]),
        }
        rest = &rest[i + 1 + consumed..];
    }
    out.push_str(rest);
    let Some(tail) = out.strip_prefix('~') else {
        return out;
    };
    let (user, tail) = tail.split_at(tail.find('/').unwrap_or(tail.len()));
    let home = if user.is_empty() {
        var("HOME")
    } else {
        accounts::user_named(user).map(|u| u.home)
    };
    match home {
        Some(home) => {
            let joined = format!("{}{tail}", home.trim_end_matches('/'));
            if joined.is_empty() {
                "/".into()
            } else {
                joined
            }
        }
        None => out,
    }
}

/// A variable of the module's environment: the task's `environment:` (the last entry
/// wins), else the agent's.
pub(super) fn env_var(environment: &[(String, String)], name: &str) -> Option<String> {
    environment
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var(name).ok())
}

#[cfg(test)]
mod tests {
    use super::expand;

    #[test]
    fn expands_variables_then_the_home_directory() {
        let env = vec![
            ("HOME".to_owned(), "/home/op/".to_owned()),
            ("APP".to_owned(), "akira".to_owned()),
        ];
        assert_eq!(expand("~/x/$APP.env", &env), "/home/op/x/akira.env");
        assert_eq!(
            expand("/opt/${APP}/$NOPE_DR_X", &env),
            "/opt/akira/$NOPE_DR_X"
        );
        assert_eq!(expand("~root/.profile", &env), "/root/.profile");
        assert_eq!(expand("~nobody-dr-x/a", &env), "~nobody-dr-x/a");
        assert_eq!(expand("/a/$", &env), "/a/$");
    }
}
