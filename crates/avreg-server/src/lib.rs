//! The registry's HTTP service, and the only crate of avreg that knows
//! HTTP. The JSON shapes it shares with the CLI are avreg-wire's.
//!
//! - [`router`] builds the axum router of every route (versioned under
//!   `/v1`, plus `/health`, `/ready`, `/metrics`); [`serve`] runs it until
//!   a shutdown signal, then drains the fingerprinting pool and flushes the
//!   registry.
//! - `error`: the one error shape `{"error": {"code", "message",
//!   "field"?}}` with stable codes, mapped from the libraries' typed errors.
//! - `auth`: `Authorization: Bearer avreg_…` keys (stored hashed by the
//!   registry), the role table, per-key token buckets.
//! - `body`: bodies within limits; media streamed to temporary files in
//!   the upload folder, swept of a crashed run's leftovers at start.
//! - `pool`: the bounded pool that fingerprints off the async executor.
//! - `dto`: the shapes only the API has (jobs, keys, audit pages,
//!   batches); `media`: fingerprinting an upload and the recording a
//!   registration body describes; `jobs`, `metrics`.
//! - `routes`: one module per resource; routes depend on `jobs`, `dto` and
//!   `media`, never on each other.
//!
//! The OpenAPI document (`/v1/openapi.json`) is generated from the
//! handlers' annotations by the same calls that register the routes.
//!
//! ```no_run
//! # async fn run() -> std::io::Result<()> {
//! use std::sync::Arc;
//! use avreg_registry::{Registry, RegistryOptions};
//! use avreg_server::{serve, AppState, ServerOptions};
//!
//! let registry = Registry::open("data".as_ref(), RegistryOptions::default()).expect("open");
//! let state = AppState::new(Arc::new(registry), ServerOptions::default());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! // `Stopped::StoreFailed`: reopen the registry once the disk has room
//! // (`avreg serve` does, answering 503 with `unavailable` meanwhile).
//! let _why = serve(&listener, state, async { let _ = tokio::signal::ctrl_c().await; }).await?;
//! # Ok(())
//! # }
//! ```

mod auth;
mod body;
mod config;
mod dto;
mod error;
// The fuzz targets' entry points (`fuzz/`), and their stable replay test:
// not in a build that serves.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod jobs;
mod media;
mod metrics;
mod ownership;
mod pool;
mod routes;
mod uploads;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use avreg_fingerprint::audio::AudioConfig;
use avreg_registry::ledger::CommitGate;
use avreg_registry::Registry;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use auth::{allowed, Action, Caller};
pub use error::{ApiError, Code, ErrorBody};

