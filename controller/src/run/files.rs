//! Controller-side files a play needs (`copy: src=`, `template: src=`), read once and shipped
//! inside the request (one round trip per node).
//!
//! A source is read once per run, not once per host: every node's request shares the same
//! buffer ([`read_shared`]), and the local connection's `copy` writes from it directly.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};

use dr_agent::wire::{FileContent, Task};
use serde_json::Value;

use super::render_vars::RenderVars;
use crate::secrets::Secrets;

/// Finds and reads the `src` files of `tasks` (and handlers). A `src` that is a template is
/// rendered with `vars` (and each literal loop item) first. Missing files are left out: the
/// agent then fails that task with a message naming the file. A vault-encrypted source is
/// shipped decrypted, as Ansible's action plugins do (`copy`'s and `script`'s unless
/// `decrypt: false`); its plaintext is a secret.
pub fn collect(
    tasks: &[&Task],
    vars: &RenderVars,
    playbook_dir: &Path,
    secrets: &Secrets,
) -> BTreeMap<String, FileContent> {
    let mut files = BTreeMap::new();
    for task in tasks {
        let sub = match task.module.as_str() {
            "copy" | "script" => "files",
            "template" => "templates",
            "unarchive" if !unarchive_ships_src(task) => continue,
            "unarchive" => "files",
            "uri" if uri_remote_src(task) => continue,
            "uri" => "files",
            _ => continue,
        };
        let sources = match task.module.as_str() {
            "uri" => uri_sources(task),
            _ => source_of(task).into_iter().collect(),
        };
        let candidates = sources
            .iter()
            .flat_map(|src| rendered_srcs(src, task, vars));
        for candidate in candidates {
            let key = match keeps_vault(task) {
                true => dr_agent::wire::as_written_key(&candidate),
                false => candidate.clone(),
            };
            if files.contains_key(&key) {
                continue;
            }
            let Some(path) = find(&candidate, sub, task, playbook_dir) else {
                continue;
            };
            // A source the run cannot decrypt is left out: the task asks for it when it
            // runs (`read_now`) and fails with why, as Ansible's task fails. A directory
            // is read when the task runs (`read_tree_now`), as Ansible's copy action reads
            // it: an earlier task may change it on the controller.
            if path.is_dir() {
                continue;
            } else if let Some(bytes) = read_shared(&path)
                && let Ok(bytes) = opened(bytes, &path, task, secrets)
            {
                files.insert(key, shipped(bytes, &path, sub, task, playbook_dir));
            }
        }
    }
    files
}

/// Whether `task` keeps a vault-encrypted source as written (`decrypt: false`).
fn keeps_vault(task: &Task) -> bool {
    task.args
        .get("decrypt")
        .and_then(dr_agent::modules::json_bool)
        == Some(false)
}

/// `bytes` (read from `path` for `task`) as the module gets them: a vault file decrypted
/// (its plaintext a secret from then on), unless the task says `decrypt: false`.
/// `unarchive` refuses a vault-encrypted archive itself.
fn opened(
    bytes: Arc<[u8]>,
    path: &Path,
    task: &Task,
    secrets: &Secrets,
) -> Result<Arc<[u8]>, String> {
    let keep = task.module == "unarchive" || keeps_vault(task);
    if keep || !bytes.starts_with(b"$ANSIBLE_VAULT;") {
        return Ok(bytes);
    }
    match secrets.decrypt_if_vault(path, &bytes) {
        Ok(Some(plain)) => {
            secrets.add(&plain);
            Ok(Arc::from(plain.into_bytes()))
        }
        Ok(None) => Ok(bytes),
        // Ansible's words when no password was given.
        Err(e) if e.message.contains("no vault key") => Err(format!(
            "A vault password or secret must be specified to decrypt {}",
            std::path::absolute(path)
                .unwrap_or_else(|_| path.to_path_buf())
                .display()
        )),
        Err(e) => Err(format!(
            "cannot decrypt `{}`: {}",
            path.display(),
            e.message
        )),
    }
}

/// The `copy` (`sub` = `files`) or `template` (`templates`) source `src` of `task`, read
/// while the play runs (a file an earlier task wrote, unknown before the run), as the agent
/// takes it.
pub fn read_now(
    src: &str,
    sub: &str,
    task: &Task,
    playbook_dir: &Path,
    secrets: &Secrets,
) -> Result<Vec<Value>, String> {
    let path = find(src, sub, task, playbook_dir).ok_or_else(|| {
        format!("no such file on the controller (looked in `{sub}/` and beside the play)")
    })?;
    if path.is_dir() {
        // Shipped with the request unless a file inside could not be decrypted: say which.
        let mut scratch = BTreeMap::new();
        ship_tree(&mut scratch, src, &path, task, playbook_dir, secrets)?;
        return Err(format!("`{}` is a directory", path.display()));
    }
    let bytes = read_shared(&path).ok_or_else(|| format!("cannot read `{}`", path.display()))?;
    let bytes = opened(bytes, &path, task, secrets)?;
    let file = shipped(bytes, &path, sub, task, playbook_dir);
    let value = serde_json::to_value(&file).map_err(|e| e.to_string())?;
    Ok(vec![value])
}

