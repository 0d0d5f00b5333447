//! Entry points of the cargo-fuzz targets in `fuzz/` (`fingerprint_json`,
//! `ledger_json`, `multipart`) and of their stable replay test: each feeds
//! one fuzz input to the service's own code, as a request would, and
//! panics when an invariant breaks. Not part of the API; nothing in the
//! service calls it.
//!
//! - [`Harness::fingerprint_json`]: the JSON bodies carrying fingerprints
//!   (`POST /v1/lookup`, `/v1/lookup/batch`, `/v1/recordings`,
//!   `/v1/fixations/{id}/media`) parsed and checked as their handlers do
//!   before any search or registration.
//! - [`Harness::ledger_json`]: ledger bodies sent through the router to a
//!   registry seeded with `fixtures/ledger/example.json`; the audit chain
//!   must advance exactly when the write succeeds.
//! - [`Harness::multipart`]: a body read by `body::read` behind the
//!   router's `DefaultBodyLimit::disable()`; no upload may outlive it.
//!
//! A [`Harness`] holds a registry in a temporary folder, a current-thread
//! tokio runtime and the keys of the ledger roles; the targets make one per
//! process.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use avreg_fingerprint::audio::AudioFingerprint;
use avreg_fingerprint::video::VideoFingerprint;
use avreg_registry::accounts::{Binding, NewKey, Role};
use avreg_registry::domain::audit::ChainHash;
use avreg_registry::domain::ids::{OrganisationId, PerformerId};
use avreg_registry::ledger::EntityKind;
use avreg_registry::{Registry, RegistryOptions, LOCAL_ACTOR};
use axum::body::Body as HttpBody;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine;

use crate::body::{self, Body, UPLOAD_PREFIX};
use crate::dto::{BatchRequest, FingerprintDoc};
use crate::error::{ApiError, Code};
use crate::{AppState, ServerOptions};
use avreg_wire::{parse_rights, Fingerprints};

/// The ledger the harness registry starts with.
const EXAMPLE_LEDGER: &str = include_str!("../../../fixtures/ledger/example.json");

/// Boundary of the fixed-header multipart inputs.
pub const BOUNDARY: &str = "avreg-fuzz-boundary";

/// The registry, runtime and keys the entry points share.
#[derive(Debug)]
pub struct Harness {
    _dir: tempfile::TempDir,
    uploads: PathBuf,
    runtime: tokio::runtime::Runtime,
    state: AppState,
    api: Router,
    reader: Router,
    /// Secrets of the ledger writers: admin, performer, agent, producer.
    keys: [String; 4],
    /// The audit chain's next sequence number and last hash, and the turn
    /// of the entry points that check shared state.
    ledger: Mutex<(u64, ChainHash)>,
    turn: Mutex<()>,
}

/// Per kind: the entity's collection, and the id an amendment goes to when
/// its body names none (an entity of `example.json`).
const KINDS: [(EntityKind, &str, &str); 8] = [
    (
        EntityKind::Performer,
        "/v1/performers",
        "0190a000-0000-7000-8000-000000000001",
    ),
    (
        EntityKind::Organisation,
        "/v1/organisations",
        "0190a000-0000-7000-8000-000000000010",
    ),
    (
        EntityKind::Fixation,
        "/v1/fixations",
        "0190a000-0000-7000-8000-000000000100",
    ),
    (
        EntityKind::Credit,
        "/v1/credits",
        "0190a000-0000-7000-8000-000000001001",
    ),
    (
        EntityKind::MoralRights,
        "/v1/moral-rights",
        "0190a000-0000-7000-8000-000000000001:0190a000-0000-7000-8000-000000000100",
    ),
    (
        EntityKind::Holding,
        "/v1/holdings",
        "0190a000-0000-7000-8000-000000002001",
    ),
    (
        EntityKind::Agreement,
        "/v1/agreements",
        "0190a000-0000-7000-8000-000000004001",
    ),
    (
        EntityKind::Mandate,
        "/v1/mandates",
        "0190a000-0000-7000-8000-000000003001",
    ),
];

