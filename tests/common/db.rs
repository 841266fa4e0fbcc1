//! A fresh, empty database of either engine.
pub struct Db {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

impl Db {
    pub async fn postgres() -> Self {
        Self {
            url: super::pg::fresh_database().await,
            _dir: None,
        }
    }

    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("auth.sqlite").display()
        );
        Self {
            url,
            _dir: Some(dir),
        }
    }

    pub fn sqlite_path(&self) -> Option<std::path::PathBuf> {
        self._dir.as_ref().map(|d| d.path().join("auth.sqlite"))
    }
}
