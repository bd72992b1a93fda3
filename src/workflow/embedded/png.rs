//! PNG text chunks. ComfyUI's SaveImage writes `prompt` and every `extra_pnginfo` key
//! (`workflow`) as `tEXt`; other tools re-save them as `zTXt` or `iTXt`.

use super::{Entry, be32, inflate};

const SIGNATURE: usize = 8;

pub fn text_chunks(bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    match walk(bytes, &mut out) {
        // A download cut in the image data still carries the text chunks before it.
        Err(_) if !out.is_empty() => Ok(out),
        Err(e) => Err(e),
        Ok(()) => Ok(out),
    }
}

fn walk(bytes: &[u8], out: &mut Vec<Entry>) -> Result<(), String> {
    let mut at = SIGNATURE;
    while at < bytes.len() {
        let len = be32(bytes, at).ok_or("a chunk header is cut off")? as usize;
        let kind = bytes.get(at + 4..at + 8).ok_or("a chunk header is cut off")?;
        let data_start = at + 8;
        let data = data_start
            .checked_add(len)
            .and_then(|end| bytes.get(data_start..end))
            .ok_or_else(|| format!("chunk {} claims {len} bytes, more than the file has", show(kind)))?;
        match kind {
            b"tEXt" => out.extend(text(data)),
            b"zTXt" => out.extend(ztxt(data)?),
            b"iTXt" => out.extend(itxt(data)?),
            b"IEND" => return Ok(()),
            _ => {}
        }
        at = data_start + len + 4; // the CRC
    }
    Ok(())
}

fn show(kind: &[u8]) -> String {
    String::from_utf8_lossy(kind).into_owned()
}

fn split_keyword(data: &[u8]) -> Option<(String, &[u8])> {
    let nul = data.iter().position(|&b| b == 0)?;
    let key = latin1(data.get(..nul)?);
    Some((key, data.get(nul + 1..)?))
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

fn text(data: &[u8]) -> Option<Entry> {
    let (key, rest) = split_keyword(data)?;
    // tEXt is Latin-1 by the standard; ComfyUI (PIL) writes UTF-8 there when the text needs it.
    let text = match std::str::from_utf8(rest) {
        Ok(s) => s.to_string(),
        Err(_) => latin1(rest),
    };
    Some(Entry { key, text })
}

fn ztxt(data: &[u8]) -> Result<Option<Entry>, String> {
    let Some((key, rest)) = split_keyword(data) else {
        return Ok(None);
    };
    let compressed = rest.get(1..).unwrap_or_default();
    let raw = inflate(compressed)?;
    Ok(Some(Entry {
        key,
        text: String::from_utf8_lossy(&raw).into_owned(),
    }))
}

fn itxt(data: &[u8]) -> Result<Option<Entry>, String> {
    let Some((key, rest)) = split_keyword(data) else {
        return Ok(None);
    };
    let (Some(&compressed), Some(rest)) = (rest.first(), rest.get(2..)) else {
        return Ok(None);
    };
    // language tag and translated keyword, each NUL-terminated
    let Some((_, rest)) = split_keyword(rest) else {
        return Ok(None);
    };
    let Some((_, body)) = split_keyword(rest) else {
        return Ok(None);
    };
    let raw = if compressed == 1 { inflate(body)? } else { body.to_vec() };
    Ok(Some(Entry {
        key,
        text: String::from_utf8_lossy(&raw).into_owned(),
    }))
}
