#!/usr/bin/env python3
"""kill9: crash consistency of `avreg serve` under load.

Concurrent clients register recordings (multipart upload), write the ledger
(POST /v1/ledger batches of performer+fixation+credit+holding, single
POSTs, PUT amends, media attached to fixations), create API keys, and look
up registered material, while the server is SIGKILLed at random moments
and restarted on the same data dir. Every acknowledged (2xx) write is
recorded with its id and what was written. After each restart the load is
paused and everything is checked:

  * the server started (spawn -> `/ready` 200, timed);
  * GET /v1/audit/verify is ok, and still contains the last head seen
    before the kill (?head=SEQ:HASH);
  * every acknowledged entity is present and whole: GET /v1/<kind>/{id}
    carries every field that was written (the last acknowledged amend, or
    an amend that was in flight at the kill);
  * a batch in flight at the kill is all or nothing; a create in flight
    that did not land stays absent;
  * every acknowledged recording is in the listing, GET by id has the same
    content hash, and a lookup of an excerpt of its media finds it first
    (new ones after every restart, a sample of the old, all at the end);
  * every acknowledged key still authenticates.

At the end the server is stopped with SIGTERM and the store is checked
offline: `avreg audit verify` (exit 0, a head) and `avreg list --json`
(every acknowledged recording).

Exit status 0 when every target is met (0 missing/damaged, 0 verify
failures, every restart clean), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import sys
import threading
import time
import traceback
from collections import Counter, defaultdict
from pathlib import Path

import requests

import relcommon as rc


class Book:
    """What the clients were told. Thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        # (kind, id) -> {"state": dict, "pending": [dict], "key": str, "acked_at": float}
        self.entities = {}
        # (kind, id) -> {"state": dict, "key": str} creates with no answer (may or may not exist)
        self.unknown_creates = {}
        # (kind, id) that must stay absent (unanswered creates found absent after a restart)
        self.absent = set()
        # list of lists of (kind, id): batches with no answer (all or nothing)
        self.unknown_batches = []
        # recording id -> {"seed", "title", "content_hash", "checked_lookup": bool}
        self.recordings = {}
        # seeds whose registration got no answer
        self.unknown_seeds = {}
        self.jobs = {}  # job id -> {"seed", "title", "key"}
        self.keys = {}  # secret -> role
        self.acked = Counter()  # kind -> acknowledged writes
        self.unanswered = Counter()
        self.errors = Counter()  # "METHOD path status code"
        self.error_samples = {}
        self.heads = []  # (seq, hash) seen from /v1/audit/head while serving


