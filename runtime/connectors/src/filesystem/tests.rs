use std::fs;
use std::path::Path;
use std::sync::Arc;

use flinkrs_api::StreamExecutionEnvironment;
use flinkrs_core::{Batch, Configuration, Error};
use flinkrs_dataflow::{SourceContext, SourceFunction, SourceStatus, TaskInfo};

use super::*;
use crate::{ConnectorSinks, ConnectorSources};

fn context(subtask: usize, parallelism: usize, batch_rows: usize) -> SourceContext {
    SourceContext {
        info: TaskInfo {
            job_name: "test".into(),
            task_name: "Source: Text File Source".into(),
            operator_name: "Source: Text File Source".into(),
            operator_id: "file".into(),
            subtask_index: subtask,
            parallelism,
            max_parallelism: 128,
            config: Arc::new(Configuration::new()),
            job_id: flinkrs_core::JobId(0),
            attempt_number: 0,
        },
        batch_rows,
    }
}

fn write(path: &Path, content: &[u8]) {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).unwrap();
    }
    fs::write(path, content).unwrap();
}

fn read_lines(path: &Path, parallelism: usize) -> Result<Vec<String>, Error> {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(parallelism).unwrap();
    let mut lines = env.read_text_file(path).execute_and_collect("read text")?;
    lines.sort();
    Ok(lines)
}

#[test]
fn reads_a_file_line_by_line_stripping_line_ends() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("input.txt");
    write(&file, b"first\nsecond\r\n\nlast without newline");
    let env = StreamExecutionEnvironment::new();
    let lines = env
        .read_text_file(&file)
        .execute_and_collect("read file")
        .unwrap();
    assert_eq!(lines, vec!["first", "second", "", "last without newline"]);
}

#[test]
fn reads_a_directory_recursively_skipping_hidden_files_at_parallelism_two() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a.txt"), b"a1\na2\n");
    write(&dir.path().join("b.txt"), b"b1\n");
    write(&dir.path().join("nested/c.txt"), b"c1\nc2\nc3\n");
    write(&dir.path().join("nested/deeper/d.txt"), b"d1\n");
    write(&dir.path().join(".hidden"), b"hidden\n");
    write(&dir.path().join("_SUCCESS"), b"marker\n");
    write(&dir.path().join("_temporary/e.txt"), b"in progress\n");
    let files = list_input_files(dir.path()).unwrap();
    let names: Vec<_> = files
        .iter()
        .map(|file| file.strip_prefix(dir.path()).unwrap().to_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["a.txt", "b.txt", "nested/c.txt", "nested/deeper/d.txt"]
    );
    assert_eq!(
        share_of_subtask(files.clone(), 1, 2),
        vec![files[1].clone(), files[3].clone()]
    );
    assert_eq!(
        read_lines(dir.path(), 2).unwrap(),
        vec!["a1", "a2", "b1", "c1", "c2", "c3", "d1"]
    );
}

#[test]
fn a_missing_path_fails_the_job_at_start_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-input");
    let error = read_lines(&missing, 2).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "operator 'Source: Text File Source' (subtask 1/2) failed: read file source input \
             '{}': no such file or directory; check the path, or create it before the job starts",
            missing.display()
        )
    );
    // Built without listing, the source fails in `open` with the same cause.
    let mut source = TextFileSource::new(&missing);
    let Err(Error::Io {
        path,
        source: cause,
        ..
    }) = source.open(&context(0, 1, 8))
    else {
        panic!("expected an I/O error");
    };
    assert_eq!(path, missing);
    assert_eq!(cause.kind(), std::io::ErrorKind::NotFound);
}

#[test]
fn invalid_utf8_is_an_error_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.txt");
    write(&file, b"fine\nbr\xFFoken\n");
    let context = context(0, 1, 8);
    let mut source = TextFileSource::new(&file);
    source.open(&context).unwrap();
    let error = source.poll_batch(&mut Vec::new(), &context).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "malformed input in {}:2: the line is not valid UTF-8 (at byte 3); the file source \
             reads UTF-8 text",
            file.display()
        )
    );
}

#[test]
fn snapshot_and_restore_resume_after_the_last_line_read() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("1.txt"), b"one\ntwo\nthree\n");
    write(&dir.path().join("2.txt"), b"four\n");
    let context = context(0, 1, 2);
    let mut source = TextFileSource::new(dir.path());
    source.open(&context).unwrap();
    let mut batch: Batch<String> = Vec::new();
    assert_eq!(
        source.poll_batch(&mut batch, &context).unwrap(),
        SourceStatus::MoreAvailable
    );
    assert_eq!(batch.len(), 2);
    let state = source.snapshot_state().unwrap();
    let mut restored = TextFileSource::new(dir.path());
    restored.restore_state(state).unwrap();
    restored.open(&context).unwrap();
    assert_eq!(read_all(&mut restored, &context), vec!["three", "four"]);
}

fn read_all(source: &mut TextFileSource, context: &SourceContext) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let mut batch = Vec::new();
        let status = source.poll_batch(&mut batch, context).unwrap();
        lines.extend(batch.into_iter().map(|record| record.value));
        if status == SourceStatus::Finished {
            return lines;
        }
    }
}

