//! The JobManager's record of its TaskManagers: who registered, with how many slots, and
//! who has gone quiet. A pure state machine: time is an argument, so tests need no sleeping;
//! the gRPC service and the heartbeat monitor around it do the I/O.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::rpc::messages::{SlotStatus, TaskManagerHeartbeat, TaskManagerRegistration};

/// One registered TaskManager.
#[derive(Clone, Debug)]
pub struct RegisteredTaskManager {
    pub registration: TaskManagerRegistration,
    /// When it registered (its latest registration, if it registered again).
    pub registered_at: Instant,
    /// When its latest heartbeat (or its registration) arrived.
    pub last_heartbeat: Instant,
    /// Its slots, and the job each is allocated to: the JobManager's own record, which
    /// allocations change.
    pub slots: Vec<SlotStatus>,
}

/// A slot allocated to a job.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AllocatedSlot {
    pub resource_id: String,
    /// The TaskManager's control plane.
    pub rpc_address: String,
    /// The TaskManager's data plane.
    pub data_address: String,
    pub index: u32,
}

impl RegisteredTaskManager {
    /// Slots allocated to no job.
    pub fn free_slots(&self) -> usize {
        self.slots
            .iter()
            .filter(|slot| slot.job_id.is_empty())
            .count()
    }
}

/// A TaskManager that sent no heartbeat within the timeout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LostTaskManager {
    pub resource_id: String,
    pub rpc_address: String,
    pub silent_for: Duration,
}

/// Why a heartbeat was not taken.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HeartbeatRefused {
    #[error(
        "TaskManager {0} is not registered here (the JobManager restarted, or timed it out); \
         it has to register again"
    )]
    UnknownTaskManager(String),
}

/// Why a registration was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationRefused {
    #[error("a TaskManager registration names no resource id")]
    NoResourceId,
    #[error(
        "TaskManager {resource_id} offers no slots; set taskmanager.numberOfTaskSlots to 1 or more"
    )]
    NoSlots { resource_id: String },
    #[error(
        "TaskManager {resource_id} runs flinkrs {theirs}, the JobManager runs {ours}; run the \
         same version on both"
    )]
    VersionMismatch {
        resource_id: String,
        theirs: String,
        ours: String,
    },
}

/// Every TaskManager that registered and has not been lost since.
#[derive(Debug)]
pub struct ResourceManager {
    version: String,
    task_managers: BTreeMap<String, RegisteredTaskManager>,
}

impl ResourceManager {
    /// A resource manager that accepts TaskManagers of `version` only.
    pub fn new(version: impl Into<String>) -> Self {
        ResourceManager {
            version: version.into(),
            task_managers: BTreeMap::new(),
        }
    }

    /// Takes a registration. A TaskManager that registers again under the same resource id
    /// (it restarted, or lost this JobManager for a while) replaces its earlier record; its
    /// slots start free.
    pub fn register(
        &mut self,
        registration: TaskManagerRegistration,
        now: Instant,
    ) -> Result<(), RegistrationRefused> {
        if registration.resource_id.is_empty() {
            return Err(RegistrationRefused::NoResourceId);
        }
        if registration.slots == 0 {
            return Err(RegistrationRefused::NoSlots {
                resource_id: registration.resource_id,
            });
        }
        if registration.version != self.version {
            return Err(RegistrationRefused::VersionMismatch {
                resource_id: registration.resource_id,
                theirs: registration.version,
                ours: self.version.clone(),
            });
        }
        let slots = (0..registration.slots)
            .map(|index| SlotStatus {
                index,
                job_id: String::new(),
            })
            .collect();
        self.task_managers.insert(
            registration.resource_id.clone(),
            RegisteredTaskManager {
                registration,
                registered_at: now,
                last_heartbeat: now,
                slots,
            },
        );
        Ok(())
    }

    /// Takes a heartbeat.
    pub fn heartbeat(
        &mut self,
        heartbeat: &TaskManagerHeartbeat,
        now: Instant,
    ) -> Result<(), HeartbeatRefused> {
        let task_manager = self
            .task_managers
            .get_mut(&heartbeat.resource_id)
            .ok_or_else(|| HeartbeatRefused::UnknownTaskManager(heartbeat.resource_id.clone()))?;
        task_manager.last_heartbeat = now;
        Ok(())
    }

    /// Allocates `count` free slots to `job`, filling TaskManagers in resource-id order, or
    /// none if fewer are free.
    pub fn allocate(&mut self, job: &str, count: usize) -> Option<Vec<AllocatedSlot>> {
        if self.slots_available() < count {
            return None;
        }
        let mut allocated = Vec::with_capacity(count);
        for task_manager in self.task_managers.values_mut() {
            for slot in &mut task_manager.slots {
                if allocated.len() == count {
                    return Some(allocated);
                }
                if slot.job_id.is_empty() {
                    slot.job_id = job.to_owned();
                    allocated.push(AllocatedSlot {
                        resource_id: task_manager.registration.resource_id.clone(),
                        rpc_address: task_manager.registration.rpc_address.clone(),
                        data_address: task_manager.registration.data_address.clone(),
                        index: slot.index,
                    });
                }
            }
        }
        Some(allocated)
    }

    /// Frees every slot allocated to `job`.
    pub fn release(&mut self, job: &str) {
        for slot in self
            .task_managers
            .values_mut()
            .flat_map(|task_manager| &mut task_manager.slots)
            .filter(|slot| slot.job_id == job)
        {
            slot.job_id.clear();
        }
    }

