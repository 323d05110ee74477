//! The web UI: the JobManager serves it at `/` beside the REST API, and headless Chromium
//! (Debian's `chromium`, driven by `playwright-core`; `flinkrs_testbed::Browser`) walks it
//! against a real cluster, a JobManager and two TaskManagers as processes of the `flinkrs`
//! binary, running a real job (`tests/web_ui/walk.js` says what it checks). The screenshots of
//! every page are kept under the target directory, at the path the test prints.

#[path = "http/support/http.rs"]
mod http;

#[path = "support/process.rs"]
#[expect(
    dead_code,
    reason = "each test uses its own part of the shared process helper"
)]
mod process;

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use flinkrs_testbed::Browser;
use process::{job_manager, task_manager_with};

/// A guard against a hang, not a synchronization: each wait ends as soon as its condition holds.
const DEADLINE: Duration = Duration::from_secs(60);

/// The UI's files: the page and what it loads, under 300 KB together.
const UI_FILES: [(&str, &str); 3] = [
    ("/", "text/html; charset=utf-8"),
    ("/flinkrs/web/app.js", "text/javascript; charset=utf-8"),
    ("/flinkrs/web/app.css", "text/css; charset=utf-8"),
];

/// Asks `probe` every 20 ms until it answers, at most [`DEADLINE`].
fn wait_until<T>(what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            started.elapsed() < DEADLINE,
            "waited {DEADLINE:?} for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Where the screenshots go: kept after the test, under the target directory.
fn artifacts_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web-ui");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn the_job_manager_serves_the_ui_beside_the_rest_api() {
    let (_jobmanager, _, rest) = job_manager(&[], "warn");
    let rest: SocketAddr = rest.parse().unwrap();
    let mut first_load = 0;
    for (path, content_type) in UI_FILES {
        let response = http::get(rest, path);
        assert_eq!(response.status, 200, "{path}: {}", response.body);
        assert_eq!(response.content_type, content_type, "{path}");
        first_load += response.body.len();
    }
    assert!(
        first_load < 300 * 1024,
        "the first load is {first_load} bytes"
    );
    let page = http::get(rest, "/").body;
    assert!(page.contains(r#"<script src="/flinkrs/web/app.js" defer></script>"#));
    assert!(page.contains(r#"<link rel="stylesheet" href="/flinkrs/web/app.css">"#));

    // The REST API is unchanged beside it, and an unknown asset is Flink's 404.
    let overview = http::get(rest, "/overview");
    assert_eq!(overview.status, 200);
    assert_eq!(overview.json()["taskmanagers"], 0);
    let missing = http::get(rest, "/flinkrs/web/nothing.js");
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.json()["errors"][0],
        "Unable to load requested file /flinkrs/web/nothing.js."
    );
}

#[test]
fn the_ui_in_chromium_shows_a_running_job_its_graph_and_checkpoints_and_cancels_and_stops_jobs() {
    let test = "the_ui_in_chromium_shows_a_running_job_its_graph_and_checkpoints_and_cancels_and_stops_jobs";
    let Some(browser) = Browser::find(test) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.txt");
    let lines: String = (0..200_000)
        .map(|line| format!("word{} word{} line{line}\n", line % 7, line % 13))
        .collect();
    std::fs::write(&input, lines).unwrap();

    let (_jobmanager, rpc, rest) = job_manager(&[], "warn");
    let slots = ["-D", "taskmanager.numberOfTaskSlots=2"];
    let _members = [
        task_manager_with(&rpc, &slots, "warn"),
        task_manager_with(&rpc, &slots, "warn"),
    ];
    let address: SocketAddr = rest.parse().unwrap();
    wait_until("both TaskManagers to register", || {
        (http::get(address, "/overview").json()["taskmanagers"] == 2).then_some(())
    });

    // WordCount at parallelism 2, throttled so it runs until it is cancelled (200,000 lines
    // at 300 a second), checkpointing every 500 ms.
    let job_request = serde_json::json!({
        "example": "wordcount",
        "parallelism": 2,
        "input": input,
        "output": dir.path().join("output"),
        "rate": 300,
        "flinkConfiguration": {
            "execution.checkpointing.interval": "500 ms",
            "execution.checkpointing.dir": dir.path().join("checkpoints"),
        },
    });
    let mut stopped_job_request = job_request.clone();
    stopped_job_request["output"] = serde_json::json!(dir.path().join("stopped-output"));
    let vertices = serde_json::json!([
        {"name": "Source: Text File Source -> Tokenizer", "parallelism": 2},
        {"name": "Counter -> Map -> Sink: File Sink", "parallelism": 2},
    ]);
    let edges = serde_json::json!([[
        "Source: Text File Source -> Tokenizer",
        "Counter -> Map -> Sink: File Sink",
        "HASH"
    ]]);
    let artifacts = artifacts_dir();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web_ui/walk.js");
    let walked = browser
        .node(&script)
        .env("BASE_URL", format!("http://{rest}"))
        .env("ARTIFACTS", &artifacts)
        .env("JOB_REQUEST", job_request.to_string())
        .env("TASKMANAGERS", "2")
        .env("SLOTS", "4")
        // Slot sharing: the two vertices' subtasks share two slots.
        .env("SLOTS_USED", "2")
        .env("VERTICES", vertices.to_string())
        .env("EDGES", edges.to_string())
        .env("SAVEPOINTS", dir.path().join("savepoints"))
        .env("STOPPED_JOB_REQUEST", stopped_job_request.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&walked.stdout);
    let stderr = String::from_utf8_lossy(&walked.stderr);
    assert!(
        walked.status.success(),
        "the walk failed ({}):\n{stderr}\n{stdout}",
        walked.status
    );
    let measured: serde_json::Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|error| panic!("not one JSON line ({error}): {stdout}"));

    let first_load = measured["firstLoadBytes"].as_u64().unwrap();
    assert!(
        first_load > 0 && first_load < 300 * 1024,
        "first load: {first_load} bytes"
    );
    let appeared = measured["appearedWithinMs"].as_u64().unwrap();
    assert!(appeared < 2000, "the job appeared after {appeared} ms");
    let first_render = measured["firstRenderMs"].as_f64().unwrap();
    assert!(
        first_render < 1000.0,
        "the overview rendered after {first_render} ms"
    );
    let records = measured["recordsOut"].as_array().unwrap();
    assert!(records[0].as_u64().unwrap() < records[1].as_u64().unwrap());

    // The savepoints the UI took are where it was asked for.
    for taken in ["savepoint", "stopSavepoint"] {
        let savepoint = measured[taken].as_str().unwrap();
        let savepoint_dir = savepoint.strip_prefix("file:").unwrap();
        assert!(
            Path::new(savepoint_dir).join("_metadata").is_file(),
            "no savepoint at {savepoint}"
        );
    }

    // The job the UI cancelled is cancelled for the REST API too.
    let job = measured["job"].as_str().unwrap();
    let details = http::get(address, &format!("/jobs/{job}")).json();
    assert_eq!(details["state"], "CANCELED");

    let expected = [
        "jobs",
        "overview",
        "job-graph",
        "job-vertex",
        "job-checkpoints",
        "job-exceptions",
        "job-configuration",
        "taskmanagers",
        "taskmanager",
        "jobmanager",
        "job-canceled",
        "job-stopped",
    ];
    for name in expected {
        let file = artifacts.join(format!("{name}.png"));
        let bytes = std::fs::read(&file).unwrap_or_else(|error| panic!("{file:?}: {error}"));
        assert!(
            bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
            "{file:?} is not a PNG"
        );
    }
    // Written to the real stderr, which the harness does not capture: where to look.
    let _ = writeln!(
        std::io::stderr(),
        "web UI: first load {first_load} bytes, rendered in {first_render:.0} ms; the job \
         appeared after {appeared} ms; screenshots in {}",
        artifacts.display()
    );
}
