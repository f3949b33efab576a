//! A controller file shipped with a request (`copy: src=`, `template: src=`).
//!
//! In memory its bytes are one shared buffer: the controller reads a source once and every
//! host's request points at the same bytes, and `copy` writes from that buffer without
//! copying it (150 MB to three hosts is 150 MB, not six copies). On the wire it is text,
//! or base64 for binary files, so agents and controllers of this protocol version agree.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Where the request holds the controller file `src` as written, for a task that keeps a
/// vault-encrypted source encrypted (`copy: decrypt: false`); under `src` itself it is
/// decrypted, as Ansible's action plugins ship it.
pub fn as_written_key(src: &str) -> String {
    format!("{src}\u{0}as-written")
}

/// A file shipped with the request.
#[derive(Debug, Clone)]
pub struct FileContent {
    bytes: Arc<[u8]>,
    /// The path it was read from on the controller, for messages.
    pub origin: String,
    /// Where the file lives on the controller, for templates' `template_host`,
    /// `template_uid` and `template_mtime`.
    pub meta: Option<FileMeta>,
    /// For a template: the texts of the templates it includes, imports or extends, by the
    /// name it gives them (found on the controller along Ansible's search path).
    pub templates: Option<Arc<BTreeMap<String, String>>>,
    /// A controller directory (`copy: src=dir/`): the bytes are its listing (see
    /// [`TreeListing`]); its files are shipped beside it as `SRC/RELATIVE/PATH`.
    pub tree: bool,
}

/// What a controller directory holds, relative to it, as Ansible's copy action walks it
/// with `local_follow` (the default): every subdirectory (parents first), every file
/// (symlinks to files and directories followed), and the symlinks it keeps as links (one
/// that points nowhere, or back to a directory being copied).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeListing {
    /// Subdirectories.
    pub dirs: Vec<String>,
    /// Files.
    pub files: Vec<String>,
    /// Symlinks recreated as symlinks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<TreeLink>,
    /// The walk without following any symlink (`local_follow: false`), when the directory
    /// holds one; its files are shipped under the same names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_follow: Option<Box<TreeListing>>,
}

/// A symlink in a controller directory: where it is (relative) and what it points at, as
/// `readlink` gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeLink {
    /// Where the link is, relative to the directory.
    pub path: String,
    /// Its target, as written in the link.
    pub target: String,
}

/// A controller file's host, owner and modification time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileMeta {
    /// The controller's node name (`uname -n`).
    pub host: String,
    /// The file's owner (name, or uid when it has none).
    pub owner: String,
    /// Modification time, `YYYY-MM-DD HH:MM:SS.ffffff`.
    pub mtime: String,
    /// Its permission bits, for `mode: preserve`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
}

impl FileContent {
    /// A file's bytes (shared, not copied, when given an `Arc`).
    pub fn new(bytes: impl Into<Arc<[u8]>>, origin: impl Into<String>) -> Self {
        FileContent {
            bytes: bytes.into(),
            origin: origin.into(),
            meta: None,
            templates: None,
            tree: false,
        }
    }

    /// A directory's listing, shipped in place of its bytes.
    pub fn tree(listing: &TreeListing, origin: impl Into<String>) -> Self {
        let bytes = serde_json::to_vec(listing).unwrap_or_default();
        FileContent {
            tree: true,
            ..FileContent::new(bytes, origin)
        }
    }

    /// The listing of a directory shipped with [`FileContent::tree`].
    pub fn listing(&self) -> Option<TreeListing> {
        self.tree
            .then(|| serde_json::from_slice(&self.bytes).ok())
            .flatten()
    }

    /// The same file, with where it lives on the controller.
    pub fn with_meta(mut self, meta: FileMeta) -> Self {
        self.meta = Some(meta);
        self
    }

    /// The same template, with the templates it names (see [`FileContent::templates`]).
    pub fn with_templates(mut self, templates: BTreeMap<String, String>) -> Self {
        self.templates = (!templates.is_empty()).then(|| Arc::new(templates));
        self
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Another handle on the same bytes.
    pub fn shared(&self) -> Arc<[u8]> {
        Arc::clone(&self.bytes)
    }

    /// The bytes as UTF-8 text, or an error naming the file.
    pub fn text(&self) -> Result<&str, String> {
        std::str::from_utf8(&self.bytes).map_err(|_| format!("`{}` is not UTF-8 text", self.origin))
    }
}

/// The wire form: `data` is the text, or base64 when `base64` is true.
#[derive(Serialize, Deserialize)]
struct Wire<'a> {
    data: std::borrow::Cow<'a, str>,
    #[serde(default)]
    base64: bool,
    origin: std::borrow::Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    meta: Option<FileMeta>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    templates: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    tree: bool,
}

