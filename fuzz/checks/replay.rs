//! What the corpus replays share (`tests/fuzz_corpus.rs` for the core's targets,
//! `server/tests/fuzz_corpus.rs` for the server's), included with `#[path]`: the corpus files
//! of a target, and the figures of its recorded fuzzing runs (`fuzz/runs.json`).

use std::path::{Path, PathBuf};

/// The files of `<repo>/fuzz/corpus/<target>`, in name order.
pub fn corpus(repo: &Path, target: &str) -> Vec<PathBuf> {
    let dir = repo.join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// The number under `key` in `target`'s entry of `fuzz/runs.json` (its text: `runs`).
pub fn recorded(runs: &str, target: &str, key: &str) -> u64 {
    let entry = runs
        .split_once(&format!("\"{target}\""))
        .and_then(|(_, rest)| rest.split_once('}'))
        .map(|(entry, _)| entry)
        .unwrap_or_else(|| panic!("fuzz/runs.json has no run of {target}"));
    let number = entry
        .split_once(&format!("\"{key}\""))
        .and_then(|(_, rest)| rest.trim_start().strip_prefix(':'))
        .map(|rest| rest.trim_start().split(|c: char| !c.is_ascii_digit()).next().unwrap_or(""))
        .unwrap_or_else(|| panic!("fuzz/runs.json: {target} has no {key}"));
    number.parse().unwrap_or_else(|_| panic!("fuzz/runs.json: {target}.{key} is not a count"))
}

/// One target's figures, as they go into `target/reliability/fuzz*.json`; fails when the
/// target was fuzzed less than 10 minutes.
pub fn figures(runs: &str, target: &str, files: usize) -> String {
    let seconds = recorded(runs, target, "secondsFuzzed");
    let execs = recorded(runs, target, "execs");
    assert!(seconds >= 600, "{target} was fuzzed {seconds} s, less than 10 minutes");
    assert!(execs > 0, "{target}: no executions recorded");
    format!("\"{target}\":{{\"corpusFiles\":{files},\"secondsFuzzed\":{seconds},\"execs\":{execs}}}")
}

/// Writes `targets` (from [`figures`]) to `<repo>/target/reliability/<file>`.
pub fn write_figures(repo: &Path, file: &str, targets: &[String]) {
    let dir = repo.join("target/reliability");
    std::fs::create_dir_all(&dir).expect("create target/reliability");
    std::fs::write(dir.join(file), format!("{{\"targets\":{{{}}}}}\n", targets.join(",")))
        .unwrap_or_else(|e| panic!("write {file}: {e}"));
}