/// The service's limits and tuning. The binary fills it from the `[server]`
/// section of the configuration (`config/default.toml` documents each key).
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerOptions {
    /// Largest multipart media upload, bytes.
    pub media_body_limit: u64,
    /// Largest JSON body carrying fingerprints (registration, lookup,
    /// batch), bytes.
    pub fingerprint_body_limit: u64,
    /// Largest other JSON body, bytes.
    pub json_body_limit: u64,
    /// Longest a request without an upload may take (408 after).
    #[serde(rename = "request_timeout_ms", deserialize_with = "config::millis")]
    pub request_timeout: Duration,
    /// Longest an upload (a body of a media route) may take to arrive.
    #[serde(rename = "upload_timeout_ms", deserialize_with = "config::millis")]
    pub upload_timeout: Duration,
    /// Longest a client may send nothing while its body is expected.
    #[serde(rename = "body_idle_timeout_ms", deserialize_with = "config::millis")]
    pub body_idle_timeout: Duration,
    /// Fingerprinting workers (blocking threads busy at once).
    #[serde(deserialize_with = "config::workers")]
    pub fingerprint_workers: usize,
    /// Requests waiting for a worker beyond which the answer is 503.
    pub fingerprint_queue: usize,
    /// `Retry-After` of a 503 or 429, seconds.
    pub retry_after_s: u64,
    /// How long a registration request waits for its result before the
    /// answer is 202 with a job.
    #[serde(rename = "sync_wait_ms", deserialize_with = "config::millis")]
    pub sync_wait: Duration,
    /// Most fingerprints in a batch lookup.
    pub max_batch: usize,
    /// Most bodies of the fingerprinting routes arriving at once (503
    /// beyond).
    pub max_uploads: usize,
    /// Most such bodies arriving at once for one key (429 beyond).
    pub max_uploads_per_key: usize,
    /// Most changes in one ledger write (413 beyond).
    pub max_changes: usize,
    /// Most reads whose work grows with the store (exports) running at
    /// once (503 beyond). Audit verification walks the chain once per
    /// process and then only what was appended, one at a time.
    pub max_heavy_reads: usize,
    /// Most connections open at once (one more is closed at once).
    pub max_connections: usize,
    /// Requests a second from one address without a valid key (requests
    /// without one, and 401s), refilled into a bucket of
    /// `anonymous_burst` (0: unlimited).
    pub anonymous_rate_per_s: f64,
    /// The bucket of `anonymous_rate_per_s`.
    pub anonymous_burst: u32,
    /// Longest a connection may take to send a request head (at its start
    /// and between keep-alive requests) before it is closed.
    #[serde(rename = "header_read_timeout_ms", deserialize_with = "config::millis")]
    pub header_read_timeout: Duration,
    /// Longest clip a lookup accepts, ms.
    #[serde(rename = "max_clip_s", deserialize_with = "config::seconds_as_ms")]
    pub max_clip_ms: u64,
    /// Shortest clip a lookup accepts, ms.
    #[serde(skip)]
    pub min_query_ms: u64,
    /// Longest media a registration accepts, ms.
    #[serde(skip)]
    pub max_media_ms: u64,
    /// Largest page of a list.
    #[serde(deserialize_with = "config::at_least_one")]
    pub max_page: u64,
    /// Per-key rate: requests a second (0: unlimited).
    pub rate_per_s: f64,
    /// Per-key burst.
    pub rate_burst: u32,
    /// How long shutdown waits for running fingerprinting work.
    #[serde(rename = "shutdown_grace_ms", deserialize_with = "config::millis")]
    pub shutdown_grace: Duration,
    /// Folder of temporary uploads. [`serve`] creates it private to its
    /// owner (mode 0o700 on unix) and deletes the uploads a crashed run
    /// left in it; it should be a folder of its own (the binary's default
    /// is `uploads` in the data directory). `None`: the system's temporary
    /// folder, neither changed nor swept.
    #[serde(deserialize_with = "config::optional_path")]
    pub temp_dir: Option<PathBuf>,
    /// Whether `/metrics` answers without a key (by default it needs a
    /// `monitor` or `admin` key).
    pub metrics_public: bool,
    /// The fingerprinter's configuration (the registry's matching audio
    /// configuration: queries and references must agree).
    #[serde(skip)]
    pub audio: AudioConfig,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            media_body_limit: 2 << 30,
            fingerprint_body_limit: 16 << 20,
            json_body_limit: 1 << 20,
            request_timeout: Duration::from_secs(30),
            upload_timeout: Duration::from_secs(3600),
            body_idle_timeout: Duration::from_secs(30),
            fingerprint_workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            fingerprint_queue: 64,
            retry_after_s: 5,
            sync_wait: Duration::from_secs(10),
            max_batch: 32,
            max_uploads: 64,
            max_uploads_per_key: 4,
            max_changes: 500,
            max_connections: 1024,
            anonymous_rate_per_s: 20.0,
            anonymous_burst: 100,
            header_read_timeout: Duration::from_secs(10),
            max_clip_ms: 60_000,
            min_query_ms: 2_000,
            max_media_ms: 6 * 3600 * 1000,
            max_page: 1000,
            rate_per_s: 50.0,
            rate_burst: 100,
            shutdown_grace: Duration::from_secs(30),
            temp_dir: None,
            metrics_public: false,
            max_heavy_reads: 1,
            audio: AudioConfig::default(),
        }
    }
}

