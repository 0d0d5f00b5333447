//! `avreg serve` end to end: the real binary on 127.0.0.1:0 with a
//! temporary store, a real HTTP client (ureq), generated audio.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use avreg_testkit::server::{multipart, Launch};
use avreg_testkit::signal::{self, degrade};
use avreg_testkit::wav::write_wav;
use serde_json::{json, Value};

use crate::support::{s, Avreg};

/// A running `avreg serve` (the testkit's harness, reached through
/// `Deref`) on the store of `avreg`, which runs the CLI on it.
struct Server {
    avreg: Avreg,
    http: avreg_testkit::server::Server,
}

impl std::ops::Deref for Server {
    type Target = avreg_testkit::server::Server;
    fn deref(&self) -> &Self::Target {
        &self.http
    }
}

impl std::ops::DerefMut for Server {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.http
    }
}

impl Server {
    /// Starts the server with `AVREG_*` overrides.
    fn start(env: &[(&str, &str)]) -> Self {
        let avreg = Avreg::new();
        let launch = Launch {
            bin: env!("CARGO_BIN_EXE_avreg").into(),
            cwd: env!("CARGO_MANIFEST_DIR").into(),
            data: avreg.data(),
        };
        Self {
            http: avreg_testkit::server::Server::start(launch, None, env),
            avreg,
        }
    }

    /// Stops the server with SIGTERM (a clean stop) and starts it again on
    /// the same store.
    fn restart(self, env: &[(&str, &str)]) -> Self {
        Self {
            avreg: self.avreg,
            http: self.http.restart(env),
        }
    }

    /// A new key of `role` made by the admin over HTTP.
    fn key(&self, role: &str) -> String {
        let binding = match role {
            "performer" | "agent" => json!({"performers": [uuid_like(1)]}),
            "producer" => json!({"organisation": uuid_like(2)}),
            _ => json!({}),
        };
        self.create_key(role, binding)
    }

    /// (recordings, audit events): what must not change after a refusal.
    fn state(&self) -> (u64, Option<u64>) {
        let (_, list) = self.get(Some(&self.admin), "/v1/recordings");
        let (_, head) = self.get(Some(&self.admin), "/v1/audit/head");
        (
            list["total"].as_u64().expect("total"),
            head["head"]["seq"].as_u64(),
        )
    }
}

/// How long a registration job may run before a test fails naming it.
const JOB_TIMEOUT: Duration = Duration::from_secs(20);

fn uuid_like(n: u8) -> String {
    format!("0190a000-0000-7000-8000-0000000000{n:02}")
}

/// A WAV of `secs` of generated music.
fn song(avreg: &Avreg, name: &str, seed: u64, secs: f32) -> (std::path::PathBuf, Vec<f32>) {
    let path = avreg.path(name);
    let pcm = signal::song(&path, seed, secs);
    (path, pcm)
}

#[test]
fn register_by_upload_then_identify_a_degraded_excerpt() {
    let server = Server::start(&[]);
    let producer = server.key("producer");
    let platform = server.key("platform");
    let society = server.key("society");

    let (aria, pcm) = song(&server.avreg, "aria.wav", 11, 30.0);
    let bytes = std::fs::read(&aria).expect("read");
    let (status, v) = server.upload(
        Some(&producer),
        "/v1/recordings",
        &[("title", "Aria")],
        ("aria.wav", &bytes),
    );
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["status"], "registered");
    let id = v["recording"]["id"].as_str().expect("id").to_owned();
    assert_eq!(v["recording"]["source_name"], "aria.wav");
    // The same bytes again: the existing recording, 200.
    let (status, v) = server.upload(
        Some(&producer),
        "/v1/recordings",
        &[("title", "Aria again")],
        ("aria.wav", &bytes),
    );
    assert_eq!(
        (status, v["status"].as_str()),
        (200, Some("existing")),
        "{v}"
    );
    // Another recording, so the lookup has to choose.
    let (ballad, _) = song(&server.avreg, "ballad.wav", 12, 20.0);
    let (status, _) = server.upload(
        Some(&producer),
        "/v1/recordings",
        &[("title", "Ballad")],
        ("ballad.wav", &std::fs::read(&ballad).expect("read")),
    );
    assert_eq!(status, 201);

    // 6 s from 9 s, 2 % fast, 6 dB quieter, noise at 15 dB SNR.
    let clip = server.avreg.path("clip.wav");
    write_wav(
        &clip,
        22_050,
        &degrade(&pcm, 22_050, 9.0, 6.0, 1.02, -6.0, 15.0),
    );
    let clip_bytes = std::fs::read(&clip).expect("read");
    let (status, v) = server.upload(
        Some(&platform),
        "/v1/lookup",
        &[],
        ("clip.wav", &clip_bytes),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["version"], 1);
    assert_eq!(v["status"], "match", "{v}");
    let top = &v["matches"][0];
    assert_eq!(top["recording"]["id"], id.as_str());
    assert_eq!(top["medium"], "audio");
    let score = top["score"].as_f64().expect("score");
    assert!(score > 0.0 && score <= 1.0);
    let q0 = top["query"]["start_ms"].as_f64().expect("query start");
    let r0 = top["reference"]["start_ms"].as_f64().expect("ref start");
    let speed = top["speed"].as_f64().expect("speed");
    assert!(
        (r0 - (9_000.0 + q0 * speed)).abs() <= 150.0,
        "reference start {r0} for query start {q0}"
    );
    assert!(top["reference"]["duration_ms"].as_u64().expect("span") > 3_000);

    // The same clip as a fingerprint computed locally.
    let out = server.avreg.run(&["fingerprint", s(&clip), "--json"]);
    assert!(out.status.success());
    let fp: Value = serde_json::from_slice(&out.stdout).expect("fingerprint JSON");
    let (status, v) = server.post_json(Some(&platform), "/v1/lookup", &fp);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["matches"][0]["recording"]["id"], id.as_str());
    // A batch: the fingerprint, a broken one, the fingerprint again.
    let broken = json!({"version": 1, "fingerprint": {"data": "AAAA"}});
    let (status, v) = server.post_json(
        Some(&platform),
        "/v1/lookup/batch",
        &json!({"fingerprints": [fp, broken, fp]}),
    );
    assert_eq!(status, 200, "{v}");
    let results = v["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["matches"][0]["recording"]["id"], id.as_str());
    assert_eq!(results[1]["error"]["code"], "invalid");
    assert_eq!(results[2]["status"], "match");

    // Reading: one recording, a page of them.
    let (status, v) = server.get(Some(&society), &format!("/v1/recordings/{id}"));
    assert_eq!(
        (status, v["recording"]["title"].as_str()),
        (200, Some("Aria"))
    );
    let (status, v) = server.get(Some(&society), "/v1/recordings?limit=1");
    assert_eq!(status, 200);
    assert_eq!(
        (v["total"].as_u64(), v["next_offset"].as_u64()),
        (Some(2), Some(1))
    );

    // The audit chain names the producer's key for its registrations.
    let (status, v) = server.get(Some(&society), "/v1/audit/verify");
    assert_eq!((status, v["ok"].as_bool()), (200, Some(true)), "{v}");
    let head = format!(
        "{}:{}",
        v["head"]["seq"],
        v["head"]["hash"].as_str().expect("hash")
    );
    let (_, log) = server.get(Some(&society), "/v1/audit/log?since=0&limit=1000");
    let events = log["events"].as_array().expect("events");
    let registrations: Vec<_> = events
        .iter()
        .filter(|e| e["operation"] == "register_recording")
        .collect();
    assert_eq!(registrations.len(), 2);
    assert!(registrations[0]["actor"]
        .as_str()
        .expect("actor")
        .starts_with("key:"));
    assert_eq!(
        events
            .iter()
            .filter(|e| e["operation"] == "create_key")
            .count(),
        4
    );
    let (status, v) = server.get(Some(&society), &format!("/v1/audit/verify?head={head}"));
    assert_eq!((status, v["ok"].as_bool()), (200, Some(true)), "{v}");

    // Metrics saw it. They need a monitor (or admin) key; a monitor key
    // reads nothing else.
    assert_eq!(server.get(None, "/metrics").0, 401);
    assert_eq!(server.get(Some(&society), "/metrics").0, 403);
    let monitor = server.key("monitor");
    assert_eq!(server.get(Some(&monitor), "/v1/recordings").0, 403);
    assert_eq!(server.get(Some(&monitor), "/v1/audit/log").0, 403);
    let (status, Value::String(metrics)) = server.get(Some(&monitor), "/metrics") else {
        panic!("metrics are text")
    };
    assert_eq!(status, 200);
    assert!(
        metrics.contains("avreg_lookups_total{outcome=\"match\"} 4"),
        "{metrics}"
    );
    assert!(metrics.contains("avreg_registrations_total{outcome=\"registered\"} 2"));
    assert!(metrics.contains("route=\"/v1/recordings\",method=\"POST\",status=\"201\""));
    assert!(metrics.contains("avreg_fingerprint_queue_depth 0"));
    assert_eq!(server.get(None, "/health").0, 200);
    assert_eq!(server.get(None, "/ready").0, 200);
}

#[test]
fn authorisation_negatives_write_nothing() {
    let server = Server::start(&[]);
    let platform = server.key("platform");
    let society = server.key("society");
    let performer = server.key("performer");
    let (song_path, _) = song(&server.avreg, "s.wav", 3, 8.0);
    // A short body: a refusal is answered before the body is read, and a
    // client still writing a large one would see the connection close
    // (large uploads send `Expect: 100-continue`, below).
    let bytes = std::fs::read(&song_path).expect("read")[..2_000].to_vec();
    let before = server.state();

    let form = |key: Option<&str>| {
        server.upload(key, "/v1/recordings", &[("title", "T")], ("s.wav", &bytes))
    };
    let cases = [
        (form(None), 401, "unauthorized"),
        (form(Some("avreg_not-a-real-key")), 401, "unauthorized"),
        (form(Some(&platform)), 403, "forbidden"),
        (form(Some(&society)), 403, "forbidden"),
        (
            server.get(Some(&performer), "/v1/audit/log"),
            403,
            "forbidden",
        ),
        (
            server.get(Some(&platform), "/v1/recordings"),
            403,
            "forbidden",
        ),
        (server.get(None, "/v1/audit/head"), 401, "unauthorized"),
        (
            server.post_json(Some(&society), "/v1/keys", &json!({"role": "admin"})),
            403,
            "forbidden",
        ),
    ];
    for (i, ((status, v), want_status, want_code)) in cases.into_iter().enumerate() {
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (want_status, Some(want_code)),
            "case {i}: {v}"
        );
    }
    // A large upload announced with `Expect: 100-continue` is refused
    // before a byte of it is sent.
    let (status, v) = raw(
        &server.addr,
        &format!(
            "POST /v1/recordings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {platform}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 900000000\r\nExpect: 100-continue\r\n\r\n"
        ),
        b"",
    );
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{v}"
    );
    assert_eq!(server.state(), before, "refused requests wrote nothing");

    // A revoked key stops working.
    let (_, keys) = server.get(Some(&server.admin), "/v1/keys");
    let platform_id = keys["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["role"] == "platform")
        .expect("platform key")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let del = server
        .agent
        .delete(server.url(&format!("/v1/keys/{platform_id}")))
        .header("Authorization", format!("Bearer {}", server.admin))
        .call()
        .expect("DELETE");
    assert_eq!(del.status().as_u16(), 200);
    let (status, _) = server.post_json(Some(&platform), "/v1/lookup", &json!({}));
    assert_eq!(status, 401);
}

