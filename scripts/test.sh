#!/usr/bin/env bash
# The one test command (README, .ci/run): installs and starts what the tests need, then runs
# every check and test of the workspace.
#   - a Python venv (.venv-tools) with moto (DynamoDB, SQS, Secrets Manager wire protocol) and
#     cfn-lint, from PyPI;
#   - a moto server on a free loopback port, reached through AWS_ENDPOINT_URL exactly as the
#     real SDK clients are configured in production (no test-only code paths);
#   - cfn-lint on infra/template.yaml, cargo fmt --check, cargo clippy -D warnings, cargo test.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-tools
MOTO_VERSION=5.2.5
CFN_LINT_VERSION=1.58.0

step() { printf '\n== %s\n' "$*"; }

step "tools venv ($VENV)"
if [ ! -x "$VENV/bin/moto_server" ] || [ ! -x "$VENV/bin/cfn-lint" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "moto[server]==$MOTO_VERSION" "cfn-lint==$CFN_LINT_VERSION"
fi
"$VENV/bin/moto_server" --help >/dev/null

# The reference folder beside the repository (../shared: OpenAPI specs and sample bodies). Tests
# that check the sandbox and the wire types against it print "skipped: …" and pass without it.
if [ ! -d ../shared/servicetitan/openapi ] && [ -z "${ST_OPENAPI_DIR:-}" ]; then
  echo "warning: ../shared/servicetitan/openapi not found and ST_OPENAPI_DIR unset:" \
    "the OpenAPI conformance and sample tests will be skipped" >&2
fi

step "cfn-lint infra/template.yaml"
"$VENV/bin/cfn-lint" --non-zero-exit-code error -- infra/template.yaml
echo "cfn-lint: no errors"

step "moto server"
PORT=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
LOG=$(mktemp -t moto.XXXXXX.log)
"$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$LOG" 2>&1 &
MOTO_PID=$!
trap 'kill "$MOTO_PID" 2>/dev/null || true; rm -f "$LOG"' EXIT
"$VENV/bin/python" - "$PORT" <<'PY'
import sys, time, urllib.request
url = f"http://127.0.0.1:{sys.argv[1]}/moto-api/"
for _ in range(200):
    try:
        urllib.request.urlopen(url, timeout=1)
        print("moto ready at", url)
        sys.exit(0)
    except Exception:
        time.sleep(0.1)
sys.exit("moto server did not start")
PY
export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT"
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
# The moto runs of the store and end-to-end suites must not skip themselves here.
export STSYNC_REQUIRE_MOTO=1
# No incremental compilation: a one-off build gains nothing from it, and its cache is several
# GB of the target directory (CI's disk is shared; a full disk failed a CI run).
export CARGO_INCREMENTAL=0

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
OUT=$(mktemp -t cargo-test.XXXXXX.log)
set +e
cargo test --workspace --locked 2>&1 | tee "$OUT"
STATUS=${PIPESTATUS[0]}
set -e
# One closing line for the whole run (cargo's own last line is that of the last doc-test crate).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "\nworkspace: %d passed, %d failed, %d skipped\n", p, f, s }' "$OUT"
rm -f "$OUT"
exit "$STATUS"