struct Inner {
    registry: Arc<Registry>,
    options: ServerOptions,
    pool: pool::Pool,
    metrics: metrics::Metrics,
    limiter: auth::RateLimiter,
    uploads: uploads::Uploads,
    anonymous: auth::RateLimiter<std::net::IpAddr>,
    heavy: Arc<tokio::sync::Semaphore>,
    /// Wakes the store check of [`serve`] (a write answered 507).
    store_check: tokio::sync::Notify,
    /// The store met a full disk (see [`Stopped::StoreFailed`]): writes
    /// are answered 503 until it is reopened; reads go on.
    store_failed: std::sync::atomic::AtomicBool,
    openapi: OnceLock<String>,
}

/// What every handler shares: the registry, the options, the pool, jobs,
/// metrics and rate limits. Cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("registry", &self.0.registry)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// The state of a service over `registry`.
    pub fn new(registry: Arc<Registry>, options: ServerOptions) -> Self {
        Self(Arc::new(Inner {
            pool: pool::Pool::new(
                options.fingerprint_workers,
                options.fingerprint_queue,
                options.retry_after_s,
            ),
            limiter: auth::RateLimiter::new(options.rate_per_s, options.rate_burst),
            anonymous: auth::RateLimiter::new(
                options.anonymous_rate_per_s,
                options.anonymous_burst,
            ),
            uploads: uploads::Uploads::new(
                options.max_uploads,
                options.max_uploads_per_key,
                options.retry_after_s,
            ),
            metrics: metrics::Metrics::default(),
            heavy: Arc::new(tokio::sync::Semaphore::new(options.max_heavy_reads.max(1))),
            store_check: tokio::sync::Notify::new(),
            store_failed: std::sync::atomic::AtomicBool::new(false),
            openapi: OnceLock::new(),
            registry,
            options,
        }))
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.0.registry
    }

    pub(crate) fn registry_arc(&self) -> Arc<Registry> {
        self.0.registry.clone()
    }

    /// The options.
    pub fn options(&self) -> &ServerOptions {
        &self.0.options
    }

    pub(crate) fn pool(&self) -> &pool::Pool {
        &self.0.pool
    }

    pub(crate) fn metrics(&self) -> &metrics::Metrics {
        &self.0.metrics
    }

    pub(crate) fn anonymous_limiter(&self) -> &auth::RateLimiter<std::net::IpAddr> {
        &self.0.anonymous
    }

    pub(crate) fn uploads(&self) -> &uploads::Uploads {
        &self.0.uploads
    }

    pub(crate) fn limiter(&self) -> &auth::RateLimiter {
        &self.0.limiter
    }

    pub(crate) fn openapi_json(&self) -> String {
        self.0
            .openapi
            .get_or_init(|| openapi_document().to_pretty_json().unwrap_or_default())
            .clone()
    }

    /// Runs a registry read whose work grows with the store (an export)
    /// on a blocking thread, at most
    /// `max_heavy_reads` at once: beyond, 503 with `Retry-After`, so that
    /// such reads cannot take every core from lookups and writes.
    pub(crate) async fn heavy<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Registry) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let Ok(permit) = self.0.heavy.clone().try_acquire_owned() else {
            return Err(ApiError::new(
                error::Code::Busy,
                "a report is running already; retry later",
            )
            .retry_after(self.options().retry_after_s));
        };
        self.blocking(move |r| {
            let _permit = permit;
            f(r)
        })
        .await
    }

    /// Runs a short registry call (a sled read or write) on a blocking
    /// thread. Fingerprinting goes through the bounded pool instead.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Registry) -> T + Send + 'static,
    ) -> Result<T, ApiError> {
        let registry = self.registry_arc();
        tokio::task::spawn_blocking(move || f(&registry))
            .await
            .map_err(|e| ApiError::internal(&e))
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "avreg",
        description = "A registry of audiovisual performances with content fingerprinting. \
            Every error answers {\"error\": {\"code\", \"message\", \"field\"?}} with a stable code."
    ),
    modifiers(&BearerAuth),
    // The domain's entities, with or without a route answering them
    // alone (the rest is collected from the routes' bodies).
    components(schemas(
        avreg_registry::domain::model::Performer,
        avreg_registry::domain::model::Organisation,
        avreg_registry::domain::model::Fixation,
        avreg_registry::domain::model::Credit,
        avreg_registry::domain::model::MoralRights,
        avreg_registry::domain::model::Holding,
        avreg_registry::domain::model::Agreement,
        avreg_registry::domain::model::Mandate,
        avreg_registry::domain::model::Conflict,
        avreg_registry::domain::model::Party,
        avreg_registry::domain::model::Segment,
        avreg_registry::domain::rules::Term,
        avreg_registry::domain::audit::SignedHead,
        avreg_registry::ledger::Entity,
        avreg_registry::ledger::EntityRef,
        avreg_registry::ledger::EntityKind,
        avreg_registry::ledger::Change,
        avreg_registry::ledger::Revision,
        avreg_registry::ledger::OnScreenCredit,
        avreg_registry::ledger::export::RmiManifest,
    )),
    tags(
        (name = "recordings", description = "Registration and recordings"),
        (name = "lookup", description = "Identification of clips and fingerprints"),
        (name = "audit", description = "The tamper-evident audit log"),
        (name = "keys", description = "API keys (admin)"),
        (name = "ledger", description = "Performers, organisations, fixations, credits, moral rights, holdings, agreements, mandates"),
        (name = "operations", description = "Health, readiness, metrics, this document"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("avreg_<base64url>")
                    .build(),
            ),
        );
    }
}

