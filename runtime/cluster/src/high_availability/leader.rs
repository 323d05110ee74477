//! [`Leadership`]: which JobManager leads the cluster, held in the high-availability
//! ConfigMap's leader annotation as client-go's ConfigMap lock holds it (holder, lease
//! duration, acquire and renew times, transitions), and renewed while the JobManager runs.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Context as _;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::ConfigMap;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::HaSettings;
use super::config_map::{ConfigMapStore, LEADER_ANNOTATION};

/// The leader record, in client-go's JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LeaderRecord {
    holder_identity: String,
    lease_duration_seconds: u64,
    acquire_time: String,
    renew_time: String,
    leader_transitions: u64,
}

fn record(config_map: &ConfigMap) -> Option<LeaderRecord> {
    let annotations = config_map.metadata.annotations.as_ref()?;
    serde_json::from_str(annotations.get(LEADER_ANNOTATION)?).ok()
}

/// The JobManager that leads, if any.
pub(super) fn holder(config_map: &ConfigMap) -> Option<String> {
    record(config_map)
        .map(|record| record.holder_identity)
        .filter(|holder| !holder.is_empty())
}

fn set_record(config_map: &mut ConfigMap, record: &LeaderRecord) -> anyhow::Result<()> {
    config_map
        .metadata
        .annotations
        .get_or_insert_with(BTreeMap::new)
        .insert(LEADER_ANNOTATION.to_owned(), serde_json::to_string(record)?);
    Ok(())
}

/// Whether `record` leaves the lead free for `identity` at `now`: nobody holds it, `identity`
/// does, or it was not renewed within its lease.
fn free_for(record: Option<&LeaderRecord>, identity: &str, now: Timestamp) -> bool {
    let Some(record) = record else {
        return true;
    };
    if record.holder_identity.is_empty() || record.holder_identity == identity {
        return true;
    }
    let Ok(renewed) = record.renew_time.parse::<Timestamp>() else {
        return true;
    };
    let lease = Duration::from_secs(record.lease_duration_seconds);
    renewed
        .checked_add(lease)
        .map_or(true, |expires| expires < now)
}

/// Why a JobManager lost the lead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadershipLost(pub String);

/// This JobManager's lead of the cluster, renewed in the background until released or lost.
#[derive(Debug)]
pub struct Leadership {
    store: ConfigMapStore,
    identity: String,
    lost: watch::Receiver<Option<LeadershipLost>>,
    stop: watch::Sender<bool>,
    renewal: JoinHandle<()>,
}

impl Leadership {
    /// Waits until this JobManager (`identity`) leads the cluster, trying every
    /// `retry-period`, then keeps renewing the lead.
    pub async fn acquire(
        store: ConfigMapStore,
        identity: &str,
        settings: &HaSettings,
    ) -> anyhow::Result<Leadership> {
        let mut waited = false;
        loop {
            if let Some(previous) = try_take(&store, identity, settings).await? {
                tracing::info!(
                    config_map = store.name(), %identity, previous = %previous,
                    "this JobManager leads the cluster"
                );
                break;
            }
            if !waited {
                tracing::info!(
                    config_map = store.name(), %identity,
                    "another JobManager leads the cluster; waiting until its lead lapses"
                );
                waited = true;
            }
            tokio::time::sleep(settings.retry_period).await;
        }
        let (lost_sender, lost) = watch::channel(None);
        let (stop, stopped) = watch::channel(false);
        let renewal = tokio::spawn(renew(
            store.clone(),
            identity.to_owned(),
            settings.clone(),
            lost_sender,
            stopped,
        ));
        Ok(Leadership {
            store,
            identity: identity.to_owned(),
            lost,
            stop,
            renewal,
        })
    }

    pub fn identity(&self) -> &str {
        &self.identity
    }

    pub fn store(&self) -> &ConfigMapStore {
        &self.store
    }

    /// Resolves when the lead is lost, with why.
    pub async fn lost(&mut self) -> LeadershipLost {
        loop {
            if let Some(lost) = self.lost.borrow_and_update().clone() {
                return lost;
            }
            if self.lost.changed().await.is_err() {
                return LeadershipLost("the renewal of the lead stopped".to_owned());
            }
        }
    }

    /// Stops renewing and gives the lead up, so another JobManager takes it at once.
    pub async fn release(self) {
        let _ = self.stop.send(true);
        let _ = self.renewal.await;
        let identity = self.identity.clone();
        let released = self
            .store
            .update(|config_map| {
                if let Some(mut record) = record(config_map)
                    && record.holder_identity == identity
                {
                    record.holder_identity = String::new();
                    record.lease_duration_seconds = 1;
                    set_record(config_map, &record)?;
                }
                Ok(())
            })
            .await;
        match released {
            Ok(()) => tracing::info!(config_map = self.store.name(), "gave up the lead"),
            Err(error) => tracing::warn!("cannot give up the lead: {error:#}"),
        }
    }
}

