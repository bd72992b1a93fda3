//! WebP (RIFF) metadata. ComfyUI's SaveAnimatedWEBP stores the workflow in an `EXIF` chunk,
//! as PIL writes it: the Make tag holds `workflow:{...}`, the Model tag `prompt:{...}`. Some
//! tools put the same text in an `XMP ` chunk; both are searched for those markers.

use super::{Entry, le32, marked_json};

pub fn metadata(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    let mut at = 12;
    while at < bytes.len() {
        let kind = bytes.get(at..at + 4).ok_or("a chunk header is cut off")?;
        let len = le32(bytes, at + 4).ok_or("a chunk header is cut off")? as usize;
        let start = at + 8;
        let data = start
            .checked_add(len)
            .and_then(|end| bytes.get(start..end))
            .ok_or_else(|| {
                format!(
                    "chunk {} claims {len} bytes, more than the file has",
                    String::from_utf8_lossy(kind)
                )
            })?;
        if kind == b"EXIF" || kind == b"XMP " {
            out.extend(marked_json(data, &["workflow", "prompt"]));
        }
        // chunks are padded to an even size
        at = start + len + (len & 1);
    }
    Ok(out)
}