/// Sends a request head and part of a body over a raw socket, then waits:
/// returns the status line and body the server answers.
fn raw(addr: &str, head: &str, partial_body: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(head.as_bytes()).expect("head");
    stream.write_all(partial_body).expect("body");
    let mut response = Vec::new();
    let mut buf = [0u8; 4096];
    // Read until the server closes or the JSON body is complete.
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => response.extend_from_slice(&buf[..n]),
        }
        let text = String::from_utf8_lossy(&response);
        if let Some((_, body)) = text.split_once("\r\n\r\n") {
            if serde_json::from_str::<Value>(body).is_ok() {
                break;
            }
        }
    }
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {text:?}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

#[test]
fn bad_input_gets_its_error_and_leaves_the_store_unchanged() {
    let uploads = tempfile::tempdir().expect("temp dir");
    let upload_dir = uploads.path().join("uploads");
    let server = Server::start(&[
        ("AVREG_SERVER__MEDIA_BODY_LIMIT", "200000"),
        ("AVREG_SERVER__BODY_IDLE_TIMEOUT_MS", "700"),
        ("AVREG_SERVER__TEMP_DIR", s(&upload_dir)),
    ]);
    let producer = server.key("producer");
    let before = server.state();
    let auth = format!("Authorization: Bearer {producer}\r\n");

    // Malformed JSON.
    let (status, v) = server.post(
        Some(&producer),
        "/v1/recordings",
        "application/json",
        b"{\"title\": \"x\", ",
    );
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("invalid")),
        "{v}"
    );
    // A fingerprint that is not one.
    let (status, v) = server.post_json(
        Some(&producer),
        "/v1/recordings",
        &json!({"title": "x", "fingerprint": {"version": 1, "fingerprint": {"data": "bm9wZQ=="}}}),
    );
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (400, Some("fingerprint.data")),
        "{v}"
    );
    // Corrupt media: noise bytes named .wav, and a WAV cut inside its header.
    let noise: Vec<u8> = (0..50_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let (status, v) = server.upload(
        Some(&producer),
        "/v1/recordings",
        &[("title", "Noise")],
        ("noise.wav", &noise),
    );
    assert!(
        matches!(
            (status, v["error"]["code"].as_str()),
            (415, Some("unsupported_media")) | (400, Some("invalid"))
        ),
        "{status} {v}"
    );
    let (wav, _) = song(&server.avreg, "w.wav", 5, 3.0);
    let wav = std::fs::read(&wav).expect("read");
    let (status, v) = server.upload(
        Some(&producer),
        "/v1/recordings",
        &[("title", "Cut")],
        ("cut.wav", &wav[..30]),
    );
    assert!(matches!(status, 400 | 415), "{status} {v}");
    // No title.
    let (status, v) = server.upload(
        Some(&producer),
        "/v1/recordings",
        &[],
        ("w.wav", &wav[..1000]),
    );
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (400, Some("title")),
        "{v}"
    );
    // Not a content type we read.
    let (status, v) = server.post(Some(&producer), "/v1/recordings", "text/plain", b"hi");
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (415, Some("unsupported_media"))
    );

    // Oversized: the declared length is over the configured 200,000 bytes;
    // refused before the body is read.
    let (status, v) = raw(
        &server.addr,
        &format!(
            "POST /v1/recordings HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 5000000\r\n\r\n"
        ),
        b"",
    );
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (413, Some("payload_too_large")),
        "{v}"
    );
    // A slow client: headers and half a form, then nothing.
    let (ct, body) = multipart(&[("title", "Slow")], ("slow.wav", &wav));
    let (status, v) = raw(
        &server.addr,
        &format!(
            "POST /v1/recordings HTTP/1.1\r\nHost: x\r\n{auth}Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        ),
        &body[..body.len() / 2],
    );
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (408, Some("timeout")),
        "{v}"
    );

    assert_eq!(server.state(), before, "refused requests wrote nothing");
    let left: Vec<_> = std::fs::read_dir(&upload_dir)
        .expect("upload dir")
        .collect();
    assert!(left.is_empty(), "temporary uploads left behind: {left:?}");
    // The server still works.
    let (status, _) = server.upload(
        Some(&producer),
        "/v1/recordings",
        &[("title", "Fine")],
        ("w.wav", &wav),
    );
    assert_eq!(status, 201);
}

