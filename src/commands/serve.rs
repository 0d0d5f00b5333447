//! `avreg serve [--listen ADDR]`: the HTTP service (`avreg-server`) over the
//! configured store. On a store without keys it creates a first admin key
//! and writes it to `DATA/first-admin-key` (owner-only), printing the
//! path.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use avreg_registry::accounts::{Binding, NewKey, Role};
use avreg_server::{serve, unavailable, AppState, Stopped};

use crate::config::Config;
use crate::{Failure, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on (overrides `[server] listen`); port 0 picks a
    /// free one, printed at start.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
}

pub fn run(args: Args, config: &Config) -> Result<Outcome, Failure> {
    let listen = match args.listen {
        Some(a) => a,
        None => config
            .server
            .listen
            .parse()
            .map_err(|e| Failure::input(anyhow::anyhow!("server.listen: {e}")))?,
    };
    let registry = Arc::new(super::open_registry(config)?);
    if registry.list_keys()?.is_empty() {
        let created = registry.create_key(
            avreg_registry::LOCAL_ACTOR,
            NewKey {
                role: Role::Admin,
                bound_to: Binding::None,
                label: "first admin key (avreg serve)".into(),
            },
        )?;
        // The secret goes to a file only its owner can read, never to
        // stdout (and so to service logs). A key nobody can learn is
        // revoked, so that the next start makes a new one.
        let path = config.store.data_dir.join(ADMIN_KEY_FILE);
        if let Err(e) = avreg_registry::private_dir::write_private_file(
            &path,
            format!("{}\n", created.secret.expose()).as_bytes(),
        ) {
            registry.revoke_key(avreg_registry::LOCAL_ACTOR, created.record.id)?;
            return Err(Failure::Internal(anyhow::anyhow!(e).context(format!(
                "writing the first admin key to {}",
                path.display()
            ))));
        }
        outln!(
            "first admin key {} written to {} (readable by its owner only; keep it elsewhere and delete the file)",
            created.record.id,
            path.display()
        );
    }
    // `serve` creates the upload folder and sweeps it.
    let options = config.server_options();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("avreg-serve")
        .build()
        .context("cannot start the async runtime")
        .map_err(Failure::Internal)?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))
            .map_err(Failure::Input)?;
        let local = listener
            .local_addr()
            .context("no local address")
            .map_err(Failure::Internal)?;
        outln!("listening on http://{local}");
        // One stop signal for every round of the loop below.
        let (stop, stopping) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop.send(true);
        });
        let stopped = move || {
            let mut stopping = stopping.clone();
            async move {
                let _ = stopping.wait_for(|s| *s).await;
            }
        };
        let mut registry = Some(registry);
        loop {
            let registry = match registry.take() {
                Some(r) => r,
                None => Arc::new(super::open_registry(config)?),
            };
            let state = AppState::new(registry, options.clone());
            let why = serve(&listener, state, stopped())
                .await
                .context("server")
                .map_err(Failure::Internal)?;
            if why == Stopped::Shutdown {
                return Ok::<(), Failure>(());
            }
            // The store failed on a full disk; `serve` went on with reads
            // until the disk had room again. Reopen it (sled recovers what
            // was acknowledged) and serve again, answering 503 meanwhile
            // should the room be gone again.
            let dir = config.store.data_dir.clone();
            let reserve = (config.store.min_free_mb << 20).max(1 << 20);
            eprintln!(
                "avreg: the store met a full disk; reopening it once {} MiB are free in {}",
                reserve >> 20,
                dir.display()
            );
            let stop_waiting = stopped();
            let freed = async move {
                loop {
                    if fs2::available_space(&dir).is_ok_and(|free| free >= reserve) {
                        return;
                    }
                    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
                }
            };
            let (done_tx, mut done_rx) = tokio::sync::oneshot::channel();
            let until = async move {
                let shutdown = tokio::select! {
                    () = stop_waiting => true,
                    () = freed => false,
                };
                let _ = done_tx.send(shutdown);
            };
            unavailable(
                &listener,
                &options,
                "the registry's disk filled up; the service resumes once space is freed".into(),
                until,
            )
            .await;
            if done_rx.try_recv().unwrap_or(true) {
                return Ok(());
            }
            eprintln!("avreg: space is free again; reopening the store");
        }
    })?;
    eprintln!("avreg: stopped; the store is flushed");
    Ok(Outcome::Success)
}

/// Ctrl-C, or SIGTERM on Unix.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    eprintln!("avreg: shutting down");
}

/// The file, in the data folder, that receives the first admin key.
pub const ADMIN_KEY_FILE: &str = "first-admin-key";
