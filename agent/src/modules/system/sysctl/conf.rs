//! A sysctl file (`/etc/sysctl.conf`) read and rewritten as ansible.posix's `sysctl`
//! module does (`read_sysctl_file` and `fix_lines` in `plugins/modules/sysctl.py`).

/// The file's lines, stripped, and the value each key has (its last assignment wins).
pub(super) struct Conf {
    lines: Vec<String>,
}

/// Whether a stripped line is a comment, blank, or holds no `=`: kept as it is.
fn passive(line: &str) -> bool {
    line.is_empty() || line.starts_with(['#', ';']) || !line.contains('=')
}

/// `key=value` of an assignment line, both sides stripped.
fn split(line: &str) -> Option<(&str, &str)> {
    if passive(line) {
        return None;
    }
    line.split_once('=').map(|(k, v)| (k.trim(), v.trim()))
}

impl Conf {
    /// Parses the file's text (every line stripped, as the module reads it).
    pub(super) fn parse(text: &str) -> Conf {
        Conf {
            lines: text.lines().map(|l| l.trim().to_owned()).collect(),
        }
    }

    /// The value `key` has in the file: its last assignment, as the module's dict keeps.
    pub(super) fn value(&self, key: &str) -> Option<&str> {
        self.lines
            .iter()
            .filter_map(|l| split(l))
            .filter(|(k, _)| *k == key)
            .map(|(_, v)| v)
            .next_back()
    }

    /// The file rewritten with `key` set to `value` (`None`: removed). As the module does,
    /// every assignment is normalised to `key=value`, only the first assignment of each key
    /// is kept, and a new key goes at the end; every line ends with a newline.
    pub(super) fn rewrite(&self, key: &str, value: Option<&str>) -> String {
        let mut seen: Vec<&str> = Vec::new();
        let mut out = String::new();
        for line in &self.lines {
            let Some((k, v)) = split(line) else {
                out.push_str(line);
                out.push('\n');
                continue;
            };
            if seen.contains(&k) {
                continue;
            }
            seen.push(k);
            let v = if k == key { value } else { Some(v) };
            if let Some(v) = v {
                out.push_str(&format!("{k}={v}\n"));
            }
        }
        if let Some(v) = value.filter(|_| !seen.contains(&key)) {
            out.push_str(&format!("{key}={v}\n"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::Conf;

    #[test]
    fn last_assignment_is_the_value_first_is_rewritten() {
        let c = Conf::parse("# c\n vm.a = 1 \n;x\nnoeq\nvm.a=2\nvm.b= 3\n");
        assert_eq!(c.value("vm.a"), Some("2"));
        assert_eq!(c.value("vm.c"), None);
        assert_eq!(
            c.rewrite("vm.a", Some("5")),
            "# c\nvm.a=5\n;x\nnoeq\nvm.b=3\n"
        );
        assert_eq!(c.rewrite("vm.a", None), "# c\n;x\nnoeq\nvm.b=3\n");
        assert_eq!(
            c.rewrite("vm.c", Some("x y")),
            "# c\nvm.a=1\n;x\nnoeq\nvm.b=3\nvm.c=x y\n"
        );
    }
}
