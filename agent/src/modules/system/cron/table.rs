//! A crontab's lines and the edits Ansible's `cron` module makes to them (its `CronTab`
//! class, rule for rule: jobs under a `#Ansible: NAME` comment, environment lines
//! `NAME="value"`).

/// The comment a managed job sits under.
const MARK: &str = "#Ansible: ";

/// A crontab being edited.
#[derive(Debug, Clone)]
pub(super) struct Table {
    pub lines: Vec<String>,
}

impl Table {
    /// Splits `text` into lines as Python's `str.splitlines` does for crontabs.
    pub fn parse(text: &str) -> Table {
        Table {
            lines: split_lines(text),
        }
    }

    /// The text written back: the lines joined, ending in one newline (empty when empty).
    pub fn render(&self) -> String {
        let joined = self.lines.join("\n");
        if joined.is_empty() {
            return joined;
        }
        format!("{}\n", joined.trim_end_matches(['\r', '\n']))
    }

    /// Whether only blank lines are left.
    pub fn is_empty(&self) -> bool {
        self.lines.iter().all(|l| l.trim().is_empty())
    }

    fn comment(name: &str) -> String {
        format!("{MARK}{name}")
    }

    /// The job named `name`: `[comment, job]`; with `job`, an unnamed identical line is
    /// adopted (its comment inserted or renamed) and reported with a third element, as
    /// Ansible's `find_job` does.
    pub fn find_job(&mut self, name: &str, job: Option<&str>) -> Vec<String> {
        let mut comment: Option<String> = None;
        for l in &self.lines {
            if let Some(c) = &comment {
                if c == name {
                    return vec![c.clone(), l.clone()];
                }
                comment = None;
            } else if l.starts_with(MARK) {
                comment = Some(l.replace(MARK, ""));
            }
        }
        let Some(job) = job else {
            return Vec::new();
        };
        for i in 0..self.lines.len() {
            if self.lines[i] != job {
                continue;
            }
            // Python's lines[i - 1] is the last line when i is 0.
            let prev = if i == 0 { self.lines.len() - 1 } else { i - 1 };
            if !self.lines[prev].starts_with(MARK) {
                self.lines.insert(i, Self::comment(name));
                return vec![self.lines[i].clone(), job.to_owned(), "adopted".into()];
            }
            if !name.is_empty() && self.lines[prev] == Self::comment("None") {
                self.lines[prev] = Self::comment(name);
                return vec![self.lines[prev].clone(), job.to_owned(), "adopted".into()];
            }
        }
        Vec::new()
    }

    pub fn add_job(&mut self, name: &str, job: &str) {
        self.lines.push(Self::comment(name));
        self.lines.push(job.to_owned());
    }

    /// Replaces (with `Some(job)`) or removes the job under `name`'s comment.
    pub fn update_job(&mut self, name: &str, job: Option<&str>) {
        let marker = Self::comment(name);
        let mut out = Vec::with_capacity(self.lines.len());
        let mut comment: Option<String> = None;
        for l in self.lines.drain(..) {
            if let Some(c) = comment.take() {
                if let Some(job) = job {
                    out.push(c);
                    out.push(job.to_owned());
                }
            } else if l == marker {
                comment = Some(l);
            } else {
                out.push(l);
            }
        }
        self.lines = out;
    }

    /// The line declaring `name`: its index and text.
    pub fn find_env(&self, name: &str) -> Option<(usize, String)> {
        let prefix = format!("{name}=");
        self.lines
            .iter()
            .position(|l| l.starts_with(&prefix))
            .map(|i| (i, self.lines[i].clone()))
    }

    /// Inserts `decl` first, or after/before the declaration of another variable.
    pub fn add_env(
        &mut self,
        decl: &str,
        after: Option<&str>,
        before: Option<&str>,
    ) -> Result<(), String> {
        let Some(other) = after.or(before) else {
            self.lines.insert(0, decl.to_owned());
            return Ok(());
        };
        let Some((i, _)) = self.find_env(other) else {
            return Err(format!("Variable named '{other}' not found."));
        };
        let at = if after.is_some() { i + 1 } else { i };
        self.lines.insert(at, decl.to_owned());
        Ok(())
    }

    /// Replaces (with `Some(decl)`) or removes every declaration of `name`.
    pub fn update_env(&mut self, name: &str, decl: Option<&str>) {
        let prefix = format!("{name}=");
        let lines = std::mem::take(&mut self.lines);
        for l in lines {
            if l.starts_with(&prefix) {
                if let Some(d) = decl {
                    self.lines.push(d.to_owned());
                }
            } else {
                self.lines.push(l);
            }
        }
    }

    /// Names of the managed jobs.
    pub fn job_names(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter(|l| l.starts_with(MARK))
            .map(|l| l.replace(MARK, ""))
            .collect()
    }

    /// Names of the variables declared (`NAME=...` lines without spaces before `=`).
    pub fn env_names(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter(|l| {
                // `^\S+=`: an `=` after at least one character, with no space before it.
                let end = l.find(char::is_whitespace).unwrap_or(l.len());
                l[..end].char_indices().any(|(k, c)| k > 0 && c == '=')
            })
            .map(|l| l.split('=').next().unwrap_or_default().to_owned())
            .collect()
    }
}

/// Python's `str.splitlines` for the separators crontabs hold (`\n`, `\r\n`, `\r`).
pub(super) fn split_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        match rest.find(['\n', '\r']) {
            Some(i) => {
                out.push(rest[..i].to_owned());
                let skip = if rest[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = &rest[i + skip..];
            }
            None => {
                out.push(rest.to_owned());
                break;
            }
        }
    }
    out
}
