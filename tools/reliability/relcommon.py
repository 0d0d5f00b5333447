"""Shared helpers of the reliability scripts: start/stop the real `avreg serve`,
make distinct test media, talk to the HTTP API, build valid ledger bodies.

Stdlib plus `requests` (pip install requests).
"""

from __future__ import annotations

import array
import io
import json
import math
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
import uuid
import wave
from dataclasses import dataclass, field
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
DEFAULT_BIN = os.environ.get("AVREG_BIN", "/work/rel-target/release/avreg")
RATE = 22050

# ---------------------------------------------------------------- media


class Synth:
    """Music-like signals, the Python twin of avreg-fingerprint's
    `synth::music`: notes of random pitch (MIDI 45..80) and length
    (0.12..0.47 s), two voices with four harmonics and a decaying envelope,
    over a quiet noise floor. Each seed gives different notes, so each
    registration has its own fingerprint and its own bytes (no dedup).
    The note shapes are computed once (they depend only on pitch), so a
    6 s recording costs a few tens of ms of Python."""

    def __init__(self, rate: int = RATE):
        self.rate = rate
        self.max_len = int(rate * 0.47) + 1
        self.notes = {}
        for midi in range(45, 81):
            f0 = 440.0 * 2 ** ((midi - 69) / 12)
            w = []
            for k in range(self.max_len):
                t = k / rate
                env = math.exp(-t * 4.0) * (1.0 - math.exp(-t * 200.0))
                s = 0.0
                for h in range(1, 5):
                    s += math.sin(2 * math.pi * f0 * h * t) / h
                w.append(env * s)
            self.notes[midi] = w

    def music(self, seed: int, secs: float) -> list[float]:
        rng = random.Random(seed)
        n = int(self.rate * secs)
        out = [0.0] * n
        t = 0
        while t < n:
            ln = int(self.rate * (0.12 + 0.35 * rng.random()))
            m = min(ln, n - t)
            for _ in range(2):
                w = self.notes[45 + int(rng.random() * 36)]
                amp = 0.15 + 0.2 * rng.random()
                seg = out[t : t + m]
                out[t : t + m] = [a + amp * b for a, b in zip(seg, w[:m])]
            t += ln
        return [s + 0.002 * (rng.random() - 0.5) for s in out]

    def wav(self, pcm: list[float]) -> bytes:
        a = array.array("h", (max(-32767, min(32767, int(x * 32767 * 0.8))) for x in pcm))
        if sys.byteorder != "little":
            a.byteswap()
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(self.rate)
            w.writeframes(a.tobytes())
        return buf.getvalue()

    def recording(self, seed: int, secs: float = 6.0) -> bytes:
        return self.wav(self.music(seed, secs))

    def excerpt(self, seed: int, secs: float = 6.0, start: float = 1.0, length: float = 4.0) -> bytes:
        """A clip of the recording of `seed`: `length` s from `start` (its
        bytes are not the recording's; no noise is added: at 3.5-4 s a clip
        is near the decision threshold, and these scripts test the service,
        not the matcher)."""
        pcm = self.music(seed, secs)
        a, b = int(start * self.rate), int((start + length) * self.rate)
        return self.wav(pcm[a:b])


_SYNTH: Synth | None = None


def synth() -> Synth:
    global _SYNTH
    if _SYNTH is None:
        _SYNTH = Synth()
    return _SYNTH


# ---------------------------------------------------------------- server