#[test]
fn the_splits_of_two_subtasks_restore_into_one_at_their_offsets() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("1.txt"), b"a1\na2\na3\n");
    write(&dir.path().join("2.txt"), b"b1\nb2\n");
    write(&dir.path().join("3.txt"), b"c1\n");
    let mut state = Vec::new();
    for subtask in 0..2 {
        let context = context(subtask, 2, 1);
        let mut source = TextFileSource::new(dir.path());
        source.open(&context).unwrap();
        source.poll_batch(&mut Vec::new(), &context).unwrap();
        state.extend(source.snapshot_state().unwrap());
    }
    // Subtask 0 read a1 (and still has 3.txt), subtask 1 read b1.
    assert_eq!(state.len(), 3);
    let context = context(0, 1, 8);
    let mut restored = TextFileSource::new(dir.path());
    restored.restore_state(state).unwrap();
    restored.open(&context).unwrap();
    assert_eq!(
        read_all(&mut restored, &context),
        vec!["a2", "a3", "c1", "b2"]
    );
}

#[test]
fn a_malformed_split_fails_the_restore_naming_the_source() {
    let mut source = TextFileSource::new("/data/in");
    let error = source.restore_state(vec![vec![0xFF; 3]]).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("file source for '/data/in': a checkpointed split cannot be decoded"),
        "{error}"
    );
}

#[test]
fn text_output_at_parallelism_one_writes_exactly_one_line_per_record() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out/result.txt");
    let env = StreamExecutionEnvironment::new();
    env.from_collection(vec![
        "alpha".to_owned(),
        "beta".to_owned(),
        "gamma".to_owned(),
    ])
    .write_as_text(&output);
    env.execute("write text").unwrap();
    assert_eq!(fs::read_to_string(&output).unwrap(), "alpha\nbeta\ngamma\n");
}

#[test]
fn text_output_at_parallelism_two_writes_part_files_whose_union_is_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out");
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2).unwrap();
    env.from_sequence(1, 1_000).write_as_text(&output);
    env.execute("write parts").unwrap();
    let mut names: Vec<String> = fs::read_dir(&output)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, vec!["part-0-0", "part-1-0"]);
    let mut numbers: Vec<u64> = names
        .iter()
        .flat_map(|name| {
            let content = fs::read_to_string(output.join(name)).unwrap();
            assert!(content.ends_with('\n'));
            content
                .lines()
                .map(|line| line.parse::<u64>().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=1_000).collect::<Vec<u64>>());
    assert_eq!(text_output_file(&output, 3), output.join("part-3-0"));
}

#[test]
fn csv_fields_are_quoted_only_when_needed_with_quotes_doubled() {
    let row = CsvRow((
        1,
        "plain",
        "a,b",
        "say \"hi\"",
        "two\nlines",
        2.5,
        None::<&str>,
        true,
    ));
    assert_eq!(
        row.to_string(),
        "1,plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",2.5,,true"
    );
    assert_eq!(format_csv_row(&["x", "", "\r"]), "x,,\"\r\"");
    assert_eq!(
        format_csv_row(&vec![String::from("\""), String::from("y")]),
        "\"\"\"\",y"
    );
    assert_eq!(CsvRow((',',)).to_string(), "\",\"");
}

#[test]
fn csv_lines_parse_back_into_their_fields() {
    let fields = parse_csv_line("1,\"a,b\",\"say \"\"hi\"\"\",,last", 1).unwrap();
    assert_eq!(fields, vec!["1", "a,b", "say \"hi\"", "", "last"]);
    assert_eq!(parse_csv_line("", 1).unwrap(), vec![""]);
    assert_eq!(parse_csv_line("a,", 1).unwrap(), vec!["a", ""]);
    assert_eq!(parse_csv_line("\"\"", 1).unwrap(), vec![""]);
    let line = format_csv_row(&("x,y", "q\"q", 7));
    assert_eq!(parse_csv_line(&line, 1).unwrap(), vec!["x,y", "q\"q", "7"]);
}

#[test]
fn malformed_csv_errors_name_the_line_and_column() {
    let message = |line: &str, number: u64| parse_csv_line(line, number).unwrap_err().to_string();
    assert_eq!(
        message("a,\"bc", 7),
        "malformed input in line 7, column 3: the quoted field is not closed; end it with '\"' \
         and write a quote inside it as '\"\"'"
    );
    assert_eq!(
        message("\"ab\"c,d", 2),
        "malformed input in line 2, column 5: a closing quote must be followed by ',' or the end \
         of the line; write a quote inside a quoted field as '\"\"'"
    );
    assert_eq!(
        message("ok,a\"b", 9),
        "malformed input in line 9, column 5: a quote inside an unquoted field; quote the whole \
         field and double the quote ('\"\"')"
    );
}

#[test]
fn csv_rows_written_as_text_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("rows.csv");
    let env = StreamExecutionEnvironment::new();
    env.from_collection(vec![
        (1, "a,b".to_owned()),
        (2, "plain".to_owned()),
        (3, "\"quoted\"".to_owned()),
    ])
    .map(|(id, text)| CsvRow((id, text)))
    .write_as_text(&output);
    env.execute("write csv").unwrap();
    let content = fs::read_to_string(&output).unwrap();
    assert_eq!(content, "1,\"a,b\"\n2,plain\n3,\"\"\"quoted\"\"\"\n");
    let parsed: Vec<Vec<String>> = content
        .lines()
        .zip(1..)
        .map(|(line, number)| parse_csv_line(line, number).unwrap())
        .collect();
    assert_eq!(parsed[2], vec!["3", "\"quoted\""]);
}

#[test]
fn the_byte_lines_fast_path_reads_raw_bytes_without_validation() {
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("a.bin"), b"ok\r\nbr\xFFoken\n");
    write(&dir.path().join("b.bin"), b"tail");
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(2).unwrap();
    let mut lines = env
        .read_byte_lines(dir.path())
        .execute_and_collect("bytes")
        .unwrap();
    lines.sort();
    assert_eq!(
        lines,
        vec![b"br\xFFoken".to_vec(), b"ok".to_vec(), b"tail".to_vec()]
    );
}
