//! Media bytes on disk, content-addressed by SHA-256 under `<data_dir>/media/`. Uploads stream to a
//! temp file while hashing (never whole in memory), are fsynced, then renamed into place, so a blob
//! is durable before any record points at it. Thumbnails for images. Knows nothing of records or
//! permissions (that is `workflow::assets`).

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::{Error, Result};

/// Bytes of the head kept for type sniffing.
const HEAD: usize = 8192;
const THUMB_MAX: u32 = 320;

#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

/// An upload written to a temp file, not yet in place.
#[derive(Debug)]
pub struct Staged {
    pub sha256: String,
    pub size: u64,
    pub head: Vec<u8>,
    tmp: PathBuf,
}

impl Staged {
    /// Delete the temp file (rejected uploads).
    pub async fn discard(self) {
        let _ = tokio::fs::remove_file(&self.tmp).await;
    }
}

impl BlobStore {
    pub fn open(data_dir: &Path) -> Result<Self> {
        let root = data_dir.join("media");
        std::fs::create_dir_all(root.join("tmp"))?;
        // Temp files left by a crash are garbage.
        if let Ok(rd) = std::fs::read_dir(root.join("tmp")) {
            for e in rd.flatten() {
                let _ = std::fs::remove_file(e.path());
            }
        }
        Ok(Self { root })
    }

    /// The blob store of a data dir for reading only (no directories created, no temp files
    /// cleaned: a server may be using it).
    pub fn at(data_dir: &Path) -> Self {
        Self {
            root: data_dir.join("media"),
        }
    }

    pub fn path(&self, sha256: &str) -> PathBuf {
        let (a, b) = (
            sha256.get(0..2).unwrap_or("xx"),
            sha256.get(2..4).unwrap_or("xx"),
        );
        self.root.join("sha256").join(a).join(b).join(sha256)
    }

    /// Stream bytes to a temp file, hashing as they come; refuse past `limit` bytes.
    pub async fn stage<S, E>(&self, mut body: S, limit: u64) -> Result<Staged>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let tmp = self.root.join("tmp").join(uuid::Uuid::new_v4().to_string());
        let mut file = tokio::fs::File::create(&tmp).await?;
        let (mut hasher, mut size, mut head) = (Sha256::new(), 0u64, Vec::with_capacity(HEAD));
        let result: Result<()> = async {
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| Error::Io(format!("upload interrupted: {e}")))?;
                size += chunk.len() as u64;
                if size > limit {
                    return Err(Error::AssetTooLarge { limit });
                }
                if head.len() < HEAD {
                    let take = (HEAD - head.len()).min(chunk.len());
                    head.extend_from_slice(&chunk[..take]);
                }
                hasher.update(&chunk);
                file.write_all(&chunk).await?;
            }
            file.sync_all().await?;
            Ok(())
        }
        .await;
        if let Err(e) = result {
            drop(file);
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
        Ok(Staged {
            sha256: hex::encode(hasher.finalize()),
            size,
            head,
            tmp,
        })
    }

    /// Move a staged upload into place (a blob with the same hash may already be there).
    pub async fn keep(&self, s: Staged) -> Result<PathBuf> {
        let dest = self.path(&s.sha256);
        let dir = dest
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.root.clone());
        tokio::fs::create_dir_all(&dir).await?;
        if tokio::fs::try_exists(&dest).await.unwrap_or(false) {
            s.discard().await;
        } else {
            tokio::fs::rename(&s.tmp, &dest).await?;
            tokio::fs::File::open(&dir).await?.sync_all().await?;
        }
        Ok(dest)
    }

    /// The first bytes of a stored blob (enough to sniff its type) and its size; `None` when the
    /// store does not have it.
    pub fn head(&self, sha256: &str) -> Result<Option<(Vec<u8>, u64)>> {
        use std::io::Read;
        let f = match std::fs::File::open(self.path(sha256)) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let size = f.metadata()?.len();
        let mut head = Vec::with_capacity(HEAD);
        f.take(HEAD as u64).read_to_end(&mut head)?;
        Ok(Some((head, size)))
    }

    /// Store small bytes (thumbnails) as a blob; returns the hash.
    pub async fn put_bytes(&self, bytes: Vec<u8>) -> Result<String> {
        let len = bytes.len() as u64;
        let stream = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from(bytes))]);
        let staged = self.stage(stream, len.max(1)).await?;
        let sha = staged.sha256.clone();
        self.keep(staged).await?;
        Ok(sha)
    }

    /// Take a copy of a file that should hold the blob `sha256` (carried on removable media, or
    /// restored): copied to a temp file while hashing, refused if the hash differs, fsynced and
    /// moved into place. Returns false if the blob was already here. Blocking.
    pub fn adopt_file(&self, src: &Path, sha256: &str) -> Result<bool> {
        let dest = self.path(sha256);
        if dest.exists() {
            return Ok(false);
        }
        let tmp = self.root.join("tmp").join(uuid::Uuid::new_v4().to_string());
        let copied = (|| -> Result<String> {
            let mut from = std::fs::File::open(src)?;
            let mut to = std::fs::File::create(&tmp)?;
            let mut h = Sha256::new();
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = std::io::Read::read(&mut from, &mut buf)?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
                std::io::Write::write_all(&mut to, &buf[..n])?;
            }
            to.sync_all()?;
            Ok(hex::encode(h.finalize()))
        })();
        let got = match copied {
            Ok(g) => g,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        if got != sha256 {
            let _ = std::fs::remove_file(&tmp);
            return Err(Error::invalid(
                "asset",
                format!(
                    "{} does not hold {sha256} (its hash is {got})",
                    src.display()
                ),
            ));
        }
        let dir = dest.parent().map(Path::to_path_buf).unwrap_or_default();
        std::fs::create_dir_all(&dir)?;
        std::fs::rename(&tmp, &dest)?;
        std::fs::File::open(&dir)?.sync_all()?;
        Ok(true)
    }

    pub async fn remove(&self, sha256: &str) {
        let _ = tokio::fs::remove_file(self.path(sha256)).await;
    }
}

/// Decode an image and make a JPEG thumbnail (longest side 320 px). Returns (jpeg, width, height)
/// of the original, or `None` if the image cannot be decoded. CPU-bound: call on a blocking thread.
pub fn thumbnail(path: &Path) -> Option<(Vec<u8>, u32, u32)> {
    let reader = image::ImageReader::open(path)
        .ok()?
        .with_guessed_format()
        .ok()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(20_000);
    limits.max_image_height = Some(20_000);
    limits.max_alloc = Some(512 * 1024 * 1024);
    let mut reader = reader;
    reader.limits(limits);
    let img = reader.decode().ok()?;
    let (w, h) = (img.width(), img.height());
    let thumb = img.thumbnail(THUMB_MAX, THUMB_MAX).to_rgb8();
    let mut out = std::io::Cursor::new(Vec::new());
    thumb.write_to(&mut out, image::ImageFormat::Jpeg).ok()?;
    Some((out.into_inner(), w, h))
}
