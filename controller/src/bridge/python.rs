//! The Python that runs the operator's `ansible`, found the way a shell finds Ansible:
//! dr.toml's `ansible_python`, else the interpreter named by the shebang of
//! `ansible-playbook` (then `ansible`) on `PATH`, else a `python3` that can `import ansible`.

use std::path::{Path, PathBuf};

/// Where dr looked, for the error when no ansible-core is found.
pub const SEARCHED: &str = "dr.toml's `ansible_python`, the shebang of `ansible-playbook` or `ansible` on PATH, and `python3 -c 'import ansible'`";

/// The Pythons to try, in order (the first that lists Ansible's modules wins): the
/// configured one only, else the interpreters of `ansible-playbook` and `ansible` on
/// `PATH` (a wrapper script's interpreter may lack ansible-core), then `python3`.
pub fn candidates(configured: Option<&Path>) -> Vec<PathBuf> {
    if let Some(p) = configured {
        return vec![p.to_path_buf()];
    }
    let mut all: Vec<PathBuf> = ["ansible-playbook", "ansible"]
        .iter()
        .filter_map(|tool| on_path(tool).and_then(|t| shebang(&t)))
        .collect();
    all.push(PathBuf::from("python3"));
    all.dedup();
    all
}

/// The first executable `name` on `PATH`.
fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The interpreter of a `#!` script: `#!/venv/bin/python3`, or `#!/usr/bin/env python3`
/// (then found on `PATH`).
fn shebang(script: &Path) -> Option<PathBuf> {
    use std::io::BufRead;
    let file = std::fs::File::open(script).ok()?;
    let mut first = String::new();
    std::io::BufReader::new(file).read_line(&mut first).ok()?;
    let line = first.strip_prefix("#!")?.trim();
    let mut words = line.split_whitespace();
    let program = words.next()?;
    if Path::new(program).file_name().is_some_and(|n| n == "env") {
        let name = words.find(|w| !w.starts_with('-'))?;
        return on_path(name).or_else(|| Some(PathBuf::from(name)));
    }
    Some(PathBuf::from(program))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shebangs_name_the_interpreter() {
        let dir = tempfile::tempdir().unwrap();
        let direct = dir.path().join("a");
        std::fs::write(&direct, "#!/opt/venv/bin/python3.11\nimport x\n").unwrap();
        assert_eq!(
            shebang(&direct),
            Some(PathBuf::from("/opt/venv/bin/python3.11"))
        );
        let env = dir.path().join("b");
        std::fs::write(&env, "#!/usr/bin/env -S python3-nonexistent-xyz\n").unwrap();
        assert_eq!(
            shebang(&env),
            Some(PathBuf::from("python3-nonexistent-xyz"))
        );
        let none = dir.path().join("c");
        std::fs::write(&none, "ELF").unwrap();
        assert_eq!(shebang(&none), None);
    }

    #[test]
    fn the_configured_python_is_the_only_candidate() {
        assert_eq!(
            candidates(Some(Path::new("/x/python"))),
            vec![PathBuf::from("/x/python")]
        );
        assert_eq!(candidates(None).last(), Some(&PathBuf::from("python3")));
    }
}
