//! Operator ids: the keys of operators' state in checkpoints and savepoints, derived from the
//! StreamGraph's topology (Flink's `StreamGraphHasher` idea) so that they are the same in every
//! process and in every run of the same program.
//!
//! Unlike Flink's hasher, no global counter goes in: a node's id depends only on what it
//! reads, so declaring a new operator changes the ids of the operators downstream of it and of
//! later identical siblings, and of nothing else.
//!
//! # The algorithm (fixed: changing it orphans every savepoint's state)
//!
//! Every hash is MurmurHash3 x64 128-bit with seed 0
//! ([`murmur3_x64_128`]), printed as 32 hex digits.
//!
//! - A node with a `uid` has the hash of the uid's UTF-8 bytes: the same `OperatorID` Flink
//!   gives that uid.
//! - Any other node has the hash of this encoding (integers are `u32` little-endian; a string
//!   is its UTF-8 length as an integer, then its bytes):
//!   1. the string `flinkrs-operator-id/1`, as raw bytes;
//!   2. the node's transformation (`"Source"`, `"Map"`, `"Window"`, ...), never its display
//!      name, so renaming an operator keeps its state;
//!   3. the number of inputs, then per input in declaration order: the 16 bytes of the input
//!      node's id; `0` for its main output or `1` and the tag for a side output; the
//!      partitioner as declared: `0` default (forward or rebalance, chosen by parallelism, so
//!      a change of parallelism keeps ids), `1` forward, `2` rebalance, `3` hash,
//!      `4` broadcast;
//!   4. the sibling index: how many nodes declared earlier have the same items 2 and 3 (for a
//!      source, how many earlier sources of the same transformation), nodes with a uid
//!      included, so giving one sibling a uid keeps the others' ids. It tells apart identical
//!      branches of one stream.
//!
//! Parallelism, max parallelism, chaining and display names are not part of an id.

use std::collections::HashMap;

use flinkrs_core::murmur3::murmur3_x64_128;
use flinkrs_core::{Error, OperatorId, Result};

use crate::graph::{OutputSlot, StreamGraph, StreamNode};
use crate::partition::PartitionerKind;

/// Seed of every operator-id hash, as Flink's `Hashing.murmur3_128(0)`.
const SEED: u32 = 0;

/// Starts every derived encoding: names its version, and keeps it apart from uid strings.
const DERIVED_PREFIX: &[u8] = b"flinkrs-operator-id/1";

/// The id of every node of `graph`, indexed by node. See the module docs for the algorithm.
pub fn derive_operator_ids(graph: &StreamGraph) -> Result<Vec<OperatorId>> {
    let mut ids: Vec<OperatorId> = Vec::with_capacity(graph.nodes.len());
    // Sibling counts per (transformation, inputs) encoding.
    let mut siblings: HashMap<Vec<u8>, u32> = HashMap::new();
    for node in &graph.nodes {
        let mut encoding = topology_encoding(node, &ids)?;
        let count = siblings.entry(encoding.clone()).or_insert(0);
        let sibling_index = *count;
        *count += 1;
        let id = match &node.uid {
            Some(uid) => operator_id_from_uid(uid),
            None => {
                encoding.extend_from_slice(&sibling_index.to_le_bytes());
                OperatorId(murmur3_x64_128(&encoding, SEED))
            }
        };
        ids.push(id);
    }
    check_unique(graph, &ids)?;
    Ok(ids)
}

/// The id of an operator with this `uid`: the same `OperatorID` Flink derives from it (its
/// `OperatorIDGenerator.fromUid`), so tools can find the operator's state by its uid.
pub fn operator_id_from_uid(uid: &str) -> OperatorId {
    OperatorId(murmur3_x64_128(uid.as_bytes(), SEED))
}

