#!/usr/bin/env bash
# The four Lambdas on this machine, under `cargo lambda watch`, against the ServiceTitan sandbox
# and a moto server (DynamoDB, SQS, Secrets Manager). README "Local Lambda workflow".
#
#   scripts/lambda-local.sh setup       tools venv, moto + sandbox started, table/integrations/
#                                       secrets seeded, .stsync/lambda.env written, functions built
#   scripts/lambda-local.sh watch       cargo lambda watch in the foreground (Ctrl-C stops it)
#   scripts/lambda-local.sh start       cargo lambda watch in the background (log in .stsync/lambda/)
#   scripts/lambda-local.sh invoke-all  every function with each of its sample events; checks answers
#   scripts/lambda-local.sh stop        stops what setup/start started
#   scripts/lambda-local.sh all         setup, start, invoke-all, stop: the whole check, unattended
#   scripts/lambda-local.sh build       Lambda bootstraps ([profile.lambda-release], arm64; ARCH=x86_64
#                                       fallback), their sizes checked against 8 MB
#
# Environment: LAMBDA_PORT (cargo lambda watch, default 9000), MOTO_PORT and SANDBOX_PORT (default:
# free loopback ports); for `build`: ARCH=x86_64 (no arm64 cross-compile), NO_ZIG=1 (no zig).
# Everything it starts is recorded in .stsync/lambda/*.pid and stopped by `stop`, by process group.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv-tools
MOTO_VERSION=5.2.5
CARGO_LAMBDA_VERSION=1.9.2
ZIGLANG_VERSION=0.17.1
STATE=.stsync/lambda
ENV_FILE=.stsync/lambda.env
TABLE=servicetitan-sync-local
LAMBDA_PORT=${LAMBDA_PORT:-9000}
FUNCTIONS=(poll-jobs poll-memberships call-webhook note-pusher)
TARGET_DIR=${CARGO_TARGET_DIR:-target}
STSYNC="$TARGET_DIR/debug/stsync"
export PATH="$PWD/$VENV/bin:$PATH"

step() { printf '\n== %s\n' "$*"; }
die() { echo "error: $*" >&2; exit 1; }

