//! A real `avreg serve` on 127.0.0.1:0 and a real HTTP client (ureq), with
//! typed helpers. The caller names the binary (an integration test of the
//! root package passes `env!("CARGO_BIN_EXE_avreg")`) and the data folder.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// How to start `avreg serve`.
#[derive(Clone, Debug)]
pub struct Launch {
    /// The `avreg` binary.
    pub bin: PathBuf,
    /// Its working directory (where `config/` is found).
    pub cwd: PathBuf,
    /// `--data`.
    pub data: PathBuf,
}

/// A running `avreg serve`, killed when dropped.
#[derive(Debug)]
pub struct Server {
    launch: Launch,
    child: Child,
    /// `http://ADDR`.
    pub base: String,
    /// The address it listens on.
    pub addr: String,
    /// The store's admin key (the first one, printed to a file by a new
    /// store, or the one given to [`Server::start`]).
    pub admin: String,
    /// A client that answers every status (no error for 4xx/5xx).
    pub agent: ureq::Agent,
}

impl Server {
    /// Starts the server with `AVREG_*` overrides and waits until it
    /// listens (its `listening on` line). `admin` is the key of a store
    /// that has one (a new store writes its first admin key to an
    /// owner-only file and prints the file's path, never the secret, and
    /// that key replaces `admin`); without it the store must print one.
    ///
    /// It does not probe `/ready`: an anonymous probe would spend a token
    /// of the anonymous rate limit that the tests count.
    pub fn start(launch: Launch, admin: Option<String>, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(&launch.bin)
            .current_dir(&launch.cwd)
            .arg("--data")
            .arg(&launch.data)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .envs(env.iter().copied())
            .env_remove("AVREG_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn avreg serve");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let had_admin = admin.is_some();
        let mut admin = admin.unwrap_or_default();
        let addr = loop {
            let line = lines
                .next()
                .expect("avreg serve printed its address")
                .expect("stdout line");
            if let Some(path) = line
                .split(" written to ")
                .nth(1)
                .filter(|_| line.starts_with("first admin key"))
                .and_then(|rest| rest.split(" (").next())
            {
                assert!(!line.contains("avreg_"), "no secret on stdout: {line}");
                let path = Path::new(path);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = std::fs::metadata(path)
                        .expect("key file")
                        .permissions()
                        .mode();
                    assert_eq!(mode & 0o077, 0, "owner-only: {mode:o}");
                }
                admin = std::fs::read_to_string(path)
                    .expect("read the key file")
                    .trim()
                    .to_owned();
            }
            if let Some(a) = line.strip_prefix("listening on http://") {
                break a.trim().to_owned();
            }
        };
        assert!(
            admin.starts_with("avreg_"),
            "a first admin key is written (had one: {had_admin})"
        );
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Self {
            launch,
            child,
            base: format!("http://{addr}"),
            addr,
            admin,
            agent,
        }
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server with SIGTERM (a clean stop) and checks that it
    /// exits 0.
    pub fn terminate(&mut self) {
        let stopped = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(stopped.success());
        let status = self.child.wait().expect("wait");
        assert!(
            status.success(),
            "avreg serve exits 0 after SIGTERM: {status:?}"
        );
    }