/// Items 1 to 3 of the encoding: everything but the sibling index.
fn topology_encoding(node: &StreamNode, ids: &[OperatorId]) -> Result<Vec<u8>> {
    let mut encoding = DERIVED_PREFIX.to_vec();
    put_str(&mut encoding, node.transformation);
    put_u32(&mut encoding, node.inputs.len());
    for edge in &node.inputs {
        // Nodes are in declaration order, so every input's id is known already.
        let Some(input_id) = ids.get(edge.source.0 as usize) else {
            return Err(Error::InvalidJob(format!(
                "'{}' reads from node {}, which is not declared before it",
                node.name, edge.source.0
            )));
        };
        encoding.extend_from_slice(&input_id.0);
        match &edge.slot {
            OutputSlot::Main => encoding.push(0),
            OutputSlot::Side(tag) => {
                encoding.push(1);
                put_str(&mut encoding, tag);
            }
        }
        encoding.push(partitioner_code(
            edge.partitioner.is_default,
            edge.partitioner.kind,
        ));
    }
    Ok(encoding)
}

fn partitioner_code(is_default: bool, kind: PartitionerKind) -> u8 {
    if is_default {
        return 0;
    }
    match kind {
        PartitionerKind::Forward => 1,
        PartitionerKind::Rebalance => 2,
        PartitionerKind::Hash => 3,
        PartitionerKind::Broadcast => 4,
    }
}

fn put_u32(encoding: &mut Vec<u8>, value: usize) {
    // Lengths and counts of a program's graph are far below 2^32; saturate rather than wrap.
    let value = u32::try_from(value).unwrap_or(u32::MAX);
    encoding.extend_from_slice(&value.to_le_bytes());
}

fn put_str(encoding: &mut Vec<u8>, text: &str) {
    put_u32(encoding, text.len());
    encoding.extend_from_slice(text.as_bytes());
}

