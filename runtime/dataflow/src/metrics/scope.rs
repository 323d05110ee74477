//! Where a metric belongs: a job, one attempt of one subtask, one operator in it. These are
//! Flink's job, task and operator scopes as a TaskManager sees them.

use flinkrs_core::{JobId, SubtaskIndex};

/// Label names, as Flink's `PrometheusReporter` writes them (see
/// `flink-reference/metrics/taskmanager.txt`), so that Flink's dashboards find our series.
pub const LABEL_JOB_ID: &str = "job_id";
pub const LABEL_JOB_NAME: &str = "job_name";
pub const LABEL_TASK_NAME: &str = "task_name";
pub const LABEL_SUBTASK_INDEX: &str = "subtask_index";
pub const LABEL_TASK_ATTEMPT_NUM: &str = "task_attempt_num";
pub const LABEL_OPERATOR_ID: &str = "operator_id";
pub const LABEL_OPERATOR_NAME: &str = "operator_name";

/// Which process reports a job's metrics, as Flink's scope formats begin: the JobManager
/// (`numRestarts`, checkpoint statistics) or a TaskManager (its subtasks and operators).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    JobManager,
    TaskManager,
}

/// One attempt of one parallel subtask of a task (a chain of operators).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskScope {
    pub task_name: String,
    pub subtask_index: SubtaskIndex,
    /// Flink's attempt number: 0 for the first deployment, one more for each restart.
    pub attempt_number: u32,
}

/// One operator of a task's chain.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OperatorScope {
    pub operator_name: String,
    pub operator_id: String,
}

/// The scope of a metric. Built only by the metric groups, so an operator scope always sits
/// in a task scope. The derived order (job, then task, then operator, each field by field) is
/// the order of [`MetricRegistry::snapshot`](super::MetricRegistry::snapshot): a job's own
/// metrics first, then each subtask's, each followed by its operators'.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MetricScope {
    component: Component,
    job_name: String,
    job_id: JobId,
    task: Option<TaskScope>,
    operator: Option<OperatorScope>,
}

impl MetricScope {
    pub(crate) fn job(job_id: JobId, job_name: String) -> Self {
        MetricScope {
            component: Component::TaskManager,
            job_name,
            job_id,
            task: None,
            operator: None,
        }
    }

    /// The job's scope on the JobManager.
    pub(crate) fn jobmanager_job(job_id: JobId, job_name: String) -> Self {
        MetricScope {
            component: Component::JobManager,
            ..Self::job(job_id, job_name)
        }
    }

    pub(crate) fn with_task(&self, task: TaskScope) -> Self {
        MetricScope {
            task: Some(task),
            operator: None,
            ..self.clone()
        }
    }

    pub(crate) fn with_operator(&self, operator: OperatorScope) -> Self {
        MetricScope {
            operator: Some(operator),
            ..self.clone()
        }
    }

    pub fn component(&self) -> Component {
        self.component
    }

    pub fn job_name(&self) -> &str {
        &self.job_name
    }

    pub fn job_id(&self) -> JobId {
        self.job_id
    }

    pub fn task(&self) -> Option<&TaskScope> {
        self.task.as_ref()
    }

    pub fn operator(&self) -> Option<&OperatorScope> {
        self.operator.as_ref()
    }

    /// Flink's logical scope: the part of a reported name before the metric's own name.
    /// Flink's Prometheus reporter turns `taskmanager.job.task.operator` and `numRecordsIn`
    /// into `flink_taskmanager_job_task_operator_numRecordsIn`.
    pub fn logical_scope(&self) -> &'static str {
        if self.component == Component::JobManager {
            return "jobmanager.job";
        }
        match (&self.task, &self.operator) {
            (None, _) => "taskmanager.job",
            (Some(_), None) => "taskmanager.job.task",
            (Some(_), Some(_)) => "taskmanager.job.task.operator",
        }
    }

    /// The labels of this scope, under Flink's Prometheus label names, in a fixed order: job,
    /// then task, then operator.
    pub fn labels(&self) -> Vec<(&'static str, String)> {
        let mut labels = vec![
            (LABEL_JOB_ID, self.job_id.to_string()),
            (LABEL_JOB_NAME, self.job_name.clone()),
        ];
        if let Some(task) = &self.task {
            labels.push((LABEL_TASK_NAME, task.task_name.clone()));
            labels.push((LABEL_SUBTASK_INDEX, task.subtask_index.0.to_string()));
            labels.push((LABEL_TASK_ATTEMPT_NUM, task.attempt_number.to_string()));
        }
        if let Some(operator) = &self.operator {
            labels.push((LABEL_OPERATOR_ID, operator.operator_id.clone()));
            labels.push((LABEL_OPERATOR_NAME, operator.operator_name.clone()));
        }
        labels
    }

    /// Whether `other` is this scope or lies inside it (a task of this job, an operator of
    /// this task).
    pub fn contains(&self, other: &MetricScope) -> bool {
        self.component == other.component
            && self.job_name == other.job_name
            && self.job_id == other.job_id
            && (self.task.is_none() || self.task == other.task)
            && (self.operator.is_none() || self.operator == other.operator)
    }
}
