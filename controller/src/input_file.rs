//! Reading the files a user names as input (inventories, vars files, `-e @file`,
//! playbooks) with a size cap: `-e @/dev/zero` is an error naming the file, not a process
//! that grows until the machine runs out of memory.

use std::io::Read as _;
use std::path::Path;

use crate::diagnostic::{Diagnostic, Loc};

/// The largest input file dr reads. Real inventories and vars files are kilobytes; a file
/// above this is a mistake (a device, a log, a dump) rather than configuration.
pub const MAX_BYTES: u64 = 64 * 1024 * 1024;

/// Reads `path` whole, refusing it (without reading further) when it holds more than
/// [`MAX_BYTES`].
pub fn read(path: &Path) -> Result<Vec<u8>, Diagnostic> {
    read_capped(path, MAX_BYTES)
}

/// Reads `path` as UTF-8 text, capped as [`read`].
pub fn read_to_string(path: &Path) -> Result<String, Diagnostic> {
    let bytes = read(path)?;
    String::from_utf8(bytes).map_err(|_| {
        Diagnostic::new(
            Loc::file_start(path),
            format!("`{}` is not UTF-8 text", path.display()),
        )
    })
}

fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, Diagnostic> {
    let file = std::fs::File::open(path).map_err(|e| Diagnostic::io(path, &e))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(Diagnostic::new(
            Loc::file_start(path),
            format!("cannot read `{}`: it is a directory", path.display()),
        ));
    }
    let mut bytes = Vec::new();
    // One byte more than the cap tells "exactly at the cap" from "above it" without ever
    // holding more than the cap (a device such as /dev/zero never ends).
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Diagnostic::io(path, &e))?;
    if bytes.len() as u64 > cap {
        return Err(too_large(path, cap));
    }
    Ok(bytes)
}

fn too_large(path: &Path, cap: u64) -> Diagnostic {
    Diagnostic::new(
        Loc::file_start(path),
        format!(
            "`{}` is larger than {} MiB, the limit for inventories, vars files, `-e @file` and playbooks",
            path.display(),
            cap / (1024 * 1024)
        ),
    )
    .with_help("name the intended file; dr reads configuration, not data")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_at_the_cap_is_read_and_one_byte_more_is_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let at = dir.path().join("at.yml");
        std::fs::write(&at, vec![b'#'; 1024]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read_capped(&at, 1024).map(|b| b.len()), Ok(1024));
        let above = dir.path().join("above.yml");
        std::fs::write(&above, vec![b'#'; 1025]).unwrap_or_else(|e| panic!("{e}"));
        let err = read_capped(&above, 1024).unwrap_err();
        assert_eq!(
            err.message,
            format!(
                "`{}` is larger than 0 MiB, the limit for inventories, vars files, `-e @file` and playbooks",
                above.display()
            )
        );
    }

    #[test]
    fn an_endless_device_stops_at_the_cap() {
        let err = read(Path::new("/dev/zero")).unwrap_err();
        assert_eq!(
            err.message,
            "`/dev/zero` is larger than 64 MiB, the limit for inventories, vars files, `-e @file` and playbooks"
        );
        assert_eq!((err.loc.line, err.loc.col), (1, 1));
    }

    #[test]
    fn a_directory_is_named() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let err = read(dir.path()).unwrap_err();
        assert!(
            err.message.ends_with("it is a directory"),
            "{}",
            err.message
        );
    }
}