/// Every route and its documentation, registered by the same calls.
/// Entity endpoints are added here, one `routes!` per path.
fn api() -> OpenApiRouter<AppState> {
    use routes::ledger::{
        agreements, credits, fixations, holdings, mandates, moral_rights, organisations, performers,
    };
    use routes::{audit, keys, ledger, lookup, ops, recordings, society};
    macro_rules! entity {
        ($r:expr, $m:ident) => {
            $r.routes(routes!($m::create, $m::list)).routes(routes!(
                $m::get,
                $m::amend,
                $m::withdraw
            ))
        };
    }
    // Every operation but the uploads answers within the request timeout;
    // the uploads bound their own body reading (upload and idle timeouts,
    // in `body`), then their work by the fingerprinting pool's.
    let uploads = OpenApiRouter::new()
        .routes(routes!(recordings::register))
        .routes(routes!(lookup::lookup))
        .routes(routes!(ledger::attach_media));
    let r = OpenApiRouter::with_openapi(ApiDoc::openapi());
    let r = entity!(r, performers);
    let r = entity!(r, organisations);
    let r = entity!(r, fixations);
    let r = entity!(r, credits);
    let r = entity!(r, moral_rights);
    let r = entity!(r, holdings);
    let r = entity!(r, agreements);
    let r = entity!(r, mandates);
    r.routes(routes!(ledger::apply))
        .routes(routes!(society::conflicts))
        .routes(routes!(society::respond))
        .routes(routes!(society::resolve))
        .routes(routes!(society::exports))
        .routes(routes!(society::by_identifier))
        .routes(routes!(society::audit_key))
        .routes(routes!(ops::health))
        .routes(routes!(ops::ready))
        .routes(routes!(ops::metrics))
        .routes(routes!(ops::openapi))
        .routes(routes!(recordings::list_recordings))
        .routes(routes!(recordings::get_recording))
        .routes(routes!(recordings::job))
        .routes(routes!(lookup::batch))
        .routes(routes!(audit::log))
        .routes(routes!(audit::verify))
        .routes(routes!(audit::head))
        .routes(routes!(keys::create, keys::list))
        .routes(routes!(keys::revoke))
        .route_layer(axum::middleware::from_fn(within_request_timeout))
        .merge(uploads)
}

