//! An oracle run against a test's own HTTP server: the same playbook by ansible-playbook
//! and by dr, each with its own work directory.

use std::path::Path;

/// Writes `files` (which hold `inv.yml`, `site.yml` and `server.py`) into a new
/// directory, starts `server.py` (its port given to the playbook as `base`), and runs
/// `site.yml` with ansible-playbook (`work` = `work-ansible`, `out=ansible.json`) and then
/// dr (`work-dr`, `out=dr.json`), each also given `extra(dir)` as `-e` values. Returns the
/// directory, with both results in it.
pub fn run_both(files: &[(&str, &str)], extra: impl Fn(&Path) -> Vec<String>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut all = files.to_vec();
    all.extend([("work-ansible/.keep", ""), ("work-dr/.keep", "")]);
    super::write_tree(dir.path(), &all);
    let server = super::PyServer::start(&["-u".as_ref(), dir.path().join("server.py").as_os_str()]);
    let base = format!("base=http://127.0.0.1:{}", server.port);
    let args = |work: &str| -> Vec<String> {
        let mut a: Vec<String> = ["-i", "inv.yml", "site.yml", "-e", &base]
            .map(str::to_owned)
            .into();
        for e in extra(dir.path()) {
            a.extend(["-e".to_owned(), e]);
        }
        a.extend([
            "-e".to_owned(),
            format!("work={}", dir.path().join(work).display()),
        ]);
        a
    };
    let a = args("work-ansible");
    super::ansible_playbook_out(
        dir.path(),
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let d = args("work-dr");
    super::dr_apply_out(
        dir.path(),
        &d.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    dir
}

/// The results a run wrote to `out` in `dir`.
pub fn results(dir: &Path, out: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join(out)).unwrap_or_else(|e| panic!("{out}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{out}: {e}\n{text}"))
}
