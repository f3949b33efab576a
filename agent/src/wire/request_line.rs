//! The request line written as it is encoded: byte for byte what [`Request::to_line`]
//! returns, never held whole. A controller file (a `copy` source can be hundreds of
//! megabytes, base64 on the wire) is encoded a slice at a time straight into the writer,
//! and the run's shared `hostvars` ([`SharedVars`], encoded once for every request) is
//! written from its one encoding; only the rest of the request, its layout, is encoded in
//! memory first, with each file's `data` left empty and the shared map's place noted.

use std::cell::RefCell;
use std::io::Write;

use super::{FileContent, Request, SharedVars};

/// What every file's wire form starts with, up to the inside of its `data` string.
const DATA_OPENS: &[u8] = br#"{"data":""#;

/// What stands in the layout where a shared map goes: it serialises as the number 0, the
/// one byte `0`.
const SHARED_MARK: u8 = b'0';

/// A place in the layout that is filled when the line is written.
enum Hole {
    /// A file's wire form starts here; its `data` is written a slice at a time.
    File(FileContent),
    /// [`SHARED_MARK`] stands here for the shared map's encoding.
    Shared(SharedVars),
}

/// The layout being encoded on this thread: its bytes so far, and for each file or shared
/// map met, where it goes.
struct Layout {
    bytes: Vec<u8>,
    holes: Vec<(usize, Hole)>,
}

thread_local! {
    /// Set while [`Request::write_line`] encodes a layout on this thread.
    static LAYOUT: RefCell<Option<Layout>> = const { RefCell::new(None) };
}

/// Notes `hole` at the layout's end while a layout is encoded on this thread (the caller
/// then serialises its stand-in); false otherwise.
fn note_hole(hole: impl FnOnce() -> Hole) -> bool {
    LAYOUT.with(|layout| match layout.borrow_mut().as_mut() {
        Some(layout) => {
            let at = layout.bytes.len();
            layout.holes.push((at, hole()));
            true
        }
        None => false,
    })
}

/// Called by a file about to be serialised: while a layout is encoded, notes where the
/// file goes and returns true (the file then serialises its `data` empty).
pub(super) fn leave_hole(file: &FileContent) -> bool {
    note_hole(|| Hole::File(file.clone()))
}

/// Called by a shared map about to be serialised: while a layout is encoded, notes where
/// it goes and returns true (the map then serialises as the number 0: [`SHARED_MARK`]).
pub(super) fn leave_shared_hole(shared: &SharedVars) -> bool {
    note_hole(|| Hole::Shared(shared.clone()))
}

/// The writer the layout is encoded into (serde_json writes each token as it goes, so the
/// layout's length is the position of what is serialised next).
struct LayoutWriter;

