//! The download itself (apply), and its check-mode stand-in: a HEAD request judged as
//! Ansible judges it (against an empty download).

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use serde_json::{Map, Value as Json};

use super::request::{self, Fetched};
use super::{Task, failed};
use crate::fsutil::{self, Current};
use crate::modules::digest::{self, Algorithm, Hasher};
use crate::modules::http::{Exchange, Scheme};
use crate::modules::{Action, Context, ModuleError, Outcome, Plan, attrs, path_info};

/// A planned download.
pub(super) struct Download {
    /// The resolved task.
    pub task: Task,
    /// Download even when `dest` looks current (`force`, or a checksum mismatch).
    pub force: bool,
    /// `dest`'s mtime, for `If-Modified-Since`.
    pub last_modified: Option<SystemTime>,
    /// The checksum the download must have.
    pub expected: Option<(Algorithm, String)>,
}

impl Download {
    /// Check mode: a HEAD request; a change unless `dest` already holds what an empty
    /// download would be (Ansible's rule, which its documentation calls inexact).
    pub fn check_with_head(self) -> Plan {
        let start = Instant::now();
        let mut data = self.task.base_data();
        if let Err(msg) = self.tmp_dir() {
            return Plan::done(failed(msg, data));
        }
        let url = self.task.fetcher.url.clone();
        let ex = match self
            .task
            .fetcher
            .fetch("HEAD", &url, self.force, self.last_modified)
        {
            Fetched::Body(ex) => ex,
            other => return Plan::done(self.unanswered(other, data, start)),
        };
        data.insert("elapsed".into(), Json::from(start.elapsed().as_secs()));
        let dest = self.final_dest(&ex);
        data.insert("dest".into(), Json::from(dest.display().to_string()));
        let msg = request::ok_msg(&ex);
        // What a HEAD brings: nothing, but urllib's FileHandler ignores the method and
        // Ansible hashes the whole file.
        let mut hasher = Algorithm::Sha1.hasher();
        if ex.url.scheme == Scheme::File {
            match ex.read_body() {
                Ok(r) => hasher.update(&r.body),
                Err(e) => return Plan::done(failed(e.to_string(), data)),
            }
        }
        let head_sum = hasher.hex();
        data.insert("checksum_src".into(), Json::from(head_sum.clone()));
        let checksum_dest = if dest.exists() {
            match digest::of_file(&dest, Algorithm::Sha1) {
                Ok(d) => Some(d),
                Err(e) => {
                    return Plan::done(failed(
                        format!("Destination {} is not readable: {e}", dest.display()),
                        data,
                    ));
                }
            }
        } else {
            let dir = fsutil::parent(&dest);
            if !dir.exists() {
                let msg = format!("Destination {} does not exist", dir.display());
                return Plan::done(failed(msg, data));
            }
            None
        };
        if let Some(d) = &checksum_dest {
            data.insert("checksum_dest".into(), Json::from(d.clone()));
        }
        let changed = checksum_dest.is_none_or(|d| d != head_sum);
        let outcome = Outcome {
            changed,
            msg,
            data,
            ..Outcome::default()
        };
        if changed {
            Plan::change(outcome, self)
        } else {
            Plan::done(outcome)
        }
    }

    /// Where the temporary file goes: `tmp_dest` (an existing directory), else `dest`'s
    /// directory (then the final rename is atomic with no copy).
    fn tmp_dir(&self) -> Result<Option<PathBuf>, String> {
        let Some(dir) = &self.task.tmp_dest else {
            return Ok(None);
        };
        if dir.is_dir() {
            Ok(Some(dir.clone()))
        } else if dir.exists() {
            Err(format!(
                "{} is a file but should be a directory.",
                dir.display()
            ))
        } else {
            Err(format!("{} directory does not exist.", dir.display()))
        }
    }

    /// `dest`, or inside a `dest` directory the name the server gives
    /// (`Content-Disposition`) or the last segment of the final URL.
    fn final_dest(&self, ex: &Exchange) -> PathBuf {
        if !self.task.dest.is_dir() {
            return self.task.dest.clone();
        }
        let name = ex
            .header("content-disposition")
            .and_then(crate::modules::http::disposition::file_name)
            .unwrap_or_else(|| ex.url.file_name());
        self.task.dest.join(name)
    }

