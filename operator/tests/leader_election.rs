//! Leader election on a real Lease: one holder at a time, and a takeover once the
//! holder stops renewing.

mod support;

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;

use flinkrs_operator::{config::LeaderElectionConfig, leader_election::LeaderElector};

fn short_lease() -> LeaderElectionConfig {
    LeaderElectionConfig {
        lease_name: "flinkrs-operator".to_owned(),
        lease_namespace: "default".to_owned(),
        lease_duration: Duration::from_secs(2),
        renew_every: Duration::from_millis(500),
    }
}

#[tokio::test]
async fn only_one_replica_holds_the_lease_and_another_takes_over_when_it_stops_renewing() {
    let test = "only_one_replica_holds_the_lease";
    let Some(control_plane) = flinkrs_testbed::KubeControlPlane::start(test).await else {
        return;
    };
    let client = control_plane.client().await;
    let first = LeaderElector::new(client.clone(), short_lease(), "replica-a");
    let second = LeaderElector::new(client.clone(), short_lease(), "replica-b");

    assert!(
        first
            .try_acquire_or_renew()
            .await
            .expect("the Lease is readable"),
        "a free Lease is taken"
    );
    assert!(
        !second.try_acquire_or_renew().await.expect("readable"),
        "a held Lease is not taken"
    );
    assert!(
        first.try_acquire_or_renew().await.expect("readable"),
        "the holder renews"
    );

    // replica-a stops renewing; replica-b polls until the Lease has expired.
    support::eventually(
        "replica-b to take the expired Lease",
        Duration::from_secs(20),
        || async {
            second
                .try_acquire_or_renew()
                .await
                .expect("readable")
                .then_some(())
        },
    )
    .await;
    assert!(
        !first.try_acquire_or_renew().await.expect("readable"),
        "the old holder lost it"
    );

    let lease = Api::<Lease>::namespaced(client, "default")
        .get("flinkrs-operator")
        .await
        .expect("the Lease");
    let spec = lease.spec.expect("a spec");
    assert_eq!(spec.holder_identity.as_deref(), Some("replica-b"));
    assert_eq!(spec.lease_transitions, Some(1));
    assert_eq!(spec.lease_duration_seconds, Some(2));
}

#[tokio::test]
async fn a_released_lease_is_taken_at_once_by_another_replica() {
    let test = "a_released_lease_is_taken_at_once";
    let Some(control_plane) = flinkrs_testbed::KubeControlPlane::start(test).await else {
        return;
    };
    let client = control_plane.client().await;
    let long_lease = LeaderElectionConfig {
        lease_duration: Duration::from_secs(3600),
        ..short_lease()
    };
    let first = LeaderElector::new(client.clone(), long_lease.clone(), "replica-a");
    let second = LeaderElector::new(client.clone(), long_lease, "replica-b");
    assert!(first.try_acquire_or_renew().await.expect("readable"));
    assert!(!second.try_acquire_or_renew().await.expect("readable"));
    second
        .release()
        .await
        .expect("releasing a Lease held by another changes nothing");
    assert!(!second.try_acquire_or_renew().await.expect("readable"));

    first.release().await.expect("released");
    assert!(
        second.try_acquire_or_renew().await.expect("readable"),
        "the released Lease is free without waiting an hour"
    );
    let spec = Api::<Lease>::namespaced(client, "default")
        .get("flinkrs-operator")
        .await
        .expect("the Lease")
        .spec
        .expect("a spec");
    assert_eq!(spec.holder_identity.as_deref(), Some("replica-b"));
}
