//! Restart strategies: whether a failed job restarts, and after how long. Flink's keys and
//! defaults (`restart-strategy.type` and the `restart-strategy.<type>.*` options):
//!
//! - `none` (also `off`, `disable`): the first failure fails the job.
//! - `fixed-delay`: up to `attempts` restarts, each after `delay`.
//! - `exponential-delay`: the delay starts at `initial-backoff` and is multiplied by
//!   `backoff-multiplier` after every failure, up to `max-backoff`, give or take a random
//!   `jitter-factor` of it. A job that ran `reset-backoff-threshold` without failing starts over
//!   at `initial-backoff`. It gives up after `attempts-before-reset-backoff` restarts since the
//!   last reset.
//! - `failure-rate`: restarts after `delay` as long as no more than
//!   `max-failures-per-interval` failures fall within `failure-rate-interval`.
//!
//! Unset, the strategy is `exponential-delay` when checkpointing is on and `none` when it is
//! off, as in Flink 2.
//!
//! [`RestartBackoff`] is pure, like Flink's `RestartBackoffTimeStrategy` with its clock and
//! random source passed in: each failure comes with the time it happened and a random sample
//! for the jitter, so every rule is tested without sleeping.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use flinkrs_core::config::{
    EXPONENTIAL_DELAY_ATTEMPTS, EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER,
    EXPONENTIAL_DELAY_INITIAL_BACKOFF, EXPONENTIAL_DELAY_JITTER_FACTOR,
    EXPONENTIAL_DELAY_MAX_BACKOFF, EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD, FAILURE_RATE_DELAY,
    FAILURE_RATE_INTERVAL, FAILURE_RATE_MAX_FAILURES_PER_INTERVAL, FIXED_DELAY_ATTEMPTS,
    FIXED_DELAY_DELAY,
};
use flinkrs_core::{Configuration, Error, RestartStrategyType, Result};

/// The `exponential-delay` strategy's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExponentialDelay {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub backoff_multiplier: f64,
    pub reset_backoff_threshold: Duration,
    /// The part of the delay, from 0 to 1, that is added or subtracted at random.
    pub jitter_factor: f64,
    pub attempts_before_reset_backoff: u32,
}

/// A restart strategy and its settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RestartStrategy {
    NoRestart,
    FixedDelay {
        attempts: u32,
        delay: Duration,
    },
    ExponentialDelay(ExponentialDelay),
    FailureRate {
        max_failures_per_interval: u32,
        interval: Duration,
        delay: Duration,
    },
}

impl RestartStrategy {
    /// The strategy `config` asks for; unset, exponential-delay when checkpointing is on and
    /// none when it is off. Settings Flink rejects are rejected, naming the key.
    pub fn from_config(config: &Configuration) -> Result<Self> {
        let default = if config.checkpoint_interval().is_some() {
            RestartStrategyType::ExponentialDelay
        } else {
            RestartStrategyType::NoRestart
        };
        Ok(match config.restart_strategy_type().unwrap_or(default) {
            RestartStrategyType::NoRestart => RestartStrategy::NoRestart,
            RestartStrategyType::FixedDelay => RestartStrategy::FixedDelay {
                attempts: config.count(FIXED_DELAY_ATTEMPTS),
                delay: config.duration_of(FIXED_DELAY_DELAY),
            },
            RestartStrategyType::ExponentialDelay => {
                RestartStrategy::ExponentialDelay(exponential_delay(config)?)
            }
            RestartStrategyType::FailureRate => {
                let interval = config.duration_of(FAILURE_RATE_INTERVAL);
                if interval.is_zero() {
                    return Err(Error::config(
                        FAILURE_RATE_INTERVAL,
                        "the failure-rate interval must be longer than 0 ms",
                    ));
                }
                RestartStrategy::FailureRate {
                    max_failures_per_interval: u32::try_from(
                        config.positive_count(FAILURE_RATE_MAX_FAILURES_PER_INTERVAL),
                    )
                    .unwrap_or(u32::MAX),
                    interval,
                    delay: config.duration_of(FAILURE_RATE_DELAY),
                }
            }
        })
    }

