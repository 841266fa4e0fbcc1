//! Key files only their owner may read: the embedded default's secret and demo API key.
use std::path::Path;

/// Creates `path` readable by its owner only; an existing file is never overwritten.
pub fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    opts.open(path)?.write_all(contents.as_bytes())
}

/// Reads a key file `write_private` made, or `None` when there is none. As ssh does with
/// private keys, a file another user owns, or that others may read or write, is refused: its
/// secret may be known, or replaced, by someone else. The message names the file and the fix.
pub fn read_private(path: &Path) -> Result<Option<String>, String> {
    use std::io::Read;
    let shown = path.display();
    let mut file = match std::fs::File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read {shown}: {e}")),
        Ok(f) => f,
    };
    // Checked on the open file: what is read is what was checked.
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    #[cfg(unix)]
    only_owner(&meta, &shown.to_string())?;
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    Ok(Some(text))
}

#[cfg(unix)]
fn only_owner(meta: &std::fs::Metadata, shown: &str) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != me {
        return Err(format!(
            "{shown} is owned by uid {}, not by this process's uid {me}; chown it or remove it",
            meta.uid()
        ));
    }
    match meta.mode() & 0o077 {
        0 => Ok(()),
        _ => Err(format!(
            "{shown} may be read or written by other users (mode {:04o}); run `chmod 600 {shown}`",
            meta.mode() & 0o777
        )),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn with_mode(dir: &Path, mode: u32) -> std::path::PathBuf {
        let path = dir.join(format!("key-{mode:o}"));
        write_private(&path, "k3y").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    #[test]
    fn reads_only_files_private_to_this_user() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(read_private(&dir.path().join("absent")), Ok(None));
        let own = with_mode(dir.path(), 0o600);
        assert_eq!(read_private(&own), Ok(Some("k3y".into())));
        assert_eq!(
            read_private(&with_mode(dir.path(), 0o400)),
            Ok(Some("k3y".into()))
        );
        for mode in [0o640, 0o604, 0o620, 0o602, 0o666] {
            let e = read_private(&with_mode(dir.path(), mode)).unwrap_err();
            assert!(e.contains(&format!("mode {mode:04o}")), "{e}");
            assert!(e.contains("chmod 600") && !e.contains("k3y"), "{e}");
        }
    }
}
