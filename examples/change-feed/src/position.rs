//! The consumer's position: the `seq` of the last change it processed, kept in a file.

use std::io::Write;
use std::path::{Path, PathBuf};

/// A position kept in a file as a decimal number. [`PositionFile::store`] replaces the
/// file atomically (write a temporary file, `fsync`, rename), so after a crash the file
/// holds either the old position or the new one, never a torn write.
#[derive(Debug, Clone)]
pub struct PositionFile {
    path: PathBuf,
}

impl PositionFile {
    /// The position kept at `path` (the file need not exist yet: the position is then 0,
    /// the start of the feed).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        PositionFile { path: path.into() }
    }

    /// Where the position is kept.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The recorded position; 0 when none was recorded yet.
    pub fn load(&self) -> std::io::Result<u64> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => text.trim().parse().map_err(|e| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}: not a position: {e}", self.path.display()),
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e),
        }
    }

    /// Records `seq` durably.
    pub fn store(&self, seq: u64) -> std::io::Result<()> {
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        {
            let mut f = std::fs::File::create(&tmp)?;
            writeln!(f, "{seq}")?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        // Make the rename itself durable (best effort: not every platform opens directories).
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_is_zero_then_round_trips() {
        let dir = std::env::temp_dir().join(format!("feed-pos-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = PositionFile::new(dir.join("position"));
        let _ = std::fs::remove_file(p.path());
        assert_eq!(p.load().unwrap(), 0);
        p.store(42).unwrap();
        assert_eq!(p.load().unwrap(), 42);
        p.store(43).unwrap();
        assert_eq!(p.load().unwrap(), 43);
        std::fs::write(p.path(), "x").unwrap();
        assert!(p.load().is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
