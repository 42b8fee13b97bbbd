//! Artifact storage: [`ArtifactPath`] (a relative path checked once to stay inside its root),
//! the [`ArtifactStore`] seam and [`LocalArtifactStore`], a directory on disk.
//!
//! Writes go to a temporary name beside the target and are renamed into place, so a reader
//! never sees half a file. No path ever leaves the root: `..`, absolute paths, drive letters,
//! backslashes, NUL, percent-encoded or double-encoded traversal and symbolic links met on
//! the way are all refused.

use std::io::{ErrorKind as IoErrorKind, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;

use crate::error::{Error, Result};

/// Prefix of in-flight temporary files; never listed.
const TEMP_PREFIX: &str = ".slipway-tmp-";

/// A relative path inside an artifact root, already checked for escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactPath {
    parts: Vec<String>,
}

fn escape(raw: &str, rule: &str) -> Error {
    Error::invalid(format!("invalid artifact path '{raw}': {rule}"))
}

/// Decodes `%XX` sequences once; `None` if nothing was decoded.
fn percent_decode_once(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut changed = false;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                changed = true;
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    changed.then(|| String::from_utf8_lossy(&out).into_owned())
}

fn check_form(raw: &str, form: &str) -> Result<()> {
    if form.contains('\0') {
        return Err(escape(raw, "it contains a NUL character"));
    }
    if form.contains('\\') {
        return Err(escape(raw, "backslashes are not allowed"));
    }
    if form.starts_with('/') {
        return Err(escape(raw, "absolute paths are not allowed"));
    }
    let b = form.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err(escape(raw, "drive letters are not allowed"));
    }
    if form.split('/').any(|p| p == "..") {
        return Err(escape(raw, "'..' is not allowed"));
    }
    if form.contains("://") {
        return Err(escape(raw, "URIs are not allowed"));
    }
    Ok(())
}

impl ArtifactPath {
    /// Checks a relative path (`a/b/c.txt`; empty is the root itself).
    ///
    /// The path is checked as given and after each round of percent-decoding, so that
    /// `%2e%2e` and `%252e%252e` are refused like `..`; the stored name is the path as given.
    pub fn parse(raw: &str) -> Result<Self> {
        check_form(raw, raw)?;
        let mut form = raw.to_string();
        for _ in 0..4 {
            match percent_decode_once(&form) {
                Some(decoded) => {
                    check_form(raw, &decoded)?;
                    form = decoded;
                }
                None => break,
            }
        }
        let parts: Vec<String> = raw
            .split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .map(str::to_string)
            .collect();
        if parts.iter().any(|p| p.starts_with(TEMP_PREFIX)) {
            return Err(escape(
                raw,
                "names starting with '.slipway-tmp-' are reserved",
            ));
        }
        Ok(ArtifactPath { parts })
    }

    /// The root itself.
    pub fn root() -> Self {
        ArtifactPath { parts: Vec::new() }
    }

    /// Whether this is the root.
    pub fn is_root(&self) -> bool {
        self.parts.is_empty()
    }

    /// The path's parts.
    pub fn parts(&self) -> &[String] {
        &self.parts
    }

    /// This path with one more part (checked the same way).
    pub fn join(&self, child: &str) -> Result<Self> {
        let child = ArtifactPath::parse(child)?;
        let mut parts = self.parts.clone();
        parts.extend(child.parts);
        Ok(ArtifactPath { parts })
    }
}

impl std::fmt::Display for ArtifactPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.parts.join("/"))
    }
}

/// One entry of a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactEntry {
    /// The entry's name (its last path part).
    pub name: String,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// File size in bytes; `None` for directories.
    pub size: Option<u64>,
}

/// Where artifact bytes live.
#[async_trait]
pub trait ArtifactStore: Send + Sync {
    /// Writes a file atomically (creating parent directories), replacing any old one.
    async fn put(&self, path: &ArtifactPath, data: Bytes) -> Result<()>;
    /// Reads a whole file; a missing one is `NotFound`.
    async fn get(&self, path: &ArtifactPath) -> Result<Bytes>;
    /// Lists a directory, sorted by name; a missing directory (or a file) lists as empty.
    async fn list(&self, dir: &ArtifactPath) -> Result<Vec<ArtifactEntry>>;
    /// Deletes a file or a directory tree; deleting what is not there succeeds.
    async fn delete(&self, path: &ArtifactPath) -> Result<()>;
}

