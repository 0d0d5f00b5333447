#!/usr/bin/env python3
"""soak: a steady, moderate mixed load on `avreg serve` for a long time.

Kinds and default rates (each kind paced by its own client threads, so the
rate stays steady unless the server slows down):
  register  0.5/s  multipart upload of a distinct 6 s recording
  lookup    3/s    multipart upload of an excerpt of a registered one
                   (the first match must be it)
  ledger    1/s    POST /v1/ledger: performer + fixation + credit + holding
  amend     0.5/s  PUT of a performer written earlier
  read      3/s    GET a recording, an entity, a page of recordings or
                   performers
The default rate limits of config/default.toml stay on (the load is well
under them; a 429 counts as an error).

Every 10 s the server's VmRSS (/proc/PID/status) and the data dir's size
are sampled. Figures: RSS after the warm-up (2 min) and at the end, the
growth per hour fitted over the samples after the warm-up; p50/p99
latency per kind in the first 5 and the last 5 minutes (and after the
warm-up); errors.

Targets (exit 1 when one is missed): no error answers (non-2xx), no lookup
misses, RSS at the end at most --max-rss-growth (default 1.5) times RSS
after the warm-up, and each kind's p99 in the last window at most twice
its p99 in the first window plus 50 ms.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path

import requests

import relcommon as rc


def du(path: Path) -> int:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True).stdout.split()
    return int(out[0]) if out else 0


class Soak:
    def __init__(self, a, srv):
        self.a = a
        self.srv = srv
        self.t0 = None
        self.lock = threading.Lock()
        self.lat = []  # (t, kind, seconds, status)
        self.errors = Counter()
        self.error_samples = {}
        self.misses = []
        self.recordings = []  # (id, seed)
        self.performers = []  # id
        self.rss = []  # (t, kib, data bytes)
        self.stop = threading.Event()
        self.rng = random.Random(a.seed)

    def record(self, kind, t, dt, r, body=None):
        with self.lock:
            self.lat.append((t - self.t0, kind, dt, r.status_code if r is not None else "EXC"))
            if r is None or not (200 <= r.status_code < 300):
                code = None
                if r is not None:
                    b = rc.body_of(r)
                    code = (b.get("error") or {}).get("code") if isinstance(b, dict) else None
                k = f"{kind} {r.status_code if r is not None else 'EXC'} {code}"
                self.errors[k] += 1
                self.error_samples.setdefault(k, {"body": body, "answer": rc.body_of(r) if r is not None else None, "t": round(t - self.t0, 1)})

    def timed(self, kind, fn, body=None):
        t = time.monotonic()
        try:
            r = fn()
        except requests.RequestException as e:
            r = None
            body = {"exception": repr(e)}
        self.record(kind, t, time.monotonic() - t, r, body)
        return r

    def op_register(self, api, rng):
        seed = rng.getrandbits(48)
        media = rc.synth().recording(seed)
        r = self.timed("register", lambda: api.upload("/v1/recordings", media, name=f"s{seed}.wav", fields={"title": f"soak {seed}"}), {"seed": seed})
        if r is not None and r.status_code in (200, 201):
            with self.lock:
                self.recordings.append((r.json()["recording"]["id"], seed))

    def op_lookup(self, api, rng):
        with self.lock:
            if not self.recordings:
                return
            rid, seed = rng.choice(self.recordings)
        media = rc.synth().excerpt(seed)
        r = self.timed("lookup", lambda: api.upload("/v1/lookup", media, name=f"q{seed}.wav"), {"seed": seed})
        if r is not None and r.status_code == 200:
            m = r.json().get("matches", [])
            if not m or m[0]["recording"]["id"] != rid:
                with self.lock:
                    self.misses.append((rid, seed, [x["recording"]["id"] for x in m]))

    def op_ledger(self, api, rng):
        pid, fid, cid, hid = rc.new_id(), rc.new_id(), rc.new_id(), rc.new_id()
        body = {"version": 1, "changes": [
            {"create": {"kind": "performer", "entity": rc.performer(pid, f"Soak {pid[:8]}")}},
            {"create": {"kind": "fixation", "entity": rc.fixation(fid, self.org, f"Soak F {fid[:8]}")}},
            {"create": {"kind": "credit", "entity": rc.credit(cid, fid, pid, (0, 1000 + rng.randrange(20000)))}},
            {"create": {"kind": "holding", "entity": rc.holding(hid, fid, {"kind": "organisation", "id": self.org}, 1000 + rng.randrange(100000))}},
        ]}
        r = self.timed("ledger", lambda: api.post("/v1/ledger", body), body)
        if r is not None and r.status_code == 200:
            with self.lock:
                self.performers.append(pid)

    def op_amend(self, api, rng):
        with self.lock:
            if not self.performers:
                return
            pid = rng.choice(self.performers)
        e = rc.performer(pid, f"Soak amended {rng.getrandbits(32):08x}")
        self.timed("amend", lambda: api.put(f"/v1/performers/{pid}", e), e)

    def op_read(self, api, rng):
        with self.lock:
            rec = rng.choice(self.recordings) if self.recordings else None
            pid = rng.choice(self.performers) if self.performers else None
        c = rng.random()
        if c < 0.3 and rec:
            path = f"/v1/recordings/{rec[0]}"
        elif c < 0.6 and pid:
            path = f"/v1/performers/{pid}"
        elif c < 0.8:
            path = f"/v1/recordings?offset={rng.randrange(max(1, len(self.recordings)))}&limit=50"
        else:
            path = "/v1/performers?limit=50"
        self.timed("read", lambda: api.get(path), {"path": path})

    def pacer(self, kind, rate, key, n):
        """Sends `kind` at `rate`/s (this thread's share: rate/n)."""
        rng = random.Random(hash((self.a.seed, kind, n)))
        api = rc.Api(self.srv.url, key, timeout=self.a.timeout)
        period = n / rate
        nxt = time.monotonic() + rng.random() * period
        fn = getattr(self, "op_" + kind)
        while not self.stop.is_set():
            now = time.monotonic()
            if now < nxt:
                self.stop.wait(nxt - now)
                continue
            try:
                fn(api, rng)
            except Exception as e:  # a bug of this script, not the server's
                with self.lock:
                    self.errors[f"{kind} client {type(e).__name__}"] += 1
            nxt += period
            if nxt < time.monotonic() - 5 * period:  # fell far behind: do not burst
                nxt = time.monotonic()

    def sampler(self):
        while not self.stop.is_set():
            t = time.monotonic() - self.t0
            self.rss.append((round(t, 1), self.srv.rss_kib(), du(self.srv.data)))
            self.stop.wait(self.a.sample_s)


def window(lat, kind, lo, hi):
    return [dt for t, k, dt, st in lat if k == kind and lo <= t < hi and st != "EXC"]


def slope_per_hour(points):
    """Least-squares slope of (t s, y) in y per hour."""
    if len(points) < 3:
        return float("nan")
    n = len(points)
    mt = sum(t for t, _ in points) / n
    my = sum(y for _, y in points) / n
    num = sum((t - mt) * (y - my) for t, y in points)
    den = sum((t - mt) ** 2 for t, _ in points)
    return num / den * 3600 if den else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=rc.DEFAULT_BIN)
    ap.add_argument("--work", default="/work/rel-data/soak")
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--warmup-s", type=float, default=120.0)
    ap.add_argument("--window-s", type=float, default=300.0, help="the first and last windows of latency figures")
    ap.add_argument("--sample-s", type=float, default=10.0)
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every rate")
    ap.add_argument("--max-rss-growth", type=float, default=1.5)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--quick", action="store_true", help="2 minutes, 30 s warm-up, 30 s windows")
    ap.add_argument("--env", action="append", default=[], help="KEY=VALUE for the server's environment (e.g. AVREG_STORE__CACHE_MB=8)")
    ap.add_argument("--only", default=None, help="comma-separated kinds to run (e.g. lookup,read: a load that writes nothing, to tell a leak from data growth)")
    ap.add_argument("--reuse-data", default=None, help="copy this data dir (of an earlier soak) and load its recordings and performers")
    a = ap.parse_args()
    if a.quick:
        a.minutes, a.warmup_s, a.window_s = 2.0, 30.0, 30.0
    work = Path(a.work)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    if a.reuse_data:
        shutil.copytree(a.reuse_data, work / "data")
    srv = rc.Server(data=work / "data", binary=a.bin, log_dir=work, env=dict(kv.split("=", 1) for kv in a.env))
    rc.synth()
    start_s = srv.start()
    admin_key = srv.admin_key()
    admin = rc.Api(srv.url, admin_key)
    S = Soak(a, srv)
    if a.reuse_data:
        orgs = admin.get("/v1/organisations?limit=1000").json()["items"]
        def inner(x):  # a list item, a revision or the entity itself
            while isinstance(x, dict) and isinstance(x.get("entity"), dict):
                x = x["entity"]
            return x
        S.org = next(inner(o)["id"] for o in orgs if inner(o).get("name") == "Soak Org")
        off = 0
        while True:
            page = admin.get(f"/v1/recordings?offset={off}&limit=1000").json()
            S.recordings += [(r["id"], int(r["title"].split()[1])) for r in page["recordings"] if r["title"].startswith("soak ")]
            if page.get("next_offset") is None:
                break
            off = page["next_offset"]
        after = ""
        while True:
            page = admin.get(f"/v1/performers?limit=1000{after}").json()
            S.performers += [inner(p)["id"] for p in page["items"]]
            if not page.get("next_after"):
                break
            after = f"&after={page['next_after']}"
        print(f"reusing {a.reuse_data}: {len(S.recordings)} recordings, {len(S.performers)} performers", flush=True)
    else:
        S.org = rc.new_id()
        assert admin.post("/v1/organisations", rc.organisation(S.org, "Soak Org")).status_code == 201
    producer = admin.new_key("producer", organisation=S.org)
    platform = admin.new_key("platform")
    society = admin.new_key("society")
    plan = [  # kind, rate/s, key, threads
        ("register", 0.5, producer, 1),
        ("lookup", 3.0, platform, 2),
        ("ledger", 1.0, producer, 1),
        ("amend", 0.5, producer, 1),
        ("read", 3.0, society, 2),
    ]
    if a.only:
        keep = set(a.only.split(","))
        plan = [p for p in plan if p[0] in keep]
    S.t0 = time.monotonic()
    threads = [threading.Thread(target=S.sampler, daemon=True)]
    for kind, rate, key, n in plan:
        for i in range(n):
            threads.append(threading.Thread(target=S.pacer, args=(kind, rate * a.scale, key, n), daemon=True))
    for t in threads:
        t.start()
    dur = a.minutes * 60
    print(f"soak: {a.minutes} min, server pid {srv.pid} at {srv.url}, started in {start_s:.2f}s", flush=True)
    last_print = 0
    while time.monotonic() - S.t0 < dur:
        time.sleep(1)
        el = time.monotonic() - S.t0
        if not srv.alive():
            print(f"server died at {el:.0f}s: exit {srv.proc.returncode}\n{srv.log_tail()}", flush=True)
            break
        if el - last_print >= 60:
            last_print = el
            with S.lock:
                n = Counter(k for _, k, _, _ in S.lat)
            rss = S.rss[-1][1] if S.rss else None
            print(f"  {el / 60:4.1f} min: rss {rss and rss >> 10} MiB, requests {dict(n)}, errors {sum(S.errors.values())}", flush=True)
    S.stop.set()
    for t in threads:
        t.join(timeout=a.timeout + 5)
    end = time.monotonic() - S.t0
    alive = srv.alive()
    S.rss.append((round(end, 1), srv.rss_kib(), du(srv.data)))
    stop_code = srv.stop()

    rss_after = [(t, k) for t, k, d in S.rss if k and t >= a.warmup_s]
    rss_start = rss_after[0][1] if rss_after else None
    rss_end = next((k for t, k, d in reversed(S.rss) if k), None)
    rss_max = max((k for _, k, _ in S.rss if k), default=None)
    growth_mib_h = slope_per_hour([(t, k / 1024) for t, k in rss_after])
    data_start = next((d for t, k, d in S.rss if t >= a.warmup_s), None)
    data_end = S.rss[-1][2]
    lat = S.lat
    kinds = [p[0] for p in plan]
    rows = []
    lat_ok = True
    for kind in kinds:
        first = window(lat, kind, 0, a.window_s)
        warm = window(lat, kind, a.warmup_s, a.warmup_s + a.window_s)
        last = window(lat, kind, end - a.window_s, end + 1)
        p99f, p99l = rc.pct(first, 99), rc.pct(last, 99)
        good = not last or not first or p99l <= 2 * p99f + 0.05
        lat_ok &= good
        ms = lambda x: f"{x * 1000:.1f}"
        rows.append((kind, len([1 for _, k, _, _ in lat if k == kind]),
                     f"{ms(rc.pct(first, 50))} / {ms(p99f)} (n={len(first)})",
                     f"{ms(rc.pct(warm, 50))} / {ms(rc.pct(warm, 99))}",
                     f"{ms(rc.pct(last, 50))} / {ms(p99l)} (n={len(last)})",
                     "ok" if good else "SLOWER"))
    print()
    print(rc.table(rows, ("kind", "requests", f"first {a.window_s / 60:g} min p50/p99 ms", "after warm-up p50/p99 ms", f"last {a.window_s / 60:g} min p50/p99 ms", "p99 target")))
    n_err = sum(S.errors.values())
    rss_ok = bool(rss_start and rss_end and rss_end <= a.max_rss_growth * rss_start)
    frows = [
        ("duration, min", f"{end / 60:.1f}", f"{a.minutes:g}"),
        ("requests", len(lat), ""),
        ("recordings registered", len(S.recordings), ""),
        ("RSS after warm-up, MiB", rss_start and round(rss_start / 1024, 1), ""),
        ("RSS at end, MiB", rss_end and round(rss_end / 1024, 1), f"<= {a.max_rss_growth}x start"),
        ("RSS max, MiB", rss_max and round(rss_max / 1024, 1), ""),
        ("RSS trend after warm-up, MiB/h", f"{growth_mib_h:.1f}", ""),
        ("data dir after warm-up / end, MiB", f"{(data_start or 0) / 2**20:.1f} / {data_end / 2**20:.1f}", ""),
        ("error answers", dict(S.errors) or 0, "0"),
        ("lookup misses", len(S.misses), "0"),
        ("server alive at end / stop exit", f"{alive} / {stop_code}", "True / 0"),
    ]
    print()
    print(rc.table(frows, ("figure", "value", "target")))
    for k, s in S.error_samples.items():
        print(f"  error {k} at {s['t']}s: {json.dumps(s['body'], default=str)[:200]} -> {json.dumps(s['answer'], default=str)[:300]}")
    ok = alive and stop_code == 0 and n_err == 0 and not S.misses and rss_ok and lat_ok
    rc.dump_json(work / "soak.json", {"rss": S.rss, "rows": rows, "figures": frows, "errors": dict(S.errors), "error_samples": S.error_samples, "misses": S.misses})
    # Latencies for later analysis (t, kind, s, status).
    (work / "latencies.tsv").write_text("".join(f"{t:.3f}\t{k}\t{dt:.5f}\t{st}\n" for t, k, dt, st in lat))
    print(f"\nsoak: {'PASS' if ok else 'FAIL'} (samples in {work}/soak.json, latencies in {work}/latencies.tsv)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
