//! Which files a source holds and which reader each gets, by Ansible's rules.
//!
//! Ansible offers a file to its inventory plugins in turn: the `yaml` plugin takes `.yml`,
//! `.yaml`, `.json` and extension-less files, and the `ini` plugin any file but `.toml`
//! once `yaml` has failed. So an extension-less `hosts` in INI is INI, and a YAML file
//! stays YAML. A file that parses as a YAML mapping is read as a YAML inventory (its
//! errors are YAML errors); one that does not parse, or parses as a scalar or a list, is
//! read as INI. In a directory, every file is read, in name order and into
//! subdirectories, except hidden ones, `group_vars/`, `host_vars/`, `vars_plugins/` and
//! Ansible's ignored extensions (`INVENTORY_IGNORE_EXTS`).

use std::borrow::Cow;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use super::model::Inventory;
use super::{ini, source};
use crate::diagnostic::{Diagnostic, Loc};
use crate::secrets::Secrets;
use crate::yaml;

/// `INVENTORY_IGNORE_EXTS` (ansible-core's `REJECT_EXTS` plus `.orig`, `.cfg`, `.retry`).
const IGNORED_ENDINGS: &[&str] = &[
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
];

/// Directory entries Ansible never reads as inventory (`IGNORED_ALWAYS`).
const IGNORED_NAMES: &[&str] = &["host_vars", "group_vars", "vars_plugins"];

/// Deeper than this is taken for a symlink loop.
const MAX_DEPTH: usize = 32;

/// How a file is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// `.yml`, `.yaml`, `.json`: YAML, then INI.
    YamlFirst,
    /// No extension: YAML, then INI; when both fail, the reader that got further speaks.
    Either,
    /// Any other extension: INI only.
    Ini,
    /// `.toml`: Ansible's `toml` plugin, which dr does not have.
    Toml,
}

impl Format {
    fn of(path: &Path) -> Format {
        match path.extension().and_then(OsStr::to_str) {
            None if path.extension().is_none() => Format::Either,
            Some("yml" | "yaml" | "json") => Format::YamlFirst,
            Some("toml") => Format::Toml,
            _ => Format::Ini,
        }
    }
}

/// The inventory files of a source and the directory whose `group_vars/` apply.
pub(super) fn files_of(source: &Path) -> Result<(Vec<PathBuf>, PathBuf), Diagnostic> {
    let meta = std::fs::metadata(source).map_err(|e| Diagnostic::io(source, &e))?;
    if !meta.is_dir() {
        let base = source.parent().map(Path::to_path_buf).unwrap_or_default();
        return Ok((vec![source.to_path_buf()], base));
    }
    let mut files = Vec::new();
    walk(source, 0, &mut files)?;
    Ok((files, source.to_path_buf()))
}