/// What the fingerprint bodies came to: each route's answer before its
/// search or registration.
#[derive(Debug)]
pub struct FingerprintOutcome {
    /// `POST /v1/lookup` (JSON).
    pub lookup: Result<(), ApiError>,
    /// `POST /v1/lookup/batch`: the batch, then each entry.
    pub batch: Result<Vec<Result<(), ApiError>>, ApiError>,
    /// `POST /v1/recordings` (JSON).
    pub register: Result<(), ApiError>,
    /// `POST /v1/fixations/{id}/media` (JSON; the fixation's title is the
    /// default).
    pub attach: Result<(), ApiError>,
}

/// What a ledger write answered.
#[derive(Debug)]
pub struct LedgerOutcome {
    /// The HTTP status.
    pub status: StatusCode,
    /// Audit events the write added.
    pub events: usize,
}

/// What a multipart body came to.
#[derive(Clone, Debug)]
pub struct MultipartOutcome {
    /// `body::read`'s answer.
    pub read: Result<(), ApiError>,
    /// The upload's size, when the form had one.
    pub upload_bytes: Option<u64>,
    /// The text fields read.
    pub fields: usize,
}

/// How one multipart input is read: the route it stands for.
#[derive(Clone, Copy, Debug)]
struct Profile {
    media_limit: Option<u64>,
    fields: &'static [&'static str],
    register: bool,
}

impl Harness {
    /// A harness whose registry and upload folder are in a new folder
    /// under `parent` (the system's temporary folder if `None`). Folders
    /// that earlier processes left in `parent` (a fuzzer never runs
    /// destructors of statics) are deleted once their process is gone.
    ///
    /// # Panics
    ///
    /// If the registry cannot be made or seeded.
    pub fn new(parent: Option<&Path>) -> Self {
        const PREFIX: &str = "avreg-fuzz-";
        let dir = match parent {
            Some(parent) => {
                sweep(parent, PREFIX);
                tempfile::Builder::new()
                    .prefix(&format!("{PREFIX}{}-", std::process::id()))
                    .tempdir_in(parent)
            }
            None => tempfile::tempdir(),
        }
        .expect("temporary folder");
        let registry = Registry::open(&dir.path().join("registry"), RegistryOptions::default())
            .expect("open the registry");
        let doc: crate::routes::ledger::ChangesDoc =
            serde_json::from_str(EXAMPLE_LEDGER).expect("example.json");
        let changes = avreg_registry::ledger::parse_changes(doc.changes).expect("example changes");
        registry
            .apply(LOCAL_ACTOR, changes)
            .expect("apply example.json");
        let performers = |n: &[u128]| {
            Binding::Performers(
                n.iter()
                    .map(|n| PerformerId::from_u128(0x0190a000_0000_7000_8000_000000000000 | n))
                    .collect(),
            )
        };
        let producer = OrganisationId::from_u128(0x0190a000_0000_7000_8000_000000000010);
        let keys = [
            (Role::Admin, Binding::None),
            (Role::Performer, performers(&[1])),
            (Role::Agent, performers(&[1, 2])),
            (Role::Producer, Binding::Organisation(producer)),
        ]
        .map(|(role, bound_to)| {
            registry
                .create_key(
                    LOCAL_ACTOR,
                    NewKey {
                        role,
                        bound_to,
                        label: "fuzz".into(),
                    },
                )
                .expect("key")
                .secret
                .expose()
        });
        let last = registry
            .audit_log(0)
            .expect("audit log")
            .pop()
            .expect("seeded events");
        let uploads = dir.path().join("uploads");
        body::prepare_upload_dir(&uploads).expect("upload folder");
        let state = AppState::new(
            Arc::new(registry),
            ServerOptions {
                rate_per_s: 0.0,
                anonymous_rate_per_s: 0.0,
                fingerprint_workers: 1,
                temp_dir: Some(uploads.clone()),
                ..ServerOptions::default()
            },
        );
        let reader = Router::new()
            .route("/", axum::routing::post(read_body))
            .layer(DefaultBodyLimit::disable())
            .with_state(state.clone());
        Self {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            api: crate::router(state.clone()),
            reader,
            state,
            keys,
            ledger: Mutex::new((last.seq + 1, last.hash)),
            turn: Mutex::new(()),
            uploads,
            _dir: dir,
        }
    }

