//! The keyed score-board: for every answer a student gives, print the student's running
//! count of answers, total points and average. Same input and output as the Flink course job.

use std::fmt;
use std::path::Path;

use flinkrs_api::prelude::*;
use serde::{Deserialize, Serialize};

use crate::input::{expect_fields, field, read_csv};
use crate::java_format::java_double;
use crate::options::JobOptions;

/// The built-in input: (student, points of one answer).
pub const ANSWERS: &[(&str, i64)] = &[
    ("a", 3),
    ("b", 2),
    ("b", 2),
    ("a", 4),
    ("b", 3),
    ("a", 4),
    ("b", 3),
    ("a", 3),
    ("b", 2),
    ("b", 2),
];

/// A student's standing after an answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub student: String,
    /// Points of the latest answer.
    pub points: i64,
    pub answered: u64,
    pub total: i64,
    pub average: f64,
}

impl fmt::Display for Score {
    /// As Flink prints a `Tuple5`: `(a,3,1,3,3.0)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "({},{},{},{},{})",
            self.student,
            self.points,
            self.answered,
            self.total,
            java_double(self.average)
        )
    }
}

/// Reads answers from a CSV file of `student,points` lines.
pub fn read_answers(path: &Path) -> Result<Vec<(String, i64)>> {
    read_csv(path, |fields| {
        expect_fields(fields, 2, "student,points")?;
        Ok((field(fields, 0, "student")?, field(fields, 1, "points")?))
    })
}

/// Keeps each student's number of answers and total points in keyed state, and emits the
/// standing after every answer.
#[derive(Clone, Debug, Default)]
pub struct RunningScore {
    /// (answers so far, total points so far), per student.
    standing: Option<ValueState<(u64, i64)>>,
}

impl KeyedProcessFunction<String, (String, i64), Score> for RunningScore {
    fn open(&mut self, ctx: &mut RuntimeContext<'_, String>) -> Result<()> {
        self.standing = Some(ctx.value_state("standing")?);
        Ok(())
    }

    fn process_element(
        &mut self,
        (student, points): (String, i64),
        ctx: &mut KeyedContext<'_, String, Score>,
    ) -> Result<()> {
        let standing = self
            .standing
            .ok_or_else(|| Error::function("state used before open"))?;
        let (answered, total) = standing.value(ctx.state()).unwrap_or((0, 0));
        let (answered, total) = (answered + 1, total + points);
        standing.update(ctx.state(), (answered, total))?;
        ctx.collect(Score {
            student,
            points,
            answered,
            total,
            average: total as f64 / answered as f64,
        });
        Ok(())
    }
}

/// The job: answers, keyed by student → the running score after each answer. Keying right
/// at the source keeps each student's answers in order at any parallelism.
pub fn scores(env: &StreamExecutionEnvironment, answers: Vec<(String, i64)>) -> DataStream<Score> {
    scores_of(&env.from_collection(answers))
}

/// The job on a stream of answers.
pub fn scores_of(answers: &DataStream<(String, i64)>) -> DataStream<Score> {
    answers
        .key_by(|(student, _): &(String, i64)| student.clone())
        .process(RunningScore::default())
        .name("Running Score")
}

/// Runs the score-board: one line per answer, printed or written into the `--output` folder.
pub fn run(env: &StreamExecutionEnvironment, options: &JobOptions) -> Result<JobResult> {
    let answers = match &options.input {
        Some(path) => read_answers(path)?,
        None => ANSWERS
            .iter()
            .map(|(student, points)| ((*student).to_owned(), *points))
            .collect(),
    };
    let scores = scores_of(&options.collection(env, answers));
    options.emit(&scores, "part", None)?;
    env.execute("Scoreboard")
}
