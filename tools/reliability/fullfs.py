#!/usr/bin/env python3
"""fullfs: `avreg serve` with its data dir on a small filesystem that fills up.

Run through fullfs.sh (which makes and mounts the filesystem, as root), or
directly with --mount on any small mounted filesystem.

Phases:
  fill     a filler file leaves --headroom MiB; then registrations (upload)
           and ledger batches until the writes fail (or the disk is full);
  full     a second filler takes every byte left (f_bavail == 0); then each
           kind of write is tried (registration upload, registration by
           fingerprint JSON, ledger batch, single create, amend, key
           creation, media attached to a fixation) and each read (listing,
           GET by id, lookup by upload and by fingerprint, audit verify,
           /health, /ready): status, error body, time. Target: writes refused
           with a clear 507 or 503 (a 500, a hang past --timeout s or a
           crash is a finding); reads keep working.
  freed    the fillers are deleted; the same writes again without a restart
           (target: they succeed).
  restart  SIGTERM (exit code), start again on the same data: every
           acknowledged write present and whole, lookups of every
           acknowledged recording find it, GET /v1/audit/verify ok; then
           stopped, offline `avreg audit verify` (exit 0) and `avreg list
           --json` (every acknowledged recording).

Exit status 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import requests

import relcommon as rc


def free_bytes(path: Path) -> int:
    s = os.statvfs(path)
    return s.f_bavail * s.f_frsize


def fill(path: Path, leave: int) -> int:
    """Writes `path` until the filesystem has `leave` bytes free (or none);
    returns the bytes written."""
    n = 0
    chunk = b"\0" * (1 << 20)
    with open(path, "ab") as f:
        while True:
            free = free_bytes(path.parent)
            want = free - leave
            if want <= 0:
                break
            try:
                f.write(chunk[: min(len(chunk), want)] if want < len(chunk) else chunk)
                f.flush()
                os.fsync(f.fileno())
                n += min(len(chunk), want)
            except OSError:
                break
    return n


def fill_exactly(path: Path) -> int:
    """Writes until ENOSPC, down to single bytes."""
    n = 0
    with open(path, "ab", buffering=0) as f:
        for size in (1 << 20, 1 << 16, 4096, 512, 1):
            buf = b"\0" * size
            while True:
                try:
                    w = f.write(buf)
                    if not w:
                        break
                    n += w
                except OSError:
                    break
        try:
            os.fsync(f.fileno())
        except OSError:
            pass
    return n


class Run:
    def __init__(self, a):
        self.a = a
        self.mount = Path(a.mount)
        self.data = self.mount / "data"
        self.logs = Path(a.logs)
        self.logs.mkdir(parents=True, exist_ok=True)
        env = dict(rc.NO_LIMITS)
        if a.min_free_mb is not None:
            env["AVREG_STORE__MIN_FREE_MB"] = str(a.min_free_mb)
        for kv in a.env:
            k, v = kv.split("=", 1)
            env[k] = v
        self.srv = rc.Server(data=self.data, binary=a.bin, env=env, log_dir=self.logs)
        self.entities = {}  # (kind, id) -> state
        self.recordings = {}  # id -> {seed, content_hash, title}
        self.findings = []
        self.probes = []  # (phase, what, status, code, message, seconds)
        self.seed = 1_000_000
        self.fp_cache = {}
        self.lookup_upload = {}

    # ---- plumbing

    def api(self, key=None):
        return rc.Api(self.srv.url, key or self.admin, timeout=self.a.timeout)

    def try_(self, phase, what, fn):
        t0 = time.monotonic()
        try:
            r = fn()
            dt = time.monotonic() - t0
            b = rc.body_of(r)
            err = (b.get("error") or {}) if isinstance(b, dict) else {}
            code = err.get("code") if isinstance(err, dict) else None
            msg = (err.get("message") if isinstance(err, dict) else str(err)) if err else (None if isinstance(b, dict) else str(b)[:200])
            self.probes.append((phase, what, r.status_code, code, msg, round(dt, 3)))
            if r.status_code >= 500 and r.status_code not in (503, 507):
                self.findings.append({"phase": phase, "what": what, "status": r.status_code, "answer": b})
            return r
        except requests.Timeout:
            dt = time.monotonic() - t0
            self.probes.append((phase, what, "TIMEOUT", None, f"no answer in {self.a.timeout}s", round(dt, 3)))
            self.findings.append({"phase": phase, "what": what, "status": "hang", "seconds": dt})
        except requests.RequestException as e:
            dt = time.monotonic() - t0
            alive = self.srv.alive()
            self.probes.append((phase, what, "CONN", None, f"{type(e).__name__}; server alive={alive}", round(dt, 3)))
            if not alive:
                self.findings.append({"phase": phase, "what": what, "status": "crash", "exit": self.srv.proc.returncode, "log": self.srv.log_tail(40)})
        return None

    def next_seed(self):
        self.seed += 1
        return self.seed

    # ---- writes (each records what it was told)

    def w_register(self, phase):
        seed = self.next_seed()
        title = f"full seed={seed}"
        media = rc.synth().recording(seed, self.a.secs)
        r = self.try_(phase, "POST /v1/recordings (upload)", lambda: self.api().upload("/v1/recordings", media, name=f"f{seed}.wav", fields={"title": title}))
        if r is not None and r.status_code in (200, 201):
            rec = r.json()["recording"]
            self.recordings[rec["id"]] = {"seed": seed, "content_hash": rec["content_hash"], "title": title}
            return True
        return False

    def fingerprint_json(self, seed):
        """`avreg fingerprint --for register --json` of a recording (made
        in the logs folder, off the full filesystem)."""
        p = self.logs / f"fp-{seed}.wav"
        p.write_bytes(rc.synth().recording(seed, self.a.secs))
        out = subprocess.run([self.a.bin, "fingerprint", str(p), "--for", "register", "--json"], capture_output=True, text=True)
        p.unlink()
        if out.returncode != 0:
            raise RuntimeError(out.stderr)
        return json.loads(out.stdout)

    def w_register_fp(self, phase):
        seed = self.next_seed()
        title = f"full fp seed={seed}"
        fp = self.fingerprint_json(seed)
        r = self.try_(phase, "POST /v1/recordings (fingerprint JSON)", lambda: self.api().post("/v1/recordings", {"title": title, "fingerprint": fp}))
        if r is not None and r.status_code in (200, 201):
            rec = r.json()["recording"]
            self.recordings[rec["id"]] = {"seed": seed, "content_hash": rec["content_hash"], "title": title}
            return True
        return False

    def w_batch(self, phase, n=4):
        changes, ents = [], []
        for _ in range(n):
            pid, fid, cid, hid = rc.new_id(), rc.new_id(), rc.new_id(), rc.new_id()
            es = [
                ("performer", pid, rc.performer(pid, f"Full {pid[:8]} " + "x" * 200)),
                ("fixation", fid, rc.fixation(fid, self.org, f"Full F {fid[:8]}")),
                ("credit", cid, rc.credit(cid, fid, pid)),
                ("holding", hid, rc.holding(hid, fid, {"kind": "organisation", "id": self.org}, 100000)),
            ]
            ents += es
            changes += [{"create": {"kind": k, "entity": e}} for k, _, e in es]
        r = self.try_(phase, "POST /v1/ledger (batch)", lambda: self.api(self.pkey).post("/v1/ledger", {"version": 1, "changes": changes}))
        if r is not None and r.status_code == 200:
            for k, i, e in ents:
                self.entities[(k, i)] = e
            return True
        return False

    def w_single(self, phase):
        pid = rc.new_id()
        e = rc.performer(pid, f"Single {pid[:8]}")
        r = self.try_(phase, "POST /v1/performers", lambda: self.api().post("/v1/performers", e))
        if r is not None and r.status_code == 201:
            self.entities[("performer", pid)] = e
            return True
        return False

    def w_amend(self, phase):
        perf = [i for (k, i) in self.entities if k == "performer"]
        if not perf:
            return False
        pid = perf[0]
        e = rc.performer(pid, f"Amended {time.time_ns()}")
        r = self.try_(phase, "PUT /v1/performers/{id}", lambda: self.api().put(f"/v1/performers/{pid}", e))
        if r is not None and r.status_code == 200:
            self.entities[("performer", pid)] = e
            return True
        return False

    def w_key(self, phase):
        r = self.try_(phase, "POST /v1/keys", lambda: self.api().post("/v1/keys", {"role": "platform", "label": "full"}))
        return r is not None and r.status_code == 201

    def w_attach(self, phase):
        fid = rc.new_id()
        e = rc.fixation(fid, self.org, f"Attach {fid[:8]}", duration_ms=int(self.a.secs * 1000))
        r = self.try_(phase, "POST /v1/fixations (for media)", lambda: self.api(self.pkey).post("/v1/fixations", e))
        if r is None or r.status_code != 201:
            return False
        self.entities[("fixation", fid)] = e
        seed = self.next_seed()
        title = f"full att seed={seed}"
        media = rc.synth().recording(seed, self.a.secs)
        r = self.try_(phase, "POST /v1/fixations/{id}/media", lambda: self.api(self.pkey).upload(f"/v1/fixations/{fid}/media", media, name=f"a{seed}.wav", fields={"title": title}))
        if r is not None and r.status_code in (200, 201):
            rec = r.json()["recording"]
            self.recordings[rec["id"]] = {"seed": seed, "content_hash": rec["content_hash"], "title": title}
            return True
        return False

    # ---- reads

    reopening_reads = 0

    def reads(self, phase):
        ok = True
        rid = next(iter(self.recordings), None)
        (k, eid) = next(iter(self.entities))
        checks = [
            ("GET /health", lambda: requests.get(self.srv.url + "/health", timeout=self.a.timeout), 200),
            ("GET /ready", lambda: requests.get(self.srv.url + "/ready", timeout=self.a.timeout), 200),
            ("GET /v1/recordings", lambda: self.api().get("/v1/recordings?limit=10"), 200),
            ("GET /v1/<kind>/{id}", lambda: self.api().get(rc.entity_path(k, eid)), 200),
            ("GET /v1/audit/verify", lambda: self.api().get("/v1/audit/verify"), 200),
        ]
        if rid:
            seed = self.recordings[rid]["seed"]
            checks.append(("GET /v1/recordings/{id}", lambda: self.api().get(f"/v1/recordings/{rid}"), 200))
            checks.append(("POST /v1/lookup (upload)", lambda: self.api().lookup(seed, self.a.secs), 200))
            fpq = self.lookup_fp(seed)
            checks.append(("POST /v1/lookup (fingerprint JSON)", lambda: self.api().post("/v1/lookup", fpq), 200))
        self.lookup_upload[phase] = None
        for what, fn, want in checks:
            r = self.try_(phase, what, fn)
            good = r is not None and r.status_code == want
            if what == "POST /v1/lookup (upload)":
                # Its upload is a temporary file on the data disk ([server]
                # temp_dir): a clear 507 is accepted while the disk is full,
                # and reported apart.
                self.lookup_upload[phase] = r.status_code if r is not None else "no answer"
                if r is not None and r.status_code == 507:
                    continue
            # Once sled itself met the full disk (another process took the
            # reserve's last bytes), the server stops the store and answers
            # 503 to everything but /health until space is freed and it has
            # reopened it: a clear answer, counted apart.
            if phase == "full" and not good and r is not None and r.status_code == 503:
                self.reopening_reads += 1
                continue
            if good and what.startswith("POST /v1/lookup"):
                m = r.json().get("matches", [])
                good = bool(m) and m[0]["recording"]["id"] == rid
                if not good:
                    self.probes.append((phase, what + " -> match", "MISS", None, str([x["recording"]["id"] for x in m]), 0))
            if good and what == "GET /v1/audit/verify":
                good = bool(r.json().get("ok"))
            ok &= good
        return ok

    def lookup_fp(self, seed):
        p = self.logs / f"q-{seed}.wav"
        p.write_bytes(rc.synth().excerpt(seed, self.a.secs))
        out = subprocess.run([self.a.bin, "fingerprint", str(p), "--json"], capture_output=True, text=True)
        p.unlink()
        return json.loads(out.stdout)

    def all_writes(self, phase, tries):
        res = Counter()
        for _ in range(tries):
            for name, fn in [
                ("register", self.w_register),
                ("register_fp", self.w_register_fp),
                ("batch", self.w_batch),
                ("single", self.w_single),
                ("amend", self.w_amend),
                ("key", self.w_key),
                ("attach", self.w_attach),
            ]:
                if not self.srv.alive():
                    return res
                res[name + (" ok" if fn(phase) else " refused")] += 1
        return res

    # ---- verification after the restart

    def verify_all(self):
        bad = []
        a = self.api()
        for (k, i), e in self.entities.items():
            r = a.get(rc.entity_path(k, i))
            got = r.json().get("revision", {}).get("entity", {}).get("entity") if r.status_code == 200 else None
            if r.status_code != 200 or not rc.contains(got, e):
                bad.append({"kind": k, "id": i, "status": r.status_code, "got": got, "written": e})
        listed = {}
        off = 0
        while True:
            page = a.get(f"/v1/recordings?offset={off}&limit=1000").json()
            listed.update({x["id"]: x for x in page["recordings"]})
            if page.get("next_offset") is None:
                break
            off = page["next_offset"]
        plat = rc.Api(self.srv.url, self.admin, timeout=self.a.timeout)
        misses = 0
        for rid, info in self.recordings.items():
            if rid not in listed or listed[rid]["content_hash"] != info["content_hash"]:
                bad.append({"recording": rid, "listed": listed.get(rid)})
                continue
            r = plat.lookup(info["seed"], self.a.secs)
            m = r.json().get("matches", []) if r.status_code == 200 else []
            if not m or m[0]["recording"]["id"] != rid:
                misses += 1
                bad.append({"recording": rid, "lookup": r.status_code, "matches": [x["recording"]["id"] for x in m]})
        v = a.get("/v1/audit/verify").json()
        return bad, misses, v


def main():
    R = None
    try:
        run(R_holder := [])
    finally:
        for R in R_holder:
            if R.srv.alive():
                R.srv.stop(timeout=30)


def run(R_holder):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=rc.DEFAULT_BIN)
    ap.add_argument("--mount", required=True, help="the small filesystem (its data/ is wiped)")
    ap.add_argument("--logs", default="/work/rel-data/fullfs-logs")
    ap.add_argument("--headroom", type=float, default=6.0, help="MiB above the reserve left free before filling by writes")
    ap.add_argument("--min-free-mb", type=int, default=None, help="AVREG_STORE__MIN_FREE_MB (the server's disk reserve; default: the server's default)")
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server's environment")
    ap.add_argument("--secs", type=float, default=8.0, help="seconds of each test recording")
    ap.add_argument("--max-fill-writes", type=int, default=2000)
    ap.add_argument("--tries", type=int, default=2, help="attempts of each write kind while full")
    ap.add_argument("--timeout", type=float, default=60.0, help="a request without an answer this long is a hang")
    ap.add_argument("--quick", action="store_true", help="headroom 2 MiB, one try each")
    ap.add_argument("--label", default="")
    a = ap.parse_args()
    if a.quick:
        a.headroom, a.tries = 2.0, 1
    t_start = time.monotonic()
    R = Run(a)
    R_holder.append(R)
    if R.data.exists():
        subprocess.run(["rm", "-rf", str(R.data)], check=True)
    for f in R.mount.glob("filler*"):
        f.unlink()
    rc.synth()
    total = os.statvfs(R.mount).f_blocks * os.statvfs(R.mount).f_frsize
    try:
        R.srv.start()
    except rc.StartFailure as ex:
        print(f"fullfs: the server does not start on the {total >> 20} MiB filesystem "
              f"(free {free_bytes(R.mount) >> 20} MiB, reserve {a.min_free_mb if a.min_free_mb is not None else 'default'}): {ex}\n{ex.log}")
        print("\nfullfs: FAIL")
        sys.exit(1)
    R.admin = R.srv.admin_key()
    adm = R.api()
    R.org = rc.new_id()
    e = rc.organisation(R.org, "Full Org")
    assert adm.post("/v1/organisations", e).status_code == 201
    R.entities[("organisation", R.org)] = e
    R.pkey = adm.new_key("producer", organisation=R.org)
    # A baseline of acknowledged data before the disk fills.
    for _ in range(3):
        R.w_register("baseline")
        R.w_batch("baseline")
    print(f"fullfs{(' ' + a.label) if a.label else ''}: {total >> 20} MiB filesystem at {R.mount}; free {free_bytes(R.mount) >> 20} MiB after baseline", flush=True)

    # fill: leave the headroom, then writes until they fail.
    filler1 = R.mount / "filler-1"
    fill(filler1, int((a.headroom + (a.min_free_mb or 0)) * (1 << 20)))
    print(f"filler-1: {filler1.stat().st_size >> 20} MiB; free {free_bytes(R.mount) >> 10} KiB", flush=True)
    fill_acked = Counter()
    consecutive = 0
    first_fail = None
    for n in range(a.max_fill_writes):
        if not R.srv.alive():
            break
        ok = R.w_register("fill") if n % 2 == 0 else R.w_batch("fill")
        fill_acked["register" if n % 2 == 0 else "batch"] += ok
        if ok:
            consecutive = 0
        else:
            consecutive += 1
            first_fail = first_fail or R.probes[-1]
            if consecutive >= 6:
                break
    print(f"fill by writes: acked {dict(fill_acked)}; free {free_bytes(R.mount) >> 10} KiB; first refusal {first_fail}", flush=True)

    # full: every byte left.
    filler2 = R.mount / "filler-2"
    fill_exactly(filler2)
    free_at_full = free_bytes(R.mount)
    print(f"filler-2: {filler2.stat().st_size} bytes; free now {free_at_full} bytes", flush=True)
    full_writes = R.all_writes("full", a.tries)
    reads_full = R.reads("full") if R.srv.alive() else False
    alive_full = R.srv.alive()
    print(f"while full: writes {dict(full_writes)}; reads ok {reads_full}; server alive {alive_full}", flush=True)

    # freed: delete the fillers, writes again without a restart.
    crashed = not alive_full
    for f in (filler1, filler2):
        f.unlink(missing_ok=True)
    # A store that met the full disk itself is reopened by the server once
    # the reserve is free again (503 meanwhile): wait for /ready, bounded.
    t_freed = time.monotonic()
    R.recover_s = None
    while not crashed and time.monotonic() - t_freed < 30:
        try:
            if requests.get(R.srv.url + "/ready", timeout=5).status_code == 200:
                R.recover_s = round(time.monotonic() - t_freed, 2)
                break
        except requests.RequestException:
            pass
        time.sleep(0.2)
    print(f"ready again {R.recover_s} s after freeing", flush=True)
    if crashed:
        try:
            R.srv.start()
        except rc.StartFailure as ex:
            R.findings.append({"phase": "freed", "what": "start after crash", "error": str(ex), "log": ex.log})
    freed_writes = R.all_writes("freed", a.tries) if R.srv.alive() else Counter()
    reads_freed = R.reads("freed") if R.srv.alive() else False
    print(f"after freeing: writes {dict(freed_writes)}; reads ok {reads_freed}", flush=True)

    # restart.
    stop_code = R.srv.stop()
    restart_ok, bad, misses, v = True, [], 0, {}
    try:
        dt = R.srv.start()
        bad, misses, v = R.verify_all()
        R.srv.stop()
    except rc.StartFailure as ex:
        restart_ok = False
        R.findings.append({"phase": "restart", "what": "start", "error": str(ex), "log": ex.log})
    off = R.srv.offline("audit", "verify")
    lst = R.srv.offline("list", "--json")
    listed = {x["id"] for x in json.loads(lst.stdout)["recordings"]} if lst.returncode == 0 else set()
    off_missing = [i for i in R.recordings if i not in listed]

    # Server log lines while full.
    log_lines = []
    for p in sorted(R.logs.glob("data.serve-*.std*")):
        for line in p.read_text(errors="replace").splitlines():
            if any(w in line.lower() for w in ("error", "panic", "space", "full", "warn", "fail")):
                log_lines.append(f"{p.name}: {line}")

    # Figures.
    full_refusals = Counter((w, s, c) for ph, w, s, c, m, t in R.probes if ph == "full" and not (isinstance(s, int) and s < 300))
    full_oks = Counter(w for ph, w, s, c, m, t in R.probes if ph == "full" and isinstance(s, int) and s < 300)
    clear = all(s in (503, 507) for (w, s, c) in full_refusals if not w.startswith("GET") and "lookup" not in w)
    unclear = {f"{w} -> {s} {c}": n for (w, s, c), n in full_refusals.items() if s not in (503, 507)}
    freed_fail = {k: v for k, v in freed_writes.items() if k.endswith("refused")}
    rows = [
        ("filesystem", f"{a.label or 'given'} {total >> 20} MiB", ""),
        ("server disk reserve (min_free_mb)", a.min_free_mb if a.min_free_mb is not None else "default", ""),
        ("acknowledged before full (recordings / entities)", f"{len(R.recordings)} / {len(R.entities)}", ""),
        ("free bytes at 'full'", free_at_full, "0"),
        ("write answers while full", dict(Counter(f"{w} -> {s} {c}" for ph, w, s, c, m, t in R.probes if ph == "full" and not w.startswith("GET") and "lookup" not in w)), "507/503"),
        ("writes answered without a clear 507/503 while full", unclear or 0, "0"),
        ("reads while full answered 200 / 503 busy (of health, ready, list, GET recording, GET entity, audit verify, lookups)",
         f"{sum(1 for ph, w, st, c, m, t in R.probes if ph == 'full' and (w.startswith('GET') or 'lookup' in w) and st == 200)} / {sum(1 for ph, w, st, c, m, t in R.probes if ph == 'full' and (w.startswith('GET') or 'lookup' in w) and st == 503)}", "reported"),
        ("reads while full: each 200, or a clear 503 while the store is stopped", reads_full, "True"),
        ("lookup by upload while full / after freeing", f"{R.lookup_upload.get('full')} / {R.lookup_upload.get('freed')}", "200 (507 accepted while full)"),
        ("server alive while full", alive_full, "True"),
        ("reads answered 503 while full (the store stopped, to be reopened)", R.reopening_reads, ""),
        ("ready again after freeing, s (no restart)", R.recover_s, "< 30"),
        ("writes after freeing (no restart)", dict(freed_writes), "all ok"),
        ("reads after freeing ok", reads_freed, "True"),
        ("graceful stop exit code", stop_code, "0"),
        ("restart ok", restart_ok, "True"),
        ("acked writes missing/damaged after restart", len(bad), "0"),
        ("lookups of acked recordings missing", misses, "0"),
        ("online audit verify ok", v.get("ok"), "True"),
        ("offline `avreg audit verify` exit", f"{off.returncode} ({(off.stdout + off.stderr).strip()[:80]})", "0"),
        ("offline `avreg list` missing acked", len(off_missing), "0"),
        ("hangs / crashes / 500s", len(R.findings), "0"),
        ("run time, s", round(time.monotonic() - t_start, 1), ""),
    ]
    print()
    print(rc.table(rows, ("figure", "value", "target")))
    print("\nprobes (phase | what | status | code | message | s):")
    seen = set()
    for p in R.probes:
        key = p[:4]
        if p[0] in ("full", "freed") and key not in seen:
            seen.add(key)
            print("  " + " | ".join(str(x) for x in p))
    if log_lines:
        print("\nserver log lines (errors/warnings):")
        for l in log_lines[:40]:
            print("  " + l[:400])
    for f in R.findings:
        print("FINDING", json.dumps(f, default=str)[:800])
    for b in bad[:20]:
        print("MISSING/DAMAGED", json.dumps(b, default=str)[:400])
    ok = (
        not unclear
        and clear
        and reads_full
        and alive_full
        and not freed_fail
        and reads_freed
        and restart_ok
        and not bad
        and v.get("ok")
        and off.returncode == 0
        and not off_missing
        and not R.findings
    )
    rc.dump_json(R.logs / f"fullfs{('-' + a.label) if a.label else ''}.json", {"probes": R.probes, "findings": R.findings, "bad": bad, "log": log_lines, "rows": rows})
    print(f"\nfullfs: {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