    /// The result of a request that brought no body: 304 (no change) or a failure.
    /// As Ansible's `url_get`, the result has no checksum keys.
    fn unanswered(&self, fetched: Fetched, mut data: Map<String, Json>, start: Instant) -> Outcome {
        data.remove("checksum_dest");
        data.remove("checksum_src");
        data.insert("elapsed".into(), Json::from(start.elapsed().as_secs()));
        match fetched {
            Fetched::NotModified(msg) => {
                data.insert("status_code".into(), Json::from(304));
                path_info::add(&mut data, &self.task.dest);
                let mut o = Outcome::ok(msg);
                o.data = data;
                o
            }
            Fetched::Failed {
                msg,
                status,
                response,
            } => {
                if let Some(s) = status {
                    data.insert("status_code".into(), Json::from(s));
                }
                if let Some(r) = response {
                    data.insert("response".into(), Json::from(r));
                }
                failed(msg, data)
            }
            Fetched::Body(_) => failed("bug: a response with a body taken as none".into(), data),
        }
    }
}

impl Action for Download {
    fn apply(self: Box<Self>, _ctx: &Context<'_>) -> Result<Outcome, ModuleError> {
        let start = Instant::now();
        let mut data = self.task.base_data();
        let tmp_dir = match self.tmp_dir() {
            Ok(d) => d,
            Err(msg) => return Ok(failed(msg, data)),
        };
        let url = self.task.fetcher.url.clone();
        let ex = match self
            .task
            .fetcher
            .fetch("GET", &url, self.force, self.last_modified)
        {
            Fetched::Body(ex) => ex,
            other => return Ok(self.unanswered(other, data, start)),
        };
        let msg = request::ok_msg(&ex);
        let status = ex.status;
        let dest = self.final_dest(&ex);
        let shown = dest.display().to_string();
        data.insert("dest".into(), Json::from(shown.clone()));
        let dir = fsutil::parent(&dest);
        if !dest.exists() && !dir.exists() {
            let msg = format!("Destination {} does not exist", dir.display());
            return Ok(failed(msg, data));
        }
        let tmp = match &tmp_dir {
            Some(d) => tempfile::Builder::new()
                .prefix(".dr-get_url.")
                .tempfile_in(d)
                .map_err(|e| ModuleError::io("cannot create a temporary file in", d.display(), e)),
            None => fsutil::temp_beside(&dest).map_err(|e| {
                ModuleError::io("cannot create a temporary file in", dir.display(), e)
            }),
        }?;
        let content_length = ex
            .header("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok());
        let mut sink = Hashing {
            file: tmp.as_file(),
            sha1: Algorithm::Sha1.hasher(),
            md5: Algorithm::Md5.hasher(),
            expected: self.expected.as_ref().map(|(a, _)| a.hasher()),
            len: 0,
        };
        // As Ansible's `Request.open`: a gzip-encoded body is decoded unless `decompress: false`.
        let gzip = self.task.decompress
            && ex
                .header("content-encoding")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
        let copied = if gzip {
            let mut decoder = flate2::write::GzDecoder::new(&mut sink);
            ex.copy_body(&mut decoder)
                .map_err(|e| e.to_string())
                .and_then(|_| decoder.finish().map_err(|e| e.to_string()))
                .map(drop)
        } else {
            ex.copy_body(&mut sink).map(drop).map_err(|e| e.to_string())
        };
        if let Err(e) = copied {
            data.insert("elapsed".into(), Json::from(start.elapsed().as_secs()));
            // A body cut short of its Content-Length: Python's client reads what came and
            // Ansible's length check names it.
            let msg = match content_length.filter(|cl| !gzip && sink.len < *cl) {
                Some(cl) => incomplete_read(cl, sink.len),
                None => format!("failed to create temporary content file: {e}"),
            };
            return Ok(failed(msg, data));
        }
        data.insert("elapsed".into(), Json::from(start.elapsed().as_secs()));
        let Hashing {
            sha1,
            md5,
            expected: expected_hasher,
            len,
            ..
        } = sink;
        // A decoded body's length is not the Content-Length, so Ansible checks only the others.
        if let Some(cl) = content_length.filter(|cl| !gzip && *cl != len) {
            return Ok(failed(incomplete_read(cl, len), data));
        }
        let checksum_src = sha1.hex();
        data.insert("checksum_src".into(), Json::from(checksum_src.clone()));
        let checksum_dest = if dest.is_file() {
            let d = digest::of_file(&dest, Algorithm::Sha1)
                .map_err(|e| ModuleError::io("cannot read", &shown, e))?;
            data.insert("checksum_dest".into(), Json::from(d.clone()));
            Some(d)
        } else {
            None
        };
        if let (Some((_, want)), Some(h)) = (&self.expected, expected_hasher) {
            let got = h.hex();
            if got != *want {
                // The temporary file goes with `tmp`; `dest` is untouched.
                let msg = format!(
                    "The checksum for {} did not match {want}; it was {got}.",
                    tmp.path().display()
                );
                return Ok(failed(msg, data));
            }
        }
        let current = Current::of(&dest).ok();
        let wanted = self
            .task
            .attrs
            .resolve("get_url", current.map(|c| c.mode), false)?;
        let mut changed = false;
        if checksum_dest.as_deref() != Some(checksum_src.as_str()) {
            if self.task.backup && dest.exists() {
                let b = fsutil::backup(&dest)
                    .map_err(|e| ModuleError::io("cannot back up", &shown, e))?;
                data.insert("backup_file".into(), Json::from(b));
            }
            let beside = match tmp_dir {
                None => tmp,
                Some(_) => copy_beside(tmp.path(), &dest)
                    .map_err(|e| ModuleError::io("cannot copy the download to", &shown, e))?,
            };
            fsutil::persist_temp(beside, &dest, wanted, 0o644)
                .map_err(|e| ModuleError::io("cannot write", &shown, e))?;
            changed = true;
        } else if let Some(current) = current {
            drop(tmp);
            let (changes, _) = attrs::changes(&dest, &current, wanted);
            if attrs::any(&changes) {
                fsutil::set_attrs(&dest, changes)
                    .map_err(|e| ModuleError::io("cannot set attributes of", &shown, e))?;
                changed = true;
            }
        }
        data.insert("md5sum".into(), Json::from(md5.hex()));
        // urllib gives a file:// answer no status: Ansible's `status_code` is null.
        let status = (self.task.fetcher.url.scheme != Scheme::File).then_some(status);
        data.insert("status_code".into(), Json::from(status));
        path_info::add(&mut data, &dest);
        Ok(Outcome {
            changed,
            msg,
            data,
            ..Outcome::default()
        })
    }
}

/// Ansible's message for a body of `len` bytes when `Content-Length` said `cl`.
fn incomplete_read(cl: u64, len: u64) -> String {
    let left = cl.saturating_sub(len);
    format!(
        "Incomplete read, (rsp.length={left}, cl={cl}, st.st_size={len}) failed to read remaining {left} bytes"
    )
}

/// A copy of `src` in a temporary file beside `dest` (a `tmp_dest` on another file
/// system cannot be renamed over `dest`).
fn copy_beside(src: &Path, dest: &Path) -> io::Result<tempfile::NamedTempFile> {
    let mut out = fsutil::temp_beside(dest)?;
    io::copy(&mut File::open(src)?, out.as_file_mut())?;
    Ok(out)
}

/// Writes the body to the temporary file, hashing it on the way.
struct Hashing<'a> {
    file: &'a File,
    sha1: Hasher,
    md5: Hasher,
    expected: Option<Hasher>,
    len: u64,
}

impl Write for Hashing<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        let done = &buf[..n];
        self.sha1.update(done);
        self.md5.update(done);
        if let Some(h) = &mut self.expected {
            h.update(done);
        }
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}