/// Artifacts in a directory on the local disk.
#[derive(Debug, Clone)]
pub struct LocalArtifactStore {
    root: PathBuf,
}

impl LocalArtifactStore {
    /// Uses (creating if needed) `root` as the artifact root.
    pub fn open(root: &Path) -> Result<Self> {
        std::fs::create_dir_all(root)?;
        Ok(LocalArtifactStore {
            root: root.canonicalize()?,
        })
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Removes the temporary files (`.slipway-tmp-*`) anywhere under the root that were last
    /// modified more than `older_than` ago, and returns how many it removed. A write moves its
    /// temporary file into place as soon as the bytes are on disk, so one left that long is
    /// what a writer killed between writing and renaming left behind: never listed or served,
    /// only using disk. Symbolic links are not followed; a file or directory that disappears
    /// during the walk is skipped.
    pub fn sweep_temp_files(&self, older_than: std::time::Duration) -> Result<usize> {
        let cutoff = std::time::SystemTime::now()
            .checked_sub(older_than)
            .unwrap_or(std::time::UNIX_EPOCH);
        let gone = |e: &std::io::Error| e.kind() == IoErrorKind::NotFound;
        let mut removed = 0;
        let mut dirs = vec![self.root.clone()];
        while let Some(dir) = dirs.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(e.into()),
            };
            for entry in entries {
                let entry = entry?;
                // `DirEntry::file_type` does not follow symbolic links.
                let kind = match entry.file_type() {
                    Ok(kind) => kind,
                    Err(e) if gone(&e) => continue,
                    Err(e) => return Err(e.into()),
                };
                if kind.is_dir() {
                    dirs.push(entry.path());
                    continue;
                }
                let temp = entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX);
                if !kind.is_file() || !temp {
                    continue;
                }
                let modified = match entry.metadata().and_then(|m| m.modified()) {
                    Ok(t) => t,
                    Err(e) if gone(&e) => continue,
                    Err(e) => return Err(e.into()),
                };
                if modified < cutoff {
                    match std::fs::remove_file(entry.path()) {
                        Ok(()) => removed += 1,
                        Err(e) if gone(&e) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
        }
        Ok(removed)
    }

    /// The filesystem path for `path`, refusing any symbolic link on the way.
    /// With `create_parents`, missing parent directories are created.
    fn resolve(&self, path: &ArtifactPath, create_parents: bool) -> Result<PathBuf> {
        let mut cur = self.root.clone();
        let n = path.parts.len();
        for (i, part) in path.parts.iter().enumerate() {
            cur.push(part);
            let last = i + 1 == n;
            match std::fs::symlink_metadata(&cur) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(Error::invalid(format!(
                        "invalid artifact path '{path}': it passes through a symbolic link"
                    )));
                }
                Ok(meta) if !last && !meta.is_dir() => {
                    return Err(Error::invalid(format!(
                        "invalid artifact path '{path}': '{part}' is a file, not a directory"
                    )));
                }
                Ok(_) => {}
                Err(e) if e.kind() == IoErrorKind::NotFound => {
                    if create_parents && !last {
                        std::fs::create_dir(&cur).or_else(|e| {
                            if e.kind() == IoErrorKind::AlreadyExists {
                                Ok(())
                            } else {
                                Err(e)
                            }
                        })?;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(cur)
    }

    fn put_blocking(&self, path: &ArtifactPath, data: &[u8]) -> Result<()> {
        let Some(name) = path.parts.last() else {
            return Err(Error::invalid(
                "an artifact needs a file name, not the root",
            ));
        };
        let target = self.resolve(path, true)?;
        if target.is_dir() {
            return Err(Error::invalid(format!(
                "invalid artifact path '{path}': a directory of that name exists"
            )));
        }
        let dir = target
            .parent()
            .ok_or_else(|| Error::Internal("artifact target has no parent".into()))?;
        let tmp = dir.join(format!(
            "{TEMP_PREFIX}{:016x}-{}",
            rand::random::<u64>(),
            name.chars().take(32).collect::<String>()
        ));
        let written = (|| -> std::io::Result<()> {
            let mut f = std::fs::File::create_new(&tmp)?;
            f.write_all(data)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &target)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
        Ok(())
    }

    fn get_blocking(&self, path: &ArtifactPath) -> Result<Bytes> {
        let not_found = || Error::NotFound(format!("artifact '{path}' does not exist"));
        if path.is_root() {
            return Err(not_found());
        }
        let target = self.resolve(path, false)?;
        match std::fs::read(&target) {
            Ok(bytes) => Ok(Bytes::from(bytes)),
            Err(e) if e.kind() == IoErrorKind::NotFound => Err(not_found()),
            Err(_) if target.is_dir() => Err(Error::invalid(format!(
                "artifact '{path}' is a directory; list it instead"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    fn list_blocking(&self, dir: &ArtifactPath) -> Result<Vec<ArtifactEntry>> {
        let target = self.resolve(dir, false)?;
        let entries = match std::fs::read_dir(&target) {
            Ok(entries) => entries,
            Err(e) if matches!(e.kind(), IoErrorKind::NotFound | IoErrorKind::NotADirectory) => {
                return Ok(Vec::new());
            }
            Err(_) if target.is_file() => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with(TEMP_PREFIX) {
                continue;
            }
            let meta = entry.metadata()?;
            if meta.file_type().is_symlink() {
                continue;
            }
            out.push(ArtifactEntry {
                name,
                is_dir: meta.is_dir(),
                size: (!meta.is_dir()).then_some(meta.len()),
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    fn delete_blocking(&self, path: &ArtifactPath) -> Result<()> {
        let target = self.resolve(path, false)?;
        let result = if path.is_root() {
            // Empty the root but keep it.
            std::fs::read_dir(&target).and_then(|entries| {
                for entry in entries {
                    let p = entry?.path();
                    if p.is_dir() {
                        std::fs::remove_dir_all(&p)?;
                    } else {
                        std::fs::remove_file(&p)?;
                    }
                }
                Ok(())
            })
        } else if target.is_dir() {
            std::fs::remove_dir_all(&target)
        } else {
            std::fs::remove_file(&target)
        };
        match result {
            Err(e) if e.kind() != IoErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Internal(format!("artifact task failed: {e}")))?
}

#[async_trait]
impl ArtifactStore for LocalArtifactStore {
    async fn put(&self, path: &ArtifactPath, data: Bytes) -> Result<()> {
        let (store, path) = (self.clone(), path.clone());
        blocking(move || store.put_blocking(&path, &data)).await
    }

    async fn get(&self, path: &ArtifactPath) -> Result<Bytes> {
        let (store, path) = (self.clone(), path.clone());
        blocking(move || store.get_blocking(&path)).await
    }

    async fn list(&self, dir: &ArtifactPath) -> Result<Vec<ArtifactEntry>> {
        let (store, dir) = (self.clone(), dir.clone());
        blocking(move || store.list_blocking(&dir)).await
    }

    async fn delete(&self, path: &ArtifactPath) -> Result<()> {
        let (store, path) = (self.clone(), path.clone());
        blocking(move || store.delete_blocking(&path)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(raw: &str) {
        let e = ArtifactPath::parse(raw).expect_err(raw);
        assert_eq!(e.kind(), crate::ErrorKind::User, "{raw}");
        assert!(
            e.to_string().starts_with("invalid artifact path"),
            "{raw}: {e}"
        );
    }

    #[test]
    fn plain_paths_parse() {
        let p = ArtifactPath::parse("6/abc/artifacts/model/MLmodel").expect("ok");
        assert_eq!(p.parts().len(), 5);
        assert_eq!(p.to_string(), "6/abc/artifacts/model/MLmodel");
        assert!(ArtifactPath::parse("").expect("root").is_root());
        assert_eq!(
            ArtifactPath::parse("a//./b/").expect("ok").to_string(),
            "a/b"
        );
        // A literal percent sign that decodes to nothing dangerous is kept as given.
        assert_eq!(
            ArtifactPath::parse("a%20b.txt").expect("ok").to_string(),
            "a%20b.txt"
        );
        assert_eq!(
            ArtifactPath::parse("..hidden/x..y")
                .expect("ok")
                .parts()
                .len(),
            2
        );
    }

    #[test]
    fn dot_dot_is_refused() {
        refused("..");
        refused("../etc/passwd");
        refused("a/../../b");
        refused("a/..");
    }

    #[test]
    fn absolute_and_foreign_forms_are_refused() {
        refused("/etc/passwd");
        refused("C:/Windows");
        refused("a\\..\\b");
        refused("a\0b");
        refused("file:///etc/passwd");
    }

    #[test]
    fn percent_encoded_traversal_is_refused() {
        refused("%2e%2e/etc");
        refused("%2E%2E%2Fetc");
        refused("a/..%2f..%2fetc");
        refused("%2fetc/passwd");
        refused("a%5c..%5cb");
        refused("a%00b");
    }

    #[test]
    fn double_encoded_traversal_is_refused() {
        refused("%252e%252e/etc");
        refused("a/%252e%252e%252fb");
        refused("%25252e%25252e/x");
    }

    #[test]
    fn temp_names_are_reserved() {
        refused(".slipway-tmp-x");
    }

    #[tokio::test]
    async fn round_trip_list_and_delete() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalArtifactStore::open(&dir.path().join("artifacts")).expect("open");
        let p = ArtifactPath::parse("1/run/artifacts/sub/hello.txt").expect("ok");
        store
            .put(&p, Bytes::from_static(b"hello"))
            .await
            .expect("put");
        assert_eq!(
            store.get(&p).await.expect("get"),
            Bytes::from_static(b"hello")
        );
        store
            .put(&p, Bytes::from_static(b"bye"))
            .await
            .expect("overwrite");
        assert_eq!(
            store.get(&p).await.expect("get"),
            Bytes::from_static(b"bye")
        );
        let empty = ArtifactPath::parse("1/run/artifacts/sub/empty").expect("ok");
        store.put(&empty, Bytes::new()).await.expect("put empty");

        let listing = store
            .list(&ArtifactPath::parse("1/run/artifacts").expect("ok"))
            .await
            .expect("list");
        assert_eq!(
            listing,
            vec![ArtifactEntry {
                name: "sub".into(),
                is_dir: true,
                size: None
            }]
        );
        let listing = store
            .list(&ArtifactPath::parse("1/run/artifacts/sub").expect("ok"))
            .await
            .expect("list");
        assert_eq!(listing.len(), 2);
        assert_eq!(listing[0].size, Some(0));
        assert_eq!(listing[1].size, Some(3));
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(store.root().join("1/run/artifacts/sub"))
            .expect("read")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names.len(), 2);

        assert!(
            store
                .list(&ArtifactPath::parse("nope").expect("ok"))
                .await
                .expect("list")
                .is_empty()
        );
        let missing = store
            .get(&ArtifactPath::parse("1/none").expect("ok"))
            .await
            .expect_err("missing");
        assert!(matches!(missing, Error::NotFound(_)));

        store
            .delete(&ArtifactPath::parse("1/run/artifacts/sub").expect("ok"))
            .await
            .expect("delete");
        assert!(matches!(store.get(&p).await, Err(Error::NotFound(_))));
        store
            .delete(&ArtifactPath::parse("1/run/artifacts/sub").expect("ok"))
            .await
            .expect("delete twice");
    }

    #[tokio::test]
    async fn a_file_cannot_become_a_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalArtifactStore::open(dir.path()).expect("open");
        store
            .put(
                &ArtifactPath::parse("a").expect("ok"),
                Bytes::from_static(b"x"),
            )
            .await
            .expect("put");
        let e = store
            .put(
                &ArtifactPath::parse("a/b").expect("ok"),
                Bytes::from_static(b"x"),
            )
            .await
            .expect_err("under a file");
        assert_eq!(e.kind(), crate::ErrorKind::User);
        let e = store
            .put(&ArtifactPath::root(), Bytes::from_static(b"x"))
            .await
            .expect_err("root");
        assert_eq!(e.kind(), crate::ErrorKind::User);
    }

    #[test]
    fn sweep_removes_only_old_temporary_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root");
        let store = LocalArtifactStore::open(&root).expect("open");
        let run = root.join("1").join("run").join("artifacts");
        std::fs::create_dir_all(&run).expect("mkdir");
        let hours_ago = |path: &Path, hours: u64| {
            let f = std::fs::File::create(path).expect("create");
            let t = std::time::SystemTime::now() - std::time::Duration::from_secs(hours * 3600);
            f.set_modified(t).expect("set mtime");
        };
        hours_ago(&run.join(".slipway-tmp-0123-model.pkl"), 2);
        hours_ago(&root.join(".slipway-tmp-4567-top"), 5);
        hours_ago(&run.join(".slipway-tmp-89ab-writing"), 0);
        hours_ago(&run.join("model.pkl"), 9);
        let removed = store
            .sweep_temp_files(std::time::Duration::from_secs(3600))
            .expect("sweep");
        assert_eq!(removed, 2);
        assert!(!run.join(".slipway-tmp-0123-model.pkl").exists());
        assert!(!root.join(".slipway-tmp-4567-top").exists());
        assert!(
            run.join(".slipway-tmp-89ab-writing").exists(),
            "a recent write is kept"
        );
        assert!(
            run.join("model.pkl").exists(),
            "artifacts are kept, however old"
        );
        #[cfg(unix)]
        {
            let outside = dir.path().join("outside");
            std::fs::create_dir_all(&outside).expect("mkdir");
            hours_ago(&outside.join(".slipway-tmp-cdef-x"), 3);
            std::os::unix::fs::symlink(&outside, root.join("link")).expect("symlink");
            let removed = store
                .sweep_temp_files(std::time::Duration::from_secs(3600))
                .expect("sweep");
            assert_eq!(removed, 0);
            assert!(
                outside.join(".slipway-tmp-cdef-x").exists(),
                "links are not followed"
            );
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn symlinks_are_not_followed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = dir.path().join("outside");
        std::fs::create_dir_all(&outside).expect("mkdir");
        std::fs::write(outside.join("secret.txt"), b"secret").expect("write");
        let root = dir.path().join("root");
        let store = LocalArtifactStore::open(&root).expect("open");
        std::os::unix::fs::symlink(&outside, root.join("link")).expect("symlink dir");
        std::os::unix::fs::symlink(outside.join("secret.txt"), root.join("file-link"))
            .expect("symlink file");

        let through_dir = ArtifactPath::parse("link/secret.txt").expect("parses");
        let e = store
            .get(&through_dir)
            .await
            .expect_err("read through dir link");
        assert!(e.to_string().contains("symbolic link"), "{e}");
        let e = store
            .put(
                &ArtifactPath::parse("link/new.txt").expect("parses"),
                Bytes::from_static(b"x"),
            )
            .await
            .expect_err("write through dir link");
        assert_eq!(e.kind(), crate::ErrorKind::User);
        assert!(!outside.join("new.txt").exists());
        let e = store
            .get(&ArtifactPath::parse("file-link").expect("parses"))
            .await
            .expect_err("read file link");
        assert_eq!(e.kind(), crate::ErrorKind::User);
        let e = store
            .put(
                &ArtifactPath::parse("file-link").expect("parses"),
                Bytes::from_static(b"overwrite"),
            )
            .await
            .expect_err("write over file link");
        assert_eq!(e.kind(), crate::ErrorKind::User);
        assert_eq!(
            std::fs::read(outside.join("secret.txt")).expect("read"),
            b"secret"
        );
        let e = store
            .list(&ArtifactPath::parse("link").expect("parses"))
            .await
            .expect_err("list through link");
        assert_eq!(e.kind(), crate::ErrorKind::User);
        // Links are not even listed.
        assert!(
            store
                .list(&ArtifactPath::root())
                .await
                .expect("list")
                .is_empty()
        );
        let e = store
            .delete(&ArtifactPath::parse("link/secret.txt").expect("parses"))
            .await
            .expect_err("delete through link");
        assert_eq!(e.kind(), crate::ErrorKind::User);
        assert!(outside.join("secret.txt").exists());
    }
}
