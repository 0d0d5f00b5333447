//! In-process tests of the router (`oneshot`, no socket): the OpenAPI
//! document against the routes, the error shape, admission control.

use std::collections::BTreeSet;
use std::sync::Arc;

use avreg_registry::accounts::{Binding, NewKey, Role};
use avreg_registry::{Registry, RegistryOptions};
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

use super::*;

struct Fixture {
    _dir: tempfile::TempDir,
    state: AppState,
}

impl Fixture {
    fn new(options: ServerOptions) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let registry =
            Arc::new(Registry::open(dir.path(), RegistryOptions::default()).expect("open"));
        Self {
            state: AppState::new(registry, options),
            _dir: dir,
        }
    }

    fn key(&self, role: Role) -> String {
        let bound_to = match role {
            Role::Performer | Role::Agent => {
                Binding::Performers(vec![avreg_registry::domain::ids::PerformerId::new()])
            }
            Role::Producer => {
                Binding::Organisation(avreg_registry::domain::ids::OrganisationId::new())
            }
            _ => Binding::None,
        };
        self.state
            .registry()
            .create_key(
                "test",
                NewKey {
                    role,
                    bound_to,
                    label: String::new(),
                },
            )
            .expect("key")
            .secret
            .expose()
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let res = router(self.state.clone())
            .oneshot(req)
            .await
            .expect("infallible");
        let (parts, body) = res.into_parts();
        let bytes = body.collect().await.expect("body").to_bytes().to_vec();
        (parts.status, parts.headers, bytes)
    }
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("JSON body")
}

/// `(METHOD, /path)` of every operation in the OpenAPI document.
fn documented() -> BTreeSet<(String, String)> {
    let doc = serde_json::to_value(openapi_document()).expect("json");
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("item").keys() {
            out.insert((method.to_uppercase(), path.clone()));
        }
    }
    out
}

