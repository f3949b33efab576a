//! Facts about the controller itself: its node name and the names of its users.

use std::path::Path;

/// The controller's node name (`uname -n`), as Ansible's `template_host`.
pub fn node_name() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
}

/// The OS user running dr: `$USER`, else `$LOGNAME`, else the name of the process's uid
/// (`uid N` when it has none).
pub fn os_user() -> String {
    let uid = rustix::process::getuid().as_raw();
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .or_else(|| user_name(uid))
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// The name `/etc/passwd` gives `uid`.
pub fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)?.parse::<u32>().ok()? == uid).then(|| name.to_owned())
    })
}

/// A controller file's host, owner, modification time and mode, for a template's
/// `template_host`, `template_uid` and `template_mtime`, and `mode: preserve`.
pub fn file_meta(path: &Path) -> Option<dr_agent::wire::FileMeta> {
    use std::os::unix::fs::MetadataExt as _;
    let md = std::fs::metadata(path).ok()?;
    let mtime = time::OffsetDateTime::from(md.modified().ok()?);
    let mtime = format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:06}",
        mtime.year(),
        u8::from(mtime.month()),
        mtime.day(),
        mtime.hour(),
        mtime.minute(),
        mtime.second(),
        mtime.microsecond()
    );
    Some(dr_agent::wire::FileMeta {
        host: node_name().unwrap_or_default(),
        owner: user_name(md.uid()).unwrap_or_else(|| md.uid().to_string()),
        mtime,
        mode: Some(md.mode() & 0o7777),
    })
}