    /// The `fingerprint_json` target. An input starting with `{` or
    /// whitespace is the body of every route; any other first byte `m`
    /// builds the bodies from binary fingerprints: the rest of the input is
    /// the audio fingerprint without its checksum (which is appended), or,
    /// if `m` is odd, a u16 LE length, that many bytes of audio and the
    /// video fingerprint, both without their checksums.
    ///
    /// # Panics
    ///
    /// When an accepted fingerprint does not survive its own encoding.
    pub fn fingerprint_json(&self, data: &[u8]) -> FingerprintOutcome {
        let [lookup, batch, register] = fingerprint_bodies(data);
        let o = self.state.options();
        let from = |bytes: &[u8], title: Option<String>| -> Result<(), ApiError> {
            let make =
                crate::media::recording_from(Body::Json(bytes.to_vec()), &self.state, title)?;
            let new = make()?;
            assert!(!new.title.trim().is_empty(), "an empty title was accepted");
            round_trip(&Fingerprints {
                audio: new.fingerprint,
                video: new.video,
                tracks: new.media,
            });
            Ok(())
        };
        FingerprintOutcome {
            lookup: lookup_json(o, &lookup),
            batch: batch_json(o, &batch),
            register: from(&register, None),
            attach: from(&register, Some("Winter Light".into())),
        }
    }

    /// The `ledger_json` target. The first byte picks the key (its low two
    /// bits: admin, performer, agent, producer) and the route (the rest,
    /// modulo 17: `POST /v1/ledger`, then `POST` to each kind's collection,
    /// then `PUT` to an entity of each kind: the one the body names, else
    /// one of `example.json`); the rest is the body.
    ///
    /// # Panics
    ///
    /// On a 500, or when the audit chain did not advance on a success, or
    /// moved on a failure.
    pub fn ledger_json(&self, data: &[u8]) -> Option<LedgerOutcome> {
        let (&selector, body) = data.split_first()?;
        let key = &self.keys[usize::from(selector & 3)];
        let route = usize::from(selector >> 2) % 17;
        let (method, uri) = match route {
            0 => (Method::POST, "/v1/ledger".to_owned()),
            1..=8 => (Method::POST, KINDS[route - 1].1.to_owned()),
            _ => {
                let (kind, collection, default) = KINDS[route - 9];
                let id = body_id(kind, body).unwrap_or_else(|| default.to_owned());
                (Method::PUT, format!("{collection}/{}", percent_encode(&id)))
            }
        };
        let req = Request::builder()
            .method(method)
            .uri(uri)
            .header(AUTHORIZATION, format!("Bearer {key}"))
            .header(CONTENT_TYPE, "application/json")
            .header(CONTENT_LENGTH, body.len())
            .body(HttpBody::from(body.to_vec()))
            .expect("request");
        let mut chain = self.ledger.lock().unwrap_or_else(PoisonError::into_inner);
        let (status, answer) = self.runtime.block_on(async {
            let res = tower_service::Service::call(&mut self.api.clone(), req)
                .await
                .expect("infallible");
            let status = res.status();
            let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
                .await
                .expect("answer");
            (status, bytes)
        });
        let answer = String::from_utf8_lossy(&answer);
        assert_ne!(
            status,
            StatusCode::INTERNAL_SERVER_ERROR,
            "500 (a panic or an internal error): {answer}"
        );
        let events = self.state.registry().audit_log(chain.0).expect("audit log");
        if status.is_success() {
            let (first, last) = match (events.first(), events.last()) {
                (Some(f), Some(l)) => (f, l),
                _ => panic!("{status} without an audit event: {answer}"),
            };
            assert_eq!(
                (first.seq, first.prev),
                *chain,
                "the write's events do not follow the head"
            );
            *chain = (last.seq + 1, last.hash);
        } else {
            assert!(
                events.is_empty(),
                "{status} but {} audit events were added: {answer}",
                events.len()
            );
        }
        Some(LedgerOutcome {
            status,
            events: events.len(),
        })
    }