@dataclass
class Server:
    """One `avreg serve` process on `data` (a folder kept across restarts)."""

    data: Path
    binary: str = DEFAULT_BIN
    env: dict = field(default_factory=dict)
    verbose: bool = True  # -v: one info line per request in the stderr log
    log_dir: Path | None = None
    proc: subprocess.Popen | None = None
    url: str = ""
    starts: int = 0
    start_times: list = field(default_factory=list)  # seconds spawn -> /ready 200
    _out = None
    _err = None

    def start(self, timeout: float = 120.0) -> float:
        """Spawns the server, waits for `listening on http://ADDR` and for
        /ready to answer 200; returns the seconds that took. Raises
        StartFailure with the log tail when it does not come up."""
        self.data.mkdir(parents=True, exist_ok=True)
        log_dir = self.log_dir or self.data.parent
        self.starts += 1
        out_path = log_dir / f"{self.data.name}.serve-{self.starts:03d}.stdout"
        err_path = log_dir / f"{self.data.name}.serve-{self.starts:03d}.stderr"
        self.out_path, self.err_path = out_path, err_path
        env = dict(os.environ)
        env["NO_COLOR"] = "1"
        env.update({k: str(v) for k, v in self.env.items()})
        t0 = time.monotonic()
        self._out = open(out_path, "wb")
        self._err = open(err_path, "wb")
        self.proc = subprocess.Popen(
            [self.binary, "--data", str(self.data), *(["-v"] if self.verbose else []), "serve", "--listen", "127.0.0.1:0"],
            stdout=self._out,
            stderr=self._err,
            env=env,
            start_new_session=True,
        )
        url = None
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise StartFailure(f"server exited {self.proc.returncode} at start", self.log_tail())
            m = re.search(r"listening on (http://\S+)", out_path.read_text(errors="replace"))
            if m:
                url = m.group(1)
                break
            time.sleep(0.02)
        if url is None:
            raise StartFailure(f"no 'listening on' within {timeout}s", self.log_tail())
        self.url = url
        while time.monotonic() - t0 < timeout:
            try:
                r = requests.get(url + "/ready", timeout=5)
                if r.status_code == 200:
                    dt = time.monotonic() - t0
                    self.start_times.append(dt)
                    return dt
            except requests.RequestException:
                pass
            if self.proc.poll() is not None:
                raise StartFailure(f"server exited {self.proc.returncode} before ready", self.log_tail())
            time.sleep(0.02)
        raise StartFailure(f"/ready not 200 within {timeout}s", self.log_tail())

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc else -1

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill9(self) -> None:
        if self.alive():
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._close()

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM and wait; SIGKILL after `timeout`. The exit code."""
        if self.proc is None:
            return None
        if self.alive():
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._close()
        return self.proc.returncode

    def _close(self):
        for f in (self._out, self._err):
            if f:
                f.close()
        self._out = self._err = None

    def admin_key(self) -> str:
        return (self.data / "first-admin-key").read_text().strip()

    def rss_kib(self) -> int | None:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        except OSError:
            return None
        return None

    def log_tail(self, n: int = 30) -> str:
        parts = []
        for p in (getattr(self, "out_path", None), getattr(self, "err_path", None)):
            if p and Path(p).exists():
                lines = Path(p).read_text(errors="replace").splitlines()
                parts.append(f"--- {p} (last {n})\n" + "\n".join(lines[-n:]))
        return "\n".join(parts)

    def offline(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """`avreg --data DATA ARGS` with the server stopped."""
        return subprocess.run(
            [self.binary, "--data", str(self.data), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def strip_ansi(s: str) -> str:
    return _ANSI.sub("", s)


class StartFailure(Exception):
    def __init__(self, msg, log):
        super().__init__(msg)
        self.log = log


NO_LIMITS = {"AVREG_SERVER__RATE_PER_S": "0", "AVREG_SERVER__ANONYMOUS_RATE_PER_S": "0"}


# ---------------------------------------------------------------- client


class Api:
    """A key's view of the API (one requests.Session: use one per thread)."""

    def __init__(self, url: str, key: str | None, timeout: float = 60.0):
        self.url = url
        self.key = key
        self.timeout = timeout
        self.s = requests.Session()

    def h(self):
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}

    def get(self, path, **kw):
        return self.s.get(self.url + path, headers=self.h(), timeout=kw.pop("timeout", self.timeout), **kw)

    def post(self, path, body, **kw):
        return self.s.post(self.url + path, json=body, headers=self.h(), timeout=kw.pop("timeout", self.timeout), **kw)

    def put(self, path, body, **kw):
        return self.s.put(self.url + path, json=body, headers=self.h(), timeout=kw.pop("timeout", self.timeout), **kw)

    def delete(self, path, **kw):
        return self.s.delete(self.url + path, headers=self.h(), timeout=kw.pop("timeout", self.timeout), **kw)

    def upload(self, path, media: bytes, name="clip.wav", fields=None, **kw):
        files = {"media": (name, media, "audio/wav")}
        return self.s.post(
            self.url + path,
            data=fields or {},
            files=files,
            headers=self.h(),
            timeout=kw.pop("timeout", self.timeout),
            **kw,
        )

    def register(self, seed: int, title: str, secs: float = 6.0):
        return self.upload("/v1/recordings", synth().recording(seed, secs), name=f"rec-{seed}.wav", fields={"title": title})

    def lookup(self, seed: int, secs: float = 6.0):
        return self.upload("/v1/lookup", synth().excerpt(seed, secs), name=f"clip-{seed}.wav")

    def new_key(self, role: str, **binding) -> str:
        body = {"role": role, "label": f"reliability {role}"}
        body.update(binding)
        r = self.post("/v1/keys", body)
        r.raise_for_status()
        return r.json()["secret"]


