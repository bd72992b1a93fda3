//! MP4/MOV metadata. ComfyUI's SaveVideo writes `prompt` and `workflow` as metadata items with
//! ffmpeg's `use_metadata_tags` (an `mdta` `keys` box naming the items of `ilst`); Video Helper
//! Suite writes one `comment` item holding `{"prompt": ..., "workflow": ...}`. Boxes are
//! walked through `moov`/`udta`/`meta`/`ilst`; media data is skipped.

use super::{Entry, be32};

const MAX_DEPTH: usize = 8;

pub fn metadata(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    walk(bytes, 0, &mut out)?;
    Ok(out)
}

/// A box: its four-letter type and its payload.
type Mp4Box<'a> = ([u8; 4], &'a [u8]);

/// The boxes directly inside `bytes`.
fn boxes(bytes: &[u8]) -> Result<Vec<Mp4Box<'_>>, String> {
    let mut out = Vec::new();
    let mut at = 0usize;
    while at + 8 <= bytes.len() {
        let size = be32(bytes, at).ok_or("a box header is cut off")? as u64;
        let kind: [u8; 4] = bytes
            .get(at + 4..at + 8)
            .and_then(|k| k.try_into().ok())
            .ok_or("a box header is cut off")?;
        let (header, size) = match size {
            0 => (8u64, (bytes.len() - at) as u64),
            1 => {
                let hi = be32(bytes, at + 8).ok_or("a box header is cut off")? as u64;
                let lo = be32(bytes, at + 12).ok_or("a box header is cut off")? as u64;
                (16, (hi << 32) | lo)
            }
            n => (8, n),
        };
        if size < header {
            return Err(format!(
                "box {} has an impossible size {size}",
                String::from_utf8_lossy(&kind)
            ));
        }
        let end = (at as u64).saturating_add(size);
        let payload = usize::try_from(end)
            .ok()
            .and_then(|end| bytes.get(at + header as usize..end))
            .ok_or_else(|| {
                format!(
                    "box {} claims {size} bytes, more than the file has",
                    String::from_utf8_lossy(&kind)
                )
            })?;
        out.push((kind, payload));
        at = end as usize;
    }
    Ok(out)
}

fn walk(bytes: &[u8], depth: usize, out: &mut Vec<Entry>) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Ok(());
    }
    for (kind, payload) in boxes(bytes)? {
        match &kind {
            b"moov" | b"udta" => walk(payload, depth + 1, out)?,
            b"meta" => meta(payload, out)?,
            _ => {}
        }
    }
    Ok(())
}

fn meta(payload: &[u8], out: &mut Vec<Entry>) -> Result<(), String> {
    // ISO `meta` is a full box (4 bytes of version and flags); QuickTime's is not.
    let inner = match payload.get(4..8) {
        Some(b"hdlr") => payload,
        _ => payload.get(4..).unwrap_or_default(),
    };
    let children = boxes(inner)?;
    let keys: Vec<String> = children
        .iter()
        .find(|(k, _)| k == b"keys")
        .map(|(_, p)| key_names(p))
        .unwrap_or_default();
    for (kind, payload) in &children {
        if kind != b"ilst" {
            continue;
        }
        for (item, body) in boxes(payload)? {
            let index = u32::from_be_bytes(item) as usize;
            let name = match keys.get(index.wrapping_sub(1)) {
                Some(k) => k.clone(),
                None => item_name(&item),
            };
            for (k, data) in boxes(body)? {
                if &k == b"data" {
                    // 4 bytes type, 4 bytes locale, then the value
                    let value = data.get(8..).unwrap_or_default();
                    out.push(Entry {
                        key: name.clone(),
                        text: String::from_utf8_lossy(value).into_owned(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// The `keys` box: version/flags, count, then (size, namespace, name) entries.
fn key_names(payload: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    let count = be32(payload, 4).unwrap_or(0);
    let mut at = 8usize;
    for _ in 0..count {
        let Some(size) = be32(payload, at).map(|s| s as usize) else {
            break;
        };
        let Some(name) = payload.get(at + 8..at.saturating_add(size)) else {
            break;
        };
        out.push(String::from_utf8_lossy(name).into_owned());
        if size < 8 {
            break;
        }
        at += size;
    }
    out
}

/// An iTunes-style item name: `©cmt` -> `comment`, others as their four letters.
fn item_name(item: &[u8; 4]) -> String {
    match item {
        [0xa9, b'c', b'm', b't'] => "comment".to_string(),
        _ => String::from_utf8_lossy(item).trim_start_matches('\u{fffd}').to_string(),
    }
}
