//! Prints the `FlinkJob` CRD as YAML (`make generate` writes it to `crds/`).

fn main() -> anyhow::Result<()> {
    print!("{}", flinkrs_operator::crd::crd_yaml()?);
    Ok(())
}
