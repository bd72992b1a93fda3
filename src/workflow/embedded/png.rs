//! PNG text chunks. ComfyUI's SaveImage writes `prompt` and every `extra_pnginfo` key
//! (`workflow`) as `tEXt`; other tools re-save them as `zTXt` or `iTXt`.

use super::{Entry, be32, inflate, is_workflow_key};

const SIGNATURE: usize = 8;

/// The text chunks keyed `workflow` or `prompt`; compressed ones inflate to at most `budget`
/// bytes together.
pub fn text_chunks(bytes: &[u8], mut budget: u64) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    let over = |budget: u64| budget == u64::MAX;
    match walk(bytes, &mut out, &mut budget) {
        // Past the limit is never a cut download: the whole file is refused.
        Err(e) if over(budget) => Err(e),
        // A download cut in the image data still carries the text chunks before it.
        Err(_) if !out.is_empty() => Ok(out),
        Err(e) => Err(e),
        Ok(()) => Ok(out),
    }
}

fn walk(bytes: &[u8], out: &mut Vec<Entry>, budget: &mut u64) -> Result<(), String> {
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
            b"zTXt" => out.extend(ztxt(data, budget)?),
            b"iTXt" => out.extend(itxt(data, budget)?),
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
    let (key, rest) = split_keyword(data).filter(|(k, _)| is_workflow_key(k))?;
    // tEXt is Latin-1 by the standard; ComfyUI (PIL) writes UTF-8 there when the text needs it.
    let text = match std::str::from_utf8(rest) {
        Ok(s) => s.to_string(),
        Err(_) => latin1(rest),
    };
    Some(Entry { key, text })
}

fn ztxt(data: &[u8], budget: &mut u64) -> Result<Option<Entry>, String> {
    let Some((key, rest)) = split_keyword(data).filter(|(k, _)| is_workflow_key(k)) else {
        return Ok(None);
    };
    let compressed = rest.get(1..).unwrap_or_default();
    let raw = inflate(compressed, budget)?;
    Ok(Some(Entry {
        key,
        text: String::from_utf8_lossy(&raw).into_owned(),
    }))
}

fn itxt(data: &[u8], budget: &mut u64) -> Result<Option<Entry>, String> {
    let Some((key, rest)) = split_keyword(data).filter(|(k, _)| is_workflow_key(k)) else {
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
    let raw = if compressed == 1 {
        inflate(body, budget)?
    } else {
        body.to_vec()
    };
    Ok(Some(Entry {
        key,
        text: String::from_utf8_lossy(&raw).into_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&[0; 4]); // the CRC is not checked
    }

    fn ztxt_chunk(out: &mut Vec<u8>, key: &str, text: &[u8]) {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(text).unwrap();
        let mut data = key.as_bytes().to_vec();
        data.extend_from_slice(&[0, 0]);
        data.extend_from_slice(&z.finish().unwrap());
        chunk(out, b"zTXt", &data);
    }

    #[test]
    fn compressed_chunks_share_one_budget() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        for _ in 0..40 {
            ztxt_chunk(&mut png, "workflow", &[b' '; 100_000]);
        }
        chunk(&mut png, b"IEND", &[]);
        let err = text_chunks(&png, 1_000_000).unwrap_err();
        assert!(err.contains("more than"), "{err}");
        assert_eq!(text_chunks(&png, 4_000_000).unwrap().len(), 40);
    }

    #[test]
    fn only_the_keys_comfyui_writes_are_read() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        for _ in 0..40 {
            ztxt_chunk(&mut png, "Comment", &[b' '; 100_000]);
        }
        chunk(&mut png, b"tEXt", b"Software\0gimp");
        ztxt_chunk(&mut png, "prompt", b"{}");
        chunk(&mut png, b"tEXt", b"Workflow\0{}");
        chunk(&mut png, b"IEND", &[]);
        let found = text_chunks(&png, 10).unwrap();
        let keys: Vec<&str> = found.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["prompt", "Workflow"]);
    }
}
