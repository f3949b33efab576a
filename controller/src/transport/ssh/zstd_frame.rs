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
/// the checksum).
pub fn declared(bytes: &[u8]) -> Option<Declared> {
    let mut at = Reader { bytes, at: 0 };
    if at.take(4)? != MAGIC {
        return None;
    }
    let descriptor = at.take(1)?[0];
    let size_flag = descriptor >> 6;
    let single_segment = descriptor & 0b10_0000 != 0;
    let reserved = descriptor & 0b1000 != 0;
    let has_checksum = descriptor & 0b100 != 0;
    let dictionary = descriptor & 0b11 != 0;
    if reserved || dictionary || !has_checksum {
        return None;
    }
    if !single_segment {
        at.take(1)?; // Window_Descriptor
    }
    let size = match (size_flag, single_segment) {
        (0, false) => return None, // the size is not recorded
        (0, true) => u64::from(at.take(1)?[0]),
        (1, _) => u64::from(u16::from_le_bytes(at.take(2)?.try_into().ok()?)) + 256,
        (2, _) => u64::from(u32::from_le_bytes(at.take(4)?.try_into().ok()?)),
        _ => u64::from_le_bytes(at.take(8)?.try_into().ok()?),
    };
    loop {
        let header = at.take(3)?;
        let header = u32::from(header[0]) | u32::from(header[1]) << 8 | u32::from(header[2]) << 16;
        let last = header & 1 != 0;
        let block_size = (header >> 3) as usize;
        match (header >> 1) & 0b11 {
            0 | 2 => at.take(block_size)?, // raw, compressed: the block's bytes
            1 => at.take(1)?,              // RLE: the one byte repeated
            _ => return None,              // reserved
        };
        if last {
            break;
        }
    }
    let checksum = u32::from_le_bytes(at.take(4)?.try_into().ok()?);
    (at.at == bytes.len()).then_some(Declared { size, checksum })
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

/// A cursor over the file's bytes.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// The next `n` bytes, or `None` past the end.
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let piece = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(piece)
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
