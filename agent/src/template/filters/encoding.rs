//! Python's text codecs the `b64encode`/`b64decode` filters take as `encoding=`: the UTF
//! family, Latin-1 and ASCII, named as Python names them (`utf-16-le`, `UTF_16LE`, `latin1`).

/// A codec dr has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Codec {
    Utf8,
    /// `utf-16`: a byte-order mark, then little-endian (as CPython on x86 and ARM writes it).
    Utf16,
    Utf16Le,
    Utf16Be,
    Utf32,
    Utf32Le,
    Utf32Be,
    Latin1,
    Ascii,
}

impl Codec {
    /// The codec Python would find for `name`, if dr has it.
    pub(super) fn named(name: &str) -> Option<Codec> {
        let norm: String = name
            .trim()
            .to_ascii_lowercase()
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .collect();
        Some(match norm.as_str() {
            "utf8" | "u8" | "utf" | "cp65001" => Codec::Utf8,
            "utf16" | "u16" => Codec::Utf16,
            "utf16le" => Codec::Utf16Le,
            "utf16be" => Codec::Utf16Be,
            "utf32" | "u32" => Codec::Utf32,
            "utf32le" => Codec::Utf32Le,
            "utf32be" => Codec::Utf32Be,
            "latin1" | "latin" | "l1" | "iso88591" | "iso885911987" | "8859" | "cp819" => {
                Codec::Latin1
            }
            "ascii" | "usascii" | "646" => Codec::Ascii,
            _ => return None,
        })
    }

    /// `text` encoded; `Err` names the first character the codec cannot hold.
    pub(super) fn encode(self, text: &str) -> Result<Vec<u8>, String> {
        let narrow = |max: u32, codec: &str| {
            text.chars()
                .map(|c| {
                    u8::try_from(u32::from(c))
                        .ok()
                        .filter(|b| u32::from(*b) <= max)
                        .ok_or_else(|| format!("'{codec}' codec can't encode character {c:?}"))
                })
                .collect::<Result<Vec<u8>, String>>()
        };
        Ok(match self {
            Codec::Utf8 => text.as_bytes().to_vec(),
            Codec::Utf16 => [0xff, 0xfe]
                .into_iter()
                .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
                .collect(),
            Codec::Utf16Le => text.encode_utf16().flat_map(u16::to_le_bytes).collect(),
            Codec::Utf16Be => text.encode_utf16().flat_map(u16::to_be_bytes).collect(),
            Codec::Utf32 => [0xff, 0xfe, 0, 0]
                .into_iter()
                .chain(text.chars().flat_map(|c| u32::from(c).to_le_bytes()))
                .collect(),
            Codec::Utf32Le => text
                .chars()
                .flat_map(|c| u32::from(c).to_le_bytes())
                .collect(),
            Codec::Utf32Be => text
                .chars()
                .flat_map(|c| u32::from(c).to_be_bytes())
                .collect(),
            Codec::Latin1 => narrow(0xff, "latin-1")?,
            Codec::Ascii => narrow(0x7f, "ascii")?,
        })
    }

    /// `bytes` decoded; `Err` when they are not text in this codec.
    pub(super) fn decode(self, bytes: &[u8]) -> Result<String, String> {
        let bad = |codec: &str| format!("'{codec}' codec can't decode the bytes");
        match self {
            Codec::Utf8 => String::from_utf8(bytes.to_vec()).map_err(|_| bad("utf-8")),
            Codec::Utf16 => match bytes {
                [0xfe, 0xff, rest @ ..] => utf16(rest, u16::from_be_bytes),
                [0xff, 0xfe, rest @ ..] => utf16(rest, u16::from_le_bytes),
                _ => utf16(bytes, u16::from_le_bytes),
            }
            .ok_or_else(|| bad("utf-16")),
            Codec::Utf16Le => utf16(bytes, u16::from_le_bytes).ok_or_else(|| bad("utf-16-le")),
            Codec::Utf16Be => utf16(bytes, u16::from_be_bytes).ok_or_else(|| bad("utf-16-be")),
            Codec::Utf32 => match bytes {
                [0, 0, 0xfe, 0xff, rest @ ..] => utf32(rest, u32::from_be_bytes),
                [0xff, 0xfe, 0, 0, rest @ ..] => utf32(rest, u32::from_le_bytes),
                _ => utf32(bytes, u32::from_le_bytes),
            }
            .ok_or_else(|| bad("utf-32")),
            Codec::Utf32Le => utf32(bytes, u32::from_le_bytes).ok_or_else(|| bad("utf-32-le")),
            Codec::Utf32Be => utf32(bytes, u32::from_be_bytes).ok_or_else(|| bad("utf-32-be")),
            Codec::Latin1 => Ok(bytes.iter().map(|&b| char::from(b)).collect()),
            Codec::Ascii => bytes
                .iter()
                .map(|&b| b.is_ascii().then_some(char::from(b)))
                .collect::<Option<String>>()
                .ok_or_else(|| bad("ascii")),
        }
    }
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Option<String> {
    let chunks = bytes.chunks_exact(2);
    if !chunks.remainder().is_empty() {
        return None;
    }
    let units = chunks.map(|c| unit([c[0], c[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .ok()
}

fn utf32(bytes: &[u8], unit: fn([u8; 4]) -> u32) -> Option<String> {
    let chunks = bytes.chunks_exact(4);
    if !chunks.remainder().is_empty() {
        return None;
    }
    chunks
        .map(|c| char::from_u32(unit([c[0], c[1], c[2], c[3]])))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::Codec;

    #[test]
    fn pythons_names_and_round_trips() {
        let text = "Ansible - くらとみ\n";
        for name in [
            "utf-8",
            "UTF_16LE",
            "utf-16-be",
            "utf16",
            "utf-32",
            "utf_32_le",
            "UTF-32-BE",
        ] {
            let codec = Codec::named(name).expect(name);
            let bytes = codec.encode(text).unwrap();
            assert_eq!(codec.decode(&bytes).unwrap(), text, "{name}");
        }
        assert_eq!(
            Codec::Utf16Le.encode("An").unwrap(),
            [b'A', 0, b'n', 0],
            "little-endian"
        );
        assert_eq!(Codec::Utf16.encode("A").unwrap(), [0xff, 0xfe, b'A', 0]);
        assert_eq!(Codec::named("latin1"), Some(Codec::Latin1));
        assert_eq!(Codec::Latin1.encode("café").unwrap(), b"caf\xe9");
        assert_eq!(Codec::Latin1.decode(b"caf\xe9").unwrap(), "café");
        assert!(Codec::Ascii.encode("café").is_err());
        assert!(Codec::Ascii.decode(b"caf\xe9").is_err());
        assert!(Codec::Utf16Le.decode(b"abc").is_err());
        assert_eq!(Codec::named("cp1252"), None);
    }
}
