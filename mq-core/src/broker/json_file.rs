//! The broker's metadata files (topics, consumer offsets, delay offsets): JSON read at start
//! and written atomically, so a crash mid-write leaves the previous version, never half a file.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The directory holding the metadata files: `{store_dir}/config`, as RocketMQ lays it out.
pub(crate) fn config_dir(store_dir: &Path) -> PathBuf {
    store_dir.join("config")
}

/// Reads `path` as `T`; `Ok(None)` if the file does not exist.
///
/// A file that exists but does not parse is an error: starting with empty metadata would
/// silently reset every consumer to its start position.
pub(crate) fn load<T: DeserializeOwned>(path: &Path) -> crate::Result<Option<T>> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|e| {
        crate::Error::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{} is not valid JSON: {e}", path.display()),
        ))
    })
}

/// Writes `value` to `path` atomically: a temp file in the same directory, fsync, rename
/// over the old file, fsync the directory so the rename itself survives a power cut.
pub(crate) fn save<T: Serialize>(path: &Path, value: &T) -> crate::Result<()> {
    let json = serde_json::to_vec_pretty(value)
        .map_err(|e| crate::Error::Io(io::Error::new(io::ErrorKind::InvalidData, e)))?;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    fs::create_dir_all(dir)?;
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    {
        let mut file = File::create(&tmp)?;
        file.write_all(&json)?;
        file.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = config_dir(dir.path()).join("x.json");
        assert!(load::<BTreeMap<String, i64>>(&path).unwrap().is_none());
        let value = BTreeMap::from([("a".to_owned(), 1_i64)]);
        save(&path, &value).unwrap();
        assert_eq!(load::<BTreeMap<String, i64>>(&path).unwrap(), Some(value));
        fs::write(&path, b"{not json").unwrap();
        assert!(load::<BTreeMap<String, i64>>(&path).is_err());
    }
}