def body_of(r: requests.Response):
    try:
        return r.json()
    except ValueError:
        return r.text[:500]


# ---------------------------------------------------------------- ledger

KIND_PATH = {
    "performer": "performers",
    "organisation": "organisations",
    "fixation": "fixations",
    "credit": "credits",
    "moral_rights": "moral-rights",
    "holding": "holdings",
    "agreement": "agreements",
    "mandate": "mandates",
}


def new_id() -> str:
    return str(uuid.uuid4())


def performer(pid: str, name: str) -> dict:
    return {"version": 1, "id": pid, "display_name": name}


def organisation(oid: str, name: str, kind: str = "producer") -> dict:
    return {"version": 1, "id": oid, "kind": kind, "name": name, "country": "DE"}


def fixation(fid: str, org_id: str, title: str, duration_ms: int = 30000) -> dict:
    return {
        "version": 1,
        "id": fid,
        "kind": "av",
        "title": title,
        "fixation_date": "2019-03-01",
        "duration_ms": duration_ms,
        "producer": org_id,
        "registered_by": {"kind": "organisation", "id": org_id},
    }


def credit(cid: str, fid: str, pid: str, seg=(0, 15000), role="Actor") -> dict:
    return {
        "version": 1,
        "id": cid,
        "fixation": fid,
        "performer": pid,
        "role": role,
        "featured": True,
        "segments": [{"start_ms": seg[0], "end_ms": seg[1]}],
    }


def holding(hid: str, fid: str, holder: dict, share_ppm: int = 500000, right="making_available", territories=None) -> dict:
    return {
        "version": 1,
        "id": hid,
        "holder": holder,
        "fixation": fid,
        "right": right,
        "nature": "exclusive",
        "territories": territories or {"only": ["DE"]},
        "period": {"start": "2019-03-01"},
        "share_ppm": share_ppm,
        "basis": "contract",
    }


def entity_path(kind: str, eid: str) -> str:
    return f"/v1/{KIND_PATH[kind]}/{eid}"


def contains(actual, expected) -> bool:
    """Whether `actual` carries every field of `expected` with the same
    value (the server may add fields such as `third_party` or `steward`;
    a null we sent may come back absent)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return False
        for k, v in expected.items():
            if v is None and k not in actual:
                continue
            if k not in actual or not contains(actual[k], v):
                return False
        return True
    if isinstance(expected, list):
        return isinstance(actual, list) and len(actual) == len(expected) and all(contains(a, e) for a, e in zip(actual, expected))
    return actual == expected


# ---------------------------------------------------------------- figures


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def table(rows: list[tuple], headers: tuple) -> str:
    cols = list(zip(*([headers] + [tuple(str(c) for c in r) for r in rows]))) if rows else [[h] for h in headers]
    widths = [max(len(str(c)) for c in col) for col in cols]
    line = "| " + " | ".join(str(h).ljust(w) for h, w in zip(headers, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    out = [line, sep]
    for r in rows:
        out.append("| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |")
    return "\n".join(out)


def git_commit(tree: str) -> str:
    try:
        return subprocess.run(["git", "-C", tree, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "?"


def dump_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, default=str))