impl FileContent {
    /// Writes the wire form of the bytes (the inside of `data`'s JSON string: escaped text,
    /// or base64) to `out` a slice at a time, never encoding them whole: byte for byte what
    /// serialising the file puts between `data`'s quotes.
    pub(super) fn write_data(&self, out: &mut impl Write) -> Result<(), serde_json::Error> {
        match std::str::from_utf8(&self.bytes) {
            Ok(text) => {
                let mut escaped = Vec::with_capacity(SLICE + SLICE / 8);
                let mut start = 0;
                while start < text.len() {
                    let mut end = (start + SLICE).min(text.len());
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    escaped.clear();
                    // JSON escapes character by character: the pieces' escapes, joined, are
                    // the whole text's.
                    serde_json::to_writer(&mut escaped, &text[start..end])?;
                    let inside = &escaped[1..escaped.len() - 1];
                    out.write_all(inside).map_err(serde_json::Error::io)?;
                    start = end;
                }
            }
            Err(_) => {
                // Slices of a multiple of 3 bytes encode without padding: their encodings,
                // joined, are the whole file's.
                let mut encoded = vec![0u8; SLICE / 3 * 4];
                for slice in self.bytes.chunks(SLICE / 3 * 3) {
                    let n = base64::engine::general_purpose::STANDARD
                        .encode_slice(slice, &mut encoded)
                        .map_err(serde::ser::Error::custom)?;
                    out.write_all(&encoded[..n])
                        .map_err(serde_json::Error::io)?;
                }
            }
        }
        Ok(())
    }
}

/// How many bytes of a file [`FileContent::write_data`] encodes at a time.
pub(super) const SLICE: usize = 192 * 1024;

impl Serialize for FileContent {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let text = std::str::from_utf8(&self.bytes).ok();
        let data = if super::request_line::leave_hole(self) {
            // Filled in later by `write_data`, a slice at a time.
            "".into()
        } else {
            match text {
                Some(text) => text.into(),
                None => base64::engine::general_purpose::STANDARD
                    .encode(&self.bytes)
                    .into(),
            }
        };
        Wire {
            data,
            base64: text.is_none(),
            origin: self.origin.as_str().into(),
            meta: self.meta.clone(),
            templates: self.templates.as_deref().cloned(),
            tree: self.tree,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for FileContent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let wire = Wire::deserialize(d)?;
        let bytes: Arc<[u8]> = if wire.base64 {
            base64::engine::general_purpose::STANDARD
                .decode(wire.data.as_bytes())
                .map_err(|e| {
                    serde::de::Error::custom(format!("`{}` is not valid base64: {e}", wire.origin))
                })?
                .into()
        } else {
            wire.data.as_bytes().into()
        };
        let mut file = FileContent::new(bytes, wire.origin.into_owned());
        file.meta = wire.meta;
        file.templates = wire.templates.map(Arc::new);
        file.tree = wire.tree;
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_binary_keep_the_wire_format_and_round_trip() {
        let text = FileContent::new(b"a=1\n".to_vec(), "files/a.env");
        assert_eq!(
            serde_json::to_string(&text).unwrap_or_default(),
            r#"{"data":"a=1\n","base64":false,"origin":"files/a.env"}"#
        );
        let binary = FileContent::new(vec![0xff, 0, 1], "files/x.bin");
        let json = serde_json::to_string(&binary).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"data":"/wAB","base64":true,"origin":"files/x.bin"}"#
        );
        let back: FileContent = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.bytes(), &[0xff, 0, 1]);
        let old: FileContent =
            serde_json::from_str(r#"{"data":"x","origin":"o"}"#).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(old.text(), Ok("x"));
        assert_eq!(
            binary.text(),
            Err("`files/x.bin` is not UTF-8 text".to_owned())
        );
    }

    #[test]
    fn handles_share_one_buffer() {
        let f = FileContent::new(vec![7u8; 1024], "big");
        let g = f.clone();
        assert!(Arc::ptr_eq(&f.shared(), &g.shared()));
    }
}
