//! The controller's half of `fetch`: the agent read the file on its host and handed it over
//! on the live connection ([`SyncPoint::Fetch`](dr_agent::wire::SyncPoint)); the controller
//! writes it where Ansible's `fetch` would, if it is missing or different, atomically
//! (a temporary file in the same directory, then a rename). Check mode never gets here: the
//! module is skipped there.

use std::io::Write as _;
use std::path::{Component, Path};

use base64::Engine as _;
use dr_agent::wire::Answer;
use md5::Digest as _;

/// Writes `content` (base64) to `dest`; the answer says whether it changed the file.
/// `dir_msg` is the failure when `dest` is an existing directory (Ansible's words for a
/// `flat` destination).
pub fn write(dest: &str, content: &str, dir_msg: Option<&str>) -> Answer {
    if let Some(msg) = dir_msg.filter(|_| Path::new(dest).is_dir()) {
        return Answer::Failed {
            msg: msg.to_owned(),
        };
    }
    match try_write(Path::new(dest), content) {
        Ok(answer) => answer,
        Err(msg) => Answer::Failed {
            msg: format!("cannot write the fetched file `{dest}`: {msg}"),
        },
    }
}

fn try_write(dest: &Path, content: &str) -> Result<Answer, String> {
    if !dest.is_absolute() || dest.components().any(|c| c == Component::ParentDir) {
        return Err("the path must be absolute, without `..`".into());
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(content)
        .map_err(|e| format!("the file did not arrive whole ({e})"))?;
    let checksum = hex(&sha1::Sha1::digest(&bytes));
    let md5sum = hex(&md5::Md5::digest(&bytes));
    let same = std::fs::read(dest)
        .map(|old| hex(&sha1::Sha1::digest(&old)) == checksum)
        .unwrap_or(false);
    if !same {
        if dest.is_dir() {
            return Err("it is an existing directory".into());
        }
        let dir = dest.parent().ok_or("it has no parent directory")?;
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| e.to_string())?;
        tmp.write_all(&bytes).map_err(|e| e.to_string())?;
        tmp.as_file().sync_all().map_err(|e| e.to_string())?;
        tmp.persist(dest).map_err(|e| e.error.to_string())?;
    }
    Ok(Answer::Fetched {
        changed: !same,
        checksum,
        md5sum,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_once_then_reports_no_change_and_refuses_dotdot() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("h1/etc/app.conf");
        let dest = dest.to_str().unwrap();
        let content = base64::engine::general_purpose::STANDARD.encode("x=1\n");
        match write(dest, &content, None) {
            Answer::Fetched { changed, .. } => assert!(changed),
            other => panic!("{other:?}"),
        }
        assert_eq!(std::fs::read_to_string(dest).unwrap(), "x=1\n");
        match write(dest, &content, None) {
            Answer::Fetched { changed, .. } => assert!(!changed),
            other => panic!("{other:?}"),
        }
        let out = format!("{}/../x", dir.path().display());
        assert!(matches!(write(&out, &content, None), Answer::Failed { .. }));
    }
}
