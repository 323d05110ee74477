//! Generates the control plane's gRPC services (issue 9) from their declaration below. The
//! messages are Rust structs with prost derives (`src/rpc/messages.rs`), so no `.proto` file
//! and no protoc are needed.

use tonic_build::manual::{Builder, Method, Service};

fn method(name: &str, route: &str, input: &str, output: &str) -> Method {
    Method::builder()
        .name(name)
        .route_name(route)
        .input_type(format!("crate::rpc::messages::{input}"))
        .output_type(format!("crate::rpc::messages::{output}"))
        .codec_path("tonic_prost::ProstCodec")
        .build()
}

fn main() {
    let jobmanager = Service::builder()
        .name("JobManager")
        .package("flinkrs.control")
        .comment("The JobManager's side of the control plane: what TaskManagers call.")
        .method(method(
            "register_task_manager",
            "RegisterTaskManager",
            "TaskManagerRegistration",
            "RegistrationSuccess",
        ))
        .method(method(
            "heartbeat",
            "Heartbeat",
            "TaskManagerHeartbeat",
            "HeartbeatReply",
        ))
        .method(method("tasks_ended", "TasksEnded", "TasksEnded", "Ack"))
        .method(method(
            "acknowledge_checkpoint",
            "AcknowledgeCheckpoint",
            "CheckpointAcknowledgement",
            "Ack",
        ))
        .method(method(
            "source_input_ended",
            "SourceInputEnded",
            "SourceInputEnded",
            "Ack",
        ))
        .build();
    let taskmanager = Service::builder()
        .name("TaskManager")
        .package("flinkrs.control")
        .comment("The TaskManager's side of the control plane: what the JobManager calls.")
        .method(method("submit_tasks", "SubmitTasks", "Deployment", "Ack"))
        .method(method("cancel_tasks", "CancelTasks", "JobRef", "Ack"))
        .method(method(
            "checkpoint_command",
            "CheckpointCommand",
            "CheckpointCommandRequest",
            "Ack",
        ))
        .method(method(
            "task_metrics",
            "TaskMetrics",
            "JobRef",
            "TaskMetricsReply",
        ))
        .build();
    Builder::new().compile(&[jobmanager, taskmanager]);
    println!("cargo:rerun-if-changed=build.rs");
}
