use std::sync::Arc;
use std::time::Duration;

use flinkrs_core::{Error, JobId};

use super::wire::{FetchRequest, encode_page, read_page};
use super::*;
use crate::channel::remote::NetworkEnvironment;

fn chunk(text: &str) -> Vec<u8> {
    text.as_bytes().to_vec()
}

fn texts(page: &Page) -> Vec<String> {
    page.chunks
        .iter()
        .map(|chunk| String::from_utf8(chunk.clone()).unwrap())
        .collect()
}

#[test]
fn a_fetch_reads_from_its_offset_and_drops_what_came_before() {
    let buffer = ResultBuffer::new(JobId(1), 0);
    for text in ["a", "b", "c"] {
        buffer.push(chunk(text)).unwrap();
    }
    let page = buffer.fetch(0, 1 << 20);
    assert_eq!(
        (page.offset, texts(&page), page.finished),
        (0, vec!["a".into(), "b".into(), "c".into()], false)
    );
    let page = buffer.fetch(2, 1 << 20);
    assert_eq!((page.offset, texts(&page)), (2, vec!["c".to_owned()]));
    assert_eq!(buffer.state().bytes, 1);
    buffer.finish();
    let page = buffer.fetch(2, 1 << 20);
    assert_eq!((texts(&page), page.finished), (vec!["c".to_owned()], true));
    let page = buffer.fetch(3, 1 << 20);
    assert_eq!(
        (page.offset, page.chunks.len(), page.finished),
        (3, 0, true)
    );
    assert!(buffer.drained());
}

#[test]
fn a_page_keeps_to_its_byte_budget_but_holds_at_least_one_chunk() {
    let buffer = ResultBuffer::new(JobId(1), 0);
    buffer.push(chunk("0123456789")).unwrap();
    buffer.push(chunk("abc")).unwrap();
    assert_eq!(texts(&buffer.fetch(0, 4)), vec!["0123456789".to_owned()]);
    assert_eq!(texts(&buffer.fetch(0, 13)).len(), 2);
}

#[test]
fn a_full_buffer_makes_its_sink_wait_until_the_client_reads() {
    let buffer = Arc::new(ResultBuffer::new(JobId(1), 0));
    buffer.push(vec![0; CAPACITY_BYTES]).unwrap();
    let (pushed, pushed_in) = crossbeam_channel::bounded(1);
    let sink = {
        let buffer = Arc::clone(&buffer);
        std::thread::spawn(move || {
            let result = buffer.push(chunk("next"));
            pushed.send(()).unwrap();
            result
        })
    };
    assert!(pushed_in.recv_timeout(Duration::from_millis(200)).is_err());
    let page = buffer.fetch(1, 1 << 20);
    assert_eq!(page.offset, 1);
    pushed_in.recv_timeout(Duration::from_secs(10)).unwrap();
    sink.join().unwrap().unwrap();
    assert_eq!(texts(&buffer.fetch(1, 1 << 20)), vec!["next".to_owned()]);
}

#[test]
fn releasing_a_job_frees_its_waiting_sink_with_a_cancellation() {
    let job = JobId(0x51);
    let buffer = open(job, 0);
    buffer.push(vec![0; CAPACITY_BYTES]).unwrap();
    let sink = {
        let buffer = Arc::clone(&buffer);
        std::thread::spawn(move || buffer.push(chunk("next")))
    };
    release(job);
    assert!(matches!(sink.join().unwrap(), Err(Error::Cancelled)));
    assert_eq!(fetch(job, 0, 1 << 20), None);
}

#[test]
fn a_new_attempt_replaces_the_last_ones_buffer() {
    let job = JobId(0x52);
    let first = open(job, 0);
    first.push(chunk("old")).unwrap();
    assert!(Arc::ptr_eq(&first, &open(job, 0)));
    let second = open(job, 1);
    assert!(matches!(first.push(chunk("late")), Err(Error::Cancelled)));
    second.push(chunk("new")).unwrap();
    let page = fetch(job, 0, 1 << 20).unwrap();
    assert_eq!((page.attempt, texts(&page)), (1, vec!["new".to_owned()]));
    release(job);
}

#[test]
fn a_finished_buffer_goes_once_its_end_was_read() {
    let job = JobId(0x53);
    let buffer = open(job, 0);
    buffer.push(chunk("last")).unwrap();
    buffer.finish();
    assert!(fetch(job, 0, 1 << 20).unwrap().finished);
    assert_eq!(fetch(job, 1, 1 << 20).map(|page| page.finished), Some(true));
    assert_eq!(fetch(job, 1, 1 << 20), None);
}

#[test]
fn requests_and_pages_survive_their_encoding() {
    let request = FetchRequest {
        job: JobId(0x0123_4567_89ab_cdef_0011_2233_4455_6677),
        offset: 42,
        max_bytes: 1 << 20,
    };
    assert_eq!(FetchRequest::decode(&request.encode()), request);
    let page = Page {
        attempt: 3,
        offset: 7,
        chunks: vec![chunk("[1]"), Vec::new(), chunk("[2,3]")],
        finished: true,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let read = |bytes: Vec<u8>| runtime.block_on(read_page(&mut bytes.as_slice()));
    assert_eq!(read(encode_page(Some(&page))).unwrap(), Some(page));
    assert_eq!(read(encode_page(None)).unwrap(), None);
    let mut truncated = encode_page(Some(&Page {
        chunks: vec![chunk("abc")],
        ..Page::default()
    }));
    truncated.pop();
    assert_eq!(
        read(truncated).unwrap_err().kind(),
        std::io::ErrorKind::UnexpectedEof
    );
}

#[test]
fn a_taskmanagers_data_port_answers_a_fetch_of_its_results() {
    let network = NetworkEnvironment::start("127.0.0.1:0").unwrap();
    let job = JobId(0x54);
    let buffer = open(job, 2);
    buffer.push(chunk("[\"row\"]")).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let address = network.address().to_string();
    let request = FetchRequest {
        job,
        offset: 0,
        max_bytes: 1 << 20,
    };
    let page = runtime
        .block_on(wire::fetch(&address, request))
        .unwrap()
        .unwrap();
    assert_eq!(
        (page.attempt, page.offset, texts(&page), page.finished),
        (2, 0, vec!["[\"row\"]".to_owned()], false)
    );
    let unknown = FetchRequest {
        job: JobId(0x55),
        ..request
    };
    assert_eq!(
        runtime.block_on(wire::fetch(&address, unknown)).unwrap(),
        None
    );
    release(job);
}
