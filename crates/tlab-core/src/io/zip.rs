//! The part of the ZIP format (PKWARE APPNOTE 6.3) that `.npz` archives use: the central
//! directory (zip64 included, which numpy writes), stored and deflated members, CRC-32
//! checked. Enough for numpy's `savez` and `savez_compressed`; no encryption, no spanning.

use std::io::Read;

/// One member of the archive, located by its central-directory entry.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    method: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    local_offset: u64,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + 8)
        .map(|s| u64::from_le_bytes(s.try_into().expect("8 bytes")))
}

const CUT: &str = "the archive is cut short or damaged";

/// The members listed in the central directory, in order.
pub fn members(b: &[u8]) -> Result<Vec<Member>, String> {
    // The end-of-central-directory record: its signature, searched backwards past a comment.
    let eocd = (0..=b.len().saturating_sub(22))
        .rev()
        .take(22 + 65_535)
        .find(|&i| u32_at(b, i) == Some(0x0605_4b50))
        .ok_or(
            "no end-of-central-directory record: not a zip archive (an .npz is one), or cut short",
        )?;
    let mut count = u64::from(u16_at(b, eocd + 10).ok_or(CUT)?);
    let mut cd_offset = u64::from(u32_at(b, eocd + 16).ok_or(CUT)?);
    if cd_offset == 0xffff_ffff || count == 0xffff {
        // zip64: the locator sits just before the record and points at the zip64 record.
        let loc = eocd.checked_sub(20).ok_or(CUT)?;
        if u32_at(b, loc) != Some(0x0706_4b50) {
            return Err("zip64 archive without its locator".into());
        }
        let rec = u64_at(b, loc + 8).ok_or(CUT)? as usize;
        if u32_at(b, rec) != Some(0x0606_4b50) {
            return Err("zip64 end record not found where the locator points".into());
        }
        count = u64_at(b, rec + 32).ok_or(CUT)?;
        cd_offset = u64_at(b, rec + 48).ok_or(CUT)?;
    }
    let mut at = usize::try_from(cd_offset).map_err(|_| CUT)?;
    let mut out = Vec::new();
    for _ in 0..count {
        if u32_at(b, at) != Some(0x0201_4b50) {
            return Err(format!("central directory entry expected at byte {at}"));
        }
        let flags = u16_at(b, at + 8).ok_or(CUT)?;
        if flags & 1 != 0 {
            return Err("encrypted members are not supported".into());
        }
        let method = u16_at(b, at + 10).ok_or(CUT)?;
        let crc = u32_at(b, at + 16).ok_or(CUT)?;
        let mut compressed = u64::from(u32_at(b, at + 20).ok_or(CUT)?);
        let mut size = u64::from(u32_at(b, at + 24).ok_or(CUT)?);
        let name_len = usize::from(u16_at(b, at + 28).ok_or(CUT)?);
        let extra_len = usize::from(u16_at(b, at + 30).ok_or(CUT)?);
        let comment_len = usize::from(u16_at(b, at + 32).ok_or(CUT)?);
        let mut local_offset = u64::from(u32_at(b, at + 42).ok_or(CUT)?);
        let name = b.get(at + 46..at + 46 + name_len).ok_or(CUT)?;
        let name = String::from_utf8_lossy(name).into_owned();
        // zip64 extended information: present fields are those whose 32-bit slot is full.
        let extra = b
            .get(at + 46 + name_len..at + 46 + name_len + extra_len)
            .ok_or(CUT)?;
        let mut e = 0;
        while e + 4 <= extra.len() {
            let id = u16_at(extra, e).ok_or(CUT)?;
            let len = usize::from(u16_at(extra, e + 2).ok_or(CUT)?);
            if id == 1 {
                let mut f = e + 4;
                for slot in [&mut size, &mut compressed, &mut local_offset] {
                    if *slot == 0xffff_ffff {
                        *slot = u64_at(extra, f).ok_or(CUT)?;
                        f += 8;
                    }
                }
            }
            e += 4 + len;
        }
        out.push(Member {
            name,
            method,
            crc,
            compressed,
            size,
            local_offset,
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(out)
}

impl Member {
    /// The member's bytes, inflated if deflated, CRC-checked.
    pub fn data(&self, b: &[u8]) -> Result<Vec<u8>, String> {
        let at = usize::try_from(self.local_offset).map_err(|_| CUT)?;
        if u32_at(b, at) != Some(0x0403_4b50) {
            return Err(format!("local header expected at byte {at}"));
        }
        let name_len = usize::from(u16_at(b, at + 26).ok_or(CUT)?);
        let extra_len = usize::from(u16_at(b, at + 28).ok_or(CUT)?);
        let start = at + 30 + name_len + extra_len;
        let len = usize::try_from(self.compressed).map_err(|_| CUT)?;
        let raw = b
            .get(start..start.checked_add(len).ok_or(CUT)?)
            .ok_or(CUT)?;
        let out = match self.method {
            0 => raw.to_vec(),
            8 => {
                let mut out = Vec::with_capacity(self.size.min(1 << 30) as usize);
                flate2::read::DeflateDecoder::new(raw)
                    .take(self.size)
                    .read_to_end(&mut out)
                    .map_err(|e| format!("deflate stream damaged ({e})"))?;
                out
            }
            m => {
                return Err(format!(
                    "compression method {m} (only stored and deflate are read)"
                ))
            }
        };
        if out.len() as u64 != self.size {
            return Err(format!(
                "{} bytes where {} were declared",
                out.len(),
                self.size
            ));
        }
        let mut crc = flate2::Crc::new();
        crc.update(&out);
        if crc.sum() != self.crc {
            return Err("CRC-32 mismatch: the archive is damaged".into());
        }
        Ok(out)
    }
}
