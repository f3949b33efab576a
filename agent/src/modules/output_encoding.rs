//! `template`'s `output_encoding`: the rendered text encoded as Python's codec of that name
//! encodes it (`str.encode(name, errors='surrogate_or_strict')` in Ansible's action), so a
//! character the codec cannot hold fails the task instead of being replaced.

/// Encodes `text` in the Python codec `name` (`''` is UTF-8, Ansible's default).
pub fn encode(name: &str, text: &str) -> Result<Vec<u8>, String> {
    let key = name.trim().to_ascii_lowercase().replace('_', "-");
    match key.as_str() {
        "" | "utf-8" | "utf8" | "u8" | "utf" | "cp65001" => Ok(text.as_bytes().to_vec()),
        "utf-8-sig" => Ok([&[0xEF, 0xBB, 0xBF][..], text.as_bytes()].concat()),
        "ascii" | "us-ascii" | "646" => narrow(name, text, 0x7F),
        "latin-1" | "latin1" | "iso-8859-1" | "iso8859-1" | "8859" | "cp819" | "l1" => {
            narrow(name, text, 0xFF)
        }
        // Python's `utf-16` writes a byte order mark, then little-endian on this machine.
        "utf-16" | "utf16" => Ok([&[0xFF, 0xFE][..], &utf16(text, u16::to_le_bytes)].concat()),
        "utf-16-le" | "utf-16le" => Ok(utf16(text, u16::to_le_bytes)),
        "utf-16-be" | "utf-16be" => Ok(utf16(text, u16::to_be_bytes)),
        _ => whatwg(name, &key, text),
    }
}

/// A single-byte codec whose code points are the first `max + 1` of Unicode.
fn narrow(name: &str, text: &str, max: u32) -> Result<Vec<u8>, String> {
    text.chars()
        .enumerate()
        .map(|(i, c)| {
            u8::try_from(u32::from(c))
                .ok()
                .filter(|b| u32::from(*b) <= max)
                .ok_or_else(|| cannot_encode(name, c, i))
        })
        .collect()
}

fn utf16(text: &str, bytes: fn(u16) -> [u8; 2]) -> Vec<u8> {
    text.encode_utf16().flat_map(bytes).collect()
}

/// Other codecs (`windows-1252`, `cp1251`, `shift_jis`, `koi8-r`, ...) through the WHATWG
/// tables. Labels the WHATWG standard maps to a different encoding than Python does
/// (`latin-1` is handled above; `iso-8859-9` is `windows-1254` there) are refused rather
/// than written in another encoding.
fn whatwg(name: &str, key: &str, text: &str) -> Result<Vec<u8>, String> {
    let python_alias = key.strip_prefix("cp").map(|n| format!("windows-{n}"));
    let label = python_alias.as_deref().unwrap_or(key);
    let enc = encoding_rs::Encoding::for_label(label.as_bytes())
        .filter(|e| {
            e.name().eq_ignore_ascii_case(label)
                || (label == "shift-jis" && *e == encoding_rs::SHIFT_JIS)
        })
        .filter(|e| e.output_encoding() == *e)
        .ok_or_else(|| format!("unknown or unsupported output_encoding `{name}`"))?;
    let mut encoder = enc.new_encoder();
    let mut out = Vec::with_capacity(text.len() + 16);
    let mut rest = text;
    loop {
        let need = encoder
            .max_buffer_length_from_utf8_without_replacement(rest.len())
            .unwrap_or(rest.len() * 4 + 16);
        let start = out.len();
        out.resize(start + need, 0);
        let (result, read, written) =
            encoder.encode_from_utf8_without_replacement(rest, &mut out[start..], true);
        out.truncate(start + written);
        match result {
            encoding_rs::EncoderResult::InputEmpty => return Ok(out),
            encoding_rs::EncoderResult::OutputFull => rest = &rest[read..],
            encoding_rs::EncoderResult::Unmappable(c) => {
                let at = text.len() - rest.len() + read;
                let index = text[..at].chars().count().saturating_sub(1);
                return Err(cannot_encode(name, c, index));
            }
        }
    }
}

/// Python's words for a character a codec cannot hold.
fn cannot_encode(name: &str, c: char, index: usize) -> String {
    format!(
        "'{name}' codec can't encode character '\\u{:04x}' in position {index}: character maps to <undefined>",
        u32::from(c)
    )
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn codecs_encode_as_pythons() {
        assert_eq!(encode("", "é").unwrap(), "é".as_bytes());
        assert_eq!(encode("windows-1252", "é€").unwrap(), vec![0xE9, 0x80]);
        assert_eq!(encode("cp1252", "é").unwrap(), vec![0xE9]);
        assert_eq!(encode("latin-1", "é").unwrap(), vec![0xE9]);
        assert_eq!(encode("utf-16", "a").unwrap(), vec![0xFF, 0xFE, b'a', 0]);
        assert_eq!(encode("UTF_16_BE", "a").unwrap(), vec![0, b'a']);
        assert_eq!(encode("ascii", "ab").unwrap(), b"ab");
    }

    #[test]
    fn a_character_the_codec_cannot_hold_fails() {
        let e = encode("ascii", "aé").unwrap_err();
        assert!(
            e.contains("can't encode character '\\u00e9' in position 1"),
            "{e}"
        );
        assert!(encode("latin-1", "€").is_err());
        assert!(
            encode("windows-1252", "a✓")
                .unwrap_err()
                .contains("position 1")
        );
    }

    #[test]
    fn unknown_and_mismatched_codecs_are_refused() {
        assert!(
            encode("klingon", "a")
                .unwrap_err()
                .contains("unknown or unsupported")
        );
        // WHATWG reads `iso-8859-9` as windows-1254, Python does not.
        assert!(encode("iso-8859-9", "a").is_err());
    }
}
