//! FLAC metadata: ComfyUI's SaveAudio writes `prompt` and `workflow` as Vorbis comments
//! (`KEY=value`) in the VORBIS_COMMENT block.

use super::{Entry, be32, le32};

const VORBIS_COMMENT: u8 = 4;

pub fn vorbis_comments(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    let mut at = 4;
    loop {
        let header = be32(bytes, at).ok_or("a metadata block header is cut off")?;
        let last = header & 0x8000_0000 != 0;
        let kind = ((header >> 24) & 0x7f) as u8;
        let len = (header & 0x00ff_ffff) as usize;
        let start = at + 4;
        let block = bytes
            .get(start..start + len)
            .ok_or_else(|| format!("a metadata block claims {len} bytes, more than the file has"))?;
        if kind == VORBIS_COMMENT {
            out.extend(comments(block).ok_or("the Vorbis comment block is malformed")?);
        }
        if last {
            return Ok(out);
        }
        at = start + len;
    }
}

fn comments(block: &[u8]) -> Option<Vec<Entry>> {
    let vendor = le32(block, 0)? as usize;
    let mut at = 4usize.checked_add(vendor)?;
    let count = le32(block, at)?;
    at += 4;
    let mut out = Vec::new();
    for _ in 0..count {
        let len = le32(block, at)? as usize;
        let field = block.get(at + 4..(at + 4).checked_add(len)?)?;
        at += 4 + len;
        let text = String::from_utf8_lossy(field);
        if let Some((key, value)) = text.split_once('=') {
            out.push(Entry {
                key: key.to_ascii_lowercase(),
                text: value.to_string(),
            });
        }
    }
    Some(out)
}