#[test]
fn registration_from_a_fingerprint_and_graceful_shutdown_flushes() {
    let mut server = Server::start(&[]);
    let agent = server.key("agent");
    let (path, _) = song(&server.avreg, "fp.wav", 21, 12.0);
    let out = server.avreg.run(&["fingerprint", s(&path), "--json"]);
    assert!(out.status.success());
    let fp: Value = serde_json::from_slice(&out.stdout).expect("fingerprint JSON");
    let (status, v) = server.post_json(
        Some(&agent),
        "/v1/recordings",
        &json!({"title": "From a fingerprint", "fingerprint": fp}),
    );
    assert_eq!(status, 201, "{v}");
    let id = v["recording"]["id"].as_str().expect("id").to_owned();
    assert_eq!(v["recording"]["content_hash"], fp["content_hash"]);

    // SIGTERM: the server stops cleanly and the store is whole.
    server.terminate();
    let (code, list) = server.avreg.json(&["list", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(list["recordings"][0]["id"], id.as_str());
    let (code, v) = server.avreg.json(&["audit", "verify", "--json"]);
    assert_eq!((code, v["ok"].as_bool()), (0, Some(true)), "{v}");
    let out = server.avreg.run(&["key", "list"]);
    let keys = String::from_utf8_lossy(&out.stdout);
    assert!(keys.contains("admin") && keys.contains("agent"), "{keys}");
}

#[test]
fn a_registration_longer_than_the_wait_answers_202_with_a_job_to_poll() {
    let server = Server::start(&[("AVREG_SERVER__SYNC_WAIT_MS", "0")]);
    let producer = server.key("producer");
    let platform = server.key("platform");
    let (path, _) = song(&server.avreg, "job.wav", 31, 10.0);
    let bytes = std::fs::read(&path).expect("read");
    let (status, v) = server.upload(
        Some(&producer),
        "/v1/recordings",
        &[("title", "Slow to register")],
        ("job.wav", &bytes),
    );
    assert_eq!(
        (status, v["status"].as_str()),
        (202, Some("running")),
        "{v}"
    );
    let job_id = v["job_id"].as_str().expect("job id");
    let job = format!("/v1/jobs/{job_id}");
    let done = server.wait_job(&producer, job_id, JOB_TIMEOUT);
    assert_eq!(done["status"], "done", "{done}");
    assert_eq!(done["result"]["status"], "registered");
    assert_eq!(done["result"]["recording"]["title"], "Slow to register");
    // Someone else's job is not there for them.
    let (status, v) = server.get(Some(&platform), &job);
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (404, Some("not_found"))
    );
    // Media registered for a fixation runs as a job too; its result is
    // the attachment with the conflicts it opened.
    let org = uuid_like(2);
    for (path, body) in [
        (
            "/v1/organisations",
            json!({"version": 1, "id": org, "kind": "producer", "name": "Slow Films", "country": "DE"}),
        ),
        (
            "/v1/fixations",
            json!({"version": 1, "id": uuid_like(3), "kind": "av", "title": "Slow Film",
                "fixation_date": "2020-01-01", "duration_ms": 10000, "producer": org,
                "registered_by": {"kind": "organisation", "id": org}}),
        ),
    ] {
        let (status, v) = server.post_json(Some(&server.admin), path, &body);
        assert_eq!(status, 201, "{path}: {v}");
    }
    let (other, film_pcm) = song(&server.avreg, "film.wav", 32, 10.0);
    let (status, v) = server.upload(
        Some(&producer),
        &format!("/v1/fixations/{}/media", uuid_like(3)),
        &[],
        ("film.wav", &std::fs::read(&other).expect("read")),
    );
    assert_eq!(
        (status, v["status"].as_str()),
        (202, Some("running")),
        "{v}"
    );
    let film_job_id = v["job_id"].as_str().expect("job id");
    let film_job = format!("/v1/jobs/{film_job_id}");
    let attached = server.wait_job(&producer, film_job_id, JOB_TIMEOUT);
    assert_eq!(attached["status"], "done", "{attached}");
    assert_eq!(attached["result"]["status"], "registered", "{attached}");
    assert_eq!(
        attached["result"]["recording"]["title"], "Slow Film",
        "{attached}"
    );
    assert_eq!(attached["result"]["opened"], json!([]), "{attached}");
    // The same music re-encoded, as another registrant's fixation's media:
    // that job's result carries the reference overlap it opened.
    let rival = uuid_like(4);
    for (path, body) in [
        (
            "/v1/organisations",
            json!({"version": 1, "id": rival, "kind": "producer", "name": "Copy Films", "country": "DE"}),
        ),
        (
            "/v1/fixations",
            json!({"version": 1, "id": uuid_like(5), "kind": "av", "title": "Copied Film",
                "fixation_date": "2021-01-01", "duration_ms": 10000, "producer": rival,
                "registered_by": {"kind": "organisation", "id": rival}}),
        ),
    ] {
        let (status, v) = server.post_json(Some(&server.admin), path, &body);
        assert_eq!(status, 201, "{path}: {v}");
    }
    let copy = server.avreg.path("copy.wav");
    write_wav(
        &copy,
        22_050,
        &degrade(&film_pcm, 22_050, 0.0, 10.0, 1.0, -3.0, 30.0),
    );
    let (status, v) = server.upload(
        Some(&server.admin),
        &format!("/v1/fixations/{}/media", uuid_like(5)),
        &[],
        ("copy.wav", &std::fs::read(&copy).expect("read")),
    );
    assert_eq!(status, 202, "{v}");
    let copy_job = v["job_id"].as_str().expect("job id");
    let copied = server.wait_job(&server.admin, copy_job, JOB_TIMEOUT);
    assert_eq!(copied["status"], "done", "{copied}");
    let opened = copied["result"]["opened"].as_array().expect("opened");
    assert_eq!(opened.len(), 1, "{copied}");
    assert_eq!(opened[0]["kind"], "reference_overlap", "{copied}");

    // Jobs are kept in the store: a restart does not forget them.
    let server = server.restart(&[("AVREG_SERVER__SYNC_WAIT_MS", "0")]);
    let (status, again) = server.get(Some(&producer), &job);
    assert_eq!(status, 200, "{again}");
    assert_eq!(again, done);
    assert_eq!(server.get(Some(&producer), &film_job).1, attached);
    // A job that fails says why (a failure quick enough to beat even a
    // zero wait is answered directly).
    let (status, v) = server.upload(
        Some(&producer),
        "/v1/recordings",
        &[("title", "Broken")],
        ("broken.wav", &bytes[..40]),
    );
    let error = if status == 202 {
        let job_id = v["job_id"].as_str().expect("job id");
        let failed = server.wait_job(&producer, job_id, JOB_TIMEOUT);
        assert_eq!(failed["status"], "failed", "{failed}");
        failed["result"].clone()
    } else {
        assert_eq!(status, 400, "{v}");
        v
    };
    assert_eq!(error["error"]["code"], "invalid", "{error}");
    assert_eq!(error["error"]["field"], "media", "{error}");
}

#[test]
fn key_commands_create_list_and_revoke() {
    let avreg = Avreg::new();
    let out = avreg.run(&["key", "create", "--role", "producer"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a producer key needs an organisation"
    );
    let out = avreg.run(&["key", "create", "--role", "root"]);
    assert_eq!(out.status.code(), Some(2));
    let (code, v) = avreg.json(&[
        "key",
        "create",
        "--role",
        "agent",
        "--performer",
        &uuid_like(7),
        "--label",
        "Aria's agent",
        "--json",
    ]);
    assert_eq!(code, 0, "{v}");
    assert!(v["secret"].as_str().expect("secret").starts_with("avreg_"));
    let id = v["key"]["id"].as_str().expect("id").to_owned();
    let (code, v) = avreg.json(&["key", "list", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(v["keys"][0]["role"], "agent");
    assert!(
        v["keys"][0].get("secret").is_none(),
        "secrets are never listed"
    );
    let out = avreg.run(&["key", "revoke", &id]);
    assert!(out.status.success());
    let (_, v) = avreg.json(&["key", "list", "--json"]);
    assert!(v["keys"][0]["revoked_at_ms"].is_u64());
    let (code, v) = avreg.json(&["audit", "log", "--json"]);
    assert_eq!(code, 0);
    let ops: Vec<_> = v["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["operation"].as_str().expect("op").to_owned())
        .collect();
    assert_eq!(ops, ["create_key", "revoke_key"]);
}

const ADA: &str = "0190a000-0000-7000-8000-000000000001";
const BO: &str = "0190a000-0000-7000-8000-000000000002";
const STUDIO: &str = "0190a000-0000-7000-8000-000000000010";
const SOCIETY: &str = "0190a000-0000-7000-8000-000000000020";
const FILM: &str = "0190a000-0000-7000-8000-000000000100";
const ADA_CREDIT: &str = "0190a000-0000-7000-8000-000000001001";

impl Server {
    /// A key of `role` bound as given.
    fn bound_key(&self, role: &str, binding: Value) -> String {
        self.create_key(role, binding)
    }
}

fn credit(
    id: &str,
    performer: &str,
    role: &str,
    character: Option<&str>,
    seg: (u64, u64),
) -> Value {
    json!({"version": 1, "id": id, "fixation": FILM, "performer": performer, "role": role,
        "character": character, "featured": true,
        "segments": [{"start_ms": seg.0, "end_ms": seg.1}]})
}

#[test]
fn producer_registers_a_fixation_platform_learns_who_and_who_holds_society_audits() {
    let server = Server::start(&[]);
    let admin = server.admin.clone();
    // The parties (admin).
    for (path, body) in [
        (
            "/v1/performers",
            json!({"version": 1, "id": ADA, "display_name": "Ada Lind",
            "legal_name": "Ada Maria Lindqvist", "isni": "000000012281955X"}),
        ),
        (
            "/v1/performers",
            json!({"version": 1, "id": BO, "display_name": "Bo Berg"}),
        ),
        (
            "/v1/organisations",
            json!({"version": 1, "id": STUDIO, "kind": "producer",
            "name": "Nordlicht Film", "country": "DE"}),
        ),
        (
            "/v1/organisations",
            json!({"version": 1, "id": SOCIETY,
            "kind": "collecting_society", "name": "Performers' Society", "country": "DE"}),
        ),
    ] {
        let (status, v) = server.post_json(Some(&admin), path, &body);
        assert_eq!(status, 201, "{path}: {v}");
        assert_eq!(
            v["revisions"][0]["actor"]
                .as_str()
                .map(|a| a.starts_with("key:")),
            Some(true)
        );
    }
    let producer = server.bound_key("producer", json!({"organisation": STUDIO}));
    let ada = server.bound_key("performer", json!({"performers": [ADA]}));
    let bo = server.bound_key("performer", json!({"performers": [BO]}));
    let platform = server.key("platform");
    let society = server.key("society");

    // Malformed JSON and an invalid ISAN: 400, nothing written.
    let before = server.head_seq();
    let (status, v) = server.post(
        Some(&producer),
        "/v1/fixations",
        "application/json",
        b"{\"version\": 1,",
    );
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (400, Some("invalid")),
        "{v}"
    );
    let fixation = json!({"version": 1, "id": FILM, "kind": "av", "title": "Winter Light",
        "isan": "0000-0000-D07A-0090-Q-0000-0000-Y", "fixation_date": "2019-03-01",
        "duration_ms": 30000, "producer": STUDIO,
        "registered_by": {"kind": "organisation", "id": STUDIO}});
    let (status, v) = server.post_json(Some(&producer), "/v1/fixations", &fixation);
    assert_eq!(status, 400, "{v}");
    assert_eq!(v["error"]["field"], "isan", "{v}");
    let (status, v) = server.get(
        Some(&platform),
        "/v1/lookup/identifier/0000-0000-D07A-0090-Q-0000-0000-Y",
    );
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (400, Some("id")),
        "{v}"
    );
    assert_eq!(server.head_seq(), before, "refused writes wrote nothing");

    // The producer registers its fixation with credits and holdings.
    let mut fixation = fixation;
    fixation["isan"] = json!("0000-0000-D07A-0090-Q-0000-0000-X");
    let (status, v) = server.post_json(Some(&producer), "/v1/fixations", &fixation);
    assert_eq!(status, 201, "{v}");
    let (status, v) = server.apply(&producer, &json!({"version": 1, "changes": [
            {"create": {"kind": "credit", "entity": credit(ADA_CREDIT, ADA, "Actor", Some("Sigrid"), (0, 15000))}},
            {"create": {"kind": "credit", "entity": credit("0190a000-0000-7000-8000-000000001002", BO, "Musician", None, (15000, 30000))}},
            {"create": {"kind": "holding", "entity": {"version": 1,
                "id": "0190a000-0000-7000-8000-000000002001",
                "holder": {"kind": "organisation", "id": STUDIO}, "fixation": FILM,
                "right": "making_available", "nature": "exclusive",
                "territories": {"worldwide_except": []}, "period": {"start": "2019-03-01"},
                "share_ppm": 800000, "basis": "presumed_by_law"}}},
            {"create": {"kind": "holding", "entity": {"version": 1,
                "id": "0190a000-0000-7000-8000-000000002002",
                "holder": {"kind": "performer", "id": ADA}, "fixation": FILM,
                "right": "making_available", "nature": "exclusive",
                "territories": {"only": ["DE", "AT"]}, "period": {"start": "2020-01-01"},
                "share_ppm": 300000, "basis": "contract"}}},
        ]}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["revisions"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        v["opened"].as_array().map(Vec::len),
        Some(1),
        "the DE overclaim: {v}"
    );
    // Ada mandates the society (her own mandate).
    let (status, v) = server.post_json(
        Some(&ada),
        "/v1/mandates",
        &json!({"version": 1, "id": "0190a000-0000-7000-8000-000000003001",
            "performer": ADA, "society": SOCIETY, "rights": ["broadcasting"],
            "territories": {"only": ["DE"]}, "period": {"start": "2020-01-01"}, "exclusive": true}),
    );
    assert_eq!(status, 201, "{v}");

    // Authorisation negatives: nothing written.
    let before = server.head_seq();
    let mut stolen = credit(ADA_CREDIT, ADA, "Actor", Some("Sigrid"), (0, 30000));
    stolen["credited_as"] = json!("Bo");
    let (status, v) = server.send("PUT", &bo, &format!("/v1/credits/{ADA_CREDIT}"), &stolen);
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (403, Some("forbidden")),
        "{v}"
    );
    let (status, _) = server.send(
        "DELETE",
        &bo,
        &format!("/v1/credits/{ADA_CREDIT}"),
        &json!({}),
    );
    assert_eq!(status, 403);
    let (status, _) = server.post_json(Some(&platform), "/v1/credits", &stolen);
    assert_eq!(status, 403);
    let (status, _) = server.apply(&society, &json!({"version": 1, "changes": []}));
    assert_eq!(status, 403);
    let (status, _) = server.post_json(None, "/v1/credits", &stolen);
    assert_eq!(status, 401);
    assert_eq!(server.head_seq(), before, "refused writes wrote nothing");
    // Ada may amend her own credit; reads keep the legal name private.
    let (status, v) = server.send(
        "PUT",
        &ada,
        &format!("/v1/credits/{ADA_CREDIT}"),
        &credit(ADA_CREDIT, ADA, "Actor", Some("Sigrid"), (0, 16000)),
    );
    assert_eq!(status, 200, "{v}");
    let (status, v) = server.get(Some(&bo), &format!("/v1/performers/{ADA}"));
    assert_eq!(status, 200, "{v}");
    assert!(
        v["revision"]["entity"]["entity"]["legal_name"].is_null(),
        "{v}"
    );
    let (status, v) = server.get(Some(&society), "/v1/credits?limit=1");
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(v["next_after"], ADA_CREDIT);
    // Lists filtered by what the entities refer to.
    let count = |path: &str| {
        let (status, v) = server.get(Some(&society), path);
        assert_eq!(status, 200, "{path}: {v}");
        v["items"].as_array().map(Vec::len).expect("items")
    };
    assert_eq!(count(&format!("/v1/credits?fixation={FILM}")), 2);
    assert_eq!(count(&format!("/v1/credits?performer={BO}")), 1);
    assert_eq!(count(&format!("/v1/holdings?performer={ADA}")), 1);
    assert_eq!(count(&format!("/v1/holdings?organisation={STUDIO}")), 1);
    assert_eq!(
        count(&format!("/v1/credits?fixation={FILM}&after={ADA_CREDIT}")),
        1
    );
    assert_eq!(count(&format!("/v1/credits?fixation={}", uuid_like(99))), 0);
    let (status, v) = server.get(Some(&society), "/v1/credits?fixation=nope");
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (400, Some("fixation")),
        "{v}"
    );
    let (status, v) = server.get(
        Some(&society),
        &format!("/v1/credits?fixation={FILM}&performer={ADA}"),
    );
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (400, Some("performer")),
        "{v}"
    );

    // The producer uploads the media.
    let (path, pcm) = song(&server.avreg, "film.wav", 5, 30.0);
    let bytes = std::fs::read(&path).expect("read");
    // Bo may not: refused before the body is read, so a small body is
    // enough (a large one could still be in flight when the server closes
    // the connection, and the client would see a broken pipe instead).
    let (status, v) = server.upload(
        Some(&bo),
        &format!("/v1/fixations/{FILM}/media"),
        &[],
        ("film.wav", &bytes[..4096]),
    );
    assert_eq!(status, 403, "{v}");
    let (status, v) = server.upload(
        Some(&producer),
        &format!("/v1/fixations/{FILM}/media"),
        &[],
        ("film.wav", &bytes),
    );
    assert_eq!(status, 201, "{v}");

    // A platform looks up a degraded excerpt (4 s .. 12 s) in DE.
    let excerpt = degrade(&pcm, 22_050, 4.0, 8.0, 1.0, -3.0, 20.0);
    let clip = server.avreg.path("clip.wav");
    write_wav(&clip, 22_050, &excerpt);
    let clip = std::fs::read(&clip).expect("read");
    let (status, v) = server.upload(
        Some(&platform),
        "/v1/lookup",
        &[("territory", "DE"), ("date", "2024-06-01")],
        ("clip.wav", &clip),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["status"], "match", "{v}");
    let m = &v["matches"][0];
    assert_eq!(m["medium"], "audio");
    let f = &m["fixation"];
    assert_eq!(f["id"], FILM, "{v}");
    assert_eq!(
        f["identifiers"]["isan"],
        "0000-0000-D07A-0090-Q-0000-0000-X"
    );
    let performers = f["performers"].as_array().expect("performers");
    assert_eq!(performers.len(), 1, "only Ada is on screen 4..12 s: {v}");
    assert_eq!(performers[0]["performer_id"], ADA);
    assert_eq!(performers[0]["credit"]["character"], "Sigrid");
    assert!(performers[0]["fraction"].as_f64().expect("fraction") > 0.9);
    assert!(!v.to_string().contains("Lindqvist"), "never the legal name");
    let rights = f["rights"].as_array().expect("rights");
    let ma = rights
        .iter()
        .find(|r| r["right"] == "making_available")
        .expect("making_available");
    assert_eq!(ma["exclusive"].as_array().map(Vec::len), Some(2), "{ma}");
    assert!(f["term"].is_object(), "{f}");
    assert_eq!(f["eligibility"]["status"], "not_applicable", "{f}");
    assert_eq!(f["eligibility"]["territory_bound"], false, "{f}");
    // A bad territory is named.
    let (status, v) = server.upload(
        Some(&platform),
        "/v1/lookup",
        &[("territory", "XX1")],
        ("clip.wav", &clip),
    );
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (400, Some("territory")),
        "{v}"
    );
    // By identifier.
    let (status, v) = server.get(
        Some(&platform),
        "/v1/lookup/identifier/0000-0000-D07A-0090-Q-0000-0000-X",
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["revision"]["entity"]["entity"]["id"], FILM);

    // The society exports, lists conflicts and checks the audit chain.
    let mut res = server
        .agent
        .get(server.url(&format!(
            "/v1/exports/repertoire?society={SOCIETY}&date=2024-06-01"
        )))
        .header("Authorization", format!("Bearer {society}"))
        .call()
        .expect("GET");
    assert_eq!(res.status().as_u16(), 200);
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(ct.starts_with("text/csv"), "{ct}");
    let csv = res.body_mut().read_to_string().expect("csv");
    assert!(csv.contains("Winter Light"), "{csv}");
    // The overclaim, and Ada's amendment of her credit, which is now her
    // word in the studio's film (a third-party claim).
    let (status, v) = server.get(Some(&society), "/v1/exports/conflicts?format=json");
    assert_eq!(status, 200, "{v}");
    let kinds: Vec<&str> = v["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|r| r["kind"].as_str())
        .collect();
    assert_eq!(kinds, ["overclaim", "third_party_claim"], "{v}");
    let (status, _) = server.get(Some(&platform), "/v1/exports/conflicts");
    assert_eq!(status, 403);
    let (status, v) = server.get(Some(&society), "/v1/conflicts?open=true");
    assert_eq!(
        (status, v["conflicts"].as_array().map(Vec::len)),
        (200, Some(2)),
        "{v}"
    );
    let conflict = v["conflicts"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["kind"] == "overclaim"))
        .and_then(|c| c["id"].as_str())
        .expect("the overclaim")
        .to_owned();
    let (status, _) = server.post_json(
        Some(&bo),
        &format!("/v1/conflicts/{conflict}/respond"),
        &json!({"party": format!("performer:{ADA}"), "note": "not mine"}),
    );
    assert_eq!(status, 403);
    let (status, v) = server.post_json(
        Some(&ada),
        &format!("/v1/conflicts/{conflict}/respond"),
        &json!({"party": format!("performer:{ADA}"), "note": "30% in DE by contract"}),
    );
    assert_eq!(status, 200, "{v}");
    let (status, v) = server.get(Some(&society), "/v1/audit/verify");
    assert_eq!((status, v["ok"].as_bool()), (200, Some(true)), "{v}");
    let (status, head) = server.get(Some(&society), "/v1/audit/head");
    assert_eq!(status, 200);
    let (_, key) = server.get(Some(&society), "/v1/audit/key");
    assert_eq!(head["signed"]["public_key"], key["public_key"], "{head}");
    assert_eq!(head["signed"]["seq"], head["head"]["seq"]);
    // Every write after the first admin key's creation names its key.
    let (_, log) = server.get(Some(&society), "/v1/audit/log");
    let events = log["events"].as_array().expect("events");
    assert!(events.len() > 10, "{log}");
    assert!(
        events
            .iter()
            .skip(1)
            .all(|e| e["actor"].as_str().is_some_and(|a| a.starts_with("key:"))),
        "{log}"
    );
}

#[test]
fn video_is_registered_and_identified_by_upload_and_by_fingerprint_json() {
    let server = Server::start(&[]);
    let producer = server.key("producer");
    let platform = server.key("platform");
    let reference = std::fs::read(crate::support::fixture("video/ref.mp4")).expect("read");
    let (status, reg) = server.upload(
        Some(&producer),
        "/v1/recordings",
        &[("title", "Test card")],
        ("ref.mp4", &reference),
    );
    assert_eq!(status, 201, "{reg}");
    let excerpt_path = crate::support::fixture("video/excerpt-crop.mp4");
    let excerpt = std::fs::read(&excerpt_path).expect("read");
    let (status, found) = server.upload(Some(&platform), "/v1/lookup", &[], ("clip.mp4", &excerpt));
    assert_eq!(status, 200, "{found}");
    let m = &found["matches"][0];
    assert_eq!(m["recording"]["id"], reg["recording"]["id"], "{found}");
    assert_eq!(m["medium"], "video");
    assert!(m["video"]["aligned_frames"].as_u64() > Some(0), "{found}");
    assert_eq!(found["query"]["medium"], "video");
    // The same excerpt fingerprinted locally (`video.data`) and posted.
    let out = server
        .avreg
        .run(&["fingerprint", s(&excerpt_path), "--json"]);
    assert!(out.status.success());
    let (status, again) = server.post(
        Some(&platform),
        "/v1/lookup",
        "application/json",
        &out.stdout,
    );
    assert_eq!(status, 200, "{again}");
    assert_eq!(
        again["matches"][0]["recording"]["id"], reg["recording"]["id"],
        "{again}"
    );
    assert_eq!(again["matches"][0]["medium"], "video");
}

// Trust (issue 12): each attack below, tried against the real service,
// gave a false answer before the fix.

const RIVAL: &str = "0190a000-0000-7000-8000-000000000011";

impl Server {
    /// The parties of the trust tests (admin): Ada, Bo, the studio and a
    /// rival producer; keys for the studio, the rival, Ada and Bo.
    fn parties(&self) -> (String, String, String, String) {
        for (path, body) in [
            (
                "/v1/performers",
                json!({"version": 1, "id": ADA, "display_name": "Ada Lind"}),
            ),
            (
                "/v1/performers",
                json!({"version": 1, "id": BO, "display_name": "Bo Berg"}),
            ),
            (
                "/v1/organisations",
                json!({"version": 1, "id": STUDIO, "kind": "producer", "name": "Nordlicht"}),
            ),
            (
                "/v1/organisations",
                json!({"version": 1, "id": RIVAL, "kind": "producer", "name": "Rival"}),
            ),
        ] {
            let (status, v) = self.post_json(Some(&self.admin), path, &body);
            assert_eq!(status, 201, "{path}: {v}");
        }
        (
            self.bound_key("producer", json!({"organisation": STUDIO})),
            self.bound_key("producer", json!({"organisation": RIVAL})),
            self.bound_key("performer", json!({"performers": [ADA]})),
            self.bound_key("performer", json!({"performers": [BO]})),
        )
    }

    /// Creates a fixation registered by `by` (a party JSON) with `key`.
    fn fixation(&self, key: &str, id: &str, by: Value, extra: Value) -> (u16, Value) {
        self.create_fixation(key, id, by, extra)
    }

    fn attach(&self, key: &str, fixation: &str, name: &str, bytes: &[u8]) -> (u16, Value) {
        self.upload(
            Some(key),
            &format!("/v1/fixations/{fixation}/media"),
            &[],
            (name, bytes),
        )
    }

    fn conflict(&self, id: &str) -> Value {
        let (status, v) = self.get(Some(&self.admin), "/v1/conflicts?open=false");
        assert_eq!(status, 200, "{v}");
        v["conflicts"]
            .as_array()
            .and_then(|all| all.iter().find(|c| c["id"] == id))
            .cloned()
            .unwrap_or_else(|| panic!("conflict {id} in {v}"))
    }
}

fn org(id: &str) -> Value {
    json!({"kind": "organisation", "id": id})
}

#[test]
fn a_claimed_content_hash_captures_nothing() {
    let server = Server::start(&[]);
    let (studio, rival, _, _) = server.parties();
    // The studio's file, which the rival does not have; only its hash is
    // public.
    let (path, pcm) = song(&server.avreg, "film.wav", 31, 20.0);
    let bytes = std::fs::read(&path).expect("read");
    let hash = avreg_fingerprint::ContentHash::of(&bytes).to_hex();
    // The rival registers another sound under that hash.
    let (other, _) = song(&server.avreg, "other.wav", 32, 20.0);
    let out = server.avreg.run(&["fingerprint", s(&other), "--json"]);
    assert!(out.status.success());
    let mut fp: Value = serde_json::from_slice(&out.stdout).expect("fingerprint JSON");
    fp["content_hash"] = json!(hash);
    let (status, v) = server.post_json(
        Some(&rival),
        "/v1/recordings",
        &json!({"title": "Squatted", "fingerprint": fp}),
    );
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["recording"]["content_hash_verified"], false, "{v}");
    let squat = v["recording"]["id"].as_str().expect("id").to_owned();
    // Sent again, the same fingerprint is the rival's existing recording;
    // the claim never reaches anyone else.
    let (status, v) = server.post_json(
        Some(&rival),
        "/v1/recordings",
        &json!({"title": "Squatted", "fingerprint": fp}),
    );
    assert_eq!(
        (status, v["recording"]["id"].as_str()),
        (200, Some(squat.as_str()))
    );

    // The real owner's upload is registered, not answered with the squat.
    let (status, v) = server.upload(
        Some(&studio),
        "/v1/recordings",
        &[("title", "Winter Light")],
        ("film.wav", &bytes),
    );
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["status"], "registered");
    assert_eq!(v["recording"]["content_hash"], hash.as_str());
    assert_eq!(v["recording"]["content_hash_verified"], true);
    assert_eq!(
        v["recording"]["registrant"],
        format!("organisation:{STUDIO}")
    );
    let real = v["recording"]["id"].as_str().expect("id").to_owned();
    assert_ne!(real, squat);
    // An excerpt of the real file finds the real recording.
    let clip = server.avreg.path("clip.wav");
    write_wav(
        &clip,
        22_050,
        &degrade(&pcm, 22_050, 5.0, 6.0, 1.0, -3.0, 25.0),
    );
    let platform = server.key("platform");
    let (status, v) = server.upload(
        Some(&platform),
        "/v1/lookup",
        &[],
        ("clip.wav", &std::fs::read(&clip).expect("read")),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["matches"][0]["recording"]["id"], real.as_str(), "{v}");

    // Quoting the public hash of someone's recording attaches nothing of
    // theirs to a rival's fixation: the rival's fixation gets the sound it
    // sent, shown as unverified.
    let (status, v) = server.fixation(&rival, &uuid_like(40), org(RIVAL), json!({}));
    assert_eq!(status, 201, "{v}");
    let (status, v) = server.post_json(
        Some(&rival),
        &format!("/v1/fixations/{}/media", uuid_like(40)),
        &json!({"title": "Captured?", "fingerprint": fp}),
    );
    assert!(matches!(status, 200 | 201), "{status} {v}");
    assert_ne!(v["recording"]["id"], real.as_str(), "{v}");
    assert_eq!(v["recording"]["content_hash_verified"], false, "{v}");
    let (status, v) = server.get(Some(&server.admin), &format!("/v1/recordings/{real}"));
    assert_eq!(status, 200, "{v}");
    let (status, v) = server.get(Some(&server.admin), "/v1/audit/verify");
    assert_eq!((status, v["ok"].as_bool()), (200, Some(true)), "{v}");
}

