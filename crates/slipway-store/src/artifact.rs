//! Artifact storage: [`ArtifactPath`] (a relative path checked once to stay inside its root),
//! the [`ArtifactStore`] seam and [`LocalArtifactStore`], a directory on disk.
//!
//! Writes stream to a temporary name beside the target and are renamed into place, so a
//! reader never sees half a file and memory stays bounded whatever the size. No path ever
//! leaves the root: `..`, absolute paths, drive letters, backslashes, NUL, percent-encoded or
//! double-encoded traversal and dot segments, and symbolic links met on the way are all
//! refused; a part longer than [`MAX_PART_BYTES`] or a path longer than [`MAX_PATH_BYTES`] is
//! refused before anything is touched. Deletion takes a [`DeletablePath`], which cannot name
//! the root, an experiment or a run: only what lies inside a run's or a logged model's
//! `artifacts` folder.

use std::io::ErrorKind as IoErrorKind;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::BoxStream;
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};

/// Prefix of in-flight temporary files; never listed.
const TEMP_PREFIX: &str = ".slipway-tmp-";

/// The longest part (file or folder name) of an artifact path, in bytes: what common
/// filesystems (ext4, XFS, APFS, NTFS) allow in one name.
pub const MAX_PART_BYTES: usize = 255;

/// The longest artifact path, in bytes: S3's limit on a whole object key, so that a path
/// accepted by one store is accepted by every store.
pub const MAX_PATH_BYTES: usize = 1024;

/// An upload body on its way in: chunks of bytes, or the error that cut it short.
pub type ByteStream = BoxStream<'static, std::io::Result<Bytes>>;

/// The error of an upload that passed `limit` bytes.
pub(crate) fn too_large(path: &ArtifactPath, limit: u64) -> Error {
    Error::TooLarge(format!(
        "artifact '{path}' is larger than the upload limit of {limit} bytes \
         (set by `slipway serve --max-artifact-bytes`)"
    ))
}

/// A relative path inside an artifact root, already checked for escapes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactPath {
    parts: Vec<String>,
}

fn escape(raw: &str, rule: &str) -> Error {
    Error::invalid(format!("invalid artifact path '{raw}': {rule}"))
}