/// The `copy` source `src` of `task` when it is a controller directory, read while the
/// play runs: its listing (a [`FileContent::tree`]), then each of its files with the key
/// it is known by (`src/RELATIVE`) under `key`. Nothing when `src` is no directory.
pub fn read_tree_now(
    src: &str,
    task: &Task,
    playbook_dir: &Path,
    secrets: &Secrets,
) -> Result<Vec<Value>, String> {
    let Some(path) = find(src, "files", task, playbook_dir).filter(|p| p.is_dir()) else {
        return Ok(Vec::new());
    };
    let mut files = BTreeMap::new();
    ship_tree(&mut files, src, &path, task, playbook_dir, secrets)?;
    let listing = files
        .remove(src)
        .ok_or_else(|| format!("`{}` has no listing", path.display()))?;
    let mut out = vec![serde_json::to_value(&listing).map_err(|e| e.to_string())?];
    for (key, file) in files {
        let mut value = serde_json::to_value(&file).map_err(|e| e.to_string())?;
        if let Value::Object(map) = &mut value {
            map.insert("key".into(), Value::String(key));
        }
        out.push(value);
    }
    Ok(out)
}

/// A `copy` source directory: its listing under `src`, each file under `src/RELATIVE`,
/// walked as Ansible's copy action walks it with `local_follow` (the default) and, when it
/// holds symlinks, without (`local_follow: false`, [`TreeListing::no_follow`]); the agent
/// picks one when it renders the task's arguments.
fn ship_tree(
    files: &mut BTreeMap<String, FileContent>,
    src: &str,
    dir: &Path,
    task: &Task,
    playbook_dir: &Path,
    secrets: &Secrets,
) -> Result<(), String> {
    let mut listing = dr_agent::wire::TreeListing::default();
    let links = walk(dir, "", &mut listing, &mut Vec::new(), true);
    if links {
        let mut own = dr_agent::wire::TreeListing::default();
        walk(dir, "", &mut own, &mut Vec::new(), false);
        listing.no_follow = Some(Box::new(own));
    }
    let prefix = src.trim_end_matches('/');
    let mut tree = Vec::with_capacity(listing.files.len());
    for rel in &listing.files {
        let path = dir.join(rel);
        if let Some(bytes) = read_shared(&path) {
            let bytes = opened(bytes, &path, task, secrets)?;
            let key = format!("{prefix}/{rel}");
            tree.push((key, shipped(bytes, &path, "files", task, playbook_dir)));
        }
    }
    files.extend(tree);
    let origin = dir.display().to_string();
    files.insert(src.to_owned(), FileContent::tree(&listing, origin));
    Ok(())
}

/// Lists `dir` into `listing` (paths relative to the top, under `rel`), parents first, as
/// Ansible's `_walk_dirs`: with `follow`, a symlink to a file is that file and one to a
/// directory is walked, unless it points back to a directory being walked (`parents`);
/// without, every symlink is kept as a link. A link that points nowhere is kept either way.
/// Files come in Ansible's order (`os.walk`): a directory's own first, then those under
/// the directories its links lead to, then those of its subdirectories; names sorted
/// within each. Returns whether it met a symlink.
fn walk(
    dir: &Path,
    rel: &str,
    listing: &mut dr_agent::wire::TreeListing,
    parents: &mut Vec<(u64, u64)>,
    follow: bool,
) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(meta) = std::fs::metadata(dir) else {
        return false;
    };
    let id = (meta.dev(), meta.ino());
    if parents.contains(&id) {
        return false;
    }
    parents.push(id);
    let Ok(entries) = std::fs::read_dir(dir) else {
        parents.pop();
        return false;
    };
    let mut met_link = false;
    let mut names: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    names.sort();
    // Directories to walk once this one's files are listed: linked ones first.
    let (mut linked, mut plain) = (Vec::new(), Vec::new());
    for name in names {
        let name = name.to_string_lossy();
        let child = dir.join(name.as_ref());
        let child_rel = if rel.is_empty() {
            name.to_string()
        } else {
            format!("{rel}/{name}")
        };
        let is_link = std::fs::symlink_metadata(&child).is_ok_and(|m| m.is_symlink());
        met_link |= is_link;
        let keep_link = |listing: &mut dr_agent::wire::TreeListing| {
            if let Ok(target) = std::fs::read_link(&child) {
                listing.links.push(dr_agent::wire::TreeLink {
                    path: child_rel.clone(),
                    target: target.to_string_lossy().into_owned(),
                });
            }
        };
        match std::fs::metadata(&child) {
            _ if is_link && !follow => keep_link(listing),
            Ok(m) if m.is_dir() && parents.contains(&(m.dev(), m.ino())) => keep_link(listing),
            Ok(m) if m.is_dir() => {
                listing.dirs.push(child_rel.clone());
                if is_link { &mut linked } else { &mut plain }.push((child, child_rel));
            }
            Ok(m) if m.is_file() => listing.files.push(child_rel),
            Err(_) if is_link => keep_link(listing),
            _ => {}
        }
    }
    for (child, child_rel) in linked.into_iter().chain(plain) {
        met_link |= walk(&child, &child_rel, listing, parents, follow);
    }
    parents.pop();
    met_link
}