#[test]
fn the_registrant_is_the_caller_and_a_duplicate_is_409() {
    let server = Server::start(&[]);
    let (studio, rival, ada, _) = server.parties();
    let before = server.head_seq();
    // The studio names the rival, or a performer, as the registrant (and
    // itself as producer): refused, nothing written.
    for by in [org(RIVAL), json!({"kind": "performer", "id": ADA})] {
        let (status, v) = server.fixation(&studio, &uuid_like(50), by, json!({"producer": STUDIO}));
        assert_eq!(status, 403, "{v}");
    }
    // A performer key cannot register a fixation for the studio either.
    let (status, v) = server.fixation(&ada, &uuid_like(50), org(STUDIO), json!({}));
    assert_eq!(status, 403, "{v}");
    assert_eq!(server.head_seq(), before);
    // Naming another organisation as producer gives it no rights over the
    // studio's fixation.
    let (status, v) = server.fixation(
        &studio,
        &uuid_like(50),
        org(STUDIO),
        json!({"producer": RIVAL}),
    );
    assert_eq!(status, 201, "{v}");
    let (status, v) = server.send(
        "PUT",
        &rival,
        &format!("/v1/fixations/{}", uuid_like(50)),
        &json!({"version": 1, "id": uuid_like(50), "kind": "av", "title": "Hijacked",
            "duration_ms": 30000, "registered_by": org(STUDIO), "producer": RIVAL}),
    );
    assert_eq!(status, 403, "{v}");
    // The same fixation twice: 409 conflict.
    let (status, v) = server.fixation(&studio, &uuid_like(50), org(STUDIO), json!({}));
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{v}"
    );
}