tools() {
  step "tools venv ($VENV): moto, cargo-lambda, ziglang"
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV" || die "python3 -m venv failed (Debian/Ubuntu: apt-get install python3-venv)"
  fi
  local want=()
  [ -x "$VENV/bin/moto_server" ] || want+=("moto[server]==$MOTO_VERSION")
  [ -x "$VENV/bin/cargo-lambda" ] || want+=("cargo-lambda==$CARGO_LAMBDA_VERSION")
  "$VENV/bin/python" -c 'import ziglang' 2>/dev/null || want+=("ziglang==$ZIGLANG_VERSION")
  if [ ${#want[@]} -gt 0 ]; then
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "${want[@]}"
  fi
  cargo lambda --version
}

free_port() {
  "$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL SECONDS [PIDFILE]: until URL answers (any HTTP status) or the process is gone.
wait_http() {
  "$VENV/bin/python" - "$1" "$2" "${3:-}" <<'PY'
import os, sys, time, urllib.request, urllib.error
url, limit, pidfile = sys.argv[1], float(sys.argv[2]), sys.argv[3]
end = time.time() + limit
while time.time() < end:
    try:
        urllib.request.urlopen(url, timeout=2)
        sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)
    except Exception:
        pass
    if pidfile:
        try:
            os.kill(int(open(pidfile).read()), 0)
        except Exception:
            sys.exit(f"the process of {pidfile} exited")
    time.sleep(0.2)
sys.exit(f"{url} did not answer within {limit:.0f} s")
PY
}

# start_bg NAME CMD...: run CMD in its own process group, output in $STATE/NAME.log.
start_bg() {
  local name=$1; shift
  setsid "$@" >"$STATE/$name.log" 2>&1 < /dev/null &
  echo $! >"$STATE/$name.pid"
}

stop_one() {
  local file="$STATE/$1.pid"
  [ -f "$file" ] || return 0
  local pid; pid=$(cat "$file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    echo "stopped $1 (pid $pid)"
  fi
  rm -f "$file"
}

stop() {
  step "stop"
  for name in watch sandbox moto; do stop_one "$name"; done
}

setup() {
  tools
  mkdir -p "$STATE"
  for name in watch sandbox moto; do stop_one "$name"; done

  step "build stsync (debug)"
  cargo build -p stsync

  step "moto server (DynamoDB, SQS, Secrets Manager)"
  local moto_port=${MOTO_PORT:-$(free_port)}
  start_bg moto "$VENV/bin/moto_server" -H 127.0.0.1 -p "$moto_port"
  wait_http "http://127.0.0.1:$moto_port/moto-api/" 30 "$STATE/moto.pid"
  echo "moto on http://127.0.0.1:$moto_port (log $STATE/moto.log)"

  step "seed: sandbox records, table, integrations, secrets, $ENV_FILE"
  local sandbox_port=${SANDBOX_PORT:-$(free_port)}
  AWS_ENDPOINT_URL="http://127.0.0.1:$moto_port" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test TABLE_NAME="$TABLE" \
    "$STSYNC" lambda-seed --sandbox-url "http://127.0.0.1:$sandbox_port" \
      --fixture-out "$STATE/fixture.json" --env-out "$ENV_FILE"

  step "ServiceTitan sandbox"
  start_bg sandbox "$STSYNC" sandbox --listen "127.0.0.1:$sandbox_port" --fixture "$STATE/fixture.json"
  wait_http "http://127.0.0.1:$sandbox_port/__admin/health" 60 "$STATE/sandbox.pid"
  echo "sandbox on http://127.0.0.1:$sandbox_port (log $STATE/sandbox.log)"

  step "build the functions (debug, as \`cargo lambda watch\` runs them: cargo run --bin <function>)"
  for fn in "${FUNCTIONS[@]}"; do cargo build --bin "$fn"; done

  cat <<EOF

Ready. The functions' environment is $ENV_FILE. Next:
  scripts/lambda-local.sh watch          # or: cargo lambda watch -A 127.0.0.1 -P $LAMBDA_PORT --env-file $ENV_FILE
  scripts/lambda-local.sh invoke-all     # in another shell; or one at a time:
  cargo lambda invoke poll-jobs --invoke-address 127.0.0.1 --invoke-port $LAMBDA_PORT --data-file events/poll-jobs.schedule.json
EOF
}

watch_cmd() {
  [ -f "$ENV_FILE" ] || die "$ENV_FILE is missing: run scripts/lambda-local.sh setup first"
  echo cargo lambda watch -A 127.0.0.1 -P "$LAMBDA_PORT" --env-file "$ENV_FILE"
}

watch() {
  # shellcheck disable=SC2046
  exec $(watch_cmd)
}

start() {
  mkdir -p "$STATE"
  stop_one watch
  step "cargo lambda watch on 127.0.0.1:$LAMBDA_PORT (log $STATE/watch.log)"
  # shellcheck disable=SC2046
  start_bg watch $(watch_cmd)
  wait_http "http://127.0.0.1:$LAMBDA_PORT/" 120 "$STATE/watch.pid"
  echo "serving ${FUNCTIONS[*]}"
}

# check FUNCTION CASE EXPECTATION: invoke with events/FUNCTION.CASE.json and check the answer.
check() {
  local fn=$1 case=$2 expect=$3 out
  local file="events/$fn.$case.json"
  if ! out=$(cargo lambda invoke "$fn" --invoke-address 127.0.0.1 --invoke-port "$LAMBDA_PORT" \
      --data-file "$file" --output-format json 2>&1); then
    echo "FAIL $file: $out"
    return 1
  fi
  "$VENV/bin/python" - "$file" "$expect" "$out" <<'PY'
import json, sys
file, expect, text = sys.argv[1:4]
answer = json.loads(text)
kind, _, want = expect.partition(":")
ok, shown = False, text
if kind == "poll":
    # A RunSummary: every integration of the model synced to the end of its feeds, none failed.
    reports = [o.get("report") or {} for o in answer.get("outcomes", [])]
    ok = (answer.get("failed") == 0 and answer.get("integrations", 0) >= int(want)
          and all(r.get("caughtUp") for r in reports))
    shown = json.dumps({k: answer.get(k) for k in ("integrations", "succeeded", "failed")}
                       | {"read": [r.get("recordsRead") for r in reports],
                          "written": [r.get("opportunitiesWritten") for r in reports],
                          "caughtUp": [r.get("caughtUp") for r in reports]})
elif kind == "http":
    # An API Gateway answer: "STATUS CODE[|CODE...]" (status or error of the body).
    status, _, codes = want.partition(" ")
    body = json.loads(answer.get("body") or "{}")
    got = body.get("status") or body.get("error")
    ok = str(answer.get("statusCode")) == status and got in codes.split("|")
    shown = f'{answer.get("statusCode")} {got}'
elif kind == "sqs":
    # An SQS batch response: no batch item failures.
    ok = answer.get("batchItemFailures") == []
    shown = json.dumps(answer)
print(("ok  " if ok else "FAIL") + f" {file:<45} {shown}")
sys.exit(0 if ok else 1)
PY
}

invoke_all() {
  [ -f "$ENV_FILE" ] || die "$ENV_FILE is missing: run scripts/lambda-local.sh setup first"
  local sandbox_url failures=0
  sandbox_url=$(sed -n 's/^ST_API_BASE_URL=//p' "$ENV_FILE")
  step "invoke each function with its sample events (127.0.0.1:$LAMBDA_PORT)"
  # Polls first: the job sync stores job 61234567, the record the sample campaign text names.
  check poll-jobs schedule poll:2 || failures=$((failures + 1))
  check poll-jobs scheduled-event poll:2 || failures=$((failures + 1))
  check poll-memberships schedule poll:1 || failures=$((failures + 1))
  check poll-memberships scheduled-event poll:1 || failures=$((failures + 1))
  # Continuation messages (SQS) for acme-hvac: that integration alone, whatever its shard.
  check poll-jobs continue poll:1 || failures=$((failures + 1))
  check poll-memberships continue poll:1 || failures=$((failures + 1))
  check call-webhook valid "http:200 created|duplicate" || failures=$((failures + 1))
  check call-webhook duplicate "http:200 duplicate" || failures=$((failures + 1))
  check call-webhook bad-signature "http:401 bad_signature" || failures=$((failures + 1))
  check call-webhook outbound "http:200 ignored" || failures=$((failures + 1))
  check call-webhook malformed "http:400 malformed" || failures=$((failures + 1))
  check note-pusher campaign-sms sqs || failures=$((failures + 1))
  check note-pusher batch sqs || failures=$((failures + 1))
  check note-pusher no-record sqs || failures=$((failures + 1))
  check note-pusher malformed sqs || failures=$((failures + 1))

  step "the sandbox received the sample campaign text as a note on job 61234567"
  if curl -sf "$sandbox_url/__admin/notes?kind=job&id=61234567" | grep -q 'evt-01HZX3K8S1'; then
    echo "ok   note with marker evt-01HZX3K8S1 on job 61234567"
  else
    echo "FAIL no note on job 61234567 carries evt-01HZX3K8S1"; failures=$((failures + 1))
  fi

  if [ -f "$STATE/watch.log" ]; then
    step "logs and metrics in $STATE/watch.log"
    local log="$STATE/watch.log"
    echo "EMF lines: $(grep -c '"_aws"' "$log" || true); JSON log lines with a request id: $(grep -c '"requestId"' "$log" || true)"
    # Values the functions handled that must never be logged: the sandbox's client secret and app
    # key, the test signing key, bearer tokens, the sample caller's e-mail and phone, message text.
    local leaks=0
    for needle in cs1.sandbox ak1.sandbox stsync-test-signing-key 'Bearer ' avery.testwell 2175550142 \
        '555-0142' 'yearly tune-up' 'service heat pumps'; do
      if grep -qiF -- "$needle" "$log"; then echo "FAIL the log contains \`$needle\`"; leaks=$((leaks + 1)); fi
    done
    [ "$leaks" -eq 0 ] && echo "ok   no secret, token, e-mail, phone or message content in the log"
    failures=$((failures + leaks))
  else
    echo "note: log scan skipped: no $STATE/watch.log (a foreground \`watch\` logs to its terminal;"
    echo "      \`scripts/lambda-local.sh start\` runs it in the background with that log)"
  fi
  echo
  if [ "$failures" -eq 0 ]; then echo "invoke-all: every answer as expected"; else echo "invoke-all: $failures failed"; fi
  [ "$failures" -eq 0 ]
}

build() {
  tools
  # ARCH=x86_64: the fallback when the arm64 cross-compile is not possible here (no aarch64 std
  # from rustup); NO_ZIG=1: plain cargo (host target only, so x86_64 on this machine) without zig.
  local arch=${ARCH:-arm64} flag=--arm64 triple=aarch64-unknown-linux-gnu compiler=()
  if [ "$arch" = x86_64 ]; then flag=--x86-64; triple=x86_64-unknown-linux-gnu; fi
  if [ -n "${NO_ZIG:-}" ]; then compiler=(--compiler cargo); fi
  # [profile.lambda-release] and the features of [workspace.metadata.lambda.build] (Cargo.toml);
  # arm64 codegen flags (non-PIE) in .cargo/config.toml. README "Deploying".
  step "cargo lambda build --profile lambda-release $flag ${compiler[*]} (zig from $VENV)"
  local started=$SECONDS
  cargo lambda build --profile lambda-release --locked "$flag" "${compiler[@]}" "${FUNCTIONS[@]/#/--package=}"
  echo "built in $((SECONDS - started)) s"
  step "bootstraps ($TARGET_DIR/lambda/<function>/bootstrap; limit 8 MB = 8 000 000 bytes)"
  "$VENV/bin/python" - "$TARGET_DIR/lambda" "$triple" "${FUNCTIONS[@]}" <<'PY'
import sys
root, triple, names = sys.argv[1], sys.argv[2], sys.argv[3:]
machines = {0x3E: "x86_64", 0xB7: "aarch64"}
over = 0
for name in names:
    data = open(f"{root}/{name}/bootstrap", "rb").read()
    machine = machines.get(int.from_bytes(data[18:20], "little"), "?") if data[:4] == b"\x7fELF" else "not ELF"
    kind = {2: "non-PIE", 3: "PIE"}.get(int.from_bytes(data[16:18], "little"), "?")
    print(f"{name:<18} {len(data):>9} bytes  {len(data) / 2**20:5.2f} MiB  {machine} {kind}")
    over += len(data) > 8_000_000
print(f"(built for {triple})")
sys.exit(f"{over} bootstrap(s) over 8 MB (8 000 000 bytes)" if over else 0)
PY
}

case "${1:-}" in
  setup) setup ;;
  watch) watch ;;
  start) start ;;
  invoke-all) invoke_all ;;
  stop) stop ;;
  all)
    setup
    trap stop EXIT
    start
    invoke_all
    ;;
  build) build ;;
  *)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
    ;;
esac
