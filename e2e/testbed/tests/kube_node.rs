//! The real node runs pods: a Deployment of the local busybox image reaches
//! Running with pod IPs, a ClusterIP Service answers from the host and from a
//! pod that finds it through cluster DNS, and dropping the node leaves the
//! machine as it was (iptables, links, addresses, ip_forward, mounts).

use std::collections::BTreeSet;
use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use flinkrs_testbed::{BUSYBOX_IMAGE, KubeNode};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::Api;
use kube::api::{ListParams, LogParams, PostParams};

const DEADLINE: Duration = Duration::from_secs(120);

/// Polls `check` until it returns `Some`, for at most [`DEADLINE`].
async fn eventually<T, F, Fut>(what: &str, mut check: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let started = Instant::now();
    loop {
        if let Some(value) = check().await? {
            return Ok(value);
        }
        if started.elapsed() > DEADLINE {
            bail!("{what}: not within {DEADLINE:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// What the node changes on the machine, as text, to compare before and after.
fn machine_state() -> String {
    let run = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .map(|output| String::from_utf8_lossy(&output.stdout).into_owned())
            .unwrap_or_else(|error| format!("{program}: {error}"))
    };
    // Counters and the generator's timestamp change by themselves.
    let rules = |text: String| {
        text.lines()
            .filter(|line| !line.starts_with('#'))
            .map(|line| match line.find(" [") {
                Some(counters) if line.starts_with(':') => line[..counters].to_owned(),
                _ => line.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mounts = std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split(' ').nth(4).map(str::to_owned))
        .collect::<BTreeSet<_>>();
    format!(
        "iptables:\n{}\nip6tables:\n{}\nnft:\n{}\naddresses:\n{}\nlinks:\n{}\nip_forward: {}\nmounts:\n{:?}\n",
        rules(run("iptables-save", &[])),
        rules(run("ip6tables-save", &[])),
        run("nft", &["list", "ruleset"]),
        run("ip", &["-o", "addr", "show"]),
        run("ip", &["-o", "link", "show"])
            .lines()
            .filter_map(|line| line.split(':').nth(1))
            .collect::<Vec<_>>()
            .join(","),
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap_or_default(),
        mounts,
    )
}

const WEB: &str = r#"{
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {"name": "web", "namespace": "default"},
  "spec": {
    "replicas": 2,
    "selector": {"matchLabels": {"app": "web"}},
    "template": {
      "metadata": {"labels": {"app": "web"}},
      "spec": {"containers": [{
        "name": "httpd", "image": "IMAGE", "imagePullPolicy": "Never",
        "command": ["/busybox", "sh", "-c",
          "/busybox mkdir -p /www && /busybox hostname > /www/index.html && exec /busybox httpd -f -p 8080 -h /www"],
        "ports": [{"containerPort": 8080}]
      }]}
    }
  }
}"#;

const WEB_SERVICE: &str = r#"{
  "apiVersion": "v1", "kind": "Service",
  "metadata": {"name": "web", "namespace": "default"},
  "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}
}"#;

/// A pod that asks the Service by its DNS name, through the pod's resolver.
const CLIENT: &str = r#"{
  "apiVersion": "v1", "kind": "Pod",
  "metadata": {"name": "client", "namespace": "default"},
  "spec": {"restartPolicy": "Never", "containers": [{
    "name": "client", "image": "IMAGE", "imagePullPolicy": "Never",
    "command": ["/busybox", "sh", "-c",
      "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | /busybox nc web.default.svc.cluster.local 80"]
  }]}
}"#;

fn with_image(manifest: &str) -> anyhow::Result<serde_json::Value> {
    Ok(serde_json::from_str(
        &manifest.replace("IMAGE", BUSYBOX_IMAGE),
    )?)
}

#[tokio::test]
async fn a_deployment_runs_and_its_service_answers_through_cluster_dns() -> anyhow::Result<()> {
    let test = "a_deployment_runs_and_its_service_answers_through_cluster_dns";
    let before = machine_state();
    let started = Instant::now();
    let Some(node) = KubeNode::start(test).await else {
        return Ok(());
    };
    let node_started = started.elapsed();
    let client = node.client().await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let services: Api<Service> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let create = PostParams::default();
    deployments
        .create(&create, &serde_json::from_value(with_image(WEB)?)?)
        .await?;
    let service = services
        .create(&create, &serde_json::from_value(with_image(WEB_SERVICE)?)?)
        .await?;
    let cluster_ip = service
        .spec
        .and_then(|spec| spec.cluster_ip)
        .context("the Service got no ClusterIP")?;

    let web_pods = eventually("two web pods Running with pod IPs", || async {
        let listed = pods.list(&ListParams::default().labels("app=web")).await?;
        let running: Vec<(String, String)> = listed
            .items
            .into_iter()
            .filter_map(|pod| {
                let status = pod.status?;
                (status.phase.as_deref() == Some("Running")).then_some(())?;
                Some((pod.metadata.name?, status.pod_ip?))
            })
            .collect();
        Ok((running.len() == 2).then_some(running))
    })
    .await?;
    let deployment_running = started.elapsed();
    for (name, ip) in &web_pods {
        assert!(ip.starts_with("10.244.0."), "{name} has pod IP {ip}");
    }
    let names: BTreeSet<String> = web_pods.into_iter().map(|(name, _)| name).collect();

    // Host → ClusterIP (kube-proxy's rules): each answer is one pod's hostname.
    let url = format!("http://{cluster_ip}:80/");
    // Until kube-proxy's rules are in place the address is not the Service's: the request
    // fails, or leaves the machine and something else answers it (a 426 was seen), so the
    // wait is for the pods' own answer.
    let answered = eventually("the ClusterIP answers from the host", || async {
        Ok(flinkrs_testbed::http_client::get(&url)
            .await
            .ok()
            .filter(|response| response.status == 200))
    })
    .await?;
    assert!(
        names.contains(answered.body.trim()),
        "{:?} is not one of {names:?}",
        answered.body
    );

    // Pod → web.default.svc.cluster.local (CoreDNS) → ClusterIP → a pod.
    pods.create(&create, &serde_json::from_value(with_image(CLIENT)?)?)
        .await?;
    eventually("the client pod Succeeded", || async {
        let pod = pods.get("client").await?;
        match pod.status.and_then(|status| status.phase).as_deref() {
            Some("Succeeded") => Ok(Some(())),
            Some("Failed") => bail!("the client pod failed"),
            _ => Ok(None),
        }
    })
    .await?;
    // The container log keeps lines, not their line endings.
    let logs = pods
        .logs("client", &LogParams::default())
        .await?
        .replace("\r\n", "\n");
    let body = logs
        .split_once("\n\n")
        .map(|(_, body)| body.trim())
        .context(format!("no HTTP response in the client's log: {logs:?}"))?;
    assert!(names.contains(body), "{body:?} is not one of {names:?}");

    let pids = node.pids();
    let teardown = Instant::now();
    drop(node);
    let torn_down = teardown.elapsed();
    for pid in pids {
        let alive = Command::new("kill")
            .args(["-0", "--", &format!("-{pid}")])
            .stderr(std::process::Stdio::null())
            .status()?
            .success();
        assert!(!alive, "process group {pid} outlived the node");
    }
    assert_eq!(machine_state(), before, "the node left the machine changed");
    let _ = writeln!(
        std::io::stderr(),
        "{test}: node Ready in {node_started:?}, deployment Running at {deployment_running:?}, \
         torn down in {torn_down:?}"
    );
    Ok(())
}