#[test]
fn a_one_sided_relation_explains_no_overlap_and_one_party_closes_nothing() {
    let server = Server::start(&[]);
    let (studio, _, ada, bo) = server.parties();
    let (status, v) = server.fixation(&studio, FILM, org(STUDIO), json!({}));
    assert_eq!(status, 201, "{v}");
    let (path, pcm) = song(&server.avreg, "film.wav", 41, 30.0);
    let bytes = std::fs::read(&path).expect("read");
    let (status, v) = server.attach(&studio, FILM, "film.wav", &bytes);
    assert_eq!(status, 201, "{v}");

    // Bo registers a re-encoded copy as "an edit of" the studio's film:
    // his word alone explains nothing, so the overlap is a conflict.
    let bo_party = json!({"kind": "performer", "id": BO});
    let edit = json!({"relations": [{"relation": "edit_of", "of": FILM}]});
    let (status, v) = server.fixation(&bo, &uuid_like(60), bo_party.clone(), edit);
    assert_eq!(status, 201, "{v}");
    let copy = server.avreg.path("copy.wav");
    write_wav(
        &copy,
        22_050,
        &degrade(&pcm, 22_050, 0.0, 20.0, 1.0, -3.0, 30.0),
    );
    let (status, v) = server.attach(
        &bo,
        &uuid_like(60),
        "copy.wav",
        &std::fs::read(&copy).expect("read"),
    );
    assert_eq!(status, 201, "{v}");
    let opened = v["opened"].as_array().expect("opened");
    assert_eq!(opened.len(), 1, "{v}");
    assert_eq!(opened[0]["kind"], "reference_overlap");
    let overlap = opened[0]["id"].as_str().expect("id").to_owned();

    // Bo alone agreeing closes nothing.
    let (status, v) = server.post_json(
        Some(&bo),
        &format!("/v1/conflicts/{overlap}/resolve"),
        &json!({"party": format!("performer:{BO}"), "resolution": "distinguish_version"}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["conflict"]["status"], "open", "{v}");
    // Nor can he agree for the studio.
    let (status, _) = server.post_json(
        Some(&bo),
        &format!("/v1/conflicts/{overlap}/resolve"),
        &json!({"party": format!("organisation:{STUDIO}"), "resolution": "distinguish_version"}),
    );
    assert_eq!(status, 403);
    // The studio accepts the relation: the cause is gone.
    let (status, v) = server.send(
        "PUT",
        &studio,
        &format!("/v1/fixations/{FILM}"),
        &json!({"version": 1, "id": FILM, "kind": "av", "title": format!("Film {FILM}"),
            "fixation_date": "2019-03-01", "duration_ms": 30000, "registered_by": org(STUDIO),
            "accepted_relations": [uuid_like(60)]}),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(server.conflict(&overlap)["status"], "resolved");

    // An exact duplicate of the studio's bytes by Bo is no refusal naming
    // the studio's fixation: it is Bo's recording and a conflict.
    let (status, v) = server.fixation(&bo, &uuid_like(61), bo_party, json!({}));
    assert_eq!(status, 201, "{v}");
    let (status, v) = server.attach(&bo, &uuid_like(61), "film.wav", &bytes);
    assert_eq!(status, 201, "{v}");
    let opened = v["opened"].as_array().expect("opened");
    assert_eq!(opened.len(), 1, "{v}");
    let dup = opened[0]["id"].as_str().expect("id").to_owned();
    // Every party agreeing to the same resolution closes it.
    for (key, party) in [
        (&bo, format!("performer:{BO}")),
        (&studio, format!("organisation:{STUDIO}")),
    ] {
        let (status, v) = server.post_json(
            Some(key),
            &format!("/v1/conflicts/{dup}/resolve"),
            &json!({"party": party, "resolution": "distinguish_version"}),
        );
        assert_eq!(status, 200, "{v}");
    }
    assert_eq!(server.conflict(&dup)["status"], "resolved");

    // An overclaim (80 % + 30 % exclusive) stays open whatever anyone says.
    let holding = |id: &str, holder: Value, share: u32| {
        json!({"version": 1, "id": id, "holder": holder, "fixation": FILM,
            "right": "making_available", "nature": "exclusive",
            "territories": {"worldwide_except": []}, "period": {"start": "2019-03-01"},
            "share_ppm": share, "basis": "contract"})
    };
    let (status, v) = server.post_json(
        Some(&studio),
        "/v1/holdings",
        &holding("0190a000-0000-7000-8000-000000002001", org(STUDIO), 800_000),
    );
    assert_eq!(status, 201, "{v}");
    let (status, v) = server.post_json(
        Some(&ada),
        "/v1/holdings",
        &holding(
            "0190a000-0000-7000-8000-000000002002",
            json!({"kind": "performer", "id": ADA}),
            300_000,
        ),
    );
    assert_eq!(status, 201, "{v}");
    let overclaim = opened_of(&v, "overclaim");
    let (status, v) = server.post_json(
        Some(&ada),
        &format!("/v1/conflicts/{overclaim}/resolve"),
        &json!({"party": format!("performer:{ADA}"), "resolution": "share"}),
    );
    assert_eq!(status, 200, "{v}");
    let (status, v) = server.post_json(
        Some(&studio),
        &format!("/v1/conflicts/{overclaim}/resolve"),
        &json!({"party": format!("organisation:{STUDIO}"), "resolution": "share"}),
    );
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{v}"
    );
    let (status, v) = server.post_json(
        Some(&server.admin),
        &format!("/v1/conflicts/{overclaim}/resolve"),
        &json!({"resolution": "share", "note": "they said so"}),
    );
    assert_eq!(status, 409, "{v}");
    assert_eq!(server.conflict(&overclaim)["status"], "open");
    let (status, v) = server.get(Some(&server.admin), "/v1/audit/verify");
    assert_eq!((status, v["ok"].as_bool()), (200, Some(true)), "{v}");
}

#[test]
fn simultaneous_attachments_link_a_recording_once() {
    let server = Server::start(&[]);
    let (studio, _, _, _) = server.parties();
    for round in 0..3u8 {
        let (a, b) = (uuid_like(70 + 2 * round), uuid_like(71 + 2 * round));
        for id in [&a, &b] {
            let (status, v) = server.fixation(&studio, id, org(STUDIO), json!({}));
            assert_eq!(status, 201, "{v}");
        }
        let (path, _) = song(&server.avreg, "same.wav", 80 + u64::from(round), 12.0);
        let bytes = std::fs::read(&path).expect("read");
        let statuses: Vec<(u16, Value)> = std::thread::scope(|scope| {
            let runs: Vec<_> = [&a, &b]
                .into_iter()
                .map(|f| {
                    let (server, studio, bytes) = (&server, &studio, &bytes);
                    scope.spawn(move || server.attach(studio, f, "same.wav", bytes))
                })
                .collect();
            runs.into_iter()
                .map(|h| h.join().expect("thread"))
                .collect()
        });
        let mut codes: Vec<u16> = statuses.iter().map(|(s, _)| *s).collect();
        codes.sort_unstable();
        assert_eq!(codes, [201, 409], "round {round}: {statuses:?}");
    }
    let (status, v) = server.get(Some(&server.admin), "/v1/audit/verify");
    assert_eq!((status, v["ok"].as_bool()), (200, Some(true)), "{v}");
}

/// The id of the one conflict of `kind` a write opened.
fn opened_of(applied: &Value, kind: &str) -> String {
    let of_kind: Vec<&Value> = applied["opened"]
        .as_array()
        .expect("opened")
        .iter()
        .filter(|c| c["kind"] == kind)
        .collect();
    assert_eq!(of_kind.len(), 1, "one {kind} in {applied}");
    of_kind[0]["id"].as_str().expect("id").to_owned()
}

#[test]
fn a_third_party_claim_is_marked_notified_and_stays_settled_once_agreed() {
    let server = Server::start(&[]);
    let (studio, _, ada, _) = server.parties();
    let (status, v) = server.fixation(&studio, FILM, org(STUDIO), json!({}));
    assert_eq!(status, 201, "{v}");
    let ada_party = json!({"kind": "performer", "id": ADA});

    // Ada claims a credit in the studio's film, and writes herself down as
    // the studio to pass it off as the registrant's own word.
    let mut claim = credit(ADA_CREDIT, ADA, "actor", Some("Mara"), (0, 10_000));
    claim["third_party"] = org(STUDIO);
    let (status, v) = server.post_json(Some(&ada), "/v1/credits", &claim);
    assert_eq!(status, 201, "{v}");
    assert_eq!(
        v["revisions"][0]["entity"]["entity"]["third_party"], ada_party,
        "{v}"
    );
    let notice = opened_of(&v, "third_party_claim");
    // The studio finds it in its own conflict list; it names both.
    let (status, v) = server.get(Some(&studio), "/v1/conflicts");
    assert_eq!(status, 200, "{v}");
    let mine: Vec<&Value> = v["conflicts"]
        .as_array()
        .expect("conflicts")
        .iter()
        .filter(|c| c["id"] == notice.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "{v}");
    assert_eq!(mine[0]["parties"].as_array().map(Vec::len), Some(2), "{v}");
    // Everyone reading the credit sees whose word it is.
    let (status, v) = server.get(Some(&studio), &format!("/v1/credits/{ADA_CREDIT}"));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["revision"]["entity"]["entity"]["third_party"], ada_party);

    // Both agree to acknowledge it: settled, and not reopened by the next
    // write in the film (a second claim opens its own notice only).
    for (key, party) in [
        (&ada, format!("performer:{ADA}")),
        (&studio, format!("organisation:{STUDIO}")),
    ] {
        let (status, v) = server.post_json(
            Some(key),
            &format!("/v1/conflicts/{notice}/resolve"),
            &json!({"party": party, "resolution": "acknowledge"}),
        );
        assert_eq!(status, 200, "{v}");
    }
    assert_eq!(server.conflict(&notice)["status"], "resolved");
    let holding_id = "0190a000-0000-7000-8000-000000002101";
    let holding = json!({"version": 1, "id": holding_id, "holder": ada_party, "fixation": FILM,
        "right": "making_available", "nature": "remuneration",
        "territories": {"worldwide_except": []}, "period": {"start": "2019-03-01"},
        "share_ppm": 50_000, "basis": "presumed_by_law"});
    let (status, v) = server.post_json(Some(&ada), "/v1/holdings", &holding);
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["opened"].as_array().map(Vec::len), Some(1), "{v}");
    let second = opened_of(&v, "third_party_claim");
    assert_eq!(server.conflict(&notice)["status"], "resolved");

    // The studio adopts the holding as its own statement: the claim is no
    // longer a third party's, and its notice closes as acknowledged.
    let (status, v) = server.send(
        "PUT",
        &studio,
        &format!("/v1/holdings/{holding_id}"),
        &holding,
    );
    assert_eq!(status, 200, "{v}");
    assert!(
        v["revisions"][0]["entity"]["entity"]
            .get("third_party")
            .is_none(),
        "{v}"
    );
    let closed = server.conflict(&second);
    assert_eq!(
        (closed["status"].as_str(), closed["resolution"].as_str()),
        (Some("resolved"), Some("acknowledge")),
        "{closed}"
    );
    // What the registrant writes in its own film is nobody's third-party
    // claim.
    let own = credit(
        "0190a000-0000-7000-8000-000000001002",
        BO,
        "actor",
        Some("Jon"),
        (10_000, 20_000),
    );
    let (status, v) = server.post_json(Some(&studio), "/v1/credits", &own);
    assert_eq!(status, 201, "{v}");
    assert!(v["opened"].as_array().is_some_and(Vec::is_empty), "{v}");
    let (status, v) = server.get(Some(&server.admin), "/v1/audit/verify");
    assert_eq!((status, v["ok"].as_bool()), (200, Some(true)), "{v}");
}