    /// The strategy and its settings, in Flink's words, for logs and errors.
    pub fn describe(&self) -> String {
        match self {
            RestartStrategy::NoRestart => "none".to_owned(),
            RestartStrategy::FixedDelay { attempts, delay } => {
                format!("fixed-delay with {attempts} attempt(s) and a delay of {delay:?}")
            }
            RestartStrategy::ExponentialDelay(settings) => format!(
                "exponential-delay from {:?} to {:?}, {} attempt(s) before the backoff resets",
                settings.initial_backoff,
                settings.max_backoff,
                settings.attempts_before_reset_backoff
            ),
            RestartStrategy::FailureRate {
                max_failures_per_interval,
                interval,
                ..
            } => format!(
                "failure-rate with at most {max_failures_per_interval} failure(s) per {interval:?}"
            ),
        }
    }
}

/// Reads and checks the exponential-delay settings, as Flink's strategy checks its arguments.
fn exponential_delay(config: &Configuration) -> Result<ExponentialDelay> {
    let settings = ExponentialDelay {
        initial_backoff: config.duration_of(EXPONENTIAL_DELAY_INITIAL_BACKOFF),
        max_backoff: config.duration_of(EXPONENTIAL_DELAY_MAX_BACKOFF),
        backoff_multiplier: config.double(EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER),
        reset_backoff_threshold: config.duration_of(EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD),
        jitter_factor: config.double(EXPONENTIAL_DELAY_JITTER_FACTOR),
        attempts_before_reset_backoff: config.count(EXPONENTIAL_DELAY_ATTEMPTS),
    };
    let checks = [
        (
            settings.initial_backoff >= Duration::from_millis(1),
            EXPONENTIAL_DELAY_INITIAL_BACKOFF,
            "must be at least 1 ms",
        ),
        (
            settings.max_backoff >= settings.initial_backoff,
            EXPONENTIAL_DELAY_MAX_BACKOFF,
            "must be at least the initial backoff",
        ),
        (
            settings.backoff_multiplier > 1.0,
            EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER,
            "must be greater than 1",
        ),
        (
            settings.reset_backoff_threshold >= Duration::from_millis(1),
            EXPONENTIAL_DELAY_RESET_BACKOFF_THRESHOLD,
            "must be at least 1 ms",
        ),
        (
            (0.0..=1.0).contains(&settings.jitter_factor),
            EXPONENTIAL_DELAY_JITTER_FACTOR,
            "must be between 0 and 1",
        ),
        (
            settings.attempts_before_reset_backoff >= 1,
            EXPONENTIAL_DELAY_ATTEMPTS,
            "must be at least 1",
        ),
    ];
    match checks.into_iter().find(|(ok, _, _)| !ok) {
        Some((_, key, rule)) => Err(Error::config(
            key,
            format!(
                "{rule} (it is {})",
                config.get(key).unwrap_or("the default")
            ),
        )),
        None => Ok(settings),
    }
}

/// What to do about a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartDecision {
    /// Restart the job once `delay` has passed.
    Restart { delay: Duration },
    /// Fail the job for good.
    GiveUp,
}

/// A strategy applied to one job's failures: it remembers what it needs of past failures.
#[derive(Clone, Debug)]
pub struct RestartBackoff {
    strategy: RestartStrategy,
    /// fixed-delay: restarts so far. exponential-delay: restarts since the last reset.
    attempts: u32,
    /// exponential-delay: when the restart decided last happens.
    next_restart: Option<Instant>,
    /// failure-rate: failures within the current interval, oldest first.
    recent_failures: VecDeque<Instant>,
}

impl RestartBackoff {
    pub fn new(strategy: RestartStrategy) -> Self {
        RestartBackoff {
            strategy,
            attempts: 0,
            next_restart: None,
            recent_failures: VecDeque::new(),
        }
    }

    pub fn strategy(&self) -> &RestartStrategy {
        &self.strategy
    }