fn walk(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), Diagnostic> {
    if depth > MAX_DEPTH {
        return Err(Diagnostic::new(
            Loc::file_start(dir),
            format!(
                "inventory directories nested over {MAX_DEPTH} deep at `{}` (a symlink loop?)",
                dir.display()
            ),
        ));
    }
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Diagnostic::io(dir, &e))?
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .filter(|name| !ignored(name))
        .collect();
    names.sort();
    for name in names {
        let path = dir.join(name);
        if path.is_dir() {
            walk(&path, depth + 1, out)?;
        } else if path.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

fn ignored(name: &OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with('.')
        || IGNORED_NAMES.contains(&name.as_ref())
        || IGNORED_ENDINGS.iter().any(|end| name.ends_with(end))
}

/// Reads one inventory file into `inv`, YAML or INI.
pub(super) fn read_file(
    inv: &mut Inventory,
    path: &Path,
    secrets: &Secrets,
) -> Result<(), Diagnostic> {
    let raw = crate::input_file::read(path)?;
    let decrypted = secrets.decrypt_if_vault(path, &raw)?;
    let vaulted = decrypted.is_some();
    let bytes: Cow<[u8]> = match decrypted {
        Some(text) => Cow::Owned(text.into_bytes()),
        None => Cow::Borrowed(&raw),
    };
    let format = Format::of(path);
    let yaml_error = match format {
        Format::Toml => {
            return Err(Diagnostic::new(
                Loc::file_start(path),
                format!(
                    "`{}` is a TOML inventory, which dr does not read",
                    path.display()
                ),
            )
            .with_help("write it as a YAML or INI inventory"));
        }
        Format::Ini => None,
        Format::YamlFirst | Format::Either => {
            match read_yaml(inv, path, &bytes, vaulted, secrets) {
                Ok(()) => return Ok(()),
                Err(YamlFailure::Fatal(d)) => return Err(d),
                Err(YamlFailure::NotMapping(d)) => Some(d),
            }
        }
    };
    if !vaulted && looks_encrypted(&raw) {
        // Read as INI, the armour's lines would be host names.
        return Err(Diagnostic::new(
            Loc::file_start(path),
            format!(
                "`{}` is vault-encrypted and no vault key was given",
                path.display()
            ),
        ));
    }
    match ini::read(inv, path, &bytes) {
        Ok(values) => {
            if vaulted {
                values.iter().for_each(|v| secrets.add_leaves(v));
            }
            Ok(())
        }
        Err(ini_error) => Err(explain(format, yaml_error, ini_error, &bytes)),
    }
}

enum YamlFailure {
    /// A YAML mapping with an error: a YAML inventory gone wrong, not an INI one.
    Fatal(Diagnostic),
    /// Not YAML, or YAML but not a mapping: INI gets its turn.
    NotMapping(Diagnostic),
}

fn read_yaml(
    inv: &mut Inventory,
    path: &Path,
    bytes: &[u8],
    vaulted: bool,
    secrets: &Secrets,
) -> Result<(), YamlFailure> {
    let text = std::str::from_utf8(bytes).map_err(|_| {
        YamlFailure::NotMapping(Diagnostic::new(
            Loc::file_start(path),
            format!("`{}` is not UTF-8 text", path.display()),
        ))
    })?;
    let node = yaml::parse_str(path, text).map_err(YamlFailure::NotMapping)?;
    if !node.is_null() && node.as_map().is_none() {
        // Say what the YAML reader would say about a non-mapping.
        let loc = node.loc.clone();
        let err = source::read_root(&mut Inventory::default(), node)
            .err()
            .unwrap_or_else(|| Diagnostic::new(loc, "not a YAML inventory"));
        return Err(YamlFailure::NotMapping(err));
    }
    if vaulted {
        secrets.add_leaves(&node.to_json());
    }
    source::read_root(inv, node).map_err(YamlFailure::Fatal)
}

fn looks_encrypted(bytes: &[u8]) -> bool {
    crate::vault::is_vault(bytes) || bytes.trim_ascii_start().starts_with(b"$ANSIBLE_VAULT;")
}

/// The error for a file neither reader took: for `.yml` files the YAML one; without an
/// extension, the one from the reader that got further (INI on a tie), noting the other.
fn explain(
    format: Format,
    yaml_error: Option<Diagnostic>,
    ini_error: Diagnostic,
    bytes: &[u8],
) -> Diagnostic {
    let chosen = match (format, yaml_error) {
        (Format::YamlFirst, Some(yaml)) => yaml,
        (Format::Either, Some(yaml)) if yaml.loc.line > ini_error.loc.line => {
            let note = format!("read as INI: {}", ini_error.message);
            yaml.with_related(ini_error.loc, note)
        }
        (Format::Either, Some(yaml)) => {
            let note = format!("read as YAML: {}", yaml.message);
            ini_error.with_related(yaml.loc, note)
        }
        (_, _) => ini_error,
    };
    if bytes.starts_with(b"#!") && chosen.help.is_none() {
        return chosen
            .with_help("this looks like a dynamic inventory script, which dr does not run");
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_follow_the_extension() {
        assert_eq!(Format::of(Path::new("hosts")), Format::Either);
        assert_eq!(Format::of(Path::new(".hosts")), Format::Either);
        assert_eq!(Format::of(Path::new("a/hosts.yml")), Format::YamlFirst);
        assert_eq!(Format::of(Path::new("hosts.json")), Format::YamlFirst);
        assert_eq!(Format::of(Path::new("hosts.YML")), Format::Ini);
        assert_eq!(Format::of(Path::new("hosts.ini")), Format::Ini);
        assert_eq!(Format::of(Path::new("hosts.toml")), Format::Toml);
    }

    #[test]
    fn ignored_entries_are_ansibles() {
        for name in [
            ".git",
            "group_vars",
            "host_vars",
            "x.retry",
            "hosts~",
            "README.md",
            "a.cfg",
        ] {
            assert!(ignored(OsStr::new(name)), "{name}");
        }
        for name in ["hosts", "prod.ini", "web.yml", "inventory.sh"] {
            assert!(!ignored(OsStr::new(name)), "{name}");
        }
    }
}