#[test]
fn a_write_answered_408_writes_nothing() {
    let server = Server::start(&[]);
    let (studio, _, _, _) = server.parties();
    let (status, v) = server.fixation(&studio, FILM, org(STUDIO), json!({}));
    assert_eq!(status, 201, "{v}");
    // Then a short request timeout, and a batch of 8,000 holdings that
    // takes longer than it to read, check and commit, with a small write
    // queued behind it.
    let server = server.restart(&[
        ("AVREG_SERVER__REQUEST_TIMEOUT_MS", "100"),
        ("AVREG_SERVER__MAX_CHANGES", "10000"),
        ("AVREG_SERVER__JSON_BODY_LIMIT", "8388608"),
    ]);
    let holding = |i: usize| {
        json!({"create": {"kind": "holding", "entity": {"version": 1,
            "id": format!("0190a000-0000-7000-8000-{:012}", 500_000 + i),
            "holder": org(STUDIO), "fixation": FILM,
            "right": "making_available", "nature": "exclusive",
            "territories": {"worldwide_except": []},
            "period": {"start": format!("{}-{:02}-01", 1300 + i / 12, 1 + i % 12)},
            "share_ppm": 400_000, "basis": "contract"}}})
    };
    let batch = json!({"version": 1, "changes": (0..8000).map(holding).collect::<Vec<_>>()});
    let before = server.head_seq();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| server.apply(&studio, &batch));
        std::thread::sleep(Duration::from_millis(150));
        let b = s.spawn(|| {
            server.post_json(
                Some(&studio),
                "/v1/credits",
                &credit(ADA_CREDIT, ADA, "actor", None, (0, 1000)),
            )
        });
        (a.join().expect("a"), b.join().expect("b"))
    });
    // Each answer is the truth: a write either committed before it
    // answered (2xx, and it is there) or answered 408 saying nothing was
    // written (and it is not there, now or later). The batch takes longer
    // than the timeout to check, so at least one of them ran out of time.
    let short = |v: &Value| v.to_string().chars().take(300).collect::<String>();
    let settled = server.head_seq();
    let mut timed_out = 0;
    for ((status, v), probe) in [
        (
            &a,
            "/v1/holdings/0190a000-0000-7000-8000-000000500000".to_owned(),
        ),
        (&b, format!("/v1/credits/{ADA_CREDIT}")),
    ] {
        let found = server.get(Some(&studio), &probe).0;
        match status {
            200 | 201 => assert_eq!(found, 200, "{probe}"),
            408 => {
                timed_out += 1;
                assert_eq!(found, 404, "{probe}");
                assert!(
                    v["error"]["message"]
                        .as_str()
                        .is_some_and(|m| m.contains("nothing was written")),
                    "{}",
                    short(v)
                );
            }
            other => panic!("{probe}: {other} {}", short(v)),
        }
    }
    assert!(timed_out >= 1);
    if timed_out == 2 {
        assert_eq!(settled, before);
    }
    // Nothing lands later.
    for _ in 0..12 {
        std::thread::sleep(Duration::from_millis(250));
        assert_eq!(server.head_seq(), settled);
    }
}