class Worker(threading.Thread):
    def __init__(self, n, ctx):
        super().__init__(daemon=True, name=f"worker-{n}")
        self.n = n
        self.ctx = ctx
        self.rng = random.Random(ctx.seed * 1000 + n)
        self.current = None
        self.ops = Counter()
        self.my_performers = []  # (id, key)
        self.my_fixations = []  # (id, key)

    @property
    def book(self) -> Book:
        return self.ctx.book

    def run(self):
        ctx = self.ctx
        org, pkey = ctx.orgs[self.n]
        self.org, self.pkey = org, pkey
        while not ctx.done.is_set():
            ctx.running.wait()
            if ctx.done.is_set():
                break
            op = self.rng.choices(
                ["register", "batch", "single", "amend", "attach", "lookup", "read", "key", "head"],
                weights=[25, 20, 12, 10, 5, 18, 6, 2, 2],
            )[0]
            self.current = op
            try:
                getattr(self, "op_" + op)()
                self.ops[op] += 1
            except requests.RequestException:
                # No answer (the kill): wait for the restart.
                with self.book.lock:
                    self.book.unanswered[op] += 1
                self.current = None
                ctx.running.wait()
            except Exception:
                traceback.print_exc()
            finally:
                self.current = None

    def api(self, key=None):
        return rc.Api(self.ctx.url, key or self.ctx.admin, timeout=self.ctx.timeout)

    def note_error(self, method, path, r, body=None):
        b = rc.body_of(r)
        code = (b.get("error") or {}).get("code") if isinstance(b, dict) else None
        k = f"{method} {path.split('?')[0] if '/v1/' not in path else rc_path(path)} {r.status_code} {code}"
        with self.book.lock:
            self.book.errors[k] += 1
            self.book.error_samples.setdefault(k, {"body": body, "answer": b})

    # ---- operations

    def op_register(self):
        seed = self.rng.getrandbits(48)
        title = f"k9 seed={seed}"
        key = self.pkey if self.rng.random() < 0.5 else self.ctx.admin
        with self.book.lock:
            self.book.unknown_seeds[seed] = title
        r = self.api(key).register(seed, title)
        if r.status_code in (200, 201):
            rec = r.json()["recording"]
            with self.book.lock:
                self.book.unknown_seeds.pop(seed, None)
                self.book.recordings[rec["id"]] = {"seed": seed, "title": title, "content_hash": rec["content_hash"], "checked_lookup": False}
                self.book.acked["recording"] += 1
        elif r.status_code == 202:
            with self.book.lock:
                self.book.unknown_seeds.pop(seed, None)
                self.book.jobs[r.json()["job_id"]] = {"seed": seed, "title": title, "key": key}
                self.book.acked["job"] += 1
        else:
            with self.book.lock:
                self.book.unknown_seeds.pop(seed, None)
            self.note_error("POST", "/v1/recordings", r, {"title": title, "media": f"seed {seed}"})

    def _batch_entities(self):
        pid, fid, cid, hid = rc.new_id(), rc.new_id(), rc.new_id(), rc.new_id()
        name = f"P{self.rng.getrandbits(32):08x}"
        return [
            ("performer", pid, rc.performer(pid, name)),
            ("fixation", fid, rc.fixation(fid, self.org, f"F {fid[:8]}")),
            ("credit", cid, rc.credit(cid, fid, pid, (0, 1000 + self.rng.randrange(20000)))),
            ("holding", hid, rc.holding(hid, fid, {"kind": "organisation", "id": self.org}, 100000 + self.rng.randrange(400000))),
        ]

    def op_batch(self):
        ents = self._batch_entities()
        body = {"version": 1, "changes": [{"create": {"kind": k, "entity": e}} for k, _, e in ents]}
        refs = [(k, i) for k, i, _ in ents]
        with self.book.lock:
            for k, i, e in ents:
                self.book.unknown_creates[(k, i)] = {"state": e, "key": self.pkey}
            self.book.unknown_batches.append(refs)
        r = self.api(self.pkey).post("/v1/ledger", body)
        with self.book.lock:
            self.book.unknown_batches.remove(refs)
            for k, i, e in ents:
                self.book.unknown_creates.pop((k, i), None)
            if r.status_code == 200:
                now = time.time()
                for k, i, e in ents:
                    self.book.entities[(k, i)] = {"state": e, "pending": [], "key": self.pkey, "acked_at": now}
                    self.book.acked[k] += 1
                self.book.acked["ledger_batch"] += 1
        if r.status_code == 200:
            self.my_performers.append((ents[0][1], self.pkey))
            self.my_fixations.append((ents[1][1], 30000))
        else:
            self.note_error("POST", "/v1/ledger", r, body)

    def _create(self, kind, eid, ent, key):
        with self.book.lock:
            self.book.unknown_creates[(kind, eid)] = {"state": ent, "key": key}
        path = f"/v1/{rc.KIND_PATH[kind]}"
        r = self.api(key).post(path, ent)
        with self.book.lock:
            self.book.unknown_creates.pop((kind, eid), None)
            if r.status_code == 201:
                self.book.entities[(kind, eid)] = {"state": ent, "pending": [], "key": key, "acked_at": time.time()}
                self.book.acked[kind] += 1
        if r.status_code != 201:
            self.note_error("POST", path, r, ent)
        return r.status_code == 201

    def op_single(self):
        c = self.rng.random()
        if c < 0.35 or not self.my_fixations:
            pid = rc.new_id()
            key = self.ctx.admin if self.rng.random() < 0.5 else self.pkey
            if self._create("performer", pid, rc.performer(pid, f"S{pid[:8]}"), key):
                self.my_performers.append((pid, key))
        elif c < 0.6:
            fid = rc.new_id()
            if self._create("fixation", fid, rc.fixation(fid, self.org, f"F {fid[:8]}"), self.pkey):
                self.my_fixations.append((fid, 30000))
        elif c < 0.85 and self.my_performers:
            fid, dur = self.rng.choice(self.my_fixations)
            pid, _ = self.rng.choice(self.my_performers)
            cid = rc.new_id()
            self._create("credit", cid, rc.credit(cid, fid, pid, (0, 500 + self.rng.randrange(dur - 500)), role="Musician"), self.pkey)
        else:
            fid, _ = self.rng.choice(self.my_fixations)
            hid = rc.new_id()
            self._create("holding", hid, rc.holding(hid, fid, {"kind": "organisation", "id": self.org}, 10000, right="rental"), self.pkey)

    def op_amend(self):
        if not self.my_performers:
            return self.op_single()
        pid, key = self.rng.choice(self.my_performers)
        new = rc.performer(pid, f"A{self.rng.getrandbits(32):08x}")
        ref = ("performer", pid)
        with self.book.lock:
            e = self.book.entities.get(ref)
            if e is None:
                return
            e["pending"].append(new)
        path = rc.entity_path("performer", pid)
        r = self.api(key).put(path, new)
        with self.book.lock:
            if r.status_code == 200:
                e["state"] = new
                e["pending"] = []
                e["acked_at"] = time.time()
                self.book.acked["amend"] += 1
            else:
                e["pending"].remove(new)
        if r.status_code != 200:
            self.note_error("PUT", path, r, new)

    def op_attach(self):
        """A fixation of its own and media attached to it (a recording that
        is a fixation's media)."""
        fid = rc.new_id()
        if not self._create("fixation", fid, rc.fixation(fid, self.org, f"AF {fid[:8]}", duration_ms=6000), self.pkey):
            return
        self.my_fixations.append((fid, 6000))
        seed = self.rng.getrandbits(48)
        title = f"k9 seed={seed}"
        with self.book.lock:
            self.book.unknown_seeds[seed] = title
        path = f"/v1/fixations/{fid}/media"
        r = self.api(self.pkey).upload(path, rc.synth().recording(seed), name=f"att-{seed}.wav", fields={"title": title})
        with self.book.lock:
            self.book.unknown_seeds.pop(seed, None)
            if r.status_code in (200, 201):
                rec = r.json()["recording"]
                self.book.recordings[rec["id"]] = {"seed": seed, "title": title, "content_hash": rec["content_hash"], "checked_lookup": False, "fixation": fid}
                self.book.acked["fixation_media"] += 1
            elif r.status_code == 202:
                self.book.jobs[r.json()["job_id"]] = {"seed": seed, "title": title, "key": self.pkey}
                self.book.acked["job"] += 1
        if r.status_code not in (200, 201, 202):
            self.note_error("POST", path, r, {"media": f"seed {seed}"})

    def op_lookup(self):
        with self.book.lock:
            recs = list(self.book.recordings.items())
        if not recs:
            return self.op_register()
        rid, info = self.rng.choice(recs)
        r = self.api(self.ctx.platform).lookup(info["seed"])
        if r.status_code == 200:
            m = r.json().get("matches", [])
            if not m or m[0]["recording"]["id"] != rid:
                with self.book.lock:
                    self.ctx.load_lookup_misses.append((rid, info["seed"], [x["recording"]["id"] for x in m]))
        else:
            self.note_error("POST", "/v1/lookup", r, {"media": f"excerpt of seed {info['seed']}"})

    def op_read(self):
        a = self.api(self.ctx.society)
        path = self.rng.choice(["/v1/recordings?limit=50", "/v1/performers?limit=50", "/v1/conflicts?limit=20", "/v1/credits?limit=50"])
        r = a.get(path)
        if r.status_code != 200:
            self.note_error("GET", path, r)

    def op_key(self):
        key = self.api().post("/v1/keys", {"role": "platform", "label": f"k9 {self.rng.getrandbits(32)}"})
        if key.status_code == 201:
            with self.book.lock:
                self.book.keys[key.json()["secret"]] = "platform"
                self.book.acked["key"] += 1
        else:
            self.note_error("POST", "/v1/keys", key)

    def op_head(self):
        r = self.api(self.ctx.society).get("/v1/audit/head")
        if r.status_code == 200:
            h = r.json().get("head")
            if h:
                with self.book.lock:
                    self.book.heads.append((h["seq"], h["hash"]))
        else:
            self.note_error("GET", "/v1/audit/head", r)


