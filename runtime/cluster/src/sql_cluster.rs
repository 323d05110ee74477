//! The SQL client's cluster (`flinkrs sql -m HOST:PORT`): each `INSERT INTO` and each `SELECT`
//! is a job submitted to the JobManager's REST API as a script of the session's statements
//! and the job's; a `SELECT`'s rows are read back page by page from
//! `GET /flinkrs/jobs/:id/results` (see [`flinkrs_contract::rest::JobResultsResponse`]).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use flinkrs_contract::rest::{JobResultsResponse, JobSubmitRequest, JobSubmitResponse, paths};
use flinkrs_sql::{Error, ResultRow};

use crate::client::RestClient;

/// The longest pause between two reads of a query's rows while none come.
const MAX_POLL_PAUSE: Duration = Duration::from_millis(200);

/// The JobManager at `address`, as the SQL session's cluster.
pub struct RestCluster {
    client: RestClient,
    address: String,
}

impl RestCluster {
    pub fn new(address: &str) -> anyhow::Result<Self> {
        Ok(RestCluster {
            client: RestClient::new(address)?,
            address: address.to_owned(),
        })
    }

    fn submit_script(&self, script: &str, collect_results: bool) -> flinkrs_sql::Result<String> {
        let request = JobSubmitRequest {
            sql: Some(script.to_owned()),
            collect_results,
            ..JobSubmitRequest::default()
        };
        self.client
            .post::<JobSubmitResponse>(paths::FLINKRS_JOBS, &request)
            .map(|submitted| submitted.jobid)
            .map_err(|error| {
                Error::Validation(format!(
                    "the JobManager at {} did not take the job: {error}",
                    self.address
                ))
            })
    }

    /// Cancels the query's job, as Flink's client does when its result is closed.
    fn cancel(&self, job_id: &str) -> Error {
        match self
            .client
            .patch::<serde_json::Value>(&paths::job_cancel(job_id))
        {
            Ok(_) => Error::Validation(format!(
                "the query was interrupted; its job {job_id} is cancelled"
            )),
            Err(error) => Error::Validation(format!(
                "the query was interrupted, but its job {job_id} could not be cancelled ({error}); \
                 cancel it with flinkrs cancel -m {} {job_id}",
                self.address
            )),
        }
    }

    fn page(&self, job_id: &str, offset: u64) -> flinkrs_sql::Result<JobResultsResponse> {
        self.client
            .get(&paths::job_results(job_id, offset))
            .map_err(|error| {
                Error::Validation(format!(
                    "could not read the rows of job {job_id} from the JobManager at {}: {error}",
                    self.address
                ))
            })
    }
}

impl flinkrs_sql::Cluster for RestCluster {
    fn submit(&self, script: &str) -> flinkrs_sql::Result<String> {
        self.submit_script(script, false)
    }

    fn collect(&self, script: &str, on_row: &mut dyn FnMut(ResultRow)) -> flinkrs_sql::Result<()> {
        let interrupted = interrupts();
        interrupted.store(false, Ordering::SeqCst);
        let job_id = self.submit_script(script, true)?;
        let mut reader = RowReader::default();
        let mut pause = Duration::from_millis(5);
        loop {
            if interrupted.swap(false, Ordering::SeqCst) {
                return Err(self.cancel(&job_id));
            }
            let page = self.page(&job_id, reader.offset)?;
            match reader.read(page, on_row)? {
                Progress::Rows => pause = Duration::from_millis(5),
                Progress::Waiting => {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(MAX_POLL_PAUSE);
                }
                Progress::Restarted { attempt } => eprintln!(
                    "warning: job {job_id} restarted (attempt {attempt}); rows shown before the \
                     restart may be shown again"
                ),
                Progress::Ended => return Ok(()),
            }
        }
    }
}

/// Set by Ctrl-C (SIGINT) once a query has run on the cluster: the query reading rows then
/// cancels its job and ends, instead of the process ending and leaving the job running.
fn interrupts() -> &'static AtomicBool {
    static INTERRUPTED: OnceLock<&'static AtomicBool> = OnceLock::new();
    INTERRUPTED.get_or_init(|| {
        let flag: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        let listening = std::thread::Builder::new()
            .name("sql-interrupts".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                let Ok(runtime) = runtime else { return };
                runtime.block_on(async {
                    use tokio::signal::unix::{SignalKind, signal};
                    let Ok(mut interrupts) = signal(SignalKind::interrupt()) else {
                        return;
                    };
                    while interrupts.recv().await.is_some() {
                        flag.store(true, Ordering::SeqCst);
                    }
                });
            });
        if let Err(error) = listening {
            eprintln!("warning: Ctrl-C will not cancel a query's job: {error}");
        }
        flag
    })
}

