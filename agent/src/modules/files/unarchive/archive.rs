//! Reading an archive: which handler (Ansible's class names) reads it, found by content,
//! and its members, streamed in archive order with their data.

use std::io::{self, Read, Seek};
use std::path::PathBuf;
use std::sync::Arc;

/// Ansible's handler classes, tried in its order (zip first, then tar). GNU tar reads any
/// compression on its own when given none, so Ansible's `TarArchive` takes plain, bzip2
/// and xz tarballs alike; only gzip is claimed first by `TgzArchive`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// A zip archive.
    Zip,
    /// A gzip-compressed tar archive.
    Tgz,
    /// A tar archive, plain or compressed (bzip2, xz).
    Tar(Compression),
}

/// How a tar archive is compressed, besides gzip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Not compressed.
    None,
    /// bzip2.
    Bzip2,
    /// xz.
    Xz,
}

impl Handler {
    /// The name Ansible reports as `handler`.
    pub fn name(self) -> &'static str {
        match self {
            Handler::Zip => "ZipArchive",
            Handler::Tgz => "TgzArchive",
            Handler::Tar(_) => "TarArchive",
        }
    }

    /// Whether GNU tar's rules apply (rather than unzip's).
    pub fn is_tar(self) -> bool {
        !matches!(self, Handler::Zip)
    }
}

/// Where the archive's bytes are: shipped with the request, or a file on the host.
#[derive(Debug, Clone)]
pub enum Source {
    /// The request's buffer (a controller file).
    Bytes(Arc<[u8]>),
    /// A file on the host.
    File(PathBuf),
}

/// A readable, seekable archive.
pub trait ReadSeek: Read + Seek {}
impl<T: Read + Seek> ReadSeek for T {}

impl Source {
    /// Opens the archive from its start.
    pub fn open(&self) -> io::Result<Box<dyn ReadSeek>> {
        Ok(match self {
            Source::Bytes(b) => Box::new(io::Cursor::new(Arc::clone(b))),
            Source::File(p) => Box::new(io::BufReader::new(std::fs::File::open(p)?)),
        })
    }

    /// The first bytes (up to `n`).
    fn head(&self, n: usize) -> io::Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(n);
        self.open()?.take(n as u64).read_to_end(&mut buf)?;
        Ok(buf)
    }
}

/// What a member is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link to this target (as stored, never resolved).
    Symlink(String),
    /// A hard link to this other member (its name as stored).
    HardLink(String),
}

/// A modification time: seconds since the epoch and nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Mtime {
    /// Whole seconds.
    pub secs: i64,
    /// Nanoseconds.
    pub nanos: u32,
}

/// One member of an archive.
#[derive(Debug, Clone)]
pub struct Member {
    /// Its name as stored (`./dir/`, `dir/a.txt`).
    pub name: String,
    /// What it is.
    pub kind: Kind,
    /// Permission bits as stored (zip: as unzip gives them).
    pub mode: u32,
    /// Owner and group as stored (tar only): ids and names.
    pub owner: Option<Owner>,
    /// Modification time.
    pub mtime: Mtime,
    /// Size of its data.
    pub size: u64,
}

/// A tar member's owner and group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// Numeric uid.
    pub uid: u32,
    /// Numeric gid.
    pub gid: u32,
    /// User name, if stored.
    pub uname: Option<String>,
    /// Group name, if stored.
    pub gname: Option<String>,
}