/// The controller file at `path` as the agent gets it: with its metadata (owner, mtime and
/// mode: `mode: preserve`), and for a template (`sub` = `templates`) the templates it names.
fn shipped(
    bytes: Arc<[u8]>,
    path: &Path,
    sub: &str,
    task: &Task,
    playbook_dir: &Path,
) -> FileContent {
    if sub == "templates" {
        let file = FileContent::new(bytes, path.display().to_string());
        return as_template(file, path, task, playbook_dir);
    }
    // Absolute, as Ansible names the file it found (a `copy` diff's `after_header`).
    let origin = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let file = FileContent::new(bytes, origin.display().to_string());
    match crate::host_info::file_meta(path) {
        Some(meta) => file.with_meta(meta),
        None => file,
    }
}

/// A template source with where it lives and the templates it names.
fn as_template(
    mut file: FileContent,
    path: &Path,
    task: &Task,
    playbook_dir: &Path,
) -> FileContent {
    if let Some(meta) = crate::host_info::file_meta(path) {
        file = file.with_meta(meta);
    }
    let Ok(text) = file.text() else {
        return file;
    };
    let templates = super::template_includes::gather(
        text,
        path,
        task,
        playbook_dir,
        super::template_includes::Searcher::Module,
    );
    file.with_templates(templates)
}

/// Whether an `unarchive` task's `src` is a controller file: not with `remote_src: true`
/// (or the deprecated `copy: false`), nor for a URL.
fn unarchive_ships_src(task: &Task) -> bool {
    let flag = |key: &str| task.args.get(key).and_then(dr_agent::modules::json_bool);
    let remote = flag("remote_src") == Some(true) || flag("copy") == Some(false);
    let url = task
        .args
        .get("src")
        .and_then(Value::as_str)
        .is_some_and(|s| s.contains("://"));
    !remote && !url
}

/// Whether a `uri` task's files are on the host (`remote_src: true`).
fn uri_remote_src(task: &Task) -> bool {
    task.args
        .get("remote_src")
        .and_then(dr_agent::modules::json_bool)
        == Some(true)
}

/// The controller files a `uri` task sends, as its action plugin finds them: `src`, or
/// with `body_format: form-multipart` each field's `filename` that has no `content`.
fn uri_sources(task: &Task) -> Vec<String> {
    if let Some(src) = task.args.get("src").and_then(Value::as_str) {
        return vec![src.to_owned()];
    }
    let multipart = task.args.get("body_format").and_then(Value::as_str) == Some("form-multipart");
    let Some(Value::Object(fields)) = task.args.get("body").filter(|_| multipart) else {
        return Vec::new();
    };
    fields
        .values()
        .filter_map(Value::as_object)
        .filter(|f| f.get("content").is_none_or(|c| c.is_null() || c == ""))
        .filter_map(|f| f.get("filename").and_then(Value::as_str))
        .map(str::to_owned)
        .collect()
}

/// The controller file a task reads: `src`, or for `script` the first word of its line.
fn source_of(task: &Task) -> Option<String> {
    if task.module != "script" {
        return task
            .args
            .get("src")
            .and_then(Value::as_str)
            .map(str::to_owned);
    }
    let line = match &task.args {
        Value::String(s) => s.as_str(),
        Value::Object(m) => m
            .get("_raw_params")
            .or_else(|| m.get("cmd"))
            .and_then(Value::as_str)?,
        _ => return None,
    };
    dr_agent::modules::shell_split(line.trim())
        .ok()?
        .into_iter()
        .next()
}

