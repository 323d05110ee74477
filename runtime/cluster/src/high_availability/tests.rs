use super::*;

fn config(pairs: &[(&str, &str)]) -> Configuration {
    let mut config = Configuration::new();
    for (key, value) in pairs {
        config.set(key, *value).unwrap();
    }
    config
}

#[test]
fn high_availability_is_off_by_default_and_on_with_flinks_keys() {
    assert_eq!(HaSettings::from_config(&config(&[])).unwrap(), None);
    assert_eq!(
        HaSettings::from_config(&config(&[("high-availability.type", "NONE")])).unwrap(),
        None
    );
    let settings = HaSettings::from_config(&config(&[
        ("high-availability", "KUBERNETES"),
        ("kubernetes.cluster-id", "orders"),
        ("kubernetes.namespace", "flink"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(settings.cluster_id, "orders");
    assert_eq!(settings.namespace, "flink");
    assert_eq!(settings.config_map_name(), "orders-cluster-config-map");
    assert_eq!(settings.lease_duration, Duration::from_secs(15));
    assert_eq!(settings.retry_period, Duration::from_secs(5));
    let factory = HaSettings::from_config(&config(&[
        (
            "high-availability.type",
            "org.apache.flink.kubernetes.highavailability.KubernetesHaServicesFactory",
        ),
        ("high-availability.cluster-id", "payments"),
    ]))
    .unwrap()
    .unwrap();
    assert_eq!(factory.cluster_id, "payments");
}

#[test]
fn bad_high_availability_settings_are_named() {
    let error = HaSettings::from_config(&config(&[("high-availability.type", "kubernetes")]))
        .unwrap_err()
        .to_string();
    assert!(error.contains("set kubernetes.cluster-id"), "{error}");
    let error = HaSettings::from_config(&config(&[("high-availability.type", "zookeeper")]))
        .unwrap_err()
        .to_string();
    assert!(error.contains("'zookeeper' is not supported"), "{error}");
    let error = HaSettings::from_config(&config(&[("high-availability.type", "etcd")]))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("'etcd' is not a high-availability type"),
        "{error}"
    );
    let error = HaSettings::from_config(&config(&[
        ("high-availability.type", "kubernetes"),
        ("kubernetes.cluster-id", "c"),
        (
            "high-availability.kubernetes.leader-election.retry-period",
            "20 s",
        ),
    ]))
    .unwrap_err()
    .to_string();
    assert!(error.contains("must be shorter than"), "{error}");
}

#[test]
fn the_application_job_id_is_a_pure_function_of_the_cluster_id() {
    let orders = application_job_id("orders");
    assert_eq!(orders, application_job_id("orders"));
    assert_ne!(orders, application_job_id("payments"));
    assert_eq!(orders.to_string().len(), 32);
}
