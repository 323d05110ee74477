//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several
//! operator replicas exactly one reconciles.
//!
//! The holder renews `spec.renewTime` every `renew_every`. Another replica takes
//! the Lease once `renewTime + leaseDurationSeconds` has passed. Every write
//! carries the `resourceVersion` it read, so two replicas racing for an expired
//! Lease cannot both win: the loser gets a 409 Conflict.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::{
    api::coordination::v1::{Lease, LeaseSpec},
    apimachinery::pkg::apis::meta::v1::MicroTime,
};
use kube::{
    Api, Client,
    api::{ObjectMeta, PostParams},
};

use crate::{Error, Result, config::LeaderElectionConfig};

pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaderElectionConfig,
    identity: String,
}

impl LeaderElector {
    pub fn new(client: Client, config: LeaderElectionConfig, identity: &str) -> Self {
        Self {
            api: Api::namespaced(client, &config.lease_namespace),
            config,
            identity: identity.to_owned(),
        }
    }

    fn error(&self) -> impl FnOnce(kube::Error) -> Error + '_ {
        move |source| Error::LeaderElection {
            lease: format!("{}/{}", self.config.lease_namespace, self.config.lease_name),
            source,
        }
    }

    fn lease_seconds(&self) -> i32 {
        i32::try_from(self.config.lease_duration.as_secs()).unwrap_or(i32::MAX)
    }

    /// Takes the Lease if it is free or expired, renews it if this replica holds
    /// it. Returns whether this replica leads now.
    pub async fn try_acquire_or_renew(&self) -> Result<bool> {
        let now = Timestamp::now();
        let Some(lease) = self
            .api
            .get_opt(&self.config.lease_name)
            .await
            .map_err(self.error())?
        else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.lease_name.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.identity.clone()),
                    lease_duration_seconds: Some(self.lease_seconds()),
                    acquire_time: Some(MicroTime(now)),
                    renew_time: Some(MicroTime(now)),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return self.write(self.api.create(&PostParams::default(), &lease).await);
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let held_by_me = holder == self.identity;
        if !held_by_me && !holder.is_empty() && !expired(&spec, now, self.lease_seconds()) {
            return Ok(false);
        }
        let mut renewed = lease;
        renewed.spec = Some(LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(self.lease_seconds()),
            renew_time: Some(MicroTime(now)),
            acquire_time: if held_by_me {
                spec.acquire_time
            } else {
                Some(MicroTime(now))
            },
            lease_transitions: Some(
                spec.lease_transitions.unwrap_or(0) + if held_by_me { 0 } else { 1 },
            ),
            ..spec
        });
        let result = self
            .api
            .replace(&self.config.lease_name, &PostParams::default(), &renewed)
            .await;
        self.write(result)
    }

    fn write(&self, result: kube::Result<Lease>) -> Result<bool> {
        match result {
            Ok(_) => Ok(true),
            // Someone else wrote first (created it, or renewed it since we read it).
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
            Err(error) => Err(self.error()(error)),
        }
    }

    /// Waits until this replica leads.
    pub async fn acquire(&self) -> Result<()> {
        loop {
            if self.try_acquire_or_renew().await? {
                tracing::info!(identity = %self.identity, lease = %self.config.lease_name, "became the leader");
                return Ok(());
            }
            tokio::time::sleep(self.config.renew_every).await;
        }
    }

    /// Gives the Lease up if this replica holds it (on shutdown), as client-go's
    /// `ReleaseOnCancel` does: no holder, and a duration of one second, so the next replica
    /// takes it at once.
    pub async fn release(&self) -> Result<()> {
        let Some(mut lease) = self
            .api
            .get_opt(&self.config.lease_name)
            .await
            .map_err(self.error())?
        else {
            return Ok(());
        };
        let mut spec = lease.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        spec.renew_time = Some(MicroTime(Timestamp::now()));
        lease.spec = Some(spec);
        match self
            .api
            .replace(&self.config.lease_name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => {
                tracing::info!(identity = %self.identity, "released the Lease");
                Ok(())
            }
            // Someone else wrote it meanwhile: it is not ours to release any more.
            Err(kube::Error::Api(status)) if status.code == 409 => Ok(()),
            Err(error) => Err(self.error()(error)),
        }
    }

    /// Renews the Lease until renewal fails; returns when leadership is lost.
    pub async fn keep_leading(&self) -> Error {
        loop {
            tokio::time::sleep(self.config.renew_every).await;
            match self.try_acquire_or_renew().await {
                Ok(true) => {}
                Ok(false) => {
                    return Error::LeaderLost {
                        lease: format!(
                            "{}/{}",
                            self.config.lease_namespace, self.config.lease_name
                        ),
                    };
                }
                Err(error) => return error,
            }
        }
    }
}

fn expired(spec: &LeaseSpec, now: Timestamp, default_seconds: i32) -> bool {
    let seconds = spec.lease_duration_seconds.unwrap_or(default_seconds);
    match &spec.renew_time {
        Some(MicroTime(renewed)) => renewed
            .saturating_add(SignedDuration::from_secs(i64::from(seconds)))
            .map_or(true, |end| end < now),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec_renewed_at(renewed: Timestamp, seconds: i32) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some("other".into()),
            lease_duration_seconds: Some(seconds),
            renew_time: Some(MicroTime(renewed)),
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn a_lease_expires_after_its_duration() {
        let renewed: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let spec = spec_renewed_at(renewed, 15);
        let at = |seconds: i64| {
            renewed
                .saturating_add(SignedDuration::from_secs(seconds))
                .unwrap()
        };
        assert!(!expired(&spec, at(14), 15));
        assert!(!expired(&spec, at(15), 15));
        assert!(expired(&spec, at(16), 15));
        assert!(expired(&LeaseSpec::default(), at(0), 15));
    }
}