/// The paths the router holds, read from its `Debug` form (axum prints its
/// route table there; the test fails loudly if that ever changes).
fn routed_paths(router: &Router) -> BTreeSet<String> {
    let debug = format!("{router:?}");
    let paths: BTreeSet<String> = debug
        .split('"')
        .filter(|s| s.starts_with('/') && !s.contains(' '))
        // axum routes its fallback as `/` and `/{*__private__axum_fallback}`.
        .filter(|s| *s != "/" && !s.contains("__private__axum_fallback"))
        .map(str::to_owned)
        .collect();
    assert!(
        paths.contains("/health"),
        "axum's Debug output no longer lists paths: {debug}"
    );
    paths
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_route_answers() {
    let f = Fixture::new(ServerOptions::default());
    let docs = documented();
    let doc_paths: BTreeSet<String> = docs.iter().map(|(_, p)| p.clone()).collect();
    assert_eq!(routed_paths(&router(f.state.clone())), doc_paths);
    for (method, path) in &docs {
        let uri = path.replace("{id}", "00000000-0000-0000-0000-000000000000");
        let req = Request::builder()
            .method(Method::from_bytes(method.as_bytes()).expect("method"))
            .uri(&uri)
            .body(Body::empty())
            .expect("request");
        let (status, _, body) = f.send(req).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        if status == StatusCode::NOT_FOUND {
            assert_ne!(
                json(&body)["error"]["message"],
                "no such route",
                "{method} {path}"
            );
        }
    }
    // And a path that is not there gets the error shape.
    let (status, _, body) = f
        .send(
            Request::get("/v1/nothing")
                .body(Body::empty())
                .expect("req"),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json(&body)["error"]["code"], "not_found");
}

#[tokio::test]
async fn openapi_document_is_served() {
    let f = Fixture::new(ServerOptions::default());
    let (status, _, body) = f
        .send(
            Request::get("/v1/openapi.json")
                .body(Body::empty())
                .expect("req"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let doc = json(&body);
    assert!(doc["openapi"].as_str().expect("version").starts_with("3."));
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert!(doc["paths"]["/v1/lookup"]["post"].is_object());
}

/// The schemas of the document's operations that say nothing: a bare `{"type": "object"}` (or `{}`) without properties,
/// `$ref`, `oneOf`/`anyOf`/`allOf` or `additionalProperties`, anywhere in a
/// request or response body or in a component they reach. Each is named
/// by where it was found.
fn untyped_schemas(doc: &serde_json::Value) -> Vec<String> {
    fn walk(
        doc: &serde_json::Value,
        schema: &serde_json::Value,
        at: String,
        seen: &mut BTreeSet<String>,
        out: &mut Vec<String>,
    ) {
        let Some(obj) = schema.as_object() else {
            return;
        };
        if let Some(r) = obj.get("$ref").and_then(|r| r.as_str()) {
            let name = r.trim_start_matches("#/components/schemas/").to_owned();
            if seen.insert(name.clone()) {
                let target = &doc["components"]["schemas"][&name];
                assert!(!target.is_null(), "{at}: dangling {r}");
                walk(doc, target, format!("#{name}"), seen, out);
            }
            return;
        }
        let typed = [
            "properties",
            "oneOf",
            "anyOf",
            "allOf",
            "additionalProperties",
        ]
        .iter()
        .any(|k| obj.contains_key(*k));
        let ty = obj.get("type");
        let is_object = ty.is_some_and(|t| {
            t == "object"
                || t.as_array()
                    .is_some_and(|a| a.iter().any(|t| t == "object"))
        });
        if !typed && (is_object || ty.is_none()) && !obj.contains_key("enum") {
            out.push(at.clone());
        }
        for (k, v) in obj {
            match k.as_str() {
                "properties" => {
                    for (name, p) in v.as_object().into_iter().flatten() {
                        walk(doc, p, format!("{at}.{name}"), seen, out);
                    }
                }
                "items" | "additionalProperties" => walk(doc, v, format!("{at}[]"), seen, out),
                "oneOf" | "anyOf" | "allOf" | "prefixItems" => {
                    for (i, s) in v.as_array().into_iter().flatten().enumerate() {
                        walk(doc, s, format!("{at}/{k}[{i}]"), seen, out);
                    }
                }
                _ => {}
            }
        }
    }
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        // The document itself: its schema is the OpenAPI specification's.
        if path == "/v1/openapi.json" {
            continue;
        }
        for (method, op) in item.as_object().expect("item") {
            let at = format!("{} {path}", method.to_uppercase());
            let bodies = op["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(ct, c)| (format!("{at} request {ct}"), c))
                .chain(op["responses"].as_object().into_iter().flatten().flat_map(
                    |(status, r)| {
                        let at = at.clone();
                        r["content"]
                            .as_object()
                            .into_iter()
                            .flatten()
                            .map(move |(ct, c)| (format!("{at} {status} {ct}"), c))
                    },
                ));
            for (at, content) in bodies {
                if content["schema"].is_null() {
                    out.push(at);
                    continue;
                }
                // Each component once; a body is checked where it is.
                walk(doc, &content["schema"], at, &mut seen, &mut out);
            }
        }
    }
    out
}

#[test]
fn every_operations_schemas_are_typed() {
    let doc = serde_json::to_value(openapi_document()).expect("json");
    let untyped = untyped_schemas(&doc);
    assert!(untyped.is_empty(), "untyped schemas: {untyped:#?}");
    // The walk sees an untyped one.
    let mut bad = doc.clone();
    bad["components"]["schemas"]["Conflict"]["properties"]["subjects"] =
        serde_json::json!({"type": "object"});
    assert_eq!(untyped_schemas(&bad), ["#Conflict.subjects"]);
    // Every domain entity has its component.
    for name in [
        "Performer",
        "Organisation",
        "Fixation",
        "Credit",
        "MoralRights",
        "Holding",
        "Agreement",
        "Mandate",
        "Conflict",
        "Segment",
        "Revision",
        "Change",
        "Entity",
        "EntityRef",
        "Term",
        "AppliedRule",
        "TermLine",
        "RightHoldersOwned",
        "HolderLine",
        "RepertoireEntry",
        "StatementEntry",
        "ExpiringEntry",
        "RmiManifest",
        "Eligibility",
        "Broadcasting",
        "Art11Treatment",
        "Applicability",
        "PerformerEligibility",
        "SignedHead",
        "Territories",
        "Country",
        "Date",
        "Isan",
        "Eidr",
        "Isrc",
        "Isni",
        "FixationId",
        "RightKind",
    ] {
        assert!(
            doc["components"]["schemas"][name].is_object(),
            "no component {name}"
        );
    }
}

#[tokio::test]
async fn a_full_pool_answers_503_with_retry_after_once_the_body_is_read() {
    let f = Fixture::new(ServerOptions {
        fingerprint_workers: 1,
        fingerprint_queue: 0,
        retry_after_s: 7,
        ..ServerOptions::default()
    });
    let key = f.key(Role::Platform);
    let _held = f.state.pool().admit().expect("the only slot");
    // A well-formed fingerprint: the body is read and checked first (bad
    // ones get their 400), and only then is a slot looked for.
    use base64::Engine;
    let peaks = (0..200u32)
        .map(|i| avreg_fingerprint::audio::Peak {
            time_ms: i * 20,
            freq: (i * 37 % 4000) as u16,
            level: 2,
        })
        .collect();
    let fp = avreg_fingerprint::audio::AudioFingerprint::from_parts(4_000, peaks);
    let doc = serde_json::json!({"version": 1, "fingerprint": {
        "data": base64::engine::general_purpose::STANDARD.encode(fp.to_bytes())}});
    let req = Request::post("/v1/lookup")
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Body::from(doc.to_string()))
        .expect("req");
    let (status, headers, body) = f.send(req).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["retry-after"], "7");
    assert_eq!(json(&body)["error"]["code"], "busy");
}

/// A fingerprint registration body whose peaks differ with `seed`.
fn registration_body(seed: u32) -> String {
    use base64::Engine;
    let peaks = (0..200u32)
        .map(|i| avreg_fingerprint::audio::Peak {
            time_ms: i * 20,
            freq: ((i * 37 + seed * 101) % 4000) as u16,
            level: 2,
        })
        .collect();
    let fp = avreg_fingerprint::audio::AudioFingerprint::from_parts(4_000, peaks);
    serde_json::json!({"title": format!("queued {seed}"), "fingerprint": {"version": 1,
        "fingerprint": {"data": base64::engine::general_purpose::STANDARD.encode(fp.to_bytes())}}})
    .to_string()
}

#[tokio::test]
async fn a_keys_queued_jobs_count_against_its_uploads_in_flight() {
    let f = Fixture::new(ServerOptions {
        fingerprint_workers: 1,
        fingerprint_queue: 16,
        max_uploads_per_key: 2,
        sync_wait: std::time::Duration::from_millis(20),
        ..ServerOptions::default()
    });
    // The only worker is busy until `release` is sent: registrations queue.
    let (release, wait) = std::sync::mpsc::channel::<()>();
    let slot = f.state.pool().admit().expect("a slot");
    let pool = f.state.clone();
    let blocker = tokio::spawn(async move {
        pool.pool()
            .run(slot, move || wait.recv().expect("released"))
            .await
    });
    let register = |key: &str, seed: u32| {
        Request::post("/v1/recordings")
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .body(Body::from(registration_body(seed)))
            .expect("req")
    };
    let (a, b) = (f.key(Role::Producer), f.key(Role::Producer));
    for seed in 0..2 {
        let (status, _, body) = f.send(register(&a, seed)).await;
        assert_eq!(
            status,
            StatusCode::ACCEPTED,
            "{}",
            String::from_utf8_lossy(&body)
        );
    }
    // Two of a's jobs wait for the worker, holding a's two places: a third
    // is refused, although the pool's queue has room for it.
    let (status, headers, body) = f.send(register(&a, 2)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key("retry-after"));
    assert_eq!(json(&body)["error"]["code"], "rate_limited");
    let (status, _, _) = f.send(register(&b, 3)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "another key is not starved");
    release.send(()).expect("blocker waits");
    blocker.await.expect("joined").expect("ran");
    // Once a's jobs are done its places are free again.
    for _ in 0..200 {
        if f.state.pool().queue_depth() == 0 && f.state.pool().running() == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let (status, _, body) = f.send(register(&a, 4)).await;
    assert!(
        status == StatusCode::CREATED || status == StatusCode::ACCEPTED,
        "{status}: {}",
        String::from_utf8_lossy(&body)
    );
}

#[tokio::test]
async fn rate_limited_keys_get_429() {
    let f = Fixture::new(ServerOptions {
        rate_per_s: 0.01,
        rate_burst: 2,
        ..ServerOptions::default()
    });
    let key = f.key(Role::Society);
    let get = || {
        Request::get("/v1/audit/head")
            .header("authorization", format!("Bearer {key}"))
            .body(Body::empty())
            .expect("req")
    };
    assert_eq!(f.send(get()).await.0, StatusCode::OK);
    assert_eq!(f.send(get()).await.0, StatusCode::OK);
    let (status, headers, body) = f.send(get()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(headers.contains_key("retry-after"));
    assert_eq!(json(&body)["error"]["code"], "rate_limited");
}

#[tokio::test]
async fn errors_have_one_shape() {
    let f = Fixture::new(ServerOptions::default());
    let admin = f.key(Role::Admin);
    let post = |body: &'static str, ct: &'static str| {
        Request::post("/v1/lookup")
            .header("authorization", format!("Bearer {admin}"))
            .header("content-type", ct)
            .body(Body::from(body))
            .expect("req")
    };
    let cases = [
        (post("{not json", "application/json"), 400, "invalid"),
        (post("hello", "text/plain"), 415, "unsupported_media"),
        (
            post(
                r#"{"version":1,"fingerprint":{"data":"!!"}}"#,
                "application/json",
            ),
            400,
            "invalid",
        ),
        (
            Request::get("/v1/recordings?limit=x")
                .header("authorization", format!("Bearer {admin}"))
                .body(Body::empty())
                .expect("req"),
            400,
            "invalid",
        ),
        (
            Request::get("/v1/recordings")
                .header("authorization", "Basic abc")
                .body(Body::empty())
                .expect("req"),
            401,
            "unauthorized",
        ),
    ];
    for (req, status, code) in cases {
        let (s, _, body) = f.send(req).await;
        let v = json(&body);
        assert_eq!(
            (s.as_u16(), v["error"]["code"].as_str()),
            (status, Some(code)),
            "{v}"
        );
        assert!(v["error"]["message"].is_string());
    }
}

#[tokio::test]
async fn an_upload_without_a_declared_length_is_cut_at_the_limit() {
    let f = Fixture::new(ServerOptions {
        media_body_limit: 10_000,
        ..ServerOptions::default()
    });
    let key = f.key(Role::Producer);
    let boundary = "b0undary";
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nT\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"a.wav\"\r\n\r\n"
    );
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = std::iter::once(Ok(head.into_bytes()))
        .chain((0..20).map(|_| Ok(vec![1u8; 1000])))
        .chain(std::iter::once(Ok(
            format!("\r\n--{boundary}--\r\n").into_bytes()
        )))
        .collect();
    let req = Request::post("/v1/recordings")
        .header("authorization", format!("Bearer {key}"))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .expect("req");
    let (status, _, body) = f.send(req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json(&body)["error"]["code"], "payload_too_large");
    assert_eq!(f.state.registry().stats().expect("stats").recordings, 0);
}

#[tokio::test]
async fn work_per_request_is_bounded() {
    use avreg_fingerprint::audio::{AudioFingerprint, Peak};
    use base64::Engine;

    let f = Fixture::new(ServerOptions {
        max_batch: 2,
        max_clip_ms: 10_000,
        ..ServerOptions::default()
    });
    let key = f.key(Role::Platform);
    let post = |path: &str, body: String| {
        Request::post(path)
            .header("authorization", format!("Bearer {key}"))
            .header("content-type", "application/json")
            .body(Body::from(body))
            .expect("req")
    };
    let doc = |fp: &AudioFingerprint| {
        serde_json::json!({
            "version": 1,
            "fingerprint": {"data": base64::engine::general_purpose::STANDARD.encode(fp.to_bytes())}
        })
    };
    let peaks = (0..200u32)
        .map(|i| Peak {
            time_ms: i * 100,
            freq: (100 + i % 50) as u16 * 16,
            level: 2,
        })
        .collect();
    let long = AudioFingerprint::from_parts(20_000, peaks);
    let (status, _, body) = f.send(post("/v1/lookup", doc(&long).to_string())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{}", json(&body));
    let three = serde_json::json!({"fingerprints": [doc(&long), doc(&long), doc(&long)]});
    let (status, _, body) = f.send(post("/v1/lookup/batch", three.to_string())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json(&body)["error"]["field"], "fingerprints");
    // Within the batch size, each entry gets its own answer.
    let two = serde_json::json!({"fingerprints": [doc(&long), {"version": 2, "fingerprint": {"data": ""}}]});
    let (status, _, body) = f.send(post("/v1/lookup/batch", two.to_string())).await;
    assert_eq!(status, StatusCode::OK);
    let v = json(&body);
    assert_eq!(v["results"][0]["error"]["code"], "payload_too_large");
    assert_eq!(v["results"][1]["error"]["field"], "version");
}

#[tokio::test]
async fn serve_sweeps_the_uploads_a_crashed_run_left() {
    let uploads = tempfile::tempdir().expect("temp dir");
    let dir = uploads.path().join("uploads");
    std::fs::create_dir(&dir).expect("mkdir");
    let leftover = dir.join(format!("{}crashed.wav", body::UPLOAD_PREFIX));
    std::fs::write(&leftover, b"RIFF").expect("leftover");
    let f = Fixture::new(ServerOptions {
        temp_dir: Some(dir.clone()),
        ..ServerOptions::default()
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let stopped = serve(&listener, f.state.clone(), async {})
        .await
        .expect("serve");
    assert_eq!(stopped, Stopped::Shutdown);
    assert!(!leftover.exists());
    assert!(dir.is_dir());
}