    /// [`terminate`](Self::terminate)s and starts again on the same store
    /// with the same admin key.
    pub fn restart(mut self, env: &[(&str, &str)]) -> Self {
        self.terminate();
        Self::start(self.launch.clone(), Some(self.admin.clone()), env)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET with a key: (status, JSON, or the text as a JSON string).
    pub fn get(&self, key: Option<&str>, path: &str) -> (u16, Value) {
        let mut req = self.agent.get(self.url(path));
        if let Some(k) = key {
            req = req.header("Authorization", format!("Bearer {k}"));
        }
        let mut res = req.call().expect("GET");
        let status = res.status().as_u16();
        let text = res.body_mut().read_to_string().expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// POST a body with a content type: (status, JSON).
    pub fn post(
        &self,
        key: Option<&str>,
        path: &str,
        content_type: &str,
        body: &[u8],
    ) -> (u16, Value) {
        let mut req = self
            .agent
            .post(self.url(path))
            .header("Content-Type", content_type);
        if let Some(k) = key {
            req = req.header("Authorization", format!("Bearer {k}"));
        }
        let mut res = req.send(body).expect("POST");
        let status = res.status().as_u16();
        let text = res.body_mut().read_to_string().expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub fn post_json(&self, key: Option<&str>, path: &str, v: &Value) -> (u16, Value) {
        self.post(key, path, "application/json", v.to_string().as_bytes())
    }

    /// POST a multipart form with a `media` file.
    pub fn upload(
        &self,
        key: Option<&str>,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &[u8]),
    ) -> (u16, Value) {
        let (ct, body) = multipart(fields, file);
        self.post(key, path, &ct, &body)
    }

    /// Any method with a JSON body and a key: (status, JSON).
    pub fn send(&self, method: &str, key: &str, path: &str, v: &Value) -> (u16, Value) {
        let req = http_request(method, self.url(path))
            .header("Authorization", format!("Bearer {key}"))
            .header("Content-Type", "application/json");
        let mut res = self
            .agent
            .run(req.body(v.to_string()).expect("request"))
            .expect("send");
        let status = res.status().as_u16();
        let text = res.body_mut().read_to_string().expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A new key of `role` made by the admin over HTTP, with `binding`'s
    /// fields (`{"organisation": …}`, `{"performers": […]}`); its secret.
    pub fn create_key(&self, role: &str, binding: Value) -> String {
        let mut body = json!({"role": role, "label": format!("test {role}")});
        for (k, v) in binding.as_object().expect("object") {
            body[k] = v.clone();
        }
        let (status, v) = self.post_json(Some(&self.admin), "/v1/keys", &body);
        assert_eq!(status, 201, "{v}");
        v["secret"].as_str().expect("secret").to_owned()
    }

    /// Creates fixation `id` registered by `by` (a party JSON) with `key`,
    /// `extra`'s fields added to a 30 s AV fixation of 2019: (status, JSON).
    pub fn create_fixation(&self, key: &str, id: &str, by: Value, extra: Value) -> (u16, Value) {
        let mut f = json!({"version": 1, "id": id, "kind": "av", "title": format!("Film {id}"),
            "fixation_date": "2019-03-01", "duration_ms": 30000, "registered_by": by});
        for (k, v) in extra.as_object().expect("object") {
            f[k] = v.clone();
        }
        self.post_json(Some(key), "/v1/fixations", &f)
    }

    /// One ledger write (`{"changes": […]}`) with `key`: (status, JSON).
    pub fn apply(&self, key: &str, batch: &Value) -> (u16, Value) {
        self.post_json(Some(key), "/v1/ledger", batch)
    }

    /// Polls job `job_id` with `key` until it is no longer `running`, at
    /// most `timeout`; its last state. Every poll must answer 200; past the
    /// deadline it fails naming the job.
    pub fn wait_job(&self, key: &str, job_id: &str, timeout: Duration) -> Value {
        let path = format!("/v1/jobs/{job_id}");
        let deadline = Instant::now() + timeout;
        loop {
            let (status, v) = self.get(Some(key), &path);
            assert_eq!(status, 200, "job {job_id}: {v}");
            if v["status"] != "running" {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "job {job_id} still running after {timeout:?}: {v}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The audit chain's head sequence, if any event was written.
    pub fn head_seq(&self) -> Option<u64> {
        self.get(Some(&self.admin), "/v1/audit/head").1["head"]["seq"].as_u64()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request of any method to `url`.
pub fn http_request(method: &str, url: String) -> ureq::http::request::Builder {
    ureq::http::Request::builder().method(method).uri(url)
}

/// The boundary of [`multipart`] bodies.
pub const BOUNDARY: &str = "avreg-test-boundary-7d1f";

/// A `multipart/form-data` body of `fields` and a `media` file: (content
/// type, body).
pub fn multipart(fields: &[(&str, &str)], (name, bytes): (&str, &[u8])) -> (String, Vec<u8>) {
    let boundary = BOUNDARY;
    let mut b = Vec::new();
    for (k, v) in fields {
        write!(
            b,
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        )
        .expect("write");
    }
    write!(
        b,
        "--{boundary}\r\nContent-Disposition: form-data; name=\"media\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .expect("write");
    b.extend_from_slice(bytes);
    write!(b, "\r\n--{boundary}--\r\n").expect("write");
    (format!("multipart/form-data; boundary={boundary}"), b)
}