/// Why an archive cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// No handler reads it.
    #[error("{0}")]
    NoHandler(String),
    /// It is of a kind dr does not read.
    #[error("{0}")]
    Unsupported(String),
    /// Reading failed part way.
    #[error("cannot read the archive: {0}")]
    Io(#[from] io::Error),
    /// The zip structure is broken.
    #[error("cannot read the zip archive: {0}")]
    Zip(#[from] zip::result::ZipError),
}

/// Finds the handler for `source`, by content, in Ansible's order.
pub fn detect(source: &Source, umask: u32) -> Result<Handler, ArchiveError> {
    if zip::ZipArchive::new(source.open()?).is_ok() {
        return Ok(Handler::Zip);
    }
    let head = source.head(512)?;
    let handler = if head.starts_with(&[0x1f, 0x8b]) {
        Handler::Tgz
    } else if head.starts_with(b"BZh") {
        Handler::Tar(Compression::Bzip2)
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Handler::Tar(Compression::Xz)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Err(ArchiveError::Unsupported(
            "zstd-compressed archives are not supported by dr's native `unarchive`: \
             recompress it with gzip or xz, or unpack it with a `command` task"
                .into(),
        ));
    } else {
        Handler::Tar(Compression::None)
    };
    // As Ansible: a tarball with no member (or no tarball at all) has no handler.
    let mut any = false;
    let read = walk(source, handler, umask, &mut |_, _| {
        any = true;
        Ok(Flow::Stop)
    });
    match read {
        Ok(()) if any => Ok(handler),
        Ok(()) => Err(ArchiveError::NoHandler(
            "found no files in archive. Empty archive files are not supported".into(),
        )),
        Err(e) => Err(ArchiveError::NoHandler(format!(
            "neither a zip archive nor a tar archive (plain, gzip, bzip2 or xz): {e}"
        ))),
    }
}

/// Whether [`walk`] goes on after a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Next member.
    Continue,
    /// Stop reading.
    Stop,
}

/// Calls `visit` with each member and a reader of its data, in archive order. `umask` is
/// what unzip applies to members that carry no Unix permissions.
pub fn walk(
    source: &Source,
    handler: Handler,
    umask: u32,
    visit: &mut dyn FnMut(&Member, &mut dyn Read) -> io::Result<Flow>,
) -> Result<(), ArchiveError> {
    match handler {
        Handler::Zip => walk_zip(source, umask, visit),
        Handler::Tgz => walk_tar(flate2::read::MultiGzDecoder::new(source.open()?), visit),
        Handler::Tar(Compression::None) => walk_tar(source.open()?, visit),
        Handler::Tar(Compression::Bzip2) => {
            walk_tar(bzip2::read::MultiBzDecoder::new(source.open()?), visit)
        }
        Handler::Tar(Compression::Xz) => {
            walk_tar(lzma_rust2::XzReader::new(source.open()?, true), visit)
        }
    }
}

fn walk_tar(
    reader: impl Read,
    visit: &mut dyn FnMut(&Member, &mut dyn Read) -> io::Result<Flow>,
) -> Result<(), ArchiveError> {
    let mut archive = tar::Archive::new(reader);
    for entry in archive.entries()? {
        let mut entry = entry?;
        // A pax global header (`git archive` writes one) is metadata, not a member.
        if entry.header().entry_type() == tar::EntryType::XGlobalHeader {
            continue;
        }
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let header = entry.header();
        let link = || {
            entry
                .link_name_bytes()
                .map(|l| String::from_utf8_lossy(&l).into_owned())
                .unwrap_or_default()
        };
        let kind = match header.entry_type() {
            tar::EntryType::Regular | tar::EntryType::Continuous => Kind::File,
            tar::EntryType::Directory => Kind::Dir,
            tar::EntryType::Symlink => Kind::Symlink(link()),
            tar::EntryType::Link => Kind::HardLink(link()),
            other => {
                return Err(ArchiveError::Unsupported(format!(
                    "member `{name}` is a {other:?} entry, which dr's native `unarchive` does not \
                     extract (regular files, directories and links only)"
                )));
            }
        };
        let owner = Owner {
            uid: header.uid().unwrap_or(0) as u32,
            gid: header.gid().unwrap_or(0) as u32,
            uname: header
                .username()
                .ok()
                .flatten()
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            gname: header
                .groupname()
                .ok()
                .flatten()
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        };
        let mut mtime = Mtime {
            secs: header.mtime().unwrap_or(0) as i64,
            nanos: 0,
        };
        if let Ok(Some(pax)) = entry.pax_extensions() {
            for ext in pax.flatten() {
                if ext.key() == Ok("mtime")
                    && let Some(t) = ext.value().ok().and_then(pax_time)
                {
                    mtime = t;
                }
            }
        }
        let member = Member {
            name,
            mode: entry.header().mode().unwrap_or(0o644) & 0o7777,
            kind,
            owner: Some(owner),
            mtime,
            size: entry.size(),
        };
        if visit(&member, &mut entry)? == Flow::Stop {
            break;
        }
    }
    Ok(())
}

