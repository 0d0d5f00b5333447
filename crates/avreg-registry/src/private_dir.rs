//! Directories and files only their owner may read: the registry's data
//! directory (sled's files, the index segments, the signing key, legal
//! names), the server's upload directory, and secrets written to files
//! (the audit signing key, the first admin key).

use std::io;
use std::path::Path;

/// The mode of a private directory on unix: read, write and search for its
/// owner only.
pub const PRIVATE_DIR_MODE: u32 = 0o700;

/// Creates `dir` (and its missing parents) and makes it private to its
/// owner.
///
/// On unix, the directories created get mode [`PRIVATE_DIR_MODE`]; an
/// existing `dir` that group or others may use has those permissions
/// removed (its owner's and special bits are kept). Only the owner (or a
/// privileged process) may change the mode: if that fails, a warning is
/// logged and the directory is used as it is. A shared folder (sticky
/// bit, as `/tmp`) is never changed, only warned about. Elsewhere the
/// directory is only created.
///
/// # Errors
///
/// The error of creating `dir` or reading its metadata.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};

        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(PRIVATE_DIR_MODE)
            .create(dir)?;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 && mode & 0o1000 != 0 {
            tracing::warn!(
                dir = %dir.display(),
                "a shared folder (sticky bit) is left as it is; use a folder of its own"
            );
        } else if mode & 0o077 != 0 {
            let tightened = std::fs::Permissions::from_mode(mode & !0o077 & 0o7777);
            if let Err(e) = std::fs::set_permissions(dir, tightened) {
                tracing::warn!(
                    dir = %dir.display(),
                    mode = format_args!("{:o}", mode & 0o7777),
                    error = %e,
                    "cannot make the directory private to its owner"
                );
            }
        }
        Ok(())
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Writes `bytes` to a new file `path` that only its owner may read (mode
/// 0600 on unix), whole or not at all: to a temporary file beside it,
/// synced, then renamed into place, so that a crash never leaves half a
/// secret. An existing `path` is never overwritten.
///
/// # Errors
///
/// `AlreadyExists` if `path` exists, else the error of writing, syncing or
/// renaming.
pub fn write_private_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    if path.exists() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "a file of that name exists; move it away",
        ));
    }
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(dir: &Path) -> u32 {
        std::fs::metadata(dir)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn creates_private_directories() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("a").join("b");
        create_private_dir(&dir).expect("create");
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&tmp.path().join("a")), 0o700);
        // Idempotent.
        create_private_dir(&dir).expect("again");
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn tightens_an_existing_directory() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("data");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(mode(&dir), 0o755);
        create_private_dir(&dir).expect("tighten");
        assert_eq!(mode(&dir), 0o700);
    }

    #[test]
    fn leaves_a_shared_folder_alone() {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("shared");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
        create_private_dir(&dir).expect("shared");
        assert_eq!(mode(&dir), 0o777);
    }
}
