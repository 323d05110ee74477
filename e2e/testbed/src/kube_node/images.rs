//! Images without a registry: a private dockerd builds them (BuildKit, so
//! multi-stage Dockerfiles skip the stages they do not use) and `docker save`
//! hands them to the node's containerd. The dockerd runs with networking off
//! (no bridge, no iptables, no ip_forward), so it changes nothing on the
//! machine; `RUN` steps build with `--network=none`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::layout::{containerd_socket, docker_exec_root, docker_socket};
use crate::{Error, Result, error::io_at};

/// The debootstrap'd Debian image, tagged with the node-images version so a
/// rebuilt root file system gets a new tag.
pub fn base_image_tag() -> String {
    let version = crate::pinned_version("NODE_IMAGES_VERSION").unwrap_or("unpinned");
    format!("local/debian-minbase:{version}")
}

/// dockerd's data root: kept in the testbed cache, so image layers (the base
/// image above all) are built once.
pub(crate) fn docker_data_root() -> PathBuf {
    crate::install::cache_root().join("kube-node-docker")
}

/// The dockerd command line.
pub(crate) fn dockerd_command() -> Command {
    let mut command = Command::new("dockerd");
    command
        .arg(format!("--host=unix://{}", docker_socket()))
        .arg(format!("--data-root={}", docker_data_root().display()))
        .arg(format!("--exec-root={}", docker_exec_root()))
        .arg(format!("--pidfile={}/docker.pid", docker_exec_root()))
        .args([
            "--bridge=none",
            "--iptables=false",
            "--ip6tables=false",
            "--ip-forward=false",
            "--ip-masq=false",
        ]);
    command
}

/// `docker -H <private socket> ARGS`, with BuildKit, and its output checked.
pub(crate) fn docker(args: &[&str]) -> Result<String> {
    let mut command = Command::new("/usr/bin/docker");
    command
        .arg(format!("--host=unix://{}", docker_socket()))
        .args(args)
        .env("DOCKER_BUILDKIT", "1");
    run(command, &format!("docker {}", args.join(" ")))
}

/// True once dockerd answers.
pub(crate) fn docker_answers() -> bool {
    docker(&["version", "--format", "{{.Server.Version}}"]).is_ok()
}

/// Imports the Debian root file system as [`base_image_tag`], unless dockerd has it.
pub(crate) fn ensure_base_image(rootfs_tar: &Path) -> Result<()> {
    let tag = base_image_tag();
    if docker(&["image", "inspect", "--format", "{{.Id}}", &tag]).is_ok() {
        return Ok(());
    }
    let tar = rootfs_tar.display().to_string();
    docker(&["import", "--change", "CMD [\"/bin/bash\"]", &tar, &tag])?;
    Ok(())
}

/// A `FROM scratch` image of one static binary, e.g. pause or busybox.
pub(crate) fn build_single_binary_image(
    work_dir: &Path,
    tag: &str,
    binary: &Path,
    dockerfile_tail: &str,
) -> Result<()> {
    let context = work_dir.join(tag.replace(['/', ':'], "-"));
    std::fs::create_dir_all(&context).map_err(io_at(&context))?;
    let name = binary
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| Error::Command {
            command: format!("docker build {tag}"),
            detail: format!("{} has no file name", binary.display()),
        })?;
    let copy = context.join(name);
    std::fs::copy(binary, &copy).map_err(io_at(&copy))?;
    let dockerfile = context.join("Dockerfile");
    let text = format!("FROM scratch\nCOPY {name} /{name}\n{dockerfile_tail}\n");
    std::fs::write(&dockerfile, text).map_err(io_at(&dockerfile))?;
    let context = context.display().to_string();
    docker(&["build", "--network=none", "--quiet", "-t", tag, &context])?;
    Ok(())
}

/// `docker save` of `tag`, imported into the node's containerd (namespace
/// k8s.io, where kubelet looks). The image keeps its name: `local/x:1` is
/// `docker.io/local/x:1` to both.
pub(crate) fn load_into_containerd(work_dir: &Path, tag: &str) -> Result<()> {
    let archive = work_dir.join(format!("{}.tar", tag.replace(['/', ':'], "-")));
    let archive_text = archive.display().to_string();
    docker(&["save", "-o", &archive_text, tag])?;
    let mut command = Command::new("ctr");
    command.args([
        "--address",
        &containerd_socket(),
        "--namespace",
        "k8s.io",
        "images",
        "import",
        &archive_text,
    ]);
    let outcome = run(command, &format!("ctr images import {tag}"));
    let _ = std::fs::remove_file(&archive);
    outcome.map(|_| ())
}

/// Runs a command to completion; an error carries its stderr.
pub(crate) fn run(mut command: Command, what: &str) -> Result<String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Command {
            command: what.to_owned(),
            detail: source.to_string(),
        })?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(Error::Command {
            command: what.to_owned(),
            detail: format!(
                "{}; {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
        })
    }
}