/// The role table, cell by cell, against the real service: for each role
/// and each action, one request that needs exactly that action answers
/// 403 where the role is not granted it and anything but 401/403 where it
/// is. The expectations are written out here, independently of the
/// server's table.
#[test]
fn every_cell_of_the_role_table() {
    let server = Server::start(&[]);
    server.parties();
    let ada = json!({"performers": [ADA]});
    let keys: Vec<(&str, String)> = vec![
        ("admin", server.admin.clone()),
        ("performer", server.bound_key("performer", ada.clone())),
        ("agent", server.bound_key("agent", ada)),
        (
            "producer",
            server.bound_key("producer", json!({"organisation": STUDIO})),
        ),
        ("platform", server.key("platform")),
        ("society", server.key("society")),
        ("monitor", server.key("monitor")),
    ];
    // register, read recordings, lookup, audit, keys, write ledger, read
    // ledger, export, respond, metrics, own statement (a society or admin
    // reads any statement as an export).
    let expected: [(&str, [u8; 11]); 7] = [
        ("admin", [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]),
        ("performer", [1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 1]),
        ("agent", [1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 1]),
        ("producer", [1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 0]),
        ("platform", [0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]),
        ("society", [0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1]),
        ("monitor", [0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
    ];
    let conflict = "/v1/conflicts/0190a000-0000-7000-8000-00000000dead/respond";
    for ((role, key), (expected_role, row)) in keys.iter().zip(expected) {
        assert_eq!(*role, expected_role);
        let party = if *role == "producer" {
            format!("organisation:{STUDIO}")
        } else {
            format!("performer:{ADA}")
        };
        let answers = [
            server.post_json(Some(key), "/v1/recordings", &json!({})).0,
            server.get(Some(key), "/v1/recordings").0,
            server.post_json(Some(key), "/v1/lookup", &json!({})).0,
            server.get(Some(key), "/v1/audit/log").0,
            server.get(Some(key), "/v1/keys").0,
            server.apply(key, &json!({"version": 1, "changes": []})).0,
            server.get(Some(key), "/v1/performers").0,
            server.get(Some(key), "/v1/exports/conflicts?format=json").0,
            server
                .post_json(Some(key), conflict, &json!({"party": party, "note": "n"}))
                .0,
            server.get(Some(key), "/metrics").0,
            server
                .get(
                    Some(key),
                    &format!("/v1/exports/statement?performer={ADA}&format=json"),
                )
                .0,
        ];
        for (i, (status, granted)) in answers.into_iter().zip(row).enumerate() {
            if granted == 1 {
                assert!(
                    status != 403 && status != 401,
                    "{role} action {i}: granted, answered {status}"
                );
            } else {
                assert_eq!(status, 403, "{role} action {i}: not granted");
            }
        }
    }
}

/// A producer creates the performer records of its cast and amends them
/// until the performer takes the record over; a performer amends its own
/// profile and reads its own statement, not another's.
#[test]
fn producers_create_cast_records_that_performers_take_over() {
    let server = Server::start(&[]);
    let (studio, rival, ada, _) = server.parties();
    let cast = "0190a000-0000-7000-8000-000000000031";
    let record = |name: &str| json!({"version": 1, "id": cast, "display_name": name});
    // The studio creates the record: it is its steward, whatever the body
    // says.
    let mut body = record("Cai Noor");
    body["steward"] = org(RIVAL);
    let (status, v) = server.post_json(Some(&studio), "/v1/performers", &body);
    assert_eq!(status, 201, "{v}");
    assert_eq!(
        v["revisions"][0]["entity"]["entity"]["steward"],
        org(STUDIO)
    );
    // It may amend it; the rival may not.
    let path = format!("/v1/performers/{cast}");
    let (status, v) = server.send("PUT", &studio, &path, &record("Cai Noor-Lind"));
    assert_eq!(status, 200, "{v}");
    let (status, _) = server.send("PUT", &rival, &path, &record("Stolen"));
    assert_eq!(status, 403);
    // Cai gets a key and takes the record over with a first write.
    let cai = server.bound_key("performer", json!({"performers": [cast]}));
    let mut own = record("Cai Noor");
    own["legal_name"] = json!("Caitlin Noor");
    let (status, v) = server.send("PUT", &cai, &path, &own);
    assert_eq!(status, 200, "{v}");
    assert!(
        v["revisions"][0]["entity"]["entity"]
            .get("steward")
            .is_none(),
        "{v}"
    );
    // From then on the studio edits nothing of it.
    let (status, _) = server.send("PUT", &studio, &path, &record("Cai N."));
    assert_eq!(status, 403);
    // Only Cai (and admin) see the legal name.
    let (_, v) = server.get(Some(&cai), &path);
    assert_eq!(
        v["revision"]["entity"]["entity"]["legal_name"],
        "Caitlin Noor"
    );
    let (_, v) = server.get(Some(&studio), &path);
    assert!(v["revision"]["entity"]["entity"]
        .get("legal_name")
        .is_none());
    // Ada amends her own profile, not Cai's.
    let (status, v) = server.send(
        "PUT",
        &ada,
        &format!("/v1/performers/{ADA}"),
        &json!({"version": 1, "id": ADA, "display_name": "Ada Lind", "pseudonyms": ["A. L."]}),
    );
    assert_eq!(status, 200, "{v}");
    let (status, _) = server.send("PUT", &ada, &path, &record("Not Ada's"));
    assert_eq!(status, 403);
    // Ada reads her own statement, not Cai's.
    let (status, v) = server.get(
        Some(&ada),
        &format!("/v1/exports/statement?performer={ADA}&format=json"),
    );
    assert_eq!(status, 200, "{v}");
    let (status, _) = server.get(
        Some(&ada),
        &format!("/v1/exports/statement?performer={cast}&format=json"),
    );
    assert_eq!(status, 403);
    // A producer amends its own profile but cannot make itself a society
    // or register another organisation.
    let (status, v) = server.send(
        "PUT",
        &studio,
        &format!("/v1/organisations/{STUDIO}"),
        &json!({"version": 1, "id": STUDIO, "kind": "producer", "name": "Nordlicht Film"}),
    );
    assert_eq!(status, 200, "{v}");
    let (status, _) = server.send(
        "PUT",
        &studio,
        &format!("/v1/organisations/{STUDIO}"),
        &json!({"version": 1, "id": STUDIO, "kind": "collecting_society", "name": "Nordlicht"}),
    );
    assert_eq!(status, 403);
    let (status, _) = server.post_json(
        Some(&studio),
        "/v1/organisations",
        &json!({"version": 1, "id": "0190a000-0000-7000-8000-000000000077",
            "kind": "collecting_society", "name": "Fake"}),
    );
    assert_eq!(status, 403);
    let (status, v) = server.get(Some(&server.admin), "/v1/audit/verify");
    assert_eq!((status, v["ok"].as_bool()), (200, Some(true)), "{v}");
}

// Robustness (issue 13): what one client can make the service spend.

/// A fingerprint denser than the analysis makes (the 3 M-peak lookup that
/// held a worker for 263 s) is refused at once with a 400 naming the field,
/// for a lookup and a registration alike.
#[test]
fn an_implausibly_dense_fingerprint_is_refused_before_any_search() {
    use avreg_fingerprint::audio::{AudioFingerprint, Peak};
    use base64::Engine;
    let server = Server::start(&[]);
    let producer = server.bound_key("producer", json!({"organisation": STUDIO}));
    let peaks: Vec<Peak> = (0..200_000u32)
        .map(|i| Peak {
            time_ms: i % 10_000,
            freq: (i % 4000) as u16,
            level: 2,
        })
        .collect();
    let fp = AudioFingerprint::from_parts(10_000, peaks);
    let data = base64::engine::general_purpose::STANDARD.encode(fp.to_bytes());
    let doc = json!({"version": 1, "fingerprint": {"data": data}});
    let started = std::time::Instant::now();
    let (status, v) = server.post_json(Some(&server.admin), "/v1/lookup", &doc);
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (400, Some("fingerprint.data")),
        "{v}"
    );
    let (status, v) = server.post_json(
        Some(&producer),
        "/v1/recordings",
        &json!({"title": "Dense", "fingerprint": doc}),
    );
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (400, Some("fingerprint.data")),
        "{v}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "refused without a search"
    );
    // The same for picture: 100,000 frame hashes claimed in 10 s (the
    // fingerprinter makes at most 12 sampled frames a second, 14 views each)
    // would be indexed and kept for matching; they are refused.
    use avreg_fingerprint::video::{FrameHash, PdqHash, VideoFingerprint, View};
    let frames = (0..100_000u64)
        .map(|i| FrameHash {
            time_ms: (i / 10) as u32,
            hash: PdqHash([i, i.rotate_left(17), !i, i ^ 0x5555]),
            quality: 100,
            view: View::Full,
        })
        .collect();
    let video = VideoFingerprint {
        version: avreg_fingerprint::video::ALGORITHM_VERSION,
        duration_ms: 10_000,
        frames,
    };
    let sound = AudioFingerprint::from_parts(10_000, Vec::new());
    let dense_video = json!({"version": 1,
        "fingerprint": {"data": base64::engine::general_purpose::STANDARD.encode(sound.to_bytes())},
        "video": {"data": base64::engine::general_purpose::STANDARD.encode(video.to_bytes())}});
    for (key, path, body) in [
        (&server.admin, "/v1/lookup", dense_video.clone()),
        (
            &producer,
            "/v1/recordings",
            json!({"title": "Dense video", "fingerprint": dense_video}),
        ),
    ] {
        let (status, v) = server.post_json(Some(key), path, &body);
        assert_eq!(
            (status, v["error"]["field"].as_str()),
            (400, Some("video.data")),
            "{path}: {v}"
        );
    }
}

/// Made-up HTTP methods share one metrics label.
#[test]
fn made_up_methods_do_not_grow_the_metrics() {
    let server = Server::start(&[]);
    for i in 0..20 {
        let (status, _) = raw(
            &server.addr,
            &format!("MADEUP{i} /v1/recordings HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            b"",
        );
        assert!(status >= 400, "{status}");
    }
    let (status, Value::String(metrics)) = server.get(Some(&server.admin), "/metrics") else {
        panic!("metrics are text")
    };
    assert_eq!(status, 200);
    assert!(!metrics.contains("MADEUP"), "{metrics}");
    assert!(metrics.contains("method=\"other\""), "{metrics}");
}

/// Slow uploads hold neither the fingerprinting pool nor more than their
/// key's share of upload places: with one fingerprinting slot, a key
/// trickling five uploads gets 429 for the fifth, and another key's lookup
/// and registration still answer.
#[test]
fn slow_uploads_of_one_key_starve_no_one_else() {
    let server = Server::start(&[
        ("AVREG_SERVER__FINGERPRINT_WORKERS", "1"),
        ("AVREG_SERVER__FINGERPRINT_QUEUE", "0"),
    ]);
    let slow = server.bound_key("producer", json!({"organisation": STUDIO}));
    let head = |key: &str| {
        format!(
            "POST /v1/recordings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {key}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 5000000\r\n\r\n--b\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a.wav\"\r\n\r\nRIFF"
        )
    };
    // Four uploads that never finish: each holds one of the key's places.
    let mut held = Vec::new();
    for _ in 0..4 {
        let mut s = TcpStream::connect(&server.addr).expect("connect");
        s.write_all(head(&slow).as_bytes()).expect("write");
        held.push(s);
    }
    std::thread::sleep(Duration::from_millis(300));
    let (status, v) = raw(&server.addr, &head(&slow), b"");
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (429, Some("rate_limited")),
        "{v}"
    );
    // Everyone else is served: the one fingerprinting slot is free.
    let other = server.key("platform");
    let (path, _) = song(&server.avreg, "probe.wav", 5, 6.0);
    let (status, v) = server.upload(
        Some(&other),
        "/v1/lookup",
        &[],
        ("probe.wav", &std::fs::read(&path).expect("read")),
    );
    assert_eq!(status, 200, "{v}");
    let (status, v) = server.upload(
        Some(&server.admin),
        "/v1/recordings",
        &[("title", "Probe")],
        ("probe.wav", &std::fs::read(&path).expect("read")),
    );
    assert_eq!(status, 201, "{v}");
    drop(held);
}

/// A write has at most `max_changes` changes (413, nothing written), and
/// conflict lists come a page at a time, for admin (all) and for a party
/// (its own, read from its links).
#[test]
fn writes_are_bounded_and_conflicts_are_paged() {
    let server = Server::start(&[("AVREG_SERVER__MAX_CHANGES", "3")]);
    let (studio, _, ada, _) = server.parties();
    let (status, v) = server.fixation(&studio, FILM, org(STUDIO), json!({}));
    assert_eq!(status, 201, "{v}");
    let claim = |i: u64| {
        json!({"create": {"kind": "credit", "entity": credit(
            &format!("0190a000-0000-7000-8000-{:012}", 7000 + i), ADA, "actor", None,
            (i * 1000, i * 1000 + 500))}})
    };
    let before = server.head_seq();
    let four = json!({"version": 1, "changes": (0..4).map(claim).collect::<Vec<_>>()});
    let (status, v) = server.apply(&ada, &four);
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (413, Some("changes")),
        "{v}"
    );
    assert_eq!(server.head_seq(), before);
    let three = json!({"version": 1, "changes": (0..3).map(claim).collect::<Vec<_>>()});
    let (status, v) = server.apply(&ada, &three);
    assert_eq!(status, 200, "{v}");
    // Three third-party notices, two to a page.
    for key in [&server.admin, &ada, &studio] {
        let (status, first) = server.get(Some(key), "/v1/conflicts?limit=2");
        assert_eq!(status, 200, "{first}");
        assert_eq!(
            first["conflicts"].as_array().map(Vec::len),
            Some(2),
            "{first}"
        );
        let after = first["next_after"]
            .as_str()
            .expect("a next page")
            .to_owned();
        let (_, second) = server.get(Some(key), &format!("/v1/conflicts?limit=2&after={after}"));
        assert_eq!(
            second["conflicts"].as_array().map(Vec::len),
            Some(1),
            "{second}"
        );
        assert!(second["next_after"].is_null(), "{second}");
        assert!(second["conflicts"][0]["id"].as_str() > Some(after.as_str()));
    }
    let (status, v) = server.get(Some(&ada), "/v1/conflicts?after=nonsense");
    assert_eq!(
        (status, v["error"]["field"].as_str()),
        (400, Some("after")),
        "{v}"
    );
}

/// Whether the server closed `stream` (EOF or reset) within `within`.
fn closed_by_server(stream: &mut TcpStream, within: Duration) -> bool {
    stream.set_read_timeout(Some(within)).expect("timeout");
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return true,
            Ok(_) => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false
            }
            Err(_) => return true,
        }
    }
}

