# Shared paths for the project's scripts; sourced, never run.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
VENV="$TOOLS/venv"
BIN="$TOOLS/bin"
export PATH="$BIN:$VENV/bin:$PATH"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
# Go builds need no network beyond the module proxy; keep its caches out of the tree.
export CGO_ENABLED=1
# Pulumi's SDK must never try to reach a backend or send usage data from here.
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
# moto and boto3 read credentials from the environment; these fake ones keep
# boto3 from looking up the instance metadata address.
export AWS_EC2_METADATA_DISABLED=true