impl Write for LayoutWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LAYOUT.with(|layout| match layout.borrow_mut().as_mut() {
            Some(layout) => {
                layout.bytes.extend_from_slice(buf);
                Ok(buf.len())
            }
            None => Err(std::io::Error::other("no layout is being encoded")),
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Ends the layout on this thread however its encoding ends (an error, a panic).
struct Clear;

impl Drop for Clear {
    fn drop(&mut self) {
        LAYOUT.with(|layout| layout.borrow_mut().take());
    }
}

impl Request {
    /// Writes the request line (what [`Request::to_line`] returns, newline included) to
    /// `out` as it is encoded: the controller files' contents a slice at a time, so the
    /// memory it takes is the request without its files plus a slice, whatever their size.
    /// An I/O error is `out`'s; any other is a bug.
    pub fn write_line(&self, out: &mut impl Write) -> Result<(), serde_json::Error> {
        let (bytes, holes) = {
            let _clear = Clear;
            LAYOUT.with(|layout| {
                *layout.borrow_mut() = Some(Layout {
                    bytes: Vec::new(),
                    holes: Vec::new(),
                })
            });
            // The layout's writer cannot fail: an I/O error here is not `out`'s.
            serde_json::to_writer(LayoutWriter, self).map_err(|e| match e.is_io() {
                true => serde::ser::Error::custom(e),
                false => e,
            })?;
            let layout = LAYOUT.with(|layout| layout.borrow_mut().take());
            let layout = layout.ok_or_else(|| serde::ser::Error::custom("the layout vanished"))?;
            (layout.bytes, layout.holes)
        };
        let mut done = 0;
        for (at, hole) in &holes {
            match hole {
                Hole::File(file) => {
                    let inside = at + DATA_OPENS.len();
                    if bytes.get(*at..inside) != Some(DATA_OPENS)
                        || bytes.get(inside) != Some(&b'"')
                    {
                        return Err(serde::ser::Error::custom(format!(
                            "`{}` is not where its request line has it",
                            file.origin
                        )));
                    }
                    out.write_all(&bytes[done..inside])
                        .map_err(serde_json::Error::io)?;
                    file.write_data(out)?;
                    done = inside;
                }
                Hole::Shared(shared) => {
                    if bytes.get(*at) != Some(&SHARED_MARK) {
                        return Err(serde::ser::Error::custom(
                            "the shared variables are not where the request line has them",
                        ));
                    }
                    out.write_all(&bytes[done..*at])
                        .map_err(serde_json::Error::io)?;
                    out.write_all(shared.encoded()?.get().as_bytes())
                        .map_err(serde_json::Error::io)?;
                    done = at + 1;
                }
            }
        }
        out.write_all(&bytes[done..])
            .map_err(serde_json::Error::io)?;
        out.write_all(b"\n").map_err(serde_json::Error::io)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::wire::FileMeta;
    use crate::wire::file_content::SLICE;

    fn request(files: BTreeMap<String, FileContent>) -> Request {
        let mut request: Request = serde_json::from_value(serde_json::json!({
            "protocol": crate::wire::PROTOCOL_VERSION, "host": "h", "mode": "apply", "diff": true,
            "play": {"name": "p", "tasks": []},
            // A var shaped like a file's wire form, to be taken for one if holes were found
            // by their text.
            "vars": {"v": {"data": "", "base64": false, "origin": "files/a"}, "w": "{\"data\":\"\""},
            "files": {}, "secrets": ["s3cret"]
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        request.files = files;
        request
    }

    fn written(request: &Request) -> Vec<u8> {
        let mut out = Vec::new();
        request
            .write_line(&mut out)
            .unwrap_or_else(|e| panic!("{e}"));
        out
    }

    #[test]
    fn the_line_written_in_slices_is_the_encoded_line_byte_for_byte() {
        // Binary files of every length modulo 3 around the slice size, text with escapes and
        // multi-byte characters straddling slice boundaries, an empty file, metadata.
        let binary = |n: usize| -> Vec<u8> { (0..n).map(|i| (i * 7 % 256) as u8).collect() };
        let mut text = String::new();
        while text.len() < 3 * SLICE {
            text.push_str("é\"\\\n\t\u{1}€ line 𝄞 ");
        }
        let mut files = BTreeMap::new();
        for (i, n) in [0, 1, 2, 3, SLICE - 1, SLICE, SLICE + 1, 2 * SLICE + 2]
            .into_iter()
            .enumerate()
        {
            let mut bytes = binary(n);
            if let Some(b) = bytes.first_mut() {
                *b = 0xff;
            }
            files.insert(
                format!("bin{i}"),
                FileContent::new(bytes, format!("files/b{i}")),
            );
        }
        files.insert("text".into(), FileContent::new(text.as_bytes(), "files/t"));
        files.insert("empty".into(), FileContent::new(Vec::new(), "files/e"));
        files.insert(
            "meta".into(),
            FileContent::new(b"x".to_vec(), "files/m").with_meta(FileMeta {
                host: "c".into(),
                owner: "o".into(),
                mtime: "2026-01-01 00:00:00.000000".into(),
                mode: Some(0o640),
            }),
        );
        for request in [request(BTreeMap::new()), request(files)] {
            let line = request.to_line().unwrap_or_else(|e| panic!("{e}"));
            assert!(written(&request) == line, "the lines differ");
        }
        // Nothing is left behind on the thread: the next plain encoding is whole.
        let file = FileContent::new(b"abc".to_vec(), "files/a");
        assert_eq!(
            serde_json::to_string(&file).unwrap_or_default(),
            r#"{"data":"abc","base64":false,"origin":"files/a"}"#
        );
    }

    #[test]
    fn the_shared_hostvars_are_written_from_their_one_encoding() {
        let Ok(serde_json::Value::Object(map)) =
            serde_json::from_str(r#"{"h1": {"a": "é\"0"}, "h2": {"files": {"data": ""}, "n": 0}}"#)
        else {
            panic!("test map")
        };
        let shared = SharedVars::new(map);
        let mut files = BTreeMap::new();
        files.insert("f".into(), FileContent::new(b"0".to_vec(), "files/f"));
        for files in [BTreeMap::new(), files] {
            let mut request = request(files);
            request.hostvars = Some(shared.clone());
            let line = request.to_line().unwrap_or_else(|e| panic!("{e}"));
            assert!(written(&request) == line, "the lines differ");
            let back: Request = serde_json::from_slice(&line).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                back.hostvars.map(|h| h.map().clone()),
                Some(shared.map().clone())
            );
        }
    }

    #[test]
    fn a_failing_writer_fails_the_write_as_io() {
        struct Full;
        impl Write for Full {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::ErrorKind::BrokenPipe.into())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut files = BTreeMap::new();
        files.insert("f".into(), FileContent::new(vec![0xffu8; 10], "files/f"));
        let err = request(files).write_line(&mut Full).unwrap_err();
        assert!(err.is_io(), "{err}");
    }
}
