//! A job spanning two TaskManagers' worth of subtasks in one test process: each "TaskManager"
//! builds the same program, starts only the subtasks placed in it, and exchanges records with
//! the other over real TCP on loopback (remote channels). The results equal the local run's.

use std::sync::Arc;

use flinkrs_api::prelude::*;
use flinkrs_core::JobId;
use flinkrs_dataflow::channel::remote::NetworkEnvironment;
use flinkrs_dataflow::metrics::MetricRegistry;
use flinkrs_dataflow::placement::TaskPlacement;
use flinkrs_dataflow::task_executor::deploy;

/// Word counts: a source at parallelism 1, rebalanced to four mappers, keyed to four
/// counters, each chained with its sink.
fn program() -> (StreamExecutionEnvironment, CollectHandle<(String, u64)>) {
    let env = StreamExecutionEnvironment::new();
    env.set_parallelism(4).unwrap();
    let words: Vec<String> = (0..2_000u64)
        .map(|i| format!("w{}", (i * 7919) % 97))
        .collect();
    let counts = env
        .from_collection(words)
        .rebalance()
        .map(|word: String| (word, 1u64))
        .key_by(|(word, _): &(String, u64)| word.clone())
        .sum(|(_, count)| count)
        .collect();
    (env, counts)
}

fn sorted<T: Ord>(mut values: Vec<T>) -> Vec<T> {
    values.sort();
    values
}

#[test]
fn a_job_placed_on_two_task_managers_gives_the_local_results() {
    let (env, local) = program();
    env.execute("spanning").unwrap();
    let expected = sorted(local.take());
    assert_eq!(expected.len(), 2_000);

    let networks = [
        Arc::new(NetworkEnvironment::start("127.0.0.1:0").unwrap()),
        Arc::new(NetworkEnvironment::start("127.0.0.1:0").unwrap()),
    ];
    let addresses: Vec<String> = networks.iter().map(|n| n.address().to_string()).collect();
    let job_id = JobId(42);
    let halves: Vec<_> = networks
        .iter()
        .map(|network| {
            let (env, counts) = program();
            let graph = env.stream_graph("spanning");
            let job_graph = env.job_graph("spanning").unwrap();
            assert_eq!(
                job_graph.vertices.len(),
                3,
                "source, map, and count with its sink"
            );
            // Subtask i of every vertex runs on TaskManager i % 2.
            let locations = job_graph
                .vertices
                .iter()
                .map(|vertex| {
                    (0..vertex.parallelism)
                        .map(|subtask| addresses[subtask % 2].clone())
                        .collect()
                })
                .collect();
            let placement = TaskPlacement {
                job_id,
                attempt: 0,
                locations,
                own_address: network.address().to_string(),
                network: Arc::clone(network),
                checkpoints: None,
                restore_from: None,
                graph_fingerprint: None,
            };
            let tasks = deploy(graph, &placement, &MetricRegistry::new()).unwrap();
            (tasks, counts)
        })
        .collect();
    let task_counts: Vec<usize> = halves.iter().map(|(tasks, _)| tasks.task_count()).collect();
    assert_eq!(task_counts, [5, 4], "1 + 2 + 2 subtasks, and 0 + 2 + 2");
    let mut results = Vec::new();
    for (tasks, counts) in halves {
        tasks.wait().unwrap();
        results.extend(counts.take());
    }
    assert_eq!(sorted(results), expected);
}