    /// Removes and returns every TaskManager silent for longer than `timeout`.
    pub fn expire(&mut self, now: Instant, timeout: Duration) -> Vec<LostTaskManager> {
        let mut lost = Vec::new();
        self.task_managers.retain(|resource_id, task_manager| {
            let silent_for = now.saturating_duration_since(task_manager.last_heartbeat);
            if silent_for <= timeout {
                return true;
            }
            lost.push(LostTaskManager {
                resource_id: resource_id.clone(),
                rpc_address: task_manager.registration.rpc_address.clone(),
                silent_for,
            });
            false
        });
        lost
    }

    /// The registered TaskManagers, by resource id.
    pub fn task_managers(&self) -> impl Iterator<Item = &RegisteredTaskManager> {
        self.task_managers.values()
    }

    pub fn task_manager(&self, resource_id: &str) -> Option<&RegisteredTaskManager> {
        self.task_managers.get(resource_id)
    }

    /// Slots over every registered TaskManager.
    pub fn slots_total(&self) -> usize {
        self.task_managers.values().map(|tm| tm.slots.len()).sum()
    }

    /// Free slots over every registered TaskManager.
    pub fn slots_available(&self) -> usize {
        self.task_managers
            .values()
            .map(RegisteredTaskManager::free_slots)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration(resource_id: &str, slots: u32) -> TaskManagerRegistration {
        TaskManagerRegistration {
            resource_id: resource_id.to_owned(),
            rpc_address: format!("{resource_id}:6122"),
            data_address: format!("{resource_id}:6121"),
            slots,
            cpu_cores: 2,
            physical_memory_bytes: 1 << 30,
            version: "1.0".to_owned(),
        }
    }

    fn heartbeat(resource_id: &str) -> TaskManagerHeartbeat {
        TaskManagerHeartbeat {
            resource_id: resource_id.to_owned(),
            jobmanager_session: "s".to_owned(),
        }
    }

    #[test]
    fn registered_task_managers_add_their_slots_and_jobs_take_them_in_order() {
        let now = Instant::now();
        let mut rm = ResourceManager::new("1.0");
        rm.register(registration("tm-1", 2), now).unwrap();
        rm.register(registration("tm-2", 3), now).unwrap();
        assert_eq!((rm.slots_total(), rm.slots_available()), (5, 5));
        let taken: Vec<_> = rm
            .allocate("job-a", 3)
            .unwrap()
            .into_iter()
            .map(|slot| (slot.resource_id, slot.index, slot.data_address))
            .collect();
        assert_eq!(
            taken,
            [
                ("tm-1".to_owned(), 0, "tm-1:6121".to_owned()),
                ("tm-1".to_owned(), 1, "tm-1:6121".to_owned()),
                ("tm-2".to_owned(), 0, "tm-2:6121".to_owned()),
            ]
        );
        assert_eq!((rm.slots_total(), rm.slots_available()), (5, 2));
        assert_eq!(rm.allocate("job-b", 3), None, "only two are free");
        assert_eq!(rm.slots_available(), 2);
        rm.release("job-a");
        assert_eq!(rm.slots_available(), 5);
        let ids: Vec<_> = rm
            .task_managers()
            .map(|tm| tm.registration.resource_id.as_str())
            .collect();
        assert_eq!(ids, ["tm-1", "tm-2"]);
    }

    #[test]
    fn registering_again_replaces_the_earlier_record_with_free_slots() {
        let now = Instant::now();
        let mut rm = ResourceManager::new("1.0");
        rm.register(registration("tm-1", 2), now).unwrap();
        rm.allocate("job", 2).unwrap();
        assert_eq!(rm.slots_available(), 0);
        rm.register(registration("tm-1", 4), now).unwrap();
        assert_eq!((rm.slots_total(), rm.slots_available()), (4, 4));
    }

    #[test]
    fn silent_task_managers_are_lost_after_the_timeout_and_not_before() {
        let start = Instant::now();
        let timeout = Duration::from_secs(50);
        let mut rm = ResourceManager::new("1.0");
        rm.register(registration("tm-1", 1), start).unwrap();
        rm.register(registration("tm-2", 1), start).unwrap();
        rm.heartbeat(&heartbeat("tm-2"), start + Duration::from_secs(40))
            .unwrap();
        assert_eq!(rm.expire(start + timeout, timeout), []);
        let lost = rm.expire(start + Duration::from_secs(51), timeout);
        assert_eq!(
            lost,
            [LostTaskManager {
                resource_id: "tm-1".to_owned(),
                rpc_address: "tm-1:6122".to_owned(),
                silent_for: Duration::from_secs(51),
            }]
        );
        assert_eq!(rm.slots_total(), 1);
        // A lost TaskManager's next heartbeat is refused: it must register again.
        assert_eq!(
            rm.heartbeat(&heartbeat("tm-1"), start + Duration::from_secs(52)),
            Err(HeartbeatRefused::UnknownTaskManager("tm-1".to_owned()))
        );
    }

    #[test]
    fn bad_registrations_are_refused_with_what_to_do() {
        let now = Instant::now();
        let mut rm = ResourceManager::new("1.0");
        let error = rm.register(registration("tm-1", 0), now).unwrap_err();
        assert_eq!(
            error.to_string(),
            "TaskManager tm-1 offers no slots; set taskmanager.numberOfTaskSlots to 1 or more"
        );
        let mut other = registration("tm-2", 1);
        other.version = "0.9".to_owned();
        let error = rm.register(other, now).unwrap_err();
        assert_eq!(
            error.to_string(),
            "TaskManager tm-2 runs flinkrs 0.9, the JobManager runs 1.0; run the same version \
             on both"
        );
        assert_eq!(
            rm.register(registration("", 1), now),
            Err(RegistrationRefused::NoResourceId)
        );
        assert_eq!(rm.slots_total(), 0);
    }
}
