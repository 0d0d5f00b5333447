#!/usr/bin/env bash
# schemathesis.sh: property-based tests of every operation of the real
# `avreg serve` against its own OpenAPI document (GET /v1/openapi.json).
#
#   tools/reliability/schemathesis.sh [--quick] [--max-time S] [-- extra `st run` options]
#
# Starts a server on a fresh store with the rate limits off
# (AVREG_SERVER__RATE_PER_S=0, AVREG_SERVER__ANONYMOUS_RATE_PER_S=0), runs
# `st run` with the first admin key as bearer auth, all phases (examples,
# coverage, fuzzing, stateful) and the checks not_a_server_error,
# status_code_conformance, content_type_conformance and
# response_schema_conformance, for --max-time seconds (600; --quick: 90),
# stops the server, then schemathesis_report.py summarises the NDJSON
# report (requests, operations covered, 5xx, schema violations, one
# reproduction per distinct failure with the server's answer and its log
# lines). Exit status: that of schemathesis_report.py (0 when 0 5xx and 0
# violations).
#
# Needs: pip install schemathesis (4.x; `st` on PATH). AVREG_BIN picks the
# binary (default /work/rel-target/release/avreg), AVREG_ST_WORK the
# scratch folder (default /work/rel-data/schemathesis, wiped).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="${AVREG_BIN:-/work/rel-target/release/avreg}"
work="${AVREG_ST_WORK:-/work/rel-data/schemathesis}"
max_time=600
workers=2
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) max_time=90; shift ;;
    --max-time) max_time="$2"; shift 2 ;;
    --workers) workers="$2"; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "schemathesis.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
# pip puts `st` in the interpreter's scripts folder, not on PATH under pyenv
# until a rehash.
PATH="$PATH:$(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null || true)"
command -v st >/dev/null || { echo "schemathesis.sh: pip install schemathesis" >&2; exit 2; }
rm -rf "$work"
mkdir -p "$work"
AVREG_SERVER__RATE_PER_S=0 AVREG_SERVER__ANONYMOUS_RATE_PER_S=0 \
  "$bin" --data "$work/data" -v serve --listen 127.0.0.1:0 >"$work/serve.stdout" 2>"$work/serve.stderr" &
pid=$!
stop() { if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi; }
trap stop EXIT
url=""
for _ in $(seq 1 600); do
  url="$(grep -o 'http://[0-9.:]*' "$work/serve.stdout" || true)"
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "server exited at start"; cat "$work/serve.stderr"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "server did not print its address"; exit 1; }
key="$(cat "$work/data/first-admin-key")"
echo "schemathesis: server pid $pid at $url; max time ${max_time}s; $(st --version)"
start=$(date +%s)
cd "$work"   # schemathesis keeps .hypothesis/ and .schemathesis/ in the working directory
checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
set +e
# Run 1: every operation but key revocation (DELETE /v1/keys/{id} revokes
# the very admin key the run authenticates with, as soon as GET /v1/keys
# has shown its id; every later request would get 401).
st run "$url/v1/openapi.json" \
  -H "Authorization: Bearer $key" \
  --checks "$checks" --phases examples,coverage,fuzzing,stateful \
  --exclude-name 'DELETE /v1/keys/{id}' --continue-on-failure \
  --max-time "$max_time" --workers "$workers" --request-timeout 60 \
  --report ndjson,json,junit --report-dir "$work/report" \
  --no-color ${extra[@]+"${extra[@]}"} >"$work/st.log" 2>&1
st_rc=$?
# Run 2: key revocation alone, with an admin key of its own.
key2="$(curl -sf -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"role":"admin","label":"schemathesis revocation run"}' "$url/v1/keys" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["secret"])')"
st run "$url/v1/openapi.json" \
  -H "Authorization: Bearer $key2" \
  --checks "$checks" --phases examples,coverage,fuzzing \
  --include-name 'DELETE /v1/keys/{id}' \
  --max-time 30 --workers 1 --request-timeout 60 \
  --report ndjson --report-dir "$work/report-revoke" \
  --no-color ${extra[@]+"${extra[@]}"} >"$work/st-revoke.log" 2>&1
st_rc2=$?
set -e
end=$(date +%s)
alive=yes
kill -0 "$pid" 2>/dev/null || alive=no
stop
trap - EXIT
tail -40 "$work/st.log"
echo "st exit $st_rc (revocation run: $st_rc2) after $((end - start))s; server alive at the end: $alive"
python3 "$here/schemathesis_report.py" --report-dir "$work/report" --extra-ndjson "$work"/report-revoke/ndjson-*.ndjson \
  --server-log "$work/serve.stderr" --st-exit "$st_rc/$st_rc2" --server-alive "$alive" --seconds "$((end - start))"
