//! What a zstd file says of the content it unpacks to, read without unpacking it: the
//! content size its frame header records and the content checksum at its end (the low 32
//! bits of the content's XXH64, which `zstd -d` checks). Used to tell, in a millisecond, that
//! the zstd copy made when the agent was built is that agent's (RFC 8878, section 3.1.1).

/// The content a single-frame zstd file unpacks to, as its frame declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declared {
    /// Frame_Content_Size: the length of the content.
    pub size: u64,
    /// Content_Checksum: the low 32 bits of the content's XXH64 (seed 0).
    pub checksum: u32,
}

const MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// What `bytes` declares, if it is exactly one zstd frame (nothing after it) that records
/// its content size and carries a content checksum and needs no dictionary; `None` for
/// anything else (another format, a cut file, several frames, a frame without the size or
/// the checksum). The frame's extent and size are zstd's own reading of it (the library
/// `zstd -d` is built from); the flags are the frame header descriptor's bits.
pub fn declared(bytes: &[u8]) -> Option<Declared> {
    use zstd::zstd_safe;
    if bytes.get(..4)? != MAGIC {
        return None; // another format, or a skippable frame
    }
    let descriptor = *bytes.get(4)?;
    let has_checksum = descriptor & 0b100 != 0;
    let dictionary = descriptor & 0b11 != 0;
    if dictionary || !has_checksum {
        return None;
    }
    if zstd_safe::find_frame_compressed_size(bytes).ok()? != bytes.len() {
        return None; // cut, or followed by anything
    }
    let size = zstd_safe::get_frame_content_size(bytes).ok()??;
    // With the flag set, the frame ends with the checksum.
    let checksum = u32::from_le_bytes(bytes.get(bytes.len().checked_sub(4)?..)?.try_into().ok()?);
    Some(Declared { size, checksum })
}

/// The checksum zstd records of the content written into it: the low 32 bits of its XXH64.
pub struct ContentChecksum(xxhash_rust::xxh64::Xxh64);

impl Default for ContentChecksum {
    fn default() -> ContentChecksum {
        ContentChecksum(xxhash_rust::xxh64::Xxh64::new(0))
    }
}

impl ContentChecksum {
    /// The checksum of everything written so far.
    pub fn value(&self) -> u32 {
        // Truncation intended: the frame keeps the low 32 bits.
        self.0.digest() as u32
    }
}

impl std::io::Write for ContentChecksum {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn content() -> Vec<u8> {
        (0..300_000u32)
            .flat_map(|i| (i % 253).to_le_bytes())
            .collect()
    }

    fn zstd_tool(input: &[u8], flags: &[&str]) -> Vec<u8> {
        let dir = tempfile::tempdir().expect("temp dir");
        let from = dir.path().join("content");
        let to = dir.path().join("content.zst");
        std::fs::File::create(&from)
            .and_then(|mut f| f.write_all(input))
            .expect("write");
        let status = std::process::Command::new("zstd")
            .args(["-q", "-f"])
            .args(flags)
            .arg("-o")
            .arg(&to)
            .arg(&from)
            .status()
            .expect("this test needs `zstd` (apt-get install -y zstd)");
        assert!(status.success());
        std::fs::read(&to).expect("read")
    }

    fn xxh64_low(content: &[u8]) -> u32 {
        let mut checksum = ContentChecksum::default();
        checksum.write_all(content).expect("hashing cannot fail");
        checksum.value()
    }

    /// What the zstd tool writes (as tests/build-agent runs it) declares the content's
    /// length and checksum; small and empty contents (other size fields, RLE and raw
    /// blocks) too.
    #[test]
    fn the_zstd_tools_frames_declare_size_and_checksum() {
        let big = content();
        for (body, flags) in [
            (&big[..], &["-19"][..]),
            (&big[..], &["-1"][..]),
            (&big[..], &["--ultra", "-22", "--long=27"][..]),
            (&big[..1000], &["-3"][..]),
            (&big[..300], &["-3"][..]),
            (&big[..7], &["-3"][..]),
            (&[7u8; 100_000][..], &["-3"][..]),
            (&[][..], &["-3"][..]),
        ] {
            let zst = zstd_tool(body, flags);
            assert_eq!(
                declared(&zst),
                Some(Declared {
                    size: body.len() as u64,
                    checksum: xxh64_low(body)
                }),
                "{} bytes, {flags:?}",
                body.len()
            );
        }
    }

    /// Anything else declares nothing: no checksum, a cut file, bytes after the frame, two
    /// frames, another format, a size not recorded (zstd reading a pipe).
    #[test]
    fn anything_but_one_whole_checksummed_frame_declares_nothing() {
        let body = content();
        let zst = zstd_tool(&body, &["-19"]);
        assert_eq!(declared(&zstd_tool(&body, &["-19", "--no-check"])), None);
        assert_eq!(declared(&zst[..zst.len() - 1]), None);
        assert_eq!(declared(&zst[..zst.len() / 2]), None);
        assert_eq!(declared(&[&zst[..], b"x"].concat()), None);
        assert_eq!(declared(&[&zst[..], &zst[..]].concat()), None);
        assert_eq!(declared(b"\x1f\x8b\x08\x00 gzip"), None);
        assert_eq!(declared(b""), None);

        let piped = std::process::Command::new("sh")
            .args(["-c", "head -c 100000 /dev/zero | zstd -q -c"])
            .output()
            .expect("sh runs");
        assert!(piped.status.success());
        assert_eq!(declared(&piped.stdout), None);
    }
}