/// When the request that `observe` admitted must have its answer
/// (`ServerOptions::request_timeout` after it arrived).
#[derive(Clone, Copy, Debug)]
struct Deadline(tokio::time::Instant);

/// The request timeout, as a layer on the routes that are not uploads:
/// at the [`Deadline`] a write that has not reached its [`CommitGate`] is
/// abandoned (nothing is written, 408), and one that has is waited for
/// (its answer is the truth about what was written). A plain timeout
/// layer (tower-http's) would drop the handler there, committed or not,
/// and answer 408 for a write that happened.
async fn within_request_timeout(req: Request, next: Next) -> Response {
    let (Some(&Deadline(deadline)), Some(gate)) = (
        req.extensions().get::<Deadline>(),
        req.extensions().get::<CommitGate>().cloned(),
    ) else {
        return ApiError::new(Code::Internal, "the request was not admitted").into_response();
    };
    let run = next.run(req);
    tokio::pin!(run);
    tokio::select! {
        r = &mut run => r,
        () = tokio::time::sleep_until(deadline) => {
            if gate.abandon() {
                ApiError::new(Code::Timeout, "the request took too long; nothing was written")
                    .into_response()
            } else {
                run.await
            }
        }
    }
}

/// The OpenAPI document of every route.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut doc = api().split_for_parts().1;
    common_responses(&mut doc);
    doc
}

/// The answers any operation may give whatever its own: 408 (the request
/// timed out), 429 (a rate limit), 503 (busy or stopping); with a body,
/// 413 (over its limit) and 415 (a content type it does not take); on the
/// operations that write, 507 (the disk is full).
fn common_responses(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{path::HttpMethod, Ref, ResponseBuilder};
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build()
    };
    for (path, item) in doc.paths.paths.iter_mut() {
        // Lookups are POSTs that write nothing.
        let reads_only = path.starts_with("/v1/lookup");
        let writes = [
            (HttpMethod::Post, item.post.as_mut()),
            (HttpMethod::Put, item.put.as_mut()),
            (HttpMethod::Delete, item.delete.as_mut()),
            (HttpMethod::Get, item.get.as_mut()),
        ];
        for (method, op) in writes {
            let Some(op) = op else { continue };
            let has_body = op.request_body.is_some();
            let responses = &mut op.responses.responses;
            responses
                .entry("408".into())
                .or_insert_with(|| error("the request took too long").into());
            if has_body {
                responses
                    .entry("413".into())
                    .or_insert_with(|| error("the body is over its limit").into());
                responses
                    .entry("415".into())
                    .or_insert_with(|| error("a content type this operation does not take").into());
            }
            responses
                .entry("429".into())
                .or_insert_with(|| error("rate limited (Retry-After)").into());
            responses
                .entry("503".into())
                .or_insert_with(|| error("busy or stopping (Retry-After)").into());
            if method != HttpMethod::Get && !reads_only {
                responses
                    .entry("507".into())
                    .or_insert_with(|| error("the disk is full: nothing was written").into());
            }
        }
    }
}