/// A pax time (`1700000000.25`).
fn pax_time(s: &str) -> Option<Mtime> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = whole.parse().ok()?;
    let digits: String = frac.chars().take(9).collect();
    let nanos = if digits.is_empty() {
        0
    } else {
        format!("{digits:0<9}").parse().ok()?
    };
    Some(Mtime { secs, nanos })
}

fn walk_zip(
    source: &Source,
    umask: u32,
    visit: &mut dyn FnMut(&Member, &mut dyn Read) -> io::Result<Flow>,
) -> Result<(), ArchiveError> {
    let mut archive = zip::ZipArchive::new(source.open()?)?;
    for i in 0..archive.len() {
        let mut file = archive.by_index(i)?;
        if file.encrypted() {
            return Err(ArchiveError::Unsupported(format!(
                "member `{}` is encrypted; dr's native `unarchive` does not decrypt zip archives",
                String::from_utf8_lossy(file.name_raw())
            )));
        }
        let name = String::from_utf8_lossy(file.name_raw()).into_owned();
        let unix = zip_unix_mode(&file);
        let is_dir = name.ends_with('/');
        let is_link = unix.is_some_and(|m| m & 0o170000 == 0o120000);
        let mode = match unix {
            Some(m) => m & 0o777,
            // unzip's permissions for members without Unix ones (FAT), less the umask.
            None if is_dir => 0o777 & !umask,
            None => 0o666 & !umask,
        };
        let mtime = zip_mtime(&file);
        let size = file.size();
        let kind = if is_dir {
            Kind::Dir
        } else if is_link {
            let mut target = Vec::new();
            (&mut file).take(4096).read_to_end(&mut target)?;
            Kind::Symlink(String::from_utf8_lossy(&target).into_owned())
        } else {
            Kind::File
        };
        let member = Member {
            name,
            kind,
            mode,
            owner: None,
            mtime,
            size,
        };
        if visit(&member, &mut file)? == Flow::Stop {
            break;
        }
    }
    Ok(())
}

/// The Unix mode of a member made on Unix (type and permission bits).
fn zip_unix_mode<R: Read>(file: &zip::read::ZipFile<'_, R>) -> Option<u32> {
    // Unix (and OS X) keep `st_mode` in the high half of the attributes.
    let unix = matches!(file.system(), zip::System::Unix | zip::System::OsDarwin)
        && file.external_attributes() >> 16 != 0;
    unix.then(|| file.external_attributes() >> 16)
}

/// What unzip sets as a member's mtime (and zipinfo shows): the extended timestamp when
/// there is one, else the DOS time read as local time (years before 1980 as 1980).
fn zip_mtime<R: Read>(file: &zip::read::ZipFile<'_, R>) -> Mtime {
    for field in file.extra_data_fields() {
        if let zip::extra_fields::ExtraField::ExtendedTimestamp(ts) = field
            && let Some(t) = ts.mod_time()
        {
            return Mtime {
                secs: i64::from(t),
                nanos: 0,
            };
        }
    }
    let secs = file
        .last_modified()
        .and_then(|dt| {
            use chrono::TimeZone as _;
            let date = chrono::NaiveDate::from_ymd_opt(
                i32::from(dt.year()),
                u32::from(dt.month()),
                u32::from(dt.day()),
            )?;
            let time = date.and_hms_opt(
                u32::from(dt.hour()),
                u32::from(dt.minute()),
                u32::from(dt.second()),
            )?;
            chrono::Local
                .from_local_datetime(&time)
                .earliest()
                .map(|t| t.timestamp())
        })
        .unwrap_or(315_532_800);
    Mtime { secs, nanos: 0 }
}

#[cfg(test)]
mod tests {
    use super::pax_time;

    #[test]
    fn pax_times_keep_their_fraction() {
        let t = pax_time("1700000000.25").unwrap_or_else(|| panic!("parsed"));
        assert_eq!((t.secs, t.nanos), (1_700_000_000, 250_000_000));
        let t = pax_time("12").unwrap_or_else(|| panic!("parsed"));
        assert_eq!((t.secs, t.nanos), (12, 0));
    }
}
