//! `attributes` (`attr`): a file's `chattr` flags, read with `lsattr -d` and set with
//! `chattr`, as Ansible's `set_attributes_if_different`: `A` sets exactly these flags,
//! `+A` adds and `-A` removes them; a change when the flags differ from what is asked
//! (and always for `-`, as Ansible counts it); `''` asks nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::Change;
use crate::diff;
use crate::modules::{ModuleError, bin_path, hostcmd};
use crate::wire::Diff;

/// Plans `chattr` for `path` (which `exists`, or is created by an earlier change).
pub(super) fn plan(
    path: &Path,
    exists: bool,
    attributes: Option<&str>,
    changes: &mut Vec<Change>,
    diffs: &mut Vec<Diff>,
) -> Result<(), ModuleError> {
    let Some(asked) = attributes else {
        return Ok(());
    };
    let (op, flags) = match asked.chars().next() {
        Some(c @ ('+' | '-')) => (c, &asked[1..]),
        _ => ('=', asked),
    };
    if flags.is_empty() {
        return Ok(());
    }
    let current = if exists {
        flags_of(path)
    } else {
        String::new()
    };
    if current == flags && op != '-' {
        return Ok(());
    }
    let shown = path.display().to_string();
    diffs.push(diff::line(
        &shown,
        "attributes",
        &current,
        &format!("{op}{flags}"),
    ));
    changes.push(Change::Chattr(PathBuf::from(path), format!("{op}{flags}")));
    Ok(())
}

/// The flags `lsattr -d` shows, without dashes; empty when it cannot tell.
fn flags_of(path: &Path) -> String {
    let Ok(lsattr) = bin_path::find("lsattr") else {
        return String::new();
    };
    match hostcmd::run(Command::new(lsattr).arg("-d").arg(path), "`lsattr`") {
        Ok(ran) if ran.ok() => ran
            .stdout
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .replace('-', ""),
        _ => String::new(),
    }
}

/// Runs `chattr ARG path`; its complaint fails the task (Ansible's `chattr failed`).
pub(super) fn set(path: &Path, arg: &str) -> Result<(), ModuleError> {
    let chattr = bin_path::find("chattr").map_err(ModuleError::Failed)?;
    let ran = hostcmd::run(Command::new(chattr).arg(arg).arg(path), "`chattr`")?;
    if !ran.ok() || !ran.stderr.trim().is_empty() {
        return Err(ModuleError::Failed(format!(
            "chattr failed: Error while setting attributes: {}{}",
            ran.stdout, ran.stderr
        )));
    }
    Ok(())
}
