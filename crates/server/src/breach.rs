//! Offline breached-password screening against a Have-I-Been-Pwned-format file:
//! one `SHA1HEX:COUNT` line per password hash, sorted by hash (as the "ordered by
//! hash" download is). Looked up by binary search over the file, so a 30 GB list
//! needs no memory and about 35 reads per check.

use sha1::{Digest, Sha1};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum BreachError {
    #[error("breached-password file {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("breached-password file {0} does not look like SHA1HEX:COUNT lines")]
    Format(PathBuf),
}

pub struct BreachList {
    path: PathBuf,
    file: Mutex<File>,
    len: u64,
}

impl std::fmt::Debug for BreachList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BreachList")
            .field("path", &self.path)
            .field("len", &self.len)
            .finish()
    }
}

impl BreachList {
    /// Opens the file and checks that its first line has the expected shape.
    pub fn open(path: &Path) -> Result<Self, BreachError> {
        let io = |source| BreachError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        let mut first = String::new();
        BufReader::new(file.try_clone().map_err(io)?)
            .read_line(&mut first)
            .map_err(io)?;
        let hash = first.split(':').next().unwrap_or_default().trim();
        if len > 0 && (hash.len() != 40 || !hash.bytes().all(|b| b.is_ascii_hexdigit())) {
            return Err(BreachError::Format(path.to_path_buf()));
        }
        Ok(Self {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            len,
        })
    }

    /// How many times the password appears in the corpus (0 when absent).
    pub fn count(&self, password: &str) -> Result<u64, BreachError> {
        let target = hex::encode_upper(Sha1::digest(password.as_bytes()));
        let io = |source| BreachError::Io {
            path: self.path.clone(),
            source,
        };
        let mut file = self
            .file
            .lock()
            .map_err(|_| BreachError::Format(self.path.clone()))?;
        // Every line starting before `lo` sorts below the target; the target's line,
        // if any, starts before `hi`. `lo` is always at the start of a line.
        let (mut lo, mut hi) = (0u64, self.len);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let Some((start, raw_len, line)) = line_at_or_after(&mut file, mid).map_err(io)? else {
                hi = mid;
                continue;
            };
            let (hash, count) = line.split_once(':').unwrap_or((line.as_str(), "0"));
            match hash
                .trim()
                .to_ascii_uppercase()
                .as_str()
                .cmp(target.as_str())
            {
                std::cmp::Ordering::Equal => return Ok(count.trim().parse().unwrap_or(1)),
                std::cmp::Ordering::Less => lo = start + raw_len,
                // No line starts in [mid, start): the target's line starts before mid.
                std::cmp::Ordering::Greater => hi = mid,
            }
        }
        Ok(0)
    }
}

/// The first line starting at or after `pos`: its offset, its length with the line
/// break, and its text; `None` past the last line.
fn line_at_or_after(file: &mut File, pos: u64) -> std::io::Result<Option<(u64, u64, String)>> {
    let mut start = pos;
    if pos > 0 {
        // If the byte before `pos` ends a line, `pos` starts one; otherwise skip to the next.
        file.seek(SeekFrom::Start(pos - 1))?;
        let mut skipped = Vec::new();
        BufReader::new(file.take(256)).read_until(b'\n', &mut skipped)?;
        start = pos - 1 + skipped.len() as u64;
    }
    file.seek(SeekFrom::Start(start))?;
    let mut raw = String::new();
    BufReader::new(file.take(256)).read_line(&mut raw)?;
    if raw.is_empty() {
        return Ok(None);
    }
    let line = raw.trim_end_matches(['\n', '\r']).to_owned();
    Ok(Some((start, raw.len() as u64, line)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_listed_password_and_nothing_else() {
        let words: Vec<String> = (0..500).map(|i| format!("pw-{i}")).collect();
        let mut lines: Vec<String> = words
            .iter()
            .enumerate()
            .map(|(i, w)| {
                format!(
                    "{}:{}",
                    hex::encode_upper(Sha1::digest(w.as_bytes())),
                    i + 1
                )
            })
            .collect();
        lines.sort();
        let path = std::env::temp_dir().join(format!("hearth-hibp-{}.txt", std::process::id()));
        std::fs::write(&path, lines.join("\r\n") + "\r\n").unwrap();
        let list = BreachList::open(&path).unwrap();
        for (i, w) in words.iter().enumerate() {
            assert_eq!(list.count(w).unwrap(), i as u64 + 1, "{w}");
        }
        for absent in ["Correct-Horse-7-Battery", "pw-500", "", "pw-"] {
            assert_eq!(list.count(absent).unwrap(), 0, "{absent}");
        }
        std::fs::write(&path, "not a list\n").unwrap();
        assert!(BreachList::open(&path).is_err());
        let _ = std::fs::remove_file(path);
    }
}