/// Takes the lead if it is free; the previous holder (or "nobody") if taken, `None` if
/// another JobManager holds it.
async fn try_take(
    store: &ConfigMapStore,
    identity: &str,
    settings: &HaSettings,
) -> anyhow::Result<Option<String>> {
    let now = Timestamp::now();
    let fresh = |previous: Option<&LeaderRecord>| LeaderRecord {
        holder_identity: identity.to_owned(),
        lease_duration_seconds: settings.lease_duration.as_secs().max(1),
        acquire_time: now.to_string(),
        renew_time: now.to_string(),
        leader_transitions: previous.map_or(0, |previous| {
            previous.leader_transitions + u64::from(previous.holder_identity != identity)
        }),
    };
    let Some(config_map) = store.read().await? else {
        let created = store
            .create(|config_map| set_record(config_map, &fresh(None)))
            .await?;
        return Ok(created.then(|| "nobody".to_owned()));
    };
    let previous = record(&config_map);
    if !free_for(previous.as_ref(), identity, now) {
        return Ok(None);
    }
    let holder = previous
        .as_ref()
        .map(|previous| previous.holder_identity.clone())
        .filter(|holder| !holder.is_empty())
        .unwrap_or_else(|| "nobody".to_owned());
    let taken = store
        .replace(config_map, |config_map| {
            set_record(config_map, &fresh(previous.as_ref()))
        })
        .await?;
    Ok(taken.then_some(holder))
}

/// Renews the lead every `retry-period` until stopped; reports a loss when another JobManager
/// took the lead, or when no renewal succeeded for `renew-deadline`.
async fn renew(
    store: ConfigMapStore,
    identity: String,
    settings: HaSettings,
    lost: watch::Sender<Option<LeadershipLost>>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut last_renewal = tokio::time::Instant::now();
    loop {
        tokio::select! {
            _ = stopped.changed() => return,
            () = tokio::time::sleep(settings.retry_period) => {}
        }
        match renew_once(&store, &identity).await {
            Ok(true) => last_renewal = tokio::time::Instant::now(),
            Ok(false) => {
                let _ = lost.send(Some(LeadershipLost(format!(
                    "another JobManager took the lead of the cluster in ConfigMap '{}'",
                    store.name()
                ))));
                return;
            }
            Err(error) => {
                tracing::warn!("cannot renew the lead: {error:#}");
                if last_renewal.elapsed() > settings.renew_deadline {
                    let _ = lost.send(Some(LeadershipLost(format!(
                        "the lead could not be renewed for {:?} \
                         (high-availability.kubernetes.leader-election.renew-deadline): \
                         {error:#}",
                        settings.renew_deadline
                    ))));
                    return;
                }
            }
        }
    }
}

/// Renews the lead once; `false` if another JobManager holds it.
async fn renew_once(store: &ConfigMapStore, identity: &str) -> anyhow::Result<bool> {
    let config_map = store
        .read()
        .await?
        .context("the high-availability ConfigMap was deleted")?;
    let Some(mut record) = record(&config_map).filter(|record| record.holder_identity == identity)
    else {
        return Ok(false);
    };
    record.renew_time = Timestamp::now().to_string();
    // A write that lost a race to another writer of the data is tried at the next renewal.
    store
        .replace(config_map, |config_map| set_record(config_map, &record))
        .await
        .map(|_| true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(holder: &str, renewed: &str) -> LeaderRecord {
        LeaderRecord {
            holder_identity: holder.to_owned(),
            lease_duration_seconds: 15,
            acquire_time: renewed.to_owned(),
            renew_time: renewed.to_owned(),
            leader_transitions: 0,
        }
    }

    #[test]
    fn the_lead_is_free_when_unheld_ours_or_lapsed() {
        let now: Timestamp = "2026-11-30T12:00:00Z".parse().unwrap();
        assert!(free_for(None, "a", now));
        assert!(free_for(
            Some(&record("", "2026-11-30T11:59:59Z")),
            "a",
            now
        ));
        assert!(free_for(
            Some(&record("a", "2026-11-30T11:59:59Z")),
            "a",
            now
        ));
        assert!(!free_for(
            Some(&record("b", "2026-11-30T11:59:50Z")),
            "a",
            now
        ));
        assert!(free_for(
            Some(&record("b", "2026-11-30T11:59:40Z")),
            "a",
            now
        ));
        assert!(free_for(Some(&record("b", "not a time")), "a", now));
    }
}
