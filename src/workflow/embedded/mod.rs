//! Workflows embedded in media files by ComfyUI: PNG text chunks, WebP EXIF/XMP, FLAC Vorbis
//! comments and MP4 metadata items. Only the metadata is read; nothing is decoded.

mod flac;
mod mp4;
mod png;
mod webp;

use serde::Serialize;

/// What kind of file the bytes are, told by their first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Container {
    Json,
    Png,
    Webp,
    Flac,
    Mp4,
}

impl Container {
    pub fn name(self) -> &'static str {
        match self {
            Container::Json => "JSON",
            Container::Png => "PNG",
            Container::Webp => "WebP",
            Container::Flac => "FLAC",
            Container::Mp4 => "MP4",
        }
    }

    /// The container of `bytes`; `Json` for anything that is not a known media file.
    pub fn sniff(bytes: &[u8]) -> Container {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Container::Png
        } else if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
            Container::Webp
        } else if bytes.starts_with(b"fLaC") {
            Container::Flac
        } else if bytes.get(4..8) == Some(b"ftyp") {
            Container::Mp4
        } else {
            Container::Json
        }
    }
}

/// One metadata entry that may hold a workflow: its key (`workflow`, `prompt`, `comment`, ...)
/// and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub key: String,
    pub text: String,
}

/// The metadata entries of a media file that can hold a workflow. `Err` says what is damaged.
pub fn entries(container: Container, bytes: &[u8]) -> Result<Vec<Entry>, String> {
    match container {
        Container::Json => Ok(Vec::new()),
        Container::Png => png::text_chunks(bytes, MAX_INFLATED_TOTAL),
        Container::Webp => webp::metadata(bytes),
        Container::Flac => flac::vorbis_comments(bytes),
        Container::Mp4 => mp4::metadata(bytes),
    }
}

/// The most text all compressed chunks of one file may inflate to, together: above the largest
/// real workflow (a 100 MB one is analysed), and what a zip bomb of any number of chunks gets.
pub const MAX_INFLATED_TOTAL: u64 = 256 * 1024 * 1024;

/// Inflates `data`, taking what it inflates to from `budget`; more than `budget` is an error,
/// after which `budget` is `u64::MAX` (so that callers tell it from damage).
fn inflate(data: &[u8], budget: &mut u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(data)
        .take(*budget + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("a compressed text chunk does not inflate: {e}"))?;
    if out.len() as u64 > *budget {
        *budget = u64::MAX;
        return Err(format!(
            "its compressed text chunks inflate to more than {MAX_INFLATED_TOTAL} bytes (the limit for one file)"
        ));
    }
    *budget -= out.len() as u64;
    Ok(out)
}

/// The metadata keys ComfyUI writes a workflow under. Other keys are skipped unread, so a file
/// cannot make the reader inflate text that would never be used.
pub const WORKFLOW_KEYS: [&str; 2] = ["workflow", "prompt"];

fn is_workflow_key(key: &str) -> bool {
    WORKFLOW_KEYS.iter().any(|k| key.eq_ignore_ascii_case(k))
}

/// `key:{json}` / `key={json}` strings inside binary metadata (EXIF as ComfyUI writes it, where
/// PIL stores `workflow:{...}` in the Make tag and `prompt:{...}` in the Model tag): the JSON
/// value that follows each marker, parsed up to its own end.
fn marked_json(bytes: &[u8], keys: &[&str]) -> Vec<Entry> {
    let mut found = Vec::new();
    for key in keys {
        for sep in [b':', b'='] {
            let mut marker = key.as_bytes().to_vec();
            marker.push(sep);
            let mut from = 0;
            while let Some(pos) = find(bytes.get(from..).unwrap_or_default(), &marker) {
                let start = from + pos + marker.len();
                from = start;
                let rest = bytes.get(start..).unwrap_or_default();
                if !rest.starts_with(b"{") {
                    continue;
                }
                let mut stream = serde_json::Deserializer::from_slice(rest).into_iter::<serde_json::Value>();
                if let Some(Ok(_)) = stream.next() {
                    let end = stream.byte_offset();
                    if let Some(text) = rest.get(..end).and_then(|t| std::str::from_utf8(t).ok()) {
                        found.push(Entry {
                            key: key.to_string(),
                            text: text.to_string(),
                        });
                    }
                }
            }
        }
    }
    found
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Big-endian u32 at `at`, if the bytes are there.
fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

/// Little-endian u32 at `at`, if the bytes are there.
fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffing() {
        assert_eq!(Container::sniff(b"\x89PNG\r\n\x1a\nrest"), Container::Png);
        assert_eq!(Container::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Container::Webp);
        assert_eq!(Container::sniff(b"fLaC\0"), Container::Flac);
        assert_eq!(Container::sniff(b"\0\0\0\x18ftypisom"), Container::Mp4);
        assert_eq!(Container::sniff(b"{}"), Container::Json);
        assert_eq!(Container::sniff(b""), Container::Json);
    }

    #[test]
    fn markers_take_one_json_value() {
        let bytes = b"II*\0junkworkflow:{\"nodes\":[]}\0\0prompt:{\"1\":{}}\0prompt:nope";
        let found = marked_json(bytes, &["workflow", "prompt"]);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].text, "{\"nodes\":[]}");
        assert_eq!(found[1].key, "prompt");
    }
}