/// Decodes `%XX` sequences once; `None` if nothing was decoded.
pub(crate) fn percent_decode_once(s: &str) -> Option<String> {
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
        // A dot segment written in percent-encoded form (`%2e`, `%252e`, `a%2f.`) is what a
        // second decoder would read as `.`: refused rather than kept as a literal name.
        let mut form = parts.join("/");
        for _ in 0..4 {
            match percent_decode_once(&form) {
                Some(decoded) => {
                    if decoded.split('/').any(|p| p == ".") {
                        return Err(escape(raw, "an encoded '.' part is not allowed"));
                    }
                    form = decoded;
                }
                None => break,
            }
        }
        if let Some(long) = parts.iter().find(|p| p.len() > MAX_PART_BYTES) {
            return Err(escape(
                &format!("{}…", raw.chars().take(64).collect::<String>()),
                &format!(
                    "the part '{}…' is {} bytes long; the limit is {MAX_PART_BYTES} bytes per \
                     file or folder name",
                    long.chars().take(32).collect::<String>(),
                    long.len()
                ),
            ));
        }
        let length = parts
            .iter()
            .map(|p| p.len() + 1)
            .sum::<usize>()
            .saturating_sub(1);
        if length > MAX_PATH_BYTES {
            return Err(escape(
                &format!("{}…", raw.chars().take(64).collect::<String>()),
                &format!("it is {length} bytes long; the limit is {MAX_PATH_BYTES} bytes"),
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

/// An artifact path that may be deleted: one inside a run's or a logged model's `artifacts`
/// folder (`<experiment>/<run>/artifacts/<something>`,
/// `<experiment>/models/<model>/artifacts/<something>`, or the same under an experiment's own
/// location), never the root, an experiment's folder, a run's folder or an `artifacts`
/// folder itself. Every [`ArtifactStore::delete`] takes one, so no store can be asked to
/// empty the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletablePath(ArtifactPath);

impl DeletablePath {
    /// Checks that `path` lies inside an `artifacts` folder at least two levels below the
    /// root (below an experiment and a run or logged model).
    pub fn new(path: ArtifactPath) -> Result<Self> {
        let parts = path.parts();
        let inside_artifacts = parts
            .iter()
            .enumerate()
            .skip(2)
            .any(|(i, p)| p == "artifacts" && i + 1 < parts.len());
        if !inside_artifacts {
            let what = if path.is_root() {
                "the artifact root".to_string()
            } else {
                format!("'{path}'")
            };
            return Err(Error::invalid(format!(
                "refusing to delete {what}: only files and folders inside a run's or a logged \
                 model's artifacts (<experiment>/<run>/artifacts/<path>) can be deleted; the \
                 artifact root and experiment, run and model folders cannot"
            )));
        }
        Ok(DeletablePath(path))
    }

    /// A folder or file of the prediction log ([`PREDICTION_LOG_ROOT`]`/<kind>/...`, at
    /// least two levels below it): what retention removes.
    pub fn in_prediction_log(path: ArtifactPath) -> Result<Self> {
        let parts = path.parts();
        if parts.len() < 3 || parts[0] != PREDICTION_LOG_ROOT {
            return Err(Error::invalid(format!(
                "refusing to delete '{path}': not inside the prediction log"
            )));
        }
        Ok(DeletablePath(path))
    }

    /// The checked path.
    pub fn path(&self) -> &ArtifactPath {
        &self.0
    }
}

/// The artifact-store folder that holds the prediction log (segments and feedback).
pub const PREDICTION_LOG_ROOT: &str = "_prediction_log";

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
    /// Writes a file from a stream of chunks, atomically (creating parent directories),
    /// replacing any old one, and returns its size. Memory stays bounded whatever the size.
    /// A body longer than `max_bytes` is [`Error::TooLarge`]; a body that fails, is too
    /// large, or whose caller is dropped half-way leaves nothing behind: no file, no
    /// temporary file, no directory created for it, no unfinished upload.
    async fn put_stream(
        &self,
        path: &ArtifactPath,
        body: ByteStream,
        max_bytes: Option<u64>,
    ) -> Result<u64>;
    /// Writes a file held in memory, as [`put_stream`](ArtifactStore::put_stream) does.
    async fn put(&self, path: &ArtifactPath, data: Bytes) -> Result<()> {
        let body = futures_util::stream::once(async move { Ok(data) }).boxed();
        self.put_stream(path, body, None).await.map(|_| ())
    }
    /// Reads a whole file; a missing one is `NotFound`.
    async fn get(&self, path: &ArtifactPath) -> Result<Bytes>;
    /// Opens a file to read as a stream of chunks, with its size in bytes: memory stays
    /// bounded whatever the size. A missing file is `NotFound`, a directory
    /// `InvalidParameter`.
    async fn get_stream(&self, path: &ArtifactPath) -> Result<(u64, ByteStream)>;
    /// Lists a directory, sorted by name; a missing directory (or a file) lists as empty.
    async fn list(&self, dir: &ArtifactPath) -> Result<Vec<ArtifactEntry>>;
    /// Deletes a file or a directory tree; deleting what is not there succeeds.
    async fn delete(&self, path: &DeletablePath) -> Result<()>;
    /// The root as stored URIs name it (`file:///dir/`, `s3://bucket/prefix`): what
    /// [`uri::check_stored_uri`](crate::uri::check_stored_uri) accepts besides the
    /// server-relative schemes.
    fn root_uri(&self) -> String;
}

/// What a local write has made so far, removed on drop unless the write finished: the
/// temporary file and the directories created for it (deepest first), so a failed, refused
/// or abandoned upload leaves the tree as it found it.
struct PendingWrite {
    temp: Option<PathBuf>,
    created_dirs: Vec<PathBuf>,
}

impl PendingWrite {
    fn finish(mut self) {
        self.temp = None;
        self.created_dirs.clear();
    }
}

impl Drop for PendingWrite {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            let _ = std::fs::remove_file(temp);
        }
        // `remove_dir` removes only empty folders: one another writer filled meanwhile stays.
        for dir in self.created_dirs.drain(..).rev() {
            if std::fs::remove_dir(&dir).is_err() {
                break;
            }
        }
    }
}

/// Linux's `PATH_MAX` (with its terminating NUL left out): the longest name a system call takes.
const MAX_OS_PATH_BYTES: usize = 4095;
/// What a temporary name may add to a path: `.slipway-tmp-`, 16 hex digits, `-` and up to 32
/// characters of the file name, in place of the file name.
const TEMP_NAME_EXTRA: usize = TEMP_PREFIX.len() + 17 + 32 * 4;

/// Size of one chunk of a download.
const READ_CHUNK_BYTES: usize = 256 * 1024;

/// Size of the buffer between an upload body and its temporary file.
const WRITE_BUFFER_BYTES: usize = 1024 * 1024;

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
    fn resolve(&self, path: &ArtifactPath) -> Result<PathBuf> {
        self.resolve_creating(path, None)
    }

    /// As [`resolve`](Self::resolve); with `created`, missing parent directories are made and
    /// recorded there (outermost first).
    fn resolve_creating(
        &self,
        path: &ArtifactPath,
        mut created: Option<&mut Vec<PathBuf>>,
    ) -> Result<PathBuf> {
        // The whole name must fit the operating system's limit, temporary name included.
        let full = self.root.as_os_str().len() + 1 + path.to_string().len();
        if full + TEMP_NAME_EXTRA > MAX_OS_PATH_BYTES {
            return Err(Error::invalid(format!(
                "invalid artifact path '{}…': with the artifact root it is {full} bytes long; \
                 this server's limit is {} bytes",
                path.to_string().chars().take(64).collect::<String>(),
                MAX_OS_PATH_BYTES - TEMP_NAME_EXTRA
            )));
        }
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
                    if let Some(created) = created.as_deref_mut().filter(|_| !last) {
                        match std::fs::create_dir(&cur) {
                            Ok(()) => created.push(cur.clone()),
                            Err(e) if e.kind() == IoErrorKind::AlreadyExists => {}
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(cur)
    }

    /// Checks the target and makes its parent directories and temporary file, all recorded
    /// in the returned [`PendingWrite`].
    fn start_write(&self, path: &ArtifactPath) -> Result<(PendingWrite, PathBuf, std::fs::File)> {
        let Some(name) = path.parts.last() else {
            return Err(Error::invalid(
                "an artifact needs a file name, not the root",
            ));
        };
        let mut pending = PendingWrite {
            temp: None,
            created_dirs: Vec::new(),
        };
        let target = self.resolve_creating(path, Some(&mut pending.created_dirs))?;
        if target.is_dir() {
            return Err(Error::invalid(format!(
                "invalid artifact path '{path}': a directory of that name exists"
            )));
        }
        let dir = target
            .parent()
            .ok_or_else(|| Error::Internal("artifact target has no parent".into()))?;
        let temp = dir.join(format!(
            "{TEMP_PREFIX}{:016x}-{}",
            rand::random::<u64>(),
            name.chars().take(32).collect::<String>()
        ));
        let file = std::fs::File::create_new(&temp)?;
        pending.temp = Some(temp);
        Ok((pending, target, file))
    }

    async fn put_stream_local(
        &self,
        path: &ArtifactPath,
        mut body: ByteStream,
        max_bytes: Option<u64>,
    ) -> Result<u64> {
        let (store, owned) = (self.clone(), path.clone());
        let (pending, target, file) = blocking(move || store.start_write(&owned)).await?;
        let mut out = tokio::io::BufWriter::with_capacity(
            WRITE_BUFFER_BYTES,
            tokio::fs::File::from_std(file),
        );
        let mut written: u64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                Error::invalid(format!(
                    "the upload of '{path}' stopped after {written} bytes: {e}"
                ))
            })?;
            written += chunk.len() as u64;
            if let Some(limit) = max_bytes.filter(|l| written > *l) {
                return Err(too_large(path, limit));
            }
            out.write_all(&chunk).await?;
        }
        out.flush().await?;
        let file = out.into_inner();
        file.sync_all().await?;
        drop(file);
        let temp = pending
            .temp
            .clone()
            .ok_or_else(|| Error::Internal("artifact write lost its temporary file".into()))?;
        tokio::fs::rename(&temp, &target).await?;
        pending.finish();
        Ok(written)
    }

    fn get_blocking(&self, path: &ArtifactPath) -> Result<Bytes> {
        let not_found = || Error::NotFound(format!("artifact '{path}' does not exist"));
        if path.is_root() {
            return Err(not_found());
        }
        let target = self.resolve(path)?;
        match std::fs::read(&target) {
            Ok(bytes) => Ok(Bytes::from(bytes)),
            Err(e) if e.kind() == IoErrorKind::NotFound => Err(not_found()),
            Err(_) if target.is_dir() => Err(Error::invalid(format!(
                "artifact '{path}' is a directory; list it instead"
            ))),
            Err(e) => Err(e.into()),
        }
    }

    fn open_blocking(&self, path: &ArtifactPath) -> Result<(u64, std::fs::File)> {
        let not_found = || Error::NotFound(format!("artifact '{path}' does not exist"));
        let is_dir =
            || Error::invalid(format!("artifact '{path}' is a directory; list it instead"));
        if path.is_root() {
            return Err(not_found());
        }
        let target = self.resolve(path)?;
        match std::fs::File::open(&target) {
            Ok(file) => {
                let meta = file.metadata()?;
                if meta.is_dir() {
                    return Err(is_dir());
                }
                Ok((meta.len(), file))
            }
            Err(e) if e.kind() == IoErrorKind::NotFound => Err(not_found()),
            Err(_) if target.is_dir() => Err(is_dir()),
            Err(e) => Err(e.into()),
        }
    }

    fn list_blocking(&self, dir: &ArtifactPath) -> Result<Vec<ArtifactEntry>> {
        let target = self.resolve(dir)?;
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

    fn delete_blocking(&self, path: &DeletablePath) -> Result<()> {
        let target = self.resolve(path.path())?;
        let result = if target.is_dir() {
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
    async fn put_stream(
        &self,
        path: &ArtifactPath,
        body: ByteStream,
        max_bytes: Option<u64>,
    ) -> Result<u64> {
        self.put_stream_local(path, body, max_bytes).await
    }

    async fn get(&self, path: &ArtifactPath) -> Result<Bytes> {
        let (store, path) = (self.clone(), path.clone());
        blocking(move || store.get_blocking(&path)).await
    }

    async fn get_stream(&self, path: &ArtifactPath) -> Result<(u64, ByteStream)> {
        let (store, path) = (self.clone(), path.clone());
        let (size, file) = blocking(move || store.open_blocking(&path)).await?;
        let file = tokio::fs::File::from_std(file);
        // The file stays open, so a concurrent overwrite (a rename) does not change what is
        // read; one chunk at a time is held.
        let chunks = futures_util::stream::unfold(Some(file), |file| async move {
            let mut file = file?;
            let mut buf = bytes::BytesMut::with_capacity(READ_CHUNK_BYTES);
            match tokio::io::AsyncReadExt::read_buf(&mut file, &mut buf).await {
                Ok(0) => None,
                Ok(_) => Some((Ok(buf.freeze()), Some(file))),
                Err(e) => Some((Err(e), None)),
            }
        });
        Ok((size, chunks.boxed()))
    }

    async fn list(&self, dir: &ArtifactPath) -> Result<Vec<ArtifactEntry>> {
        let (store, dir) = (self.clone(), dir.clone());
        blocking(move || store.list_blocking(&dir)).await
    }

    async fn delete(&self, path: &DeletablePath) -> Result<()> {
        let (store, path) = (self.clone(), path.clone());
        blocking(move || store.delete_blocking(&path)).await
    }

    fn root_uri(&self) -> String {
        url::Url::from_directory_path(&self.root)
            .map(String::from)
            .unwrap_or_else(|()| format!("file://{}/", self.root.display()))
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
    fn encoded_dot_parts_are_refused() {
        // What a second decoder would read as '.': the root or the folder itself.
        refused("%2e");
        refused("%2E/");
        refused("a/%2e/b");
        refused("%252e");
        refused("a%2f.");
        refused("a/.%2f");
        // Plain '.' parts are dropped; what is left is the root, or a plain path.
        assert!(ArtifactPath::parse("./").expect("root").is_root());
        assert!(ArtifactPath::parse(".").expect("root").is_root());
        assert_eq!(ArtifactPath::parse("a/./b").expect("ok").to_string(), "a/b");
        assert_eq!(
            ArtifactPath::parse("a%2e.txt").expect("ok").parts().len(),
            1
        );
    }

    #[test]
    fn over_long_parts_and_paths_are_refused() {
        let part = "x".repeat(MAX_PART_BYTES);
        ArtifactPath::parse(&format!("1/{part}")).expect("a part at the limit");
        let e = ArtifactPath::parse(&format!("1/{part}y")).expect_err("a part over");
        assert!(e.to_string().contains("255 bytes"), "{e}");
        // Bytes, not characters: 128 two-byte characters are 256 bytes.
        ArtifactPath::parse(&"é".repeat(128)).expect_err("multibyte part over");
        let long = vec!["abcdefg"; 128].join("/");
        assert_eq!(long.len(), MAX_PATH_BYTES - 1);
        ArtifactPath::parse(&long).expect("a path under the limit");
        let e = ArtifactPath::parse(&format!("{long}/xy")).expect_err("a path over");
        assert!(e.to_string().contains("1024 bytes"), "{e}");
        let e = ArtifactPath::parse(&"a/".repeat(3000)).expect_err("4,096 characters and more");
        assert_eq!(e.kind(), crate::ErrorKind::User);
    }

    #[test]
    fn only_paths_inside_artifacts_are_deletable() {
        for raw in [
            "",
            ".",
            "./",
            "1",
            "1/",
            "1/run",
            "1/run/artifacts",
            "1/run/artifacts/",
            "1/models/m-1",
            "1/models/m-1/artifacts",
            "artifacts/x",
            "1/artifacts/x",
            "a/b/c",
        ] {
            let path = ArtifactPath::parse(raw).expect(raw);
            let e = DeletablePath::new(path).expect_err(raw);
            assert_eq!(e.kind(), crate::ErrorKind::User, "{raw}");
            assert!(
                e.to_string().starts_with("refusing to delete"),
                "{raw}: {e}"
            );
        }
        for raw in [
            "1/run/artifacts/model",
            "1/run/artifacts/a/b.txt",
            "1/models/m-1/artifacts/MLmodel",
            "team/exp/run/artifacts/x",
        ] {
            DeletablePath::new(ArtifactPath::parse(raw).expect(raw)).expect(raw);
        }
    }

    /// The names under `root`, depth first.
    fn tree(root: &Path) -> Vec<String> {
        let mut out = Vec::new();
        let mut dirs = vec![root.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("read") {
                let path = entry.expect("entry").path();
                out.push(
                    path.strip_prefix(root)
                        .expect("under")
                        .display()
                        .to_string(),
                );
                if path.is_dir() {
                    dirs.push(path);
                }
            }
        }
        out.sort();
        out
    }

    #[tokio::test]
    async fn a_failed_write_leaves_nothing_behind() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalArtifactStore::open(dir.path()).expect("open");
        store
            .put(
                &ArtifactPath::parse("1/run/artifacts/keep.txt").expect("ok"),
                Bytes::from_static(b"k"),
            )
            .await
            .expect("put");
        let before = tree(store.root());
        let path = ArtifactPath::parse("1/run/artifacts/new/deeper/file.bin").expect("ok");
        let failing = futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"abc")),
            Err(std::io::Error::other("connection reset")),
        ])
        .boxed();
        let e = store
            .put_stream(&path, failing, None)
            .await
            .expect_err("failed body");
        assert!(e.to_string().contains("connection reset"), "{e}");
        assert_eq!(tree(store.root()), before);

        let big =
            futures_util::stream::iter((0..4).map(|_| Ok(Bytes::from(vec![1u8; 1000])))).boxed();
        let e = store
            .put_stream(&path, big, Some(2500))
            .await
            .expect_err("too large");
        assert!(matches!(e, Error::TooLarge(_)), "{e}");
        assert!(e.to_string().contains("2500 bytes"), "{e}");
        assert_eq!(tree(store.root()), before);

        // A request dropped half-way (its client hung up) is cleaned up too.
        let stalled = futures_util::stream::once(async { Ok(Bytes::from_static(b"abc")) })
            .chain(futures_util::stream::pending())
            .boxed();
        let put = tokio::time::timeout(
            std::time::Duration::from_millis(200),
            store.put_stream(&path, stalled, None),
        );
        assert!(put.await.is_err(), "a stalled body cannot finish");
        assert_eq!(tree(store.root()), before);

        // A fresh tree under a new experiment goes as well.
        let fresh = ArtifactPath::parse("9/run/artifacts/x.bin").expect("ok");
        let failing = futures_util::stream::iter(vec![Err(std::io::Error::other("reset"))]).boxed();
        store
            .put_stream(&fresh, failing, None)
            .await
            .expect_err("failed");
        assert_eq!(tree(store.root()), before);

        // The same write, whole, lands.
        let whole =
            futures_util::stream::iter((0..3).map(|_| Ok(Bytes::from(vec![2u8; 1000])))).boxed();
        assert_eq!(
            store
                .put_stream(&path, whole, Some(3000))
                .await
                .expect("put"),
            3000
        );
        assert_eq!(store.get(&path).await.expect("get").len(), 3000);
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

        let sub = DeletablePath::new(ArtifactPath::parse("1/run/artifacts/sub").expect("ok"))
            .expect("deletable");
        store.delete(&sub).await.expect("delete");
        assert!(matches!(store.get(&p).await, Err(Error::NotFound(_))));
        store.delete(&sub).await.expect("delete twice");
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
        std::fs::create_dir_all(root.join("1/run/artifacts")).expect("mkdir");
        std::os::unix::fs::symlink(&outside, root.join("1/run/artifacts/link"))
            .expect("symlink in a run");
        let through = ArtifactPath::parse("1/run/artifacts/link/secret.txt").expect("parses");
        let e = store
            .delete(&DeletablePath::new(through).expect("deletable"))
            .await
            .expect_err("delete through link");
        assert_eq!(e.kind(), crate::ErrorKind::User);
        assert!(outside.join("secret.txt").exists());
    }
}
