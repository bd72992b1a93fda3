//! Small media files with an embedded workflow, written the way ComfyUI writes them: PNG text
//! chunks (with CRCs), WebP EXIF, FLAC Vorbis comments, MP4 `mdta` metadata items. Nothing here
//! is a decodable picture or sound; readers only look at the metadata.

use std::io::Write;

/// How a PNG text chunk is stored.
#[derive(Clone, Copy)]
pub enum Text {
    Plain,
    Compressed,
    International { compressed: bool },
}

fn crc(kind: &[u8], data: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(kind);
    c.update(data);
    c.sum()
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    out.extend_from_slice(&crc(kind, data).to_be_bytes());
}

fn zlib(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A 1x1 PNG carrying `entries` (keyword, text) as text chunks of the given kind.
pub fn png(entries: &[(&str, &str)], how: Text) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&1u32.to_be_bytes());
    ihdr.extend_from_slice(&1u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    for (key, text) in entries {
        let mut data = key.as_bytes().to_vec();
        data.push(0);
        match how {
            Text::Plain => {
                data.extend_from_slice(text.as_bytes());
                chunk(&mut out, b"tEXt", &data);
            }
            Text::Compressed => {
                data.push(0);
                data.extend_from_slice(&zlib(text.as_bytes()));
                chunk(&mut out, b"zTXt", &data);
            }
            Text::International { compressed } => {
                data.extend_from_slice(&[compressed as u8, 0]);
                data.extend_from_slice(b"en\0\0");
                if compressed {
                    data.extend_from_slice(&zlib(text.as_bytes()));
                } else {
                    data.extend_from_slice(text.as_bytes());
                }
                chunk(&mut out, b"iTXt", &data);
            }
        }
    }
    chunk(&mut out, b"IDAT", &zlib(&[0, 0, 0, 0]));
    chunk(&mut out, b"IEND", &[]);
    out
}

/// A WebP whose EXIF holds `workflow:{...}` in the Make tag and `prompt:{...}` in the Model tag,
/// as ComfyUI's SaveAnimatedWEBP writes them through PIL.
pub fn webp(workflow: Option<&str>, prompt: Option<&str>) -> Vec<u8> {
    let strings: Vec<(u16, String)> = [
        (0x010f, workflow.map(|w| format!("workflow:{w}"))),
        (0x0110, prompt.map(|p| format!("prompt:{p}"))),
    ]
    .into_iter()
    .filter_map(|(tag, s)| Some((tag, s?)))
    .collect();
    let mut exif = b"II*\0".to_vec();
    exif.extend_from_slice(&8u32.to_le_bytes());
    exif.extend_from_slice(&(strings.len() as u16).to_le_bytes());
    let mut data_at = 8 + 2 + 12 * strings.len() + 4;
    let mut data = Vec::new();
    for (tag, s) in &strings {
        let bytes = [s.as_bytes(), b"\0"].concat();
        exif.extend_from_slice(&tag.to_le_bytes());
        exif.extend_from_slice(&2u16.to_le_bytes());
        exif.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        exif.extend_from_slice(&(data_at as u32).to_le_bytes());
        data_at += bytes.len();
        data.extend_from_slice(&bytes);
    }
    exif.extend_from_slice(&0u32.to_le_bytes());
    exif.extend_from_slice(&data);

    let mut body = b"WEBP".to_vec();
    for (kind, payload) in [(b"VP8L", vec![0x2f, 0, 0, 0, 0]), (b"EXIF", exif)] {
        body.extend_from_slice(kind);
        body.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        body.extend_from_slice(&payload);
        if payload.len() % 2 == 1 {
            body.push(0);
        }
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// A FLAC stream header with `comments` (key, value) as Vorbis comments, as SaveAudio writes.
pub fn flac(comments: &[(&str, &str)]) -> Vec<u8> {
    let mut out = b"fLaC".to_vec();
    out.extend_from_slice(&[0, 0, 0, 34]);
    out.extend_from_slice(&[0u8; 34]);
    let mut block = Vec::new();
    let vendor = b"comfydock-test";
    block.extend_from_slice(&(vendor.len() as u32).to_le_bytes());
    block.extend_from_slice(vendor);
    block.extend_from_slice(&(comments.len() as u32).to_le_bytes());
    for (k, v) in comments {
        let field = format!("{k}={v}");
        block.extend_from_slice(&(field.len() as u32).to_le_bytes());
        block.extend_from_slice(field.as_bytes());
    }
    let len = block.len() as u32;
    out.extend_from_slice(&[0x80 | 4, (len >> 16) as u8, (len >> 8) as u8, len as u8]);
    out.extend_from_slice(&block);
    out
}

fn mp4_box(kind: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut out = ((payload.len() + 8) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(payload);
    out
}

/// An MP4 whose `moov/meta` holds `items` as `mdta` keys with `ilst` values, as ffmpeg writes
/// with `use_metadata_tags` (ComfyUI's SaveVideo).
pub fn mp4(items: &[(&str, &str)]) -> Vec<u8> {
    let mut hdlr = vec![0u8; 8];
    hdlr.extend_from_slice(b"mdta");
    hdlr.extend_from_slice(&[0u8; 13]);
    let mut keys = vec![0u8; 4];
    keys.extend_from_slice(&(items.len() as u32).to_be_bytes());
    let mut ilst = Vec::new();
    for (i, (k, v)) in items.iter().enumerate() {
        keys.extend_from_slice(&((k.len() + 8) as u32).to_be_bytes());
        keys.extend_from_slice(b"mdta");
        keys.extend_from_slice(k.as_bytes());
        let mut data = vec![0, 0, 0, 1, 0, 0, 0, 0];
        data.extend_from_slice(v.as_bytes());
        let index = ((i + 1) as u32).to_be_bytes();
        ilst.extend_from_slice(&mp4_box(&index, &mp4_box(b"data", &data)));
    }
    let mut meta = vec![0u8; 4];
    meta.extend_from_slice(&mp4_box(b"hdlr", &hdlr));
    meta.extend_from_slice(&mp4_box(b"keys", &keys));
    meta.extend_from_slice(&mp4_box(b"ilst", &ilst));
    let mut out = mp4_box(b"ftyp", b"isom\0\0\x02\0isomiso2mp41");
    out.extend_from_slice(&mp4_box(b"moov", &mp4_box(b"meta", &meta)));
    out.extend_from_slice(&mp4_box(b"mdat", &[0u8; 16]));
    out
}

/// A PNG with the same compressed text chunk (`key`, `text`) `times` times: what a zip bomb of
/// many small chunks looks like. `text` is compressed once.
pub fn png_repeated_ztxt(key: &str, text: &[u8], times: usize) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut data = key.as_bytes().to_vec();
    data.extend_from_slice(&[0, 0]);
    data.extend_from_slice(&zlib(text));
    for _ in 0..times {
        chunk(&mut out, b"zTXt", &data);
    }
    chunk(&mut out, b"IEND", &[]);
    out
}
