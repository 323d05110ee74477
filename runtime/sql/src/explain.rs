//! `EXPLAIN`: what a query or an `INSERT INTO` is planned as, in the sections Flink's
//! `EXPLAIN` prints: the logical plan of the query, then the job it runs as (each task with
//! its chained operators and parallelism, and how tasks exchange rows).

use std::fmt::Write;

use datafusion_expr::LogicalPlan;
use flinkrs_dataflow::JobGraph;

/// The plan text of `plan`, run as `graph`.
pub(crate) fn render(plan: &LogicalPlan, graph: &JobGraph) -> String {
    let mut text = format!(
        "== Abstract Syntax Tree ==\n{}\n\n== Optimized Execution Plan ==\n",
        plan.display_indent()
    );
    let number = |id| {
        graph
            .vertices
            .iter()
            .position(|vertex| vertex.id == id)
            .map_or(0, |index| index + 1)
    };
    for (index, vertex) in graph.vertices.iter().enumerate() {
        let _ = writeln!(
            text,
            "[{}] {}, parallelism {}",
            index + 1,
            vertex.name,
            vertex.parallelism
        );
    }
    for edge in &graph.edges {
        let _ = writeln!(
            text,
            "[{}] -[{}]-> [{}]",
            number(edge.source),
            edge.partitioner,
            number(edge.target)
        );
    }
    text
}
