//! Whether the controller loop is alive, for `/healthz`: it must be running, and no reconcile
//! may have been in flight for longer than [`ControllerHealth::stall_after`] (each REST call
//! and API request has its own timeout, so a reconcile that takes that long is stuck).

use std::{
    collections::HashMap,
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

/// Shared by the controller (which reports) and the HTTP endpoint (which asks).
#[derive(Debug)]
pub struct ControllerHealth {
    running: AtomicBool,
    in_flight: Mutex<HashMap<String, Instant>>,
    stall_after: Duration,
}

impl Default for ControllerHealth {
    fn default() -> Self {
        Self::new(Duration::from_secs(300))
    }
}

impl ControllerHealth {
    pub fn new(stall_after: Duration) -> Self {
        Self {
            running: AtomicBool::new(false),
            in_flight: Mutex::default(),
            stall_after,
        }
    }

    /// The controller loop started (`true`) or ended (`false`).
    pub fn set_running(&self, running: bool) {
        self.running.store(running, Ordering::SeqCst);
    }

    pub fn reconcile_started(&self, job_key: &str) {
        self.in_flight_map()
            .insert(job_key.to_owned(), Instant::now());
    }

    pub fn reconcile_finished(&self, job_key: &str) {
        self.in_flight_map().remove(job_key);
    }

    fn in_flight_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
        self.in_flight
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// `Ok` while healthy, else what is wrong.
    pub fn check(&self) -> Result<(), String> {
        self.check_at(Instant::now())
    }

    fn check_at(&self, now: Instant) -> Result<(), String> {
        if !self.running.load(Ordering::SeqCst) {
            return Err("the controller loop is not running".to_owned());
        }
        let in_flight = self.in_flight_map();
        let mut stuck: Vec<String> = in_flight
            .iter()
            .filter(|(_, started)| now.saturating_duration_since(**started) > self.stall_after)
            .map(|(job, started)| {
                format!(
                    "{job} ({}s)",
                    now.saturating_duration_since(*started).as_secs()
                )
            })
            .collect();
        if stuck.is_empty() {
            return Ok(());
        }
        stuck.sort();
        Err(format!(
            "reconciles in flight for more than {}s: {}",
            self.stall_after.as_secs(),
            stuck.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn healthy_only_while_running_and_no_reconcile_is_stuck() {
        let health = ControllerHealth::new(Duration::from_secs(60));
        assert_eq!(
            health.check(),
            Err("the controller loop is not running".to_owned())
        );
        health.set_running(true);
        assert_eq!(health.check(), Ok(()));
        health.reconcile_started("jobs/orders");
        assert_eq!(health.check(), Ok(()));
        let later = Instant::now() + Duration::from_secs(61);
        let error = health.check_at(later).expect_err("stuck");
        assert!(
            error.starts_with("reconciles in flight for more than 60s: jobs/orders ("),
            "{error}"
        );
        health.reconcile_finished("jobs/orders");
        assert_eq!(health.check_at(later), Ok(()));
        health.set_running(false);
        assert!(health.check().is_err());
    }
}