/// Two operators with one id would overwrite each other's state: reject the job instead, as
/// Flink does for a repeated uid.
fn check_unique(graph: &StreamGraph, ids: &[OperatorId]) -> Result<()> {
    let mut first_with: HashMap<OperatorId, &StreamNode> = HashMap::new();
    for (node, id) in graph.nodes.iter().zip(ids) {
        let Some(earlier) = first_with.insert(*id, node) else {
            continue;
        };
        return Err(Error::InvalidJob(match (&earlier.uid, &node.uid) {
            (Some(uid), Some(other)) if uid == other => format!(
                "operators '{}' and '{}' have the same uid '{uid}': a uid must be unique \
                 within a job",
                earlier.name, node.name
            ),
            _ => format!(
                "operators '{}' and '{}' have the same operator id {id}; give one of them a \
                 different uid",
                earlier.name, node.name
            ),
        }));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use flinkrs_core::NodeId;

    use super::*;
    use crate::graph::{ChainingStrategy, NodeKind, OperatorFactory, StreamEdge};
    use crate::partition::PartitionerSpec;
    use crate::type_ops::{AnyBox, type_ops};

    /// Never run: the ids only read the graph's shape.
    struct NoOperator;

    impl OperatorFactory for NoOperator {
        fn create(
            &self,
            _info: &crate::TaskInfo,
            _main: AnyBox,
            _side_outputs: Vec<(String, Box<dyn crate::output::SideOutputSink>)>,
            _metrics: crate::metrics::OperatorIoMetrics,
            _restored: Option<crate::OperatorSnapshot>,
        ) -> Result<AnyBox> {
            Err(Error::InvalidJob("not runnable".into()))
        }
    }

    /// Builds graphs by hand; sources are operators without inputs, which the ids cannot tell
    /// apart.
    #[derive(Default)]
    struct Builder {
        graph: StreamGraph,
    }

    impl Builder {
        fn node(&mut self, transformation: &'static str, inputs: &[(u32, PartitionerSpec)]) -> u32 {
            let id = self.graph.next_id();
            self.graph.add_node(StreamNode {
                id,
                name: format!("{transformation} {}", id.0),
                transformation,
                uid: None,
                parallelism: 1,
                max_parallelism: 128,
                kind: NodeKind::Operator(Arc::new(NoOperator)),
                inputs: inputs
                    .iter()
                    .map(|(source, partitioner)| StreamEdge {
                        source: NodeId(*source),
                        slot: OutputSlot::Main,
                        partitioner: partitioner.clone(),
                    })
                    .collect(),
                output_type: type_ops::<flinkrs_core::Batch<u64>>(),
                side_output_types: Vec::new(),
                chaining: ChainingStrategy::Always,
            });
            id.0
        }

        fn ids(&self) -> Vec<String> {
            let ids = self.graph.operator_ids().unwrap();
            ids.iter().map(ToString::to_string).collect()
        }
    }

    fn default_edge(source: u32) -> (u32, PartitionerSpec) {
        (source, PartitionerSpec::default_for_edge())
    }

    /// Pinned values, computed independently from the documented encoding with the Python
    /// `mmh3` package. If this test fails, the algorithm changed and every savepoint's state
    /// would be orphaned.
    #[test]
    fn derived_ids_are_pinned() {
        let mut graph = Builder::default();
        let source = graph.node("Source", &[]);
        graph.node("Map", &[default_edge(source)]);
        assert_eq!(
            graph.ids(),
            vec![
                "476c41038fb8565956c2fc586e872105".to_owned(),
                "1308d06912b23de77c6a40883abe587a".to_owned(),
            ]
        );
    }

    #[test]
    fn a_uid_gives_the_id_flink_derives_from_it() {
        assert_eq!(
            operator_id_from_uid("enrich-orders").to_string(),
            "7f6d5ac814a3d4568cece298d26b739b"
        );
    }

    #[test]
    fn a_change_of_parallelism_keeps_every_id() {
        let mut graph = Builder::default();
        let source = graph.node("Source", &[]);
        let map = graph.node("Map", &[default_edge(source)]);
        graph.node("Sink", &[default_edge(map)]);
        let before = graph.ids();
        // The default forward edge into the map becomes rebalance.
        graph.graph.node_mut(NodeId(map)).parallelism = 4;
        graph.graph.resolve_default_partitioners();
        assert_eq!(
            graph.graph.node(NodeId(map)).inputs[0].partitioner.kind,
            PartitionerKind::Rebalance
        );
        assert_eq!(graph.ids(), before);
    }

    #[test]
    fn the_declared_partitioner_is_part_of_the_id() {
        let mut by_default = Builder::default();
        let source = by_default.node("Source", &[]);
        by_default.node("Map", &[default_edge(source)]);
        let mut rebalanced = Builder::default();
        let source = rebalanced.node("Source", &[]);
        rebalanced.node("Map", &[(source, PartitionerSpec::rebalance())]);
        assert_eq!(by_default.ids()[0], rebalanced.ids()[0]);
        assert_ne!(by_default.ids()[1], rebalanced.ids()[1]);
    }

    #[test]
    fn a_side_output_reader_differs_from_a_main_output_reader() {
        let mut graph = Builder::default();
        let source = graph.node("Source", &[]);
        let main_reader = graph.node("Map", &[default_edge(source)]);
        let side_reader = graph.node("Map", &[default_edge(source)]);
        graph.graph.node_mut(NodeId(side_reader)).inputs[0].slot = OutputSlot::Side("late".into());
        let ids = graph.ids();
        // Sibling index 0 for both: only the slot tells them apart.
        assert_ne!(ids[main_reader as usize], ids[side_reader as usize]);
        let mut alone = Builder::default();
        let source = alone.node("Source", &[]);
        alone.node("Map", &[default_edge(source)]);
        assert_eq!(ids[main_reader as usize], alone.ids()[1]);
    }

    #[test]
    fn a_repeated_uid_is_rejected_with_both_operator_names() {
        let mut graph = Builder::default();
        let source = graph.node("Source", &[]);
        let first = graph.node("Map", &[default_edge(source)]);
        let second = graph.node("Filter", &[default_edge(first)]);
        for node in [first, second] {
            graph.graph.node_mut(NodeId(node)).uid = Some("enrich".into());
        }
        let error = graph.graph.operator_ids().unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid job: operators 'Map 1' and 'Filter 2' have the same uid 'enrich': a uid \
             must be unique within a job"
        );
    }

    #[test]
    fn an_input_declared_later_is_an_error_not_a_panic() {
        let mut graph = Builder::default();
        graph.node("Map", &[default_edge(5)]);
        let error = graph.graph.operator_ids().unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid job: 'Map 0' reads from node 5, which is not declared before it"
        );
    }
}