/// Connections cannot be hoarded: one over `max_connections` is closed at
/// once, a connection that does not finish its request head in
/// `header_read_timeout` is closed, and so is one idling between
/// keep-alive requests; the service answers everyone else throughout.
#[test]
fn connections_with_unfinished_heads_are_capped_and_closed() {
    let server = Server::start(&[
        ("AVREG_SERVER__HEADER_READ_TIMEOUT_MS", "600"),
        ("AVREG_SERVER__MAX_CONNECTIONS", "10"),
    ]);
    let mut hoarded: Vec<TcpStream> = (0..10)
        .map(|_| {
            let mut s = TcpStream::connect(&server.addr).expect("connect");
            s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
                .expect("write");
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(100));
    let mut extra = TcpStream::connect(&server.addr).expect("connect");
    assert!(
        closed_by_server(&mut extra, Duration::from_millis(400)),
        "the 11th connection is closed at once"
    );
    for s in &mut hoarded {
        assert!(
            closed_by_server(s, Duration::from_secs(3)),
            "an unfinished head is closed after its timeout"
        );
    }
    // Idle between keep-alive requests: closed too.
    let mut idle = TcpStream::connect(&server.addr).expect("connect");
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .expect("write");
    let mut buf = [0u8; 1024];
    idle.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let n = idle.read(&mut buf).expect("an answer");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    assert!(
        closed_by_server(&mut idle, Duration::from_secs(3)),
        "idle keep-alive closed"
    );
    assert_eq!(server.get(None, "/health").0, 200);
}

/// Requests without a valid key (none, or a wrong one) are rate-limited by
/// address, so a flood of them, or of key guesses, is answered 429; keyed
/// requests keep their own buckets.
#[test]
fn anonymous_requests_and_key_guesses_are_rate_limited() {
    let server = Server::start(&[
        ("AVREG_SERVER__ANONYMOUS_RATE_PER_S", "0.5"),
        ("AVREG_SERVER__ANONYMOUS_BURST", "5"),
    ]);
    let anonymous: Vec<u16> = (0..8).map(|_| server.get(None, "/health").0).collect();
    assert_eq!(&anonymous[..5], &[200; 5], "{anonymous:?}");
    assert!(anonymous[5..].iter().all(|&s| s == 429), "{anonymous:?}");
    let guesses: Vec<u16> = (0..3)
        .map(|_| server.get(Some("avreg_not-a-key"), "/v1/recordings").0)
        .collect();
    assert_eq!(guesses, [429; 3], "the address's bucket is empty");
    assert_eq!(server.get(Some(&server.admin), "/v1/recordings").0, 200);
}

/// A disk without the store's reserve of free space: every write answers
/// 507 having written nothing (registration by upload, ledger write, key),
/// reads and lookups go on, and writes succeed again once there is room.
/// (The reserve is raised past the disk's size here; a real full
/// filesystem is the reliability campaign's, `tools/reliability`.)
#[test]
fn a_full_disk_answers_507_writes_nothing_and_recovers() {
    let server = Server::start(&[]);
    let (studio, _, _, _) = server.parties();
    let producer = server.bound_key("producer", json!({"organisation": STUDIO}));
    let platform = server.key("platform");
    let (aria, pcm) = song(&server.avreg, "aria.wav", 21, 12.0);
    let bytes = std::fs::read(&aria).expect("read");
    let (status, v) = server.upload(
        Some(&producer),
        "/v1/recordings",
        &[("title", "Aria")],
        ("aria.wav", &bytes),
    );
    assert_eq!(status, 201, "{v}");
    let before = server.state();
    // 2^40 MiB: more than any disk has free.
    let full = [("AVREG_STORE__MIN_FREE_MB", "1099511627776")];
    let server = server.restart(&full);
    let (other, _) = song(&server.avreg, "other.wav", 22, 8.0);
    let other = std::fs::read(&other).expect("read");
    let refusals = [
        server.upload(
            Some(&producer),
            "/v1/recordings",
            &[("title", "Other")],
            ("other.wav", &other),
        ),
        server.fixation(&studio, FILM, org(STUDIO), json!({})),
        server.post_json(
            Some(&server.admin),
            "/v1/keys",
            &json!({"role": "platform", "label": "more"}),
        ),
    ];
    for (status, v) in refusals {
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (507, Some("insufficient_storage")),
            "{v}"
        );
    }
    assert_eq!(server.state(), before, "nothing was written");
    // Reads and lookups still answer.
    let excerpt = avreg_testkit::wav::wav_bytes(22_050, &pcm[22_050 * 3..22_050 * 9]);
    let (status, v) = server.upload(Some(&platform), "/v1/lookup", &[], ("clip.wav", &excerpt));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["matches"][0]["recording"]["title"], "Aria", "{v}");
    // Room again: the same writes succeed, and the log verifies.
    let server = server.restart(&[]);
    let (status, v) = server.fixation(&studio, FILM, org(STUDIO), json!({}));
    assert_eq!(status, 201, "{v}");
    let (status, v) = server.upload(
        Some(&producer),
        "/v1/recordings",
        &[("title", "Other")],
        ("other.wav", &other),
    );
    assert_eq!(status, 201, "{v}");
    let (status, v) = server.get(Some(&server.admin), "/v1/audit/verify");
    assert_eq!((status, v["ok"].as_bool()), (200, Some(true)), "{v}");
}

/// The only admin key cannot revoke itself (or be revoked): that would
/// lock every key operation out of the HTTP API for good.
#[test]
fn the_last_admin_key_is_not_revoked() {
    let server = Server::start(&[]);
    let (_, keys) = server.get(Some(&server.admin), "/v1/keys");
    let own = keys["keys"][0]["id"].as_str().expect("id").to_owned();
    let path = format!("/v1/keys/{own}");
    let (status, v) = server.send("DELETE", &server.admin, &path, &json!({}));
    assert_eq!(
        (status, v["error"]["code"].as_str()),
        (409, Some("conflict")),
        "{v}"
    );
    let (status, _) = server.get(Some(&server.admin), "/v1/keys");
    assert_eq!(status, 200, "the key still works");
    // With a second admin key, the first may go.
    let (status, v) = server.post_json(
        Some(&server.admin),
        "/v1/keys",
        &json!({"role": "admin", "label": "second"}),
    );
    assert_eq!(status, 201, "{v}");
    let second = v["secret"].as_str().expect("secret").to_owned();
    let (status, v) = server.send("DELETE", &second, &path, &json!({}));
    assert_eq!(status, 200, "{v}");
}

/// Writes `request` on `stream` and reads one answer: its head (lower
/// case) and body, by `Content-Length`.
fn exchange(stream: &mut TcpStream, request: &[u8]) -> (String, Vec<u8>) {
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    stream.write_all(request).expect("request");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut buf).expect("answer");
        assert!(n > 0, "closed before an answer: {got:?}");
        got.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&got[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("content-length");
    while got.len() < head_end + length {
        let n = stream.read(&mut buf).expect("body");
        assert!(n > 0, "closed in the body");
        got.extend_from_slice(&buf[..n]);
    }
    (head, got[head_end..head_end + length].to_vec())
}

/// An answer given without reading the request's body says
/// `Connection: close` (the unread bytes make the connection unusable, so
/// a pooling client must not send its next request there); one that read
/// its body keeps the connection for the next request.
#[test]
fn an_answer_that_leaves_the_body_unread_says_connection_close() {
    let server = Server::start(&[]);
    let admin = &server.admin;
    let json_request = |method: &str, path: &str, body: &str| {
        format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {admin}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    // Revoking takes no body: this one's `{}` is left unread.
    let (_, keys) = server.get(Some(admin), "/v1/keys");
    let own = keys["keys"][0]["id"].as_str().expect("id").to_owned();
    let mut stream = TcpStream::connect(&server.addr).expect("connect");
    let (head, _) = exchange(
        &mut stream,
        json_request("DELETE", &format!("/v1/keys/{own}"), "{}").as_bytes(),
    );
    assert!(head.starts_with("http/1.1 409"), "{head}");
    assert!(head.contains("\r\nconnection: close\r\n"), "{head}");
    assert!(closed_by_server(&mut stream, Duration::from_secs(5)));

    // A key creation reads its body, and the connection carries on.
    let mut stream = TcpStream::connect(&server.addr).expect("connect");
    let body = json!({"role": "platform", "label": "kept"}).to_string();
    let (head, _) = exchange(
        &mut stream,
        json_request("POST", "/v1/keys", &body).as_bytes(),
    );
    assert!(head.starts_with("http/1.1 201"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");
    let (head, _) = exchange(&mut stream, b"GET /ready HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(head.starts_with("http/1.1 200"), "{head}");
}

/// Uploads are bound by their body's idle and total timeouts, not by the
/// request timeout: one that trickles in over several request timeouts
/// is registered, while a ledger write still answers within it.
#[test]
fn an_upload_may_outlast_the_request_timeout() {
    let server = Server::start(&[("AVREG_SERVER__REQUEST_TIMEOUT_MS", "150")]);
    let producer = server.key("producer");
    let (path, _) = song(&server.avreg, "slow.wav", 41, 6.0);
    let wav = std::fs::read(&path).expect("wav");
    let (ct, body) = multipart(&[("title", "Trickled")], ("slow.wav", &wav));
    let mut stream = TcpStream::connect(&server.addr).expect("connect");
    stream
        .write_all(
            format!(
                "POST /v1/recordings HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {producer}\r\n\
                 Content-Type: {ct}\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )
            .as_bytes(),
        )
        .expect("head");
    // Four parts, 120 ms apart: 480 ms in all, over three timeouts.
    let quarter = body.len().div_ceil(4);
    let (last, parts) = body.split_last().expect("a body");
    for part in parts.chunks(quarter) {
        stream.write_all(part).expect("part");
        std::thread::sleep(Duration::from_millis(120));
    }
    let (head, answer) = exchange(&mut stream, std::slice::from_ref(last));
    assert!(
        head.starts_with("http/1.1 201") || head.starts_with("http/1.1 202"),
        "{head}{}",
        String::from_utf8_lossy(&answer)
    );
}

/// The answers say what became of every track: a registration lists the
/// media it fingerprinted (with their durations), a lookup the tracks of
/// the clip; a truncated file is refused as a registration, naming the
/// damage, and looked up on what decodes.
#[test]
fn answers_report_every_track_and_a_truncated_registration_is_refused() {
    let server = Server::start(&[]);
    let producer = server.key("producer");
    let platform = server.key("platform");
    let (song_path, _) = song(&server.avreg, "tracks.wav", 21, 12.0);
    let bytes = std::fs::read(&song_path).expect("read");
    let (status, v) = server.upload(
        Some(&producer),
        "/v1/recordings",
        &[("title", "Tracks")],
        ("tracks.wav", &bytes),
    );
    assert_eq!(status, 201, "{v}");
    let media = v["recording"]["media"].as_array().expect("media");
    assert_eq!(media.len(), 1, "{v}");
    assert_eq!(media[0]["kind"], "sound");
    assert_eq!(media[0]["fingerprinted"], true);
    assert_eq!(media[0]["codec"], "pcm_s16le");
    let ms = media[0]["duration_ms"].as_u64().expect("duration");
    assert!(ms.abs_diff(12_000) <= 1, "{ms}");

    // The same file cut to two thirds, its header still saying 12 s.
    let cut = &bytes[..bytes.len() * 2 / 3];
    let (status, v) = server.upload(
        Some(&producer),
        "/v1/recordings",
        &[("title", "Cut")],
        ("cut.wav", cut),
    );
    assert_eq!(status, 400, "{v}");
    let message = v["error"]["message"].as_str().expect("message");
    assert!(message.contains("truncated"), "{message}");
    assert_eq!(v["error"]["field"], "media", "{v}");

    // As a lookup, the cut file goes ahead and says what it found.
    let (status, v) = server.upload(Some(&platform), "/v1/lookup", &[], ("cut.wav", cut));
    assert_eq!(status, 200, "{v}");
    let tracks = v["query"]["tracks"].as_array().expect("query tracks");
    assert_eq!(tracks.len(), 1, "{v}");
    let note = tracks[0]["note"].as_str().expect("the damage is noted");
    assert!(note.starts_with("truncated"), "{note}");
}
