//! The apply half of `unarchive`: the archive is read again and exactly the members the
//! plan found different are written (or only get their attributes); then directories get
//! their final attributes, deepest first, and the first directories of the listed members
//! the explicit ones.

use std::path::PathBuf;

use super::archive::{self, Flow, Kind, Member};
use super::state::{Need, Rules};
use super::{Step, Task, extract, paths};
use crate::fsutil::Attrs;
use crate::modules::{Action, Context, ModuleError, Outcome};

/// One line of the diff: what happens to a member.
pub(super) fn describe(name: &str, need: &Need) -> String {
    match need {
        Need::Nothing => format!("= {name}"),
        Need::Write("missing") => format!("+ {name}"),
        Need::Write(why) => format!("~ {name} ({why})"),
        Need::Attrs(a) => {
            let mut parts = Vec::new();
            if let Some(m) = a.mode {
                parts.push(format!("mode {}", crate::fsutil::mode_string(m)));
            }
            if let Some(u) = a.uid {
                parts.push(format!(
                    "owner {}",
                    crate::fsutil::id_name(crate::fsutil::Db::User, u)
                ));
            }
            if let Some(g) = a.gid {
                parts.push(format!(
                    "group {}",
                    crate::fsutil::id_name(crate::fsutil::Db::Group, g)
                ));
            }
            format!("~ {name} ({})", parts.join(", "))
        }
    }
}

/// Performs the plan: writes the members that differ, sets the attributes that differ.
pub(super) struct Extract {
    pub(super) task: Task,
    pub(super) rules: Rules,
    pub(super) steps: Vec<Step>,
    pub(super) top_dirs: Vec<(PathBuf, Attrs)>,
    pub(super) outcome: Outcome,
}

impl Extract {
    fn apply_member(
        &mut self,
        m: &Member,
        need: &Need,
        data: &mut dyn std::io::Read,
        dirs: &mut Vec<extract::PendingDir>,
    ) -> std::io::Result<()> {
        let rel = paths::relative(&m.name).map_err(std::io::Error::other)?;
        let path = self.task.dest.join(&rel);
        if let Need::Attrs(differ) = need {
            if m.kind == Kind::Dir {
                dirs.push(extract::PendingDir {
                    path,
                    attrs: *differ,
                    mtime: None,
                });
                return Ok(());
            }
            return extract::attrs(&path, &m.kind, *differ);
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let wanted = self.rules.wanted(m, None).map_err(std::io::Error::other)?;
        match &m.kind {
            Kind::File => extract::file(&path, data, wanted, m.mtime),
            Kind::Dir => {
                extract::dir(&path)?;
                dirs.push(extract::PendingDir {
                    path,
                    attrs: wanted,
                    mtime: Some(m.mtime),
                });
                Ok(())
            }
            Kind::Symlink(target) => extract::symlink(&path, target, wanted),
            Kind::HardLink(target) => {
                let target = paths::relative(target).map_err(std::io::Error::other)?;
                extract::hard_link(&path, &self.task.dest.join(target))
            }
        }
    }
}

impl Action for Extract {
    fn apply(mut self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let steps = std::mem::take(&mut self.steps);
        let mut next = steps.iter().peekable();
        let mut dirs = Vec::new();
        let mut index = 0usize;
        let source = self.task.source.clone();
        let handler = self.rules.handler;
        let umask = self.rules.umask;
        let mut failure = None;
        let walked = archive::walk(&source, handler, umask, &mut |m, data| {
            let i = index;
            index += 1;
            let Some(step) = next.next_if(|s| s.index == i) else {
                return Ok(if next.peek().is_none() {
                    Flow::Stop
                } else {
                    Flow::Continue
                });
            };
            if let Err(e) = self.apply_member(m, &step.need, data, &mut dirs) {
                failure = Some(format!("`{}`: {e}", m.name));
                return Ok(Flow::Stop);
            }
            Ok(Flow::Continue)
        });
        if let Some(f) = failure {
            return Err(self.task.failed(f));
        }
        walked.map_err(|e| self.task.failed(e))?;
        extract::finish_dirs(dirs).map_err(|e| self.task.failed(e))?;
        for (path, differ) in &self.top_dirs {
            crate::fsutil::set_attrs(path, *differ)
                .map_err(|e| ModuleError::io("cannot set attributes of", path.display(), e))?;
        }
        let mut outcome = self.outcome;
        outcome.msg = format!(
            "unpacked `{}` into `{}`",
            self.task.shown_src, self.task.shown_dest
        );
        crate::modules::path_info::add(&mut outcome.data, &self.task.dest);
        Ok(outcome)
    }
}