    /// The job failed at `now`. `random` is a sample from `[0, 1)`, used only for
    /// exponential-delay's jitter.
    pub fn on_failure(&mut self, now: Instant, random: f64) -> RestartDecision {
        match self.strategy {
            RestartStrategy::NoRestart => RestartDecision::GiveUp,
            RestartStrategy::FixedDelay { attempts, delay } => {
                self.attempts = self.attempts.saturating_add(1);
                if self.attempts > attempts {
                    RestartDecision::GiveUp
                } else {
                    RestartDecision::Restart { delay }
                }
            }
            RestartStrategy::ExponentialDelay(settings) => {
                self.exponential_delay(&settings, now, random)
            }
            RestartStrategy::FailureRate {
                max_failures_per_interval,
                interval,
                delay,
            } => {
                self.recent_failures.push_back(now);
                while let Some(&oldest) = self.recent_failures.front() {
                    if now.saturating_duration_since(oldest) <= interval {
                        break;
                    }
                    self.recent_failures.pop_front();
                }
                if self.recent_failures.len() > max_failures_per_interval as usize {
                    RestartDecision::GiveUp
                } else {
                    RestartDecision::Restart { delay }
                }
            }
        }
    }

    fn exponential_delay(
        &mut self,
        settings: &ExponentialDelay,
        now: Instant,
        random: f64,
    ) -> RestartDecision {
        if let Some(next_restart) = self.next_restart {
            // A failure before the restart already decided (another task of the same
            // attempt) joins that restart, as in Flink.
            if now <= next_restart {
                return RestartDecision::Restart {
                    delay: next_restart - now,
                };
            }
            if now - next_restart >= settings.reset_backoff_threshold {
                self.attempts = 0;
            }
        }
        // In whole milliseconds, as Flink computes it.
        let initial = settings.initial_backoff.as_millis() as f64;
        let max = settings.max_backoff.as_millis() as f64;
        let exponent = i32::try_from(self.attempts).unwrap_or(i32::MAX);
        // Capped before the jitter so a huge exponent cannot overflow into the jitter's range.
        let backoff = (initial * settings.backoff_multiplier.powi(exponent))
            .min(max)
            .floor();
        let offset = (backoff * settings.jitter_factor).floor();
        let jitter = (offset * (2.0 * random.clamp(0.0, 1.0) - 1.0)).round();
        let delay = Duration::from_millis((backoff + jitter).clamp(initial, max) as u64);
        self.next_restart = Some(now + delay);
        self.attempts = self.attempts.saturating_add(1);
        if self.attempts > settings.attempts_before_reset_backoff {
            RestartDecision::GiveUp
        } else {
            RestartDecision::Restart { delay }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flinkrs_core::config::RESTART_STRATEGY;

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    fn restart(millis: u64) -> RestartDecision {
        RestartDecision::Restart { delay: ms(millis) }
    }

    fn config(entries: &[(&str, &str)]) -> Configuration {
        let mut config = Configuration::new();
        for (key, value) in entries {
            config.set(key, *value).unwrap();
        }
        config
    }

    fn exponential(attempts: u32, jitter_factor: f64) -> ExponentialDelay {
        ExponentialDelay {
            initial_backoff: ms(100),
            max_backoff: ms(1_000),
            backoff_multiplier: 2.0,
            reset_backoff_threshold: ms(10_000),
            jitter_factor,
            attempts_before_reset_backoff: attempts,
        }
    }

    #[test]
    fn the_default_is_none_without_checkpoints_and_exponential_delay_with_flinks_settings() {
        assert_eq!(
            RestartStrategy::from_config(&Configuration::new()).unwrap(),
            RestartStrategy::NoRestart
        );
        let checkpointed = config(&[("execution.checkpointing.interval", "1 s")]);
        assert_eq!(
            RestartStrategy::from_config(&checkpointed).unwrap(),
            RestartStrategy::ExponentialDelay(ExponentialDelay {
                initial_backoff: Duration::from_secs(1),
                max_backoff: Duration::from_secs(60),
                backoff_multiplier: 1.5,
                reset_backoff_threshold: Duration::from_secs(3_600),
                jitter_factor: 0.1,
                attempts_before_reset_backoff: i32::MAX as u32,
            })
        );
        // An explicit choice wins over the default.
        let off = config(&[
            ("execution.checkpointing.interval", "1 s"),
            (RESTART_STRATEGY, "off"),
        ]);
        assert_eq!(
            RestartStrategy::from_config(&off).unwrap(),
            RestartStrategy::NoRestart
        );
    }

    #[test]
    fn each_strategy_reads_its_own_keys() {
        let fixed = config(&[
            (RESTART_STRATEGY, "fixed-delay"),
            (FIXED_DELAY_ATTEMPTS, "3"),
            (FIXED_DELAY_DELAY, "10 ms"),
        ]);
        assert_eq!(
            RestartStrategy::from_config(&fixed).unwrap(),
            RestartStrategy::FixedDelay {
                attempts: 3,
                delay: ms(10)
            }
        );
        let rate = config(&[
            (RESTART_STRATEGY, "failurerate"),
            (FAILURE_RATE_MAX_FAILURES_PER_INTERVAL, "2"),
            (FAILURE_RATE_INTERVAL, "5 s"),
            (FAILURE_RATE_DELAY, "20 ms"),
        ]);
        assert_eq!(
            RestartStrategy::from_config(&rate).unwrap(),
            RestartStrategy::FailureRate {
                max_failures_per_interval: 2,
                interval: Duration::from_secs(5),
                delay: ms(20)
            }
        );
    }

    #[test]
    fn settings_flink_rejects_are_rejected_naming_the_key() {
        let cases = [
            (
                EXPONENTIAL_DELAY_INITIAL_BACKOFF,
                "2 min",
                "configuration key 'restart-strategy.exponential-delay.max-backoff': must be at \
                 least the initial backoff (it is the default)",
            ),
            (
                EXPONENTIAL_DELAY_JITTER_FACTOR,
                "1.5",
                "configuration key 'restart-strategy.exponential-delay.jitter-factor': must be \
                 between 0 and 1 (it is 1.5)",
            ),
            (
                EXPONENTIAL_DELAY_BACKOFF_MULTIPLIER,
                "0.5",
                "configuration key 'restart-strategy.exponential-delay.backoff-multiplier': must \
                 be greater than 1 (it is 0.5)",
            ),
            (
                EXPONENTIAL_DELAY_ATTEMPTS,
                "0",
                "configuration key \
                 'restart-strategy.exponential-delay.attempts-before-reset-backoff': must be at \
                 least 1 (it is 0)",
            ),
        ];
        for (key, value, expected) in cases {
            let bad = config(&[(RESTART_STRATEGY, "exponential-delay"), (key, value)]);
            let error = RestartStrategy::from_config(&bad).unwrap_err().to_string();
            assert_eq!(error, expected);
        }
        let bad = config(&[
            (RESTART_STRATEGY, "failure-rate"),
            (FAILURE_RATE_INTERVAL, "0 s"),
        ]);
        assert_eq!(
            RestartStrategy::from_config(&bad).unwrap_err().to_string(),
            "configuration key 'restart-strategy.failure-rate.failure-rate-interval': the \
             failure-rate interval must be longer than 0 ms"
        );
    }

    #[test]
    fn none_gives_up_at_once() {
        let mut backoff = RestartBackoff::new(RestartStrategy::NoRestart);
        assert_eq!(
            backoff.on_failure(Instant::now(), 0.5),
            RestartDecision::GiveUp
        );
    }

    #[test]
    fn fixed_delay_restarts_its_attempts_then_gives_up() {
        let mut backoff = RestartBackoff::new(RestartStrategy::FixedDelay {
            attempts: 2,
            delay: ms(10),
        });
        let now = Instant::now();
        assert_eq!(backoff.on_failure(now, 0.0), restart(10));
        assert_eq!(backoff.on_failure(now + ms(50), 0.0), restart(10));
        assert_eq!(
            backoff.on_failure(now + ms(100), 0.0),
            RestartDecision::GiveUp
        );
        let mut never = RestartBackoff::new(RestartStrategy::FixedDelay {
            attempts: 0,
            delay: ms(10),
        });
        assert_eq!(never.on_failure(now, 0.0), RestartDecision::GiveUp);
    }

    #[test]
    fn exponential_delay_multiplies_up_to_the_maximum() {
        let mut backoff = RestartBackoff::new(RestartStrategy::ExponentialDelay(exponential(
            u32::MAX,
            0.0,
        )));
        let mut now = Instant::now();
        let mut delays = Vec::new();
        for _ in 0..6 {
            match backoff.on_failure(now, 0.5) {
                RestartDecision::Restart { delay } => {
                    delays.push(delay.as_millis());
                    // The next failure comes 1 ms after the restart.
                    now += delay + ms(1);
                }
                RestartDecision::GiveUp => panic!("gave up"),
            }
        }
        assert_eq!(delays, vec![100, 200, 400, 800, 1_000, 1_000]);
    }

    #[test]
    fn exponential_delay_resets_after_running_long_enough_without_failure() {
        let mut backoff =
            RestartBackoff::new(RestartStrategy::ExponentialDelay(exponential(2, 0.0)));
        let start = Instant::now();
        assert_eq!(backoff.on_failure(start, 0.0), restart(100));
        assert_eq!(backoff.on_failure(start + ms(101), 0.0), restart(200));
        // The third restart within the threshold would be one too many...
        let mut exhausted = backoff.clone();
        assert_eq!(
            exhausted.on_failure(start + ms(302), 0.0),
            RestartDecision::GiveUp
        );
        // ...but after 10 s of running since the last restart, delay and count start over.
        let later = start + ms(301) + ms(10_000);
        assert_eq!(backoff.on_failure(later, 0.0), restart(100));
        assert_eq!(backoff.on_failure(later + ms(101), 0.0), restart(200));
    }

    #[test]
    fn exponential_delay_joins_a_failure_before_the_pending_restart() {
        let mut backoff =
            RestartBackoff::new(RestartStrategy::ExponentialDelay(exponential(1, 0.0)));
        let start = Instant::now();
        assert_eq!(backoff.on_failure(start, 0.0), restart(100));
        // Another task failed 30 ms later, before the restart: same restart, no new attempt.
        assert_eq!(backoff.on_failure(start + ms(30), 0.0), restart(70));
        assert_eq!(
            backoff.on_failure(start + ms(101), 0.0),
            RestartDecision::GiveUp
        );
    }

    #[test]
    fn the_jitter_moves_the_delay_by_up_to_its_factor_within_the_bounds() {
        let strategy = RestartStrategy::ExponentialDelay(ExponentialDelay {
            initial_backoff: ms(100),
            max_backoff: ms(1_000),
            backoff_multiplier: 4.0,
            reset_backoff_threshold: ms(10_000),
            jitter_factor: 0.25,
            attempts_before_reset_backoff: 10,
        });
        let now = Instant::now();
        let second_delay = |random: f64| {
            let mut backoff = RestartBackoff::new(strategy);
            backoff.on_failure(now, 0.5);
            // The second backoff is 400 ms; the jitter is up to 100 ms either way.
            backoff.on_failure(now + ms(200), random)
        };
        assert_eq!(second_delay(0.0), restart(300));
        assert_eq!(second_delay(0.5), restart(400));
        assert_eq!(second_delay(0.75), restart(450));
        assert_eq!(second_delay(1.0), restart(500));
        // The first backoff is the initial one; jitter never takes a delay below it.
        let mut backoff = RestartBackoff::new(strategy);
        assert_eq!(backoff.on_failure(now, 0.0), restart(100));
    }

    #[test]
    fn failure_rate_gives_up_when_too_many_failures_fall_within_the_interval() {
        let mut backoff = RestartBackoff::new(RestartStrategy::FailureRate {
            max_failures_per_interval: 2,
            interval: ms(1_000),
            delay: ms(5),
        });
        let start = Instant::now();
        assert_eq!(backoff.on_failure(start, 0.0), restart(5));
        assert_eq!(backoff.on_failure(start + ms(600), 0.0), restart(5));
        // 1.2 s after the first: that one has left the interval, two remain.
        assert_eq!(backoff.on_failure(start + ms(1_200), 0.0), restart(5));
        // The failures at 0.6, 1.2 and 1.5 s are three within one second.
        assert_eq!(
            backoff.on_failure(start + ms(1_500), 0.0),
            RestartDecision::GiveUp
        );
    }
}
