//! The request line written as it is encoded: byte for byte what [`Request::to_line`]
//! returns, never held whole. A controller file (a `copy` source can be hundreds of
//! megabytes, base64 on the wire) is encoded a slice at a time straight into the writer;
//! only the rest of the request, its layout, is encoded in memory first, with each file's
//! `data` left empty and its place noted.

use std::cell::RefCell;
use std::io::Write;

use super::{FileContent, Request};

/// What every file's wire form starts with, up to the inside of its `data` string.
const DATA_OPENS: &[u8] = br#"{"data":""#;

/// The layout being encoded on this thread: its bytes so far, and for each file met, where
/// its wire form starts.
struct Layout {
    bytes: Vec<u8>,
    holes: Vec<(usize, FileContent)>,
}

thread_local! {
    /// Set while [`Request::write_line`] encodes a layout on this thread.
    static LAYOUT: RefCell<Option<Layout>> = const { RefCell::new(None) };
}

/// Called by a file about to be serialised: while a layout is encoded, notes where the
/// file goes and returns true (the file then serialises its `data` empty).
pub(super) fn leave_hole(file: &FileContent) -> bool {
    LAYOUT.with(|layout| match layout.borrow_mut().as_mut() {
        Some(layout) => {
            let at = layout.bytes.len();
            layout.holes.push((at, file.clone()));
            true
        }
        None => false,
    })
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
        for (at, file) in &holes {
            let inside = at + DATA_OPENS.len();
            if bytes.get(*at..inside) != Some(DATA_OPENS) || bytes.get(inside) != Some(&b'"') {
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