fn rendered_srcs(src: &str, task: &Task, vars: &RenderVars) -> Vec<String> {
    if !src.contains("{{") {
        return vec![src.to_owned()];
    }
    // Rendered as the agent will: with the task's vars, and for each loop item, whether
    // the loop is written out or comes from a variable (`loop: "{{ names }}"`).
    let templater = dr_agent::template::Templater::new();
    let mut base = vars.get().clone();
    base.extend(task.vars.clone());
    let loop_var = task.loop_var.clone().unwrap_or_else(|| "item".into());
    let scope = templater.scope(base.clone());
    let items: Vec<Value> = match (&task.loop_, &task.loop_with) {
        (Some(raw), Some(lookup)) => scope
            .render_value(raw)
            .ok()
            .and_then(|terms| {
                templater
                    .loop_lookup(lookup, terms, task.written_module(), &scope)
                    .ok()
            })
            .unwrap_or_default(),
        (Some(raw), None) => match scope.render_value(raw) {
            Ok(Value::Array(items)) => items,
            _ => Vec::new(),
        },
        (None, _) => vec![Value::Null],
    };
    let mut out = Vec::new();
    for item in items {
        let mut ctx = base.clone();
        ctx.insert(loop_var.clone(), item);
        let raw = std::iter::once(loop_var.clone()).collect();
        let rendered = templater.scope_with_raw(ctx, raw).render_string(src);
        if let Ok(text) = rendered
            && !text.is_empty()
            && !out.contains(&text)
        {
            out.push(text);
        }
    }
    out
}

/// Ansible's search path: next to the task file and the playbook, in `files/` or
/// `templates/` and then directly.
fn find(src: &str, sub: &str, task: &Task, playbook_dir: &Path) -> Option<PathBuf> {
    // `copy` takes a directory too (copied recursively).
    let found = |p: &Path| p.is_file() || (task.module == "copy" && p.is_dir());
    // As Ansible's loader: `~` and `~user` are the controller user's and that user's home.
    if src.starts_with('~') {
        let path = PathBuf::from(dr_agent::home::expanduser(src, || {
            std::env::var("HOME").ok()
        }));
        return found(&path).then_some(path);
    }
    let path = Path::new(src);
    if path.is_absolute() {
        return found(path).then(|| path.to_path_buf());
    }
    let task_dir = task
        .location
        .rsplitn(3, ':')
        .nth(2)
        .and_then(|file| Path::new(file).parent().map(Path::to_path_buf));
    let mut bases: Vec<PathBuf> = Vec::new();
    // A role's task looks in the role first (`templates/`, `files/`), wherever in its
    // `tasks/` the task file is.
    if let Some(role) = task.vars.get("role_path").and_then(Value::as_str) {
        bases.push(PathBuf::from(role));
    }
    if let Some(d) = task_dir {
        if let Some(parent) = d.parent() {
            bases.push(parent.to_path_buf());
        }
        bases.insert(bases.len().min(1), d);
    }
    bases.push(playbook_dir.to_path_buf());
    for base in bases {
        for candidate in [base.join(sub).join(src), base.join(src)] {
            if found(&candidate) {
                return Some(candidate);
            }
        }
    }
    None
}

/// Sources read so far, kept while any request still holds them.
static READ: Mutex<BTreeMap<PathBuf, Weak<[u8]>>> = Mutex::new(BTreeMap::new());

/// The bytes of `path`: the buffer another node's request already holds, or one read
/// now straight into a shared buffer (never a second copy of the file).
pub fn read_shared(path: &Path) -> Option<Arc<[u8]>> {
    let mut read = READ.lock().unwrap_or_else(|p| p.into_inner());
    read.retain(|_, w| w.strong_count() > 0);
    if let Some(bytes) = read.get(path).and_then(Weak::upgrade) {
        return Some(bytes);
    }
    let bytes = read_into_arc(path)?;
    read.insert(path.to_path_buf(), Arc::downgrade(&bytes));
    Some(bytes)
}

fn read_into_arc(path: &Path) -> Option<Arc<[u8]>> {
    let mut file = std::fs::File::open(path).ok()?;
    let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
    let mut bytes: Arc<[u8]> = std::iter::repeat_n(0u8, len).collect();
    file.read_exact(Arc::get_mut(&mut bytes)?).ok()?;
    // The file grew while it was read: read it again whole rather than ship a prefix.
    if file.read(&mut [0u8; 1]).ok()? != 0 {
        return std::fs::read(path).ok().map(Arc::from);
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_node_shares_one_buffer_per_source_while_it_is_held() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("big.bin");
        let data: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
        std::fs::write(&path, &data).unwrap_or_else(|e| panic!("{e}"));
        let first = read_shared(&path).unwrap_or_else(|| panic!("not read"));
        let second = read_shared(&path).unwrap_or_else(|| panic!("not read"));
        assert!(Arc::ptr_eq(&first, &second), "the file was read twice");
        assert_eq!(&first[..], &data[..]);
        drop((first, second));
        std::fs::write(&path, b"changed").unwrap_or_else(|e| panic!("{e}"));
        let fresh = read_shared(&path).unwrap_or_else(|| panic!("not read"));
        assert_eq!(&fresh[..], b"changed");
        assert!(read_shared(&dir.path().join("missing")).is_none());
    }
}