    /// The `multipart` target. The first byte `m`: if odd, the rest up to
    /// the first `\n` is the `Content-Type` (an input whose header cannot
    /// be sent is skipped), else it is `multipart/form-data` with
    /// [`BOUNDARY`]; bits 1–2 the route (registration, lookup, each also
    /// with a 64-byte limit); bit 3 whether `Content-Length` is sent; bits
    /// 4–7 `n` the body's chunks (`2^(n-1)` bytes; one chunk if 0).
    ///
    /// # Panics
    ///
    /// When an upload's file is not its bytes, when a form breaks its
    /// limits, or when an upload is left in the upload folder.
    pub fn multipart(&self, data: &[u8]) -> Option<MultipartOutcome> {
        let (&m, rest) = data.split_first()?;
        let (content_type, body) = if m & 1 == 1 {
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            let header = HeaderValue::from_bytes(&rest[..end]).ok()?;
            (header, rest.get(end + 1..).unwrap_or_default())
        } else {
            let header = format!("multipart/form-data; boundary={BOUNDARY}");
            (HeaderValue::from_str(&header).expect("header"), rest)
        };
        let o = self.state.options();
        let clip_bytes = (o.max_clip_ms / 1000 + 1)
            .saturating_mul(48_000 * 2 * 4)
            .min(o.media_body_limit);
        let profile = match (m >> 1) & 3 {
            0 => Profile {
                media_limit: Some(o.media_body_limit),
                fields: &["title"],
                register: true,
            },
            1 => Profile {
                media_limit: Some(clip_bytes),
                fields: &["territory", "date"],
                register: false,
            },
            2 => Profile {
                media_limit: Some(64),
                fields: &["title"],
                register: true,
            },
            _ => Profile {
                media_limit: Some(64),
                fields: &["territory", "date"],
                register: false,
            },
        };
        let chunk = match m >> 4 {
            0 => body.len().max(1),
            n => 1 << (n - 1),
        };
        let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
            body.chunks(chunk).map(|c| Ok(c.to_vec())).collect();
        let mut req = Request::builder()
            .method(Method::POST)
            .uri("/")
            .header(CONTENT_TYPE, content_type);
        if m & 8 != 0 {
            req = req.header(CONTENT_LENGTH, body.len());
        }
        let mut req = req
            .body(HttpBody::from_stream(futures_util::stream::iter(chunks)))
            .expect("request");
        req.extensions_mut().insert(profile);
        let _turn = self.turn.lock().unwrap_or_else(PoisonError::into_inner);
        let res = self.runtime.block_on(async {
            tower_service::Service::call(&mut self.reader.clone(), req)
                .await
                .expect("infallible")
        });
        let left: Vec<_> = std::fs::read_dir(&self.uploads)
            .expect("upload folder")
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        assert!(left.is_empty(), "uploads left behind: {left:?}");
        let outcome = res.extensions().get::<MultipartOutcome>().cloned();
        assert!(outcome.is_some(), "no outcome: {}", res.status());
        outcome
    }
}

