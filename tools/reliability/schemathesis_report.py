#!/usr/bin/env python3
"""Summarises a schemathesis 4.x NDJSON report (see schemathesis.sh):
requests tried, operations covered, 5xx answers, schema violations, and one
reproduction per distinct failure (operation, check, status) with the
server's answer and the server log lines of that request.

Exit 0 when there is no 5xx and no violation and the server stayed up."""

from __future__ import annotations

import argparse
import base64
import glob
import json
import re
import sys
from collections import Counter, defaultdict

sys.path.insert(0, __import__("os").path.dirname(__file__))
import relcommon as rc  # noqa: E402

VIOLATION_CHECKS = {"status_code_conformance", "content_type_conformance", "response_schema_conformance", "response_headers_conformance"}


def decode(content):
    if not content:
        return ""
    if "$base64" in content:
        return base64.b64decode(content["$base64"]).decode("utf-8", "replace")
    return content.get("string", "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--report-dir", required=True)
    ap.add_argument("--extra-ndjson", nargs="*", default=[], help="more NDJSON reports to count in")
    ap.add_argument("--server-log", default=None)
    ap.add_argument("--st-exit", default="?")
    ap.add_argument("--server-alive", default="?")
    ap.add_argument("--seconds", default="?")
    a = ap.parse_args()
    nd = sorted(glob.glob(f"{a.report_dir}/ndjson-*.ndjson"))[-1]
    js = sorted(glob.glob(f"{a.report_dir}/json-*.json"))
    summary = json.load(open(js[-1])) if js else {}

    requests_ = 0
    statuses = Counter()
    by_op = defaultdict(Counter)
    fives = []
    failures = {}  # (op, check/type, status) -> example
    fail_counts = Counter()
    authed_401 = 0
    lines = (l for f in [nd, *a.extra_ndjson] for l in open(f))
    for line in lines:
        ev = json.loads(line)
        if "ScenarioFinished" not in ev:
            continue
        rec = ev["ScenarioFinished"]["recorder"]
        label = rec["label"]
        inter = rec.get("interactions", {})
        cases = rec.get("cases", {})
        for cid, it in inter.items():
            resp = it.get("response")
            requests_ += 1
            st = resp["status_code"] if resp else "no response"
            statuses[st] += 1
            by_op[label][st] += 1
            if st == 401 and "Authorization" in (it.get("request", {}).get("headers") or {}):
                authed_401 += 1
            if isinstance(st, int) and st >= 500:
                fives.append((label, cid))
        for cid, checks in rec.get("checks", {}).items():
            for c in checks:
                if c["status"] != "failure":
                    continue
                fi = c.get("failure_info", {}).get("failure", {})
                it = inter.get(cid, {})
                resp = it.get("response") or {}
                st = resp.get("status_code")
                key = (fi.get("operation", label), c["name"], fi.get("title"), st)
                fail_counts[key] += 1
                if key not in failures:
                    case = cases.get(cid, {}).get("value", {})
                    req = it.get("request", {})
                    failures[key] = {
                        "operation": fi.get("operation", label),
                        "check": c["name"],
                        "title": fi.get("title"),
                        "message": (fi.get("message") or "")[:600],
                        "method": req.get("method") or case.get("method"),
                        "uri": req.get("uri"),
                        "request_headers": {k: v for k, v in (req.get("headers") or {}).items() if k.lower() in ("content-type",)},
                        "request_body": decode(req.get("body"))[:600] if isinstance(req.get("body"), dict) else (str(req.get("body"))[:600] if req.get("body") else None),
                        "case_body": case.get("body"),
                        "case_query": case.get("query"),
                        "case_path_parameters": case.get("path_parameters"),
                        "media_type": case.get("media_type"),
                        "status": st,
                        "response": decode(resp.get("content"))[:600],
                        "response_headers": {k: v for k, v in (resp.get("headers") or {}).items() if k.lower() in ("content-type", "retry-after")},
                        "phase": ev["ScenarioFinished"].get("phase"),
                    }

    # "Stateful tests" is schemathesis's label for its stateful phase (any
    # operation), not an operation of the document.
    ops = {op: c for op, c in by_op.items() if op != "Stateful tests"}
    ops_total = summary.get("operations", {}).get("total", len(ops))
    ops_tested = len(ops)
    ops_2xx = sorted(op for op, c in ops.items() if any(isinstance(s, int) and 200 <= s < 300 for s in c))
    ops_no2xx = sorted(op for op in ops if op not in ops_2xx)
    five_n = sum(n for s, n in statuses.items() if isinstance(s, int) and s >= 500)
    viol = {k: n for k, n in fail_counts.items() if k[1] in VIOLATION_CHECKS}
    server_err = {k: n for k, n in fail_counts.items() if k[1] == "not_a_server_error"}

    # Server log lines at error/warn level.
    log_lines = []
    if a.server_log:
        for line in open(a.server_log, errors="replace"):
            if re.search(r"\b(ERROR|WARN)\b|panick", line):
                log_lines.append(line.rstrip())

    rows = [
        ("requests tried", requests_, ""),
        ("test cases generated (schemathesis)", summary.get("test_cases", {}).get("generated", "?"), ""),
        ("operations tested (both runs) / in the document", f"{ops_tested} / {ops_total}", "all"),
        ("operations with at least one 2xx", f"{len(ops_2xx)} / {ops_total}", ""),
        ("401 answers to requests that sent the key", authed_401, "0 (else the run lost its key)"),
        ("5xx answers", five_n, "0"),
        ("distinct 5xx failures", len(server_err), "0"),
        ("schema violations (answers)", sum(viol.values()), "0"),
        ("distinct schema violations", len(viol), "0"),
        ("status codes seen", dict(sorted(statuses.items(), key=lambda x: str(x[0]))), ""),
        ("schemathesis's own errors (client side, not answers)", "; ".join(f"{e.get('title', '?')} x{e.get('count', 1)}" for e in summary.get("errors", [])) or 0, "reported"),
        ("server ERROR/WARN log lines", len(log_lines), ""),
        ("server alive at the end", a.server_alive, "yes"),
        ("st exit / run time s", f"{a.st_exit} / {a.seconds}", ""),
    ]
    print()
    print(rc.table(rows, ("figure", "value", "target")))
    if ops_no2xx:
        print("\noperations never answered 2xx:", ", ".join(ops_no2xx))
    print("\nper-operation status codes:")
    for op in sorted(by_op):
        print(f"  {op}: {dict(sorted(by_op[op].items(), key=lambda x: str(x[0])))}")
    if failures:
        print(f"\n{len(failures)} distinct failures (operation | check | status | count):")
        for key, ex in sorted(failures.items(), key=lambda kv: (kv[0][1] != "not_a_server_error", kv[0][0])):
            print(f"\n- {key[0]} | {key[1]} ({key[2]}) | {key[3]} | x{fail_counts[key]}")
            print(f"  repro: {ex['method']} {ex['uri']} content-type={ex['request_headers'].get('Content-Type') or ex['media_type']} body={json.dumps(ex['case_body'], default=str)[:400] if ex['case_body'] is not None else ex['request_body']}")
            print(f"  answer: {ex['status']} {ex['response'][:400]}")
            print(f"  schemathesis: {ex['message'][:400]}")
    if log_lines:
        print("\nserver log (ERROR/WARN):")
        for l in log_lines[:40]:
            print("  " + l[:400])
    json.dump({"rows": rows, "failures": [dict(ex, count=fail_counts[k]) for k, ex in failures.items()], "by_op": {k: dict(v) for k, v in by_op.items()}, "log": log_lines},
              open(f"{a.report_dir}/summary.json", "w"), indent=2, default=str)
    ok = five_n == 0 and not viol and not server_err and a.server_alive == "yes" and authed_401 == 0
    print(f"\nschemathesis: {'PASS' if ok else 'FAIL'} (summary in {a.report_dir}/summary.json)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
