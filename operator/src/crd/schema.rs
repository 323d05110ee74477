//! Hand-written schema fragments for fields whose Rust type is free-form.

use schemars::{Schema, SchemaGenerator, json_schema};

/// An object the API server keeps as written (`x-kubernetes-preserve-unknown-fields`).
pub fn preserve_unknown_object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({
        "type": "object",
        "nullable": true,
        "x-kubernetes-preserve-unknown-fields": true
    })
}