/// The router of the service over `state`.
pub fn router(state: AppState) -> Router {
    let (router, _) = api().split_for_parts();
    router
        .fallback(error::no_route)
        // Bodies are read by `body`, with each route's own limits.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// Metrics, a tracing span, the anonymous rate limit and the read-only
/// mode around every request; the [`CommitGate`] and [`Deadline`] that
/// [`within_request_timeout`] keeps.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    // A label per method HTTP defines, one for any other: a client making
    // up methods cannot grow the metrics.
    let method = match req.method().as_str() {
        m @ ("GET" | "HEAD" | "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS" | "CONNECT"
        | "TRACE") => m.to_owned(),
        _ => "other".to_owned(),
    };
    let span = tracing::info_span!("request", %method, %route, id = %uuid::Uuid::now_v7());
    // A request without a key spends its address's tokens (one with a
    // wrong key does, in `Caller`).
    let anonymous = !req
        .headers()
        .contains_key(axum::http::header::AUTHORIZATION);
    let limited = match req.extensions().get::<auth::Peer>() {
        Some(auth::Peer(ip)) if anonymous => state.anonymous_limiter().check(*ip).err(),
        _ => None,
    };
    // The handler's writes pass this gate just before they commit.
    let (mut req, body_read) = body::Watched::wrap(req);
    req.extensions_mut().insert(CommitGate::new());
    req.extensions_mut().insert(Deadline(
        tokio::time::Instant::now() + state.options().request_timeout,
    ));
    let run = tracing::Instrument::instrument(next.run(req), span.clone());
    // A store that met a full disk still reads: only writes wait for it
    // to be reopened (lookups are POSTs that write nothing).
    let writes = !matches!(method.as_str(), "GET" | "HEAD") && !route.starts_with("/v1/lookup");
    let read_only = writes
        && state
            .0
            .store_failed
            .load(std::sync::atomic::Ordering::SeqCst);
    let response = if let Some(refused) = limited {
        refused.into_response()
    } else if read_only {
        ApiError::new(
            Code::Busy,
            "the registry's disk filled up: reads and lookups go on, writes resume once space is freed",
        )
        .retry_after(state.options().retry_after_s)
        .into_response()
    } else {
        run.await
    };
    let mut response = response;
    if body_read.is_some_and(|read| !read.get()) {
        // The unread rest of the body is on the connection: it cannot
        // carry another request, and the client is told so.
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
    }
    let status = response.status().as_u16();
    if status == 507 {
        // The disk is full: see at once whether the store itself failed.
        state.0.store_check.notify_one();
    }
    let elapsed = start.elapsed();
    state.metrics().request(&route, &method, status, elapsed);
    span.in_scope(|| tracing::info!(status, elapsed_ms = elapsed.as_millis() as u64, "done"));
    response
}

/// Why [`serve`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stopped {
    /// The shutdown future completed.
    Shutdown,
    /// The store met a full disk under a write and fails every write
    /// from then on (sled keeps its first I/O error until it is reopened).
    /// Nothing acknowledged is lost (an acknowledged write was durable).
    /// [`serve`] answered writes 503 and went on serving reads until the
    /// disk had room again; the caller reopens the registry and serves on.
    StoreFailed,
}

/// How often [`serve`] asks the store whether it still answers.
const STORE_CHECK: Duration = Duration::from_secs(2);