/// Deletes the folders named `prefix` + a process id in `parent` whose
/// process has ended (on Linux, where `/proc` says so).
fn sweep(parent: &Path, prefix: &str) {
    if !cfg!(target_os = "linux") {
        return;
    }
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name();
        let pid = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .and_then(|n| n.split('-').next())
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(pid) = pid {
            if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
}

/// The bodies of lookup, batch and registration for a fingerprint input
/// (see [`Harness::fingerprint_json`]).
fn fingerprint_bodies(data: &[u8]) -> [Vec<u8>; 3] {
    let json = data
        .first()
        .copied()
        .is_none_or(|b| matches!(b, b'{' | b' ' | b'\t' | b'\n' | b'\r'));
    if json {
        return [data.to_vec(), data.to_vec(), data.to_vec()];
    }
    let (audio, video) = match data {
        [m, n0, n1, rest @ ..] if m & 1 == 1 => {
            let n = usize::from(u16::from_le_bytes([*n0, *n1])).min(rest.len());
            (&rest[..n], Some(&rest[n..]))
        }
        [_, rest @ ..] => (rest, None),
        [] => (&[][..], None),
    };
    let sealed = |b: &[u8]| {
        let mut b = b.to_vec();
        let sum = blake3::hash(&b);
        b.extend_from_slice(&sum.as_bytes()[..4]);
        base64::engine::general_purpose::STANDARD.encode(b)
    };
    let mut doc = serde_json::json!({"version": 1, "fingerprint": {"data": sealed(audio)}});
    if let Some(v) = video {
        doc["video"] = serde_json::json!({"data": sealed(v)});
    }
    [
        doc.to_string(),
        serde_json::json!({"fingerprints": [doc]}).to_string(),
        serde_json::json!({"title": "fuzz", "fingerprint": doc}).to_string(),
    ]
    .map(String::into_bytes)
}

/// `lookup::lookup`'s JSON branch, then `identify`'s checks before its
/// search.
fn lookup_json(o: &ServerOptions, bytes: &[u8]) -> Result<(), ApiError> {
    let doc: FingerprintDoc = body::parse_json(bytes)?;
    doc.rights()?;
    let (fp, _) = doc.decode()?;
    round_trip(&fp);
    before_search(o, &fp)
}

/// `lookup::batch` up to its searches, then each entry as `identify`
/// checks it.
fn batch_json(o: &ServerOptions, bytes: &[u8]) -> Result<Vec<Result<(), ApiError>>, ApiError> {
    let req: BatchRequest = body::parse_json(bytes)?;
    if req.fingerprints.len() > o.max_batch {
        return Err(ApiError::new(Code::PayloadTooLarge, "batch").field("fingerprints"));
    }
    parse_rights(req.territory.as_deref(), req.date.as_deref())?;
    Ok(req
        .fingerprints
        .iter()
        .map(|doc| {
            let (fp, _) = doc.decode()?;
            round_trip(&fp);
            before_search(o, &fp)
        })
        .collect())
}

/// What `lookup::identify` checks before it searches.
fn before_search(o: &ServerOptions, fp: &Fingerprints) -> Result<(), ApiError> {
    if fp.duration_ms() > o.max_clip_ms {
        return Err(ApiError::new(Code::PayloadTooLarge, "clip"));
    }
    Ok(fp.check_query(o.min_query_ms)?)
}

/// An accepted fingerprint must come back from its own encoding unchanged.
fn round_trip(fp: &Fingerprints) {
    let audio = AudioFingerprint::from_bytes(&fp.audio.to_bytes());
    assert_eq!(audio.as_ref().ok(), Some(&fp.audio), "audio: {audio:?}");
    assert!(fp.audio.implausible().is_none());
    if let Some(v) = &fp.video {
        let video = VideoFingerprint::from_bytes(&v.to_bytes());
        assert_eq!(video.as_ref().ok(), Some(v), "video: {video:?}");
    }
}

/// The id an amendment body names (`PERFORMER:FIXATION` for moral rights).
fn body_id(kind: EntityKind, body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    if kind == EntityKind::MoralRights {
        let (p, f) = (v.get("performer")?.as_str()?, v.get("fixation")?.as_str()?);
        return Some(format!("{p}:{f}"));
    }
    v.get("id")?.as_str().map(str::to_owned)
}

/// `s` as one path segment.
fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The route of the `multipart` target: `body::read` as the media routes
/// call it, then the checks of what it read, and what the route does with
/// it before fingerprinting.
async fn read_body(State(state): State<AppState>, req: Request) -> Response {
    let Some(p) = req.extensions().get::<Profile>().copied() else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    let o = state.options();
    let read = body::read(
        req,
        &state,
        p.media_limit,
        o.fingerprint_body_limit,
        p.fields,
    )
    .await;
    let mut outcome = MultipartOutcome {
        read: Ok(()),
        upload_bytes: None,
        fields: 0,
    };
    match read {
        Err(e) => outcome.read = Err(e),
        Ok(Body::Json(bytes)) => {
            assert!(bytes.len() as u64 <= o.fingerprint_body_limit);
        }
        Ok(Body::Media { upload, fields }) => {
            let limit = p.media_limit.unwrap_or(0);
            let mut total = 0u64;
            for (name, value) in &fields {
                assert!(p.fields.contains(&name.as_str()), "field {name:?} read");
                assert!(value.len() <= 64 * 1024, "field {name:?} too long");
                total += value.len() as u64;
            }
            if let Some(u) = &upload {
                let path = u.path();
                assert_eq!(path.parent(), o.temp_dir.as_deref(), "the upload's folder");
                let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                assert!(name.starts_with(UPLOAD_PREFIX), "upload named {name:?}");
                let bytes = std::fs::read(path).expect("the upload's file");
                assert_eq!(bytes.len() as u64, u.bytes, "the upload's size");
                assert_eq!(
                    avreg_fingerprint::ContentHash::from_bytes(*blake3::hash(&bytes).as_bytes()),
                    u.content_hash,
                    "the upload's hash"
                );
                total += u.bytes;
                outcome.upload_bytes = Some(u.bytes);
            }
            assert!(total <= limit, "{total} bytes read over a limit of {limit}");
            outcome.fields = fields.len();
            let body = Body::Media { upload, fields };
            if p.register {
                // The route's checks; the closure (fingerprinting) is dropped.
                let _ = crate::media::recording_from(body, &state, None);
            } else if let Body::Media { fields, .. } = body {
                let _ = parse_rights(
                    fields.get("territory").map(String::as_str),
                    fields.get("date").map(String::as_str),
                );
            }
        }
    }
    let mut res = StatusCode::OK.into_response();
    res.extensions_mut().insert(outcome);
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of `fuzz/regressions/{target}/`.
    fn regressions(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
        let dir = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../fuzz/regressions"
        ))
        .join(target);
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Vec::new();
        };
        let mut files: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_file())
            .map(|p| {
                let bytes = std::fs::read(&p).expect("read");
                (p, bytes)
            })
            .collect();
        files.sort();
        files
    }

    #[test]
    fn fuzz_regressions_replay() {
        let h = Harness::new(None);
        let mut failed = Vec::new();
        for target in ["fingerprint_json", "ledger_json", "multipart"] {
            for (path, data) in regressions(target) {
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match target {
                    "fingerprint_json" => drop(h.fingerprint_json(&data)),
                    "ledger_json" => drop(h.ledger_json(&data)),
                    _ => drop(h.multipart(&data)),
                }));
                if run.is_err() {
                    failed.push(path.display().to_string());
                }
            }
        }
        assert!(
            failed.is_empty(),
            "regression inputs that fail: {failed:#?}"
        );
    }

    /// The entry points reach past their first checks with valid inputs.
    #[test]
    fn valid_inputs_are_accepted() {
        use avreg_fingerprint::audio::Peak;
        let h = Harness::new(None);
        let peaks = (0..200u32)
            .map(|i| Peak {
                time_ms: i * 20,
                freq: (i * 37 % 4000) as u16,
                level: 2,
            })
            .collect();
        let fp = AudioFingerprint::from_parts(4_000, peaks);
        let data = base64::engine::general_purpose::STANDARD.encode(fp.to_bytes());
        let doc = serde_json::json!({"version": 1, "fingerprint": {"data": data}});
        let out = h.fingerprint_json(doc.to_string().as_bytes());
        assert!(out.lookup.is_ok(), "{out:?}");
        // The lookup body is no batch and has no title.
        assert!(out.batch.is_err() && out.register.is_err(), "{out:?}");
        // The same fingerprint, from its binary form.
        let bytes = fp.to_bytes();
        let mut binary = vec![0u8];
        binary.extend_from_slice(&bytes[..bytes.len() - 4]);
        let out = h.fingerprint_json(&binary);
        assert!(out.lookup.is_ok() && out.register.is_ok(), "{out:?}");
        assert!(matches!(&out.batch, Ok(v) if v.len() == 1 && v[0].is_ok()));

        let performer = serde_json::json!({"version": 1,
            "id": "0190a000-0000-7000-8000-0000000000ff", "display_name": "Cy"});
        let mut create = vec![1 << 2];
        create.extend_from_slice(performer.to_string().as_bytes());
        let out = h.ledger_json(&create).expect("outcome");
        assert_eq!((out.status, out.events), (StatusCode::CREATED, 1));
        let out = h.ledger_json(&create).expect("outcome");
        assert_eq!((out.status, out.events), (StatusCode::CONFLICT, 0));

        let form = format!(
            "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nT\r\n\
             --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a.wav\"\r\n\r\n\
             RIFF....\r\n--{BOUNDARY}--\r\n"
        );
        for m in [0u8, 0x18, 0x34] {
            let mut data = vec![m];
            data.extend_from_slice(form.as_bytes());
            let out = h.multipart(&data).expect("outcome");
            assert!(out.read.is_ok(), "{out:?}");
            assert_eq!((out.upload_bytes, out.fields), (Some(8), 1));
        }
    }
}