/// Where a client stands in a query's pages.
#[derive(Debug, Default)]
struct RowReader {
    attempt: u32,
    /// The next batch to read: asking from it acknowledges the ones before.
    offset: u64,
}

/// What a page brought.
#[derive(Debug, PartialEq, Eq)]
enum Progress {
    Rows,
    Waiting,
    /// The job restarted: its rows start again from offset 0 of the new attempt.
    Restarted {
        attempt: u32,
    },
    /// Every row was read.
    Ended,
}

impl RowReader {
    fn read(
        &mut self,
        page: JobResultsResponse,
        on_row: &mut dyn FnMut(ResultRow),
    ) -> flinkrs_sql::Result<Progress> {
        if page.attempt != self.attempt {
            self.attempt = page.attempt;
            self.offset = 0;
            return Ok(Progress::Restarted {
                attempt: page.attempt,
            });
        }
        let count = page.batches.len() as u64;
        for batch in page.batches {
            let rows: Vec<ResultRow> = serde_json::from_value(batch).map_err(|error| {
                Error::Validation(format!("a malformed batch of query results: {error}"))
            })?;
            rows.into_iter().for_each(&mut *on_row);
        }
        self.offset = page.offset + count;
        if let Some(failure) = page.failure {
            return Err(Error::Validation(format!(
                "the query's job ended: {failure}"
            )));
        }
        Ok(match (page.finished, count) {
            // The last rows: the next read acknowledges them, and ends.
            (true, 0) => Progress::Ended,
            (_, 0) => Progress::Waiting,
            _ => Progress::Rows,
        })
    }
}

#[cfg(test)]
mod tests {
    use flinkrs_contract::rest::JobState;

    use super::*;

    fn page(attempt: u32, offset: u64, batches: &[&str], finished: bool) -> JobResultsResponse {
        JobResultsResponse {
            state: JobState::Running,
            attempt,
            offset,
            batches: batches
                .iter()
                .map(|batch| serde_json::from_str(batch).unwrap())
                .collect(),
            finished,
            failure: None,
        }
    }

    fn read(reader: &mut RowReader, page: JobResultsResponse) -> (Progress, Vec<String>) {
        let mut rows = Vec::new();
        let progress = reader
            .read(page, &mut |row: ResultRow| {
                rows.push(format!("{} {:?}", row.kind.short_string(), row.values));
            })
            .unwrap();
        (progress, rows)
    }

    #[test]
    fn a_reader_follows_the_offsets_to_the_acknowledged_end() {
        let mut reader = RowReader::default();
        let one = r#"[{"kind":"Insert","values":["1",null]}]"#;
        let two = r#"[{"kind":"UpdateBefore","values":["1",null]},{"kind":"UpdateAfter","values":["2","x"]}]"#;
        assert_eq!(
            read(&mut reader, page(0, 0, &[one, two], false)),
            (
                Progress::Rows,
                vec![
                    "+I [Some(\"1\"), None]".to_owned(),
                    "-U [Some(\"1\"), None]".to_owned(),
                    "+U [Some(\"2\"), Some(\"x\")]".to_owned()
                ]
            )
        );
        assert_eq!(reader.offset, 2);
        assert_eq!(
            read(&mut reader, page(0, 2, &[], false)).0,
            Progress::Waiting
        );
        assert_eq!(
            read(&mut reader, page(0, 2, &[one], true)).0,
            Progress::Rows
        );
        assert_eq!(reader.offset, 3);
        assert_eq!(read(&mut reader, page(0, 3, &[], true)).0, Progress::Ended);
    }

    #[test]
    fn a_restarted_job_is_read_again_from_its_new_attempts_start() {
        let mut reader = RowReader {
            attempt: 0,
            offset: 5,
        };
        let again = r#"[{"kind":"Insert","values":["1"]}]"#;
        assert_eq!(
            read(&mut reader, page(1, 0, &[again], false)),
            (Progress::Restarted { attempt: 1 }, Vec::new())
        );
        assert_eq!((reader.attempt, reader.offset), (1, 0));
        assert_eq!(read(&mut reader, page(1, 0, &[again], false)).1.len(), 1);
    }

    #[test]
    fn a_failed_job_and_a_malformed_batch_are_errors_that_say_so() {
        let mut reader = RowReader::default();
        let failed = JobResultsResponse {
            failure: Some("division by zero".to_owned()),
            ..page(0, 0, &[], false)
        };
        let error = reader.read(failed, &mut |_| {}).unwrap_err().to_string();
        assert!(
            error.contains("the query's job ended: division by zero"),
            "{error}"
        );
        let malformed = page(0, 0, &[r#"[{"kind":"Sideways","values":[]}]"#], false);
        let error = reader.read(malformed, &mut |_| {}).unwrap_err().to_string();
        assert!(
            error.contains("a malformed batch of query results"),
            "{error}"
        );
    }
}