def rc_path(path: str) -> str:
    """A path with its ids replaced by {id} (to group errors)."""
    import re

    return re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(:[0-9a-f-]{36})?", "{id}", path.split("?")[0])


class Ctx:
    pass


def check(ctx, full: bool, round_no: int) -> dict:
    """Checks everything acknowledged against the running server. Returns
    counts and appends findings to ctx.findings."""
    book = ctx.book
    admin = rc.Api(ctx.url, ctx.admin, timeout=ctx.timeout)
    res = Counter()

    def finding(kind, detail):
        ctx.findings.append({"round": round_no, "kind": kind, "detail": detail})
        res["findings"] += 1

    # Audit chain.
    r = admin.get("/v1/audit/verify")
    v = rc.body_of(r)
    if r.status_code != 200 or not v.get("ok"):
        finding("audit_verify", {"status": r.status_code, "answer": v})
        res["verify_fail"] += 1
    else:
        res["verify_ok"] += 1
        ctx.last_verified_head = v.get("head")
    with book.lock:
        heads = list(book.heads[-3:])
    for seq, h in heads:
        r = admin.get(f"/v1/audit/verify?head={seq}:{h}")
        v = rc.body_of(r)
        if r.status_code != 200 or not v.get("ok"):
            finding("audit_head_lost", {"head": f"{seq}:{h}", "status": r.status_code, "answer": v})
            res["verify_fail"] += 1

    # Entities.
    with book.lock:
        ents = list(book.entities.items())
        unknown = dict(book.unknown_creates)
        batches = [list(b) for b in book.unknown_batches]
        absent = set(book.absent)
    got_cache = {}

    def fetch(kind, eid):
        if (kind, eid) in got_cache:
            return got_cache[(kind, eid)]
        r = admin.get(rc.entity_path(kind, eid))
        out = (r.status_code, rc.body_of(r))
        got_cache[(kind, eid)] = out
        return out

    for (kind, eid), e in ents:
        st, b = fetch(kind, eid)
        res["entities_checked"] += 1
        if st != 200:
            finding("missing", {"kind": kind, "id": eid, "status": st, "answer": b, "written": e["state"], "acked_at": e["acked_at"]})
            res["missing"] += 1
            continue
        got = b.get("revision", {}).get("entity", {}).get("entity")
        options = [e["state"]] + e["pending"]
        match = next((o for o in options if rc.contains(got, o)), None)
        if match is None:
            finding("damaged", {"kind": kind, "id": eid, "got": got, "expected_one_of": options})
            res["damaged"] += 1
        else:
            with book.lock:
                e["state"], e["pending"] = match, []

    # Creates and batches that were in flight at the kill.
    for b in batches:
        present = [(k, i) for k, i in b if fetch(k, i)[0] == 200]
        res["batches_in_flight"] += 1
        if present and len(present) != len(b):
            finding("batch_not_atomic", {"batch": b, "present": present})
            res["damaged"] += 1
    for (kind, eid), u in unknown.items():
        st, b = fetch(kind, eid)
        res["creates_in_flight"] += 1
        with book.lock:
            book.unknown_creates.pop((kind, eid), None)
            if st == 200:
                got = b.get("revision", {}).get("entity", {}).get("entity")
                if not rc.contains(got, u["state"]):
                    finding("damaged_in_flight", {"kind": kind, "id": eid, "got": got, "written": u["state"]})
                    res["damaged"] += 1
                book.entities[(kind, eid)] = {"state": u["state"], "pending": [], "key": u["key"], "acked_at": None}
                res["in_flight_landed"] += 1
            else:
                book.absent.add((kind, eid))
                res["in_flight_absent"] += 1
    with book.lock:
        book.unknown_batches.clear()
    for kind, eid in absent:
        st, b = fetch(kind, eid)
        if st == 200:
            finding("resurrected", {"kind": kind, "id": eid, "answer": b})
            res["damaged"] += 1

    # Recordings: listing, GET by id, lookup.
    listed = {}
    offset = 0
    while True:
        r = admin.get(f"/v1/recordings?offset={offset}&limit=1000")
        if r.status_code != 200:
            finding("listing_failed", {"status": r.status_code, "answer": rc.body_of(r)})
            break
        page = r.json()
        for rec in page["recordings"]:
            listed[rec["id"]] = rec
        if page.get("next_offset") is None:
            break
        offset = page["next_offset"]
    res["recordings_listed"] = len(listed)
    with book.lock:
        recs = dict(book.recordings)
        unknown_seeds = dict(book.unknown_seeds)
        book.unknown_seeds.clear()
    # Registrations that were in flight and landed: adopt them (they must
    # be whole too).
    title_seed = {t: s for s, t in unknown_seeds.items()}
    for rid, rec in listed.items():
        if rid not in recs and rec["title"] in title_seed:
            recs[rid] = {"seed": title_seed[rec["title"]], "title": rec["title"], "content_hash": rec["content_hash"], "checked_lookup": False, "in_flight": True}
            with book.lock:
                book.recordings[rid] = recs[rid]
            res["in_flight_recordings_landed"] += 1
    for rid, info in recs.items():
        res["recordings_checked"] += 1
        if rid not in listed:
            st, b = admin.get(f"/v1/recordings/{rid}").status_code, None
            finding("recording_not_listed", {"id": rid, "seed": info["seed"], "get_status": st})
            res["missing"] += 1
            continue
        if listed[rid]["content_hash"] != info["content_hash"] or listed[rid]["title"] != info["title"]:
            finding("recording_damaged", {"id": rid, "listed": listed[rid], "expected": info})
            res["damaged"] += 1
    # GET by id for all, lookups for the new ones and a sample (all if full).
    ids = list(recs)
    todo = [i for i in ids if not recs[i]["checked_lookup"]]
    old = [i for i in ids if recs[i]["checked_lookup"]]
    todo += old if full else random.sample(old, min(len(old), ctx.sample_lookups))
    for rid in ids:
        r = admin.get(f"/v1/recordings/{rid}")
        if r.status_code != 200 or r.json()["recording"]["content_hash"] != recs[rid]["content_hash"]:
            finding("recording_get", {"id": rid, "status": r.status_code, "answer": rc.body_of(r)})
            res["missing" if r.status_code == 404 else "damaged"] += 1
    plat = rc.Api(ctx.url, ctx.platform, timeout=ctx.timeout)
    for rid in todo:
        info = recs[rid]
        r = plat.lookup(info["seed"])
        res["lookups_checked"] += 1
        m = r.json().get("matches", []) if r.status_code == 200 else None
        if not m or m[0]["recording"]["id"] != rid:
            finding("lookup_miss", {"id": rid, "seed": info["seed"], "status": r.status_code, "matches": [x["recording"]["id"] for x in (m or [])], "answer": None if m is not None else rc.body_of(r)})
            res["damaged"] += 1
        else:
            with book.lock:
                book.recordings[rid]["checked_lookup"] = True

    # Jobs.
    with book.lock:
        jobs = dict(book.jobs)
    for jid, j in jobs.items():
        r = rc.Api(ctx.url, j["key"]).get(f"/v1/jobs/{jid}")
        res["jobs_checked"] += 1
        if r.status_code != 200:
            finding("job_missing", {"job": jid, "status": r.status_code, "answer": rc.body_of(r)})
            res["missing"] += 1
            continue
        d = r.json()
        if d.get("status") == "done":
            rec = d["result"]["recording"]
            with book.lock:
                book.recordings.setdefault(rec["id"], {"seed": j["seed"], "title": j["title"], "content_hash": rec["content_hash"], "checked_lookup": False})
                book.jobs.pop(jid, None)
        elif d.get("status") == "failed":
            with book.lock:
                book.jobs.pop(jid, None)

    # Keys.
    with book.lock:
        keys = list(book.keys)
    for k in keys:
        r = rc.Api(ctx.url, k).post("/v1/lookup", {"bogus": 1})
        res["keys_checked"] += 1
        if r.status_code == 401:
            finding("key_lost", {"key_prefix": k[:12], "status": r.status_code})
            res["missing"] += 1
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default=rc.DEFAULT_BIN)
    ap.add_argument("--work", default="/work/rel-data/kill9", help="scratch folder (wiped)")
    ap.add_argument("--kills", type=int, default=25)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--min-gap", type=float, default=1.0, help="shortest load before a kill, s")
    ap.add_argument("--max-gap", type=float, default=6.0, help="longest load before a kill, s")
    ap.add_argument("--sample-lookups", type=int, default=15)
    ap.add_argument("--seed", type=int, default=int(time.time()))
    ap.add_argument("--quick", action="store_true", help="5 kills, 2 workers (CI)")
    ap.add_argument("--keep-rate-limits", action="store_true")
    ap.add_argument("--json-out", default=None)
    a = ap.parse_args()
    if a.quick:
        a.kills, a.workers, a.max_gap = 5, 2, 4.0
    random.seed(a.seed)
    t_start = time.monotonic()

    work = Path(a.work)
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    data = work / "data"
    srv = rc.Server(data=data, binary=a.bin, env={} if a.keep_rate_limits else rc.NO_LIMITS, log_dir=work)
    rc.synth()  # the note tables, before the clock matters

    ctx = Ctx()
    ctx.book = Book()
    ctx.seed = a.seed
    ctx.timeout = 60.0
    ctx.sample_lookups = a.sample_lookups
    ctx.findings = []
    ctx.load_lookup_misses = []
    ctx.warn_lines = Counter()
    ctx.running = threading.Event()
    ctx.done = threading.Event()

    first = srv.start()
    ctx.url = srv.url
    ctx.admin = srv.admin_key()
    admin = rc.Api(srv.url, ctx.admin)
    ctx.platform = admin.new_key("platform")
    ctx.society = admin.new_key("society")
    ctx.book.keys[ctx.platform] = "platform"
    ctx.book.keys[ctx.society] = "society"
    ctx.orgs = []
    for n in range(a.workers):
        oid = rc.new_id()
        ent = rc.organisation(oid, f"Org {n}")
        r = admin.post("/v1/organisations", ent)
        assert r.status_code == 201, r.text
        ctx.book.entities[("organisation", oid)] = {"state": ent, "pending": [], "key": ctx.admin, "acked_at": time.time()}
        ctx.book.acked["organisation"] += 1
        pkey = admin.new_key("producer", organisation=oid)
        ctx.book.keys[pkey] = "producer"
        ctx.orgs.append((oid, pkey))

    workers = [Worker(n, ctx) for n in range(a.workers)]
    for w in workers:
        w.start()

    rounds = []
    start_failures = []
    print(f"kill9: seed {a.seed}, {a.kills} kills, {a.workers} workers, data {data}; first start {first:.2f}s", flush=True)
    for k in range(1, a.kills + 1):
        gap = random.uniform(a.min_gap, a.max_gap)
        ctx.running.set()
        time.sleep(gap)
        in_flight = Counter(w.current for w in workers if w.current)
        srv.kill9()
        ctx.running.clear()
        time.sleep(0.3)  # let the workers see the dead connections
        # Wait until every worker is parked (no request of the old process outstanding).
        t_wait = time.monotonic()
        while any(w.current for w in workers) and time.monotonic() - t_wait < 90:
            time.sleep(0.05)
        try:
            dt = srv.start()
        except rc.StartFailure as e:
            start_failures.append({"round": k, "error": str(e), "log": e.log})
            ctx.findings.append({"round": k, "kind": "start_failure", "detail": {"error": str(e), "log": e.log}})
            print(f"kill {k}: START FAILURE {e}\n{e.log}", flush=True)
            break
        ctx.url = srv.url
        res = check(ctx, full=(k == a.kills), round_no=k)
        stderr = rc.strip_ansi(srv.err_path.read_text(errors="replace"))
        bad_lines = [l for l in stderr.splitlines() if re.search(r"\b(ERROR)\b|panick|corrupt", l)]
        warn_lines = [l for l in stderr.splitlines() if re.search(r"\bWARN\b", l)]
        if bad_lines:
            ctx.findings.append({"round": k, "kind": "start_log", "detail": bad_lines[:20]})
        for l in warn_lines:
            ctx.warn_lines[re.sub(r"^\S+\s+", "", l)[:200]] += 1
        rounds.append({"kill": k, "gap_s": round(gap, 2), "in_flight": dict(in_flight), "restart_s": round(dt, 3), **res})
        print(
            f"kill {k:2d}: after {gap:4.1f}s in flight {dict(in_flight)}; restart {dt:.2f}s; "
            f"entities {res['entities_checked']} recs {res['recordings_checked']} lookups {res['lookups_checked']} "
            f"missing {res['missing']} damaged {res['damaged']} verify_fail {res['verify_fail']}",
            flush=True,
        )

    # Final: a last stretch of load, graceful stop, offline checks.
    ctx.done.set()
    ctx.running.set()
    for w in workers:
        w.join(timeout=90)
    code = srv.stop() if srv.alive() else None
    offline = {}
    p = srv.offline("audit", "verify")
    offline["audit_verify_exit"] = p.returncode
    offline["audit_verify_out"] = (p.stdout + p.stderr).strip()[-300:]
    p = srv.offline("list", "--json")
    offline["list_exit"] = p.returncode
    listed = set()
    if p.returncode == 0:
        listed = {r["id"] for r in json.loads(p.stdout)["recordings"]}
    with ctx.book.lock:
        acked_recs = set(ctx.book.recordings)
    offline["list_missing"] = sorted(acked_recs - listed)
    if offline["audit_verify_exit"] != 0:
        ctx.findings.append({"round": "offline", "kind": "offline_audit_verify", "detail": offline["audit_verify_out"]})
    if offline["list_missing"]:
        ctx.findings.append({"round": "offline", "kind": "offline_list_missing", "detail": offline["list_missing"][:20]})

    # ERROR lines and panics in any run's log (under load, at a start, at the stop).
    for p in sorted(work.glob("data.serve-*.stderr")):
        for l in rc.strip_ansi(p.read_text(errors="replace")).splitlines():
            if re.search(r"\bERROR\b|panick", l):
                ctx.findings.append({"round": p.name, "kind": "log_error", "detail": l[:500]})
    book = ctx.book
    restarts = [r["restart_s"] for r in rounds]
    tot = Counter()
    for r in rounds:
        for k2, v in r.items():
            if isinstance(v, int) and not isinstance(v, bool):
                tot[k2] += v
    last = rounds[-1] if rounds else {}
    acked_total = sum(v for k2, v in book.acked.items() if k2 != "ledger_batch")
    unexpected = {k2: v for k2, v in book.errors.items()}
    # 5xx under load, but 503 `busy` (a documented, retryable refusal:
    # e.g. two heavy reads at once beyond max_heavy_reads).
    five = sum(v for k2, v in book.errors.items() if k2.split()[-2].startswith("5") and k2.split()[-2] != "503")
    rows = [
        ("kills", len(rounds), f">= {a.kills}"),
        ("acknowledged writes (entities+recordings+keys+jobs)", acked_total, ""),
        ("  by kind", dict(book.acked), ""),
        ("acknowledged items checked after the last restart", last.get("entities_checked", 0) + last.get("recordings_checked", 0) + last.get("keys_checked", 0), ""),
        ("entity checks (all restarts)", tot["entities_checked"], ""),
        ("recording checks (all restarts)", tot["recordings_checked"], ""),
        ("lookups of registered media checked", tot["lookups_checked"], ""),
        ("writes in flight at a kill (no answer)", sum(book.unanswered.values()), ""),
        ("  in-flight creates that landed / absent", f"{tot['in_flight_landed']} / {tot['in_flight_absent']}", ""),
        ("  in-flight registrations that landed", tot["in_flight_recordings_landed"], ""),
        ("missing", tot["missing"], "0"),
        ("damaged (incl. non-atomic batch, lookup miss)", tot["damaged"], "0"),
        ("audit verify failures (online)", tot["verify_fail"], "0"),
        ("offline `avreg audit verify` exit", offline["audit_verify_exit"], "0"),
        ("offline `avreg list` missing acked", len(offline["list_missing"]), "0"),
        ("start failures", len(start_failures), "0"),
        ("restart time median / max, s", f"{rc.median(restarts):.3f} / {max(restarts) if restarts else float('nan'):.3f}", ""),
        ("graceful stop exit code", code, "0"),
        ("non-2xx answers under load", dict(unexpected) or 0, "no 5xx but 503"),
        ("lookup misses under load", len(ctx.load_lookup_misses), ""),
        ("server WARN lines after restarts", dict(ctx.warn_lines) or 0, ""),
        ("run time, s", round(time.monotonic() - t_start, 1), ""),
    ]
    print()
    print(rc.table(rows, ("figure", "value", "target")))
    ok = (
        len(rounds) >= a.kills
        and tot["missing"] == 0
        and tot["damaged"] == 0
        and tot["verify_fail"] == 0
        and offline["audit_verify_exit"] == 0
        and not offline["list_missing"]
        and not start_failures
        and five == 0
    )
    if ctx.findings:
        print(f"\n{len(ctx.findings)} findings:")
        for f in ctx.findings[:50]:
            print(" ", json.dumps(f, default=str)[:600])
    for k2, s in book.error_samples.items():
        print(f"  sample {k2}: body {json.dumps(s['body'], default=str)[:300]} -> {json.dumps(s['answer'], default=str)[:300]}")
    out = {
        "seed": a.seed,
        "rounds": rounds,
        "offline": offline,
        "findings": ctx.findings,
        "errors": dict(book.errors),
        "error_samples": book.error_samples,
        "acked": dict(book.acked),
        "load_lookup_misses": ctx.load_lookup_misses,
        "warn_lines": dict(ctx.warn_lines),
        "ok": ok,
    }
    rc.dump_json(Path(a.json_out) if a.json_out else work / "kill9.json", out)
    print(f"\nkill9: {'PASS' if ok else 'FAIL'} (details in {a.json_out or work / 'kill9.json'}; server logs in {work})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
