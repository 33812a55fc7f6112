//! A file's identity as a host last saw it, to notice a change without reading the file: the
//! server's models directory, the MySQL plugin's module cache and both SQL plugins' policy file
//! compare stamps.

use std::fs::Metadata;
use std::path::Path;
use std::time::SystemTime;

/// Device and inode (a file replaced by a rename is another file even with the same size and
/// time), size and modification time of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileStamp {
    dev: u64,
    ino: u64,
    len: u64,
    modified: Option<SystemTime>,
}

impl FileStamp {
    /// The stamp of the file at `path` (links followed).
    ///
    /// # Errors
    /// Why the file's metadata cannot be read (it does not exist, no permission, …).
    pub fn of(path: &Path) -> std::io::Result<FileStamp> {
        std::fs::metadata(path).map(|m| FileStamp::from_metadata(&m))
    }

    /// The stamp of a file whose metadata the caller already read.
    pub fn from_metadata(meta: &Metadata) -> FileStamp {
        #[cfg(unix)]
        let (dev, ino) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino())
        };
        #[cfg(not(unix))]
        let (dev, ino) = (0, 0);
        FileStamp { dev, ino, len: meta.len(), modified: meta.modified().ok() }
    }

    /// When the file was last modified, where the platform tells.
    pub fn modified(&self) -> Option<SystemTime> {
        self.modified
    }
}

#[cfg(test)]
mod tests {
    use super::FileStamp;

    #[test]
    fn a_rewrite_or_a_replacement_changes_the_stamp_and_a_read_does_not() {
        let dir = std::env::temp_dir().join(format!("scorekit-file-stamp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("policy.toml");
        std::fs::write(&path, "a = 1\n").unwrap();
        let first = FileStamp::of(&path).unwrap();
        let _ = std::fs::read(&path).unwrap();
        assert_eq!(FileStamp::of(&path).unwrap(), first, "reading the file changes nothing");
        std::fs::write(&path, "a = 12\n").unwrap();
        let longer = FileStamp::of(&path).unwrap();
        assert_ne!(longer, first, "a rewrite of another size is seen");
        // Same size, replaced by a rename (what editors and atomic writers do): another inode.
        let next = dir.join("policy.toml.new");
        std::fs::write(&next, "a = 13\n").unwrap();
        std::fs::rename(&next, &path).unwrap();
        assert_ne!(FileStamp::of(&path).unwrap(), longer, "a replacement of the same size is seen");
        assert!(FileStamp::of(&dir.join("missing")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
