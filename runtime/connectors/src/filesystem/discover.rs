//! Finds the files a file source reads, and splits them between subtasks.

use std::io;
use std::path::{Path, PathBuf};

use flinkrs_core::{Error, Result};

/// Flink's default file filter: names starting with `.` or `_` are hidden (checksums,
/// `_SUCCESS` markers, files being written).
pub fn is_hidden(name: &std::ffi::OsStr) -> bool {
    let bytes = name.as_encoded_bytes();
    bytes
        .first()
        .is_some_and(|first| *first == b'.' || *first == b'_')
}

/// The error for an input path that cannot be read, with what to do about it.
fn input_error(path: &Path, source: io::Error) -> Error {
    let source = match source.kind() {
        io::ErrorKind::NotFound => io::Error::new(
            io::ErrorKind::NotFound,
            "no such file or directory; check the path, or create it before the job starts",
        ),
        io::ErrorKind::PermissionDenied => io::Error::new(
            io::ErrorKind::PermissionDenied,
            "permission denied; make it readable by the user running the job",
        ),
        _ => source,
    };
    Error::io("read file source input", path, source)
}

/// Every regular file under `path`, sorted by path: `path` itself when it is a file,
/// otherwise the files of the directory and its subdirectories, hidden ones skipped.
pub fn list_input_files(path: &Path) -> Result<Vec<PathBuf>> {
    let metadata = std::fs::metadata(path).map_err(|source| input_error(path, source))?;
    if !metadata.is_dir() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut files = Vec::new();
    let mut directories = vec![path.to_path_buf()];
    // Canonical paths of the directories seen, so that a symbolic link cycle ends.
    let mut visited = std::collections::HashSet::new();
    while let Some(directory) = directories.pop() {
        let canonical = std::fs::canonicalize(&directory).unwrap_or_else(|_| directory.clone());
        if !visited.insert(canonical) {
            continue;
        }
        let entries =
            std::fs::read_dir(&directory).map_err(|source| input_error(&directory, source))?;
        for entry in entries {
            let entry = entry.map_err(|source| input_error(&directory, source))?;
            if is_hidden(&entry.file_name()) {
                continue;
            }
            let entry_path = entry.path();
            // Follows symbolic links, as reading the file would.
            let metadata = std::fs::metadata(&entry_path)
                .map_err(|source| input_error(&entry_path, source))?;
            if metadata.is_dir() {
                directories.push(entry_path);
            } else if metadata.is_file() {
                files.push(entry_path);
            }
        }
    }
    files.sort();
    Ok(files)
}

/// The files of subtask `subtask` of `parallelism`: file `i` goes to subtask `i % parallelism`.
pub fn share_of_subtask(files: Vec<PathBuf>, subtask: usize, parallelism: usize) -> Vec<PathBuf> {
    let parallelism = parallelism.max(1);
    files
        .into_iter()
        .enumerate()
        .filter(|(index, _)| index % parallelism == subtask)
        .map(|(_, file)| file)
        .collect()
}