/// Serves `state` on `listener` until `shutdown` completes or the store
/// fails (see [`Stopped`]); then stops accepting, lets requests in flight
/// end, cancels fingerprinting work that has not started, waits up to
/// `shutdown_grace` for what runs, and flushes the registry.
pub async fn serve(
    listener: &tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<Stopped> {
    // Uploads the previous run left behind belong to requests that ended
    // with it.
    if let Some(dir) = state.options().temp_dir.clone() {
        let swept = tokio::task::spawn_blocking(move || {
            body::prepare_upload_dir(&dir).map_err(|e| {
                std::io::Error::new(e.kind(), format!("upload folder {}: {e}", dir.display()))
            })
        })
        .await
        .map_err(std::io::Error::other)??;
        if swept > 0 {
            tracing::warn!(files = swept, "deleted uploads left by the last stop");
        }
    }
    // Jobs the previous run left running were cut short by its end.
    match state
        .blocking(|r| r.settle_jobs(&jobs::interrupted()))
        .await
    {
        Ok(Ok((0, _))) => {}
        Ok(Ok((n, _))) => {
            tracing::warn!(jobs = n, "registration jobs interrupted by the last stop")
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "cannot settle the registration jobs"),
        Err(e) => tracing::warn!(error = %e.message, "cannot settle the registration jobs"),
    }
    let app = router(state.clone());
    let (why_tx, why_rx) = tokio::sync::oneshot::channel();
    let watched = state.clone();
    let stop = async move {
        let failed = async {
            store_failure(&watched).await;
            watched
                .0
                .store_failed
                .store(true, std::sync::atomic::Ordering::SeqCst);
            disk_room(&watched).await;
        };
        let why = tokio::select! {
            () = shutdown => Stopped::Shutdown,
            () = failed => Stopped::StoreFailed,
        };
        let _ = why_tx.send(why);
    };
    connections(listener, app, state.options(), stop).await;
    let why = why_rx.await.unwrap_or(Stopped::Shutdown);
    if !state.pool().close(state.options().shutdown_grace).await {
        tracing::warn!("fingerprinting work still running at the end of the grace period");
    }
    let flushed = state.blocking(|r| r.flush()).await;
    match (why, flushed) {
        (_, Ok(Ok(()))) => Ok(why),
        // A failed store cannot flush; what it acknowledged is durable.
        (Stopped::StoreFailed, _) => Ok(why),
        (_, Ok(Err(e))) => Err(std::io::Error::other(e)),
        (_, Err(e)) => Err(std::io::Error::other(e)),
    }
}

/// Completes once the store's disk has room again (the registry's reserve,
/// at least 1 MiB), checked every `STORE_CHECK`.
async fn disk_room(state: &AppState) {
    loop {
        tokio::time::sleep(STORE_CHECK).await;
        if let Ok(true) = state.blocking(|r| r.disk_has_room(1 << 20)).await {
            tracing::warn!("the store's disk has room again: reopening the store");
            return;
        }
    }
}

/// Completes once the store fails with a full disk's error (checked every
/// `STORE_CHECK`, and at once after an answer 507).
async fn store_failure(state: &AppState) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(STORE_CHECK) => {}
            () = state.0.store_check.notified() => {}
        }
        if let Ok(Err(avreg_registry::Error::DiskFull(e))) = state.blocking(|r| r.ping()).await {
            tracing::error!(
                error = %e,
                "the store met a full disk and fails every write: reads go on, writes are \
                 answered 503 until space is freed and the store is reopened (nothing \
                 acknowledged is lost)"
            );
            return;
        }
    }
}

/// Answers every request on `listener` with 503 `busy` and `message`
/// (`/health` 200) until `until` completes: what a service says while it
/// cannot serve, for instance while its disk is full.
pub async fn unavailable(
    listener: &tokio::net::TcpListener,
    options: &ServerOptions,
    message: String,
    until: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let retry = options.retry_after_s;
    let app = Router::new()
        .route("/health", axum::routing::get(|| async { "ok" }))
        .fallback(move || {
            let message = message.clone();
            async move { ApiError::new(Code::Busy, message).retry_after(retry) }
        });
    connections(listener, app, options, until).await;
}

/// Accepts connections until `shutdown`, then lets each finish its
/// request in flight and closes it. A connection must send a whole request
/// head within `header_read_timeout` (at its start and between keep-alive
/// requests), and at most `max_connections` are open at once: one over the
/// cap is closed at once, so that clients holding connections open cannot
/// take the service from everyone else.
async fn connections(
    listener: &tokio::net::TcpListener,
    app: Router,
    options: &ServerOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let cap = Arc::new(tokio::sync::Semaphore::new(options.max_connections.max(1)));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut open = tokio::task::JoinSet::new();
    let header_read_timeout = options.header_read_timeout;
    tokio::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
            // Reap finished connections as they end.
            Some(_) = open.join_next(), if !open.is_empty() => continue,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors and the like: wait, then go on.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(permit) = cap.clone().try_acquire_owned() else {
            tracing::debug!("connection closed: max_connections are open");
            drop(stream);
            continue;
        };
        // Each request learns the address it came from (rate limits for
        // requests without a valid key).
        let app = app.clone();
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(auth::Peer(peer.ip()));
                let mut app = app.clone();
                async move {
                    tower_service::Service::call(&mut app, req.map(axum::body::Body::new)).await
                }
            });
        let mut stopped = stopped.clone();
        open.spawn(async move {
            let _permit = permit;
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_read_timeout)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stopped.changed() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    let _ = stop.send(true);
    while open.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests;
