//! Crash safety: a child process registers recordings in a loop, each
//! followed by a ledger write (a fixation with a credit and two holdings
//! that overclaim, so a conflict opens too), and is killed with SIGKILL at
//! random moments; every reopen must show each acknowledged registration
//! complete (record, dedup key, forward fingerprint, postings findable by
//! lookup; the fixation with its credit, holdings and open conflict), an
//! audit chain that verifies with one event per write, and nothing
//! partial.
//!
//! The child is this test binary, re-run on the `crash::writer` test with
//! [`CHILD_ENV`] naming the registry directory.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use avreg_registry::domain::ids::{FixationId, OrganisationId, PerformerId};
use avreg_registry::domain::model::{OrganisationKind, Party};
use avreg_registry::domain::territory::Territories;
use avreg_registry::ledger::{Change, Entity};
use avreg_registry::{RecordingId, Registry};

use crate::common::{excerpt, fingerprint, new_recording, open, Rng};
use crate::ledger::{credit, fixation, holding, organisation, performer};

const CHILD_ENV: &str = "AVREG_CRASH_CHILD_DIR";
const DURATION_MS: u64 = 24_000;

/// Registers recordings, printing `committed <id> <seed>` once each
/// registration has returned, and flushing the index every few
/// registrations so segment writes and merges are interrupted too.
fn write_loop(dir: &Path, count: u64, mut out: impl Write) {
    let reg = open(dir);
    let mut rng = Rng::new(u64::from(std::process::id()) ^ 0xc0ffee);
    if reg
        .view()
        .performer(PerformerId::from_u128(1))
        .expect("read")
        .is_none()
    {
        reg.apply(
            "crash",
            vec![
                Change::Create(Entity::Performer(performer(1, "Ada"))),
                Change::Create(Entity::Organisation(organisation(
                    10,
                    OrganisationKind::Producer,
                    "Studio",
                ))),
            ],
        )
        .expect("setup");
    }
    for i in 0..count {
        let seed = rng.next_u64() >> 1;
        let r = reg
            .register(new_recording(seed, DURATION_MS))
            .expect("register");
        let f = fixation_id(seed);
        let studio = Party::Organisation(OrganisationId::from_u128(10));
        let ada = Party::Performer(PerformerId::from_u128(1));
        let applied = reg
            .apply(
                "crash",
                vec![
                    Change::Create(Entity::Fixation(fixation(f, studio, DURATION_MS))),
                    Change::Create(Entity::Credit(credit(f, f, 1, "Hero", &[(0, 1_000)]))),
                    Change::Create(Entity::Holding(holding(
                        f,
                        f,
                        studio,
                        800_000,
                        Territories::worldwide(),
                    ))),
                    Change::Create(Entity::Holding(holding(
                        f + 1,
                        f,
                        ada,
                        300_000,
                        Territories::worldwide(),
                    ))),
                ],
            )
            .expect("ledger write");
        assert_eq!(applied.opened.len(), 1);
        writeln!(out, "committed {} {seed}", r.recording().id).expect("report");
        out.flush().expect("report");
        if i % 4 == 3 {
            reg.flush().expect("flush");
        }
    }
}

/// Checks the registry against the acknowledged registrations: every record
/// is there, and a sample of them (the newest ones, which a crash is most
/// likely to have cut short, and every `stride`-th older one) is found by
/// lookup.
fn check(dir: &Path, committed: &BTreeMap<RecordingId, u64>) {
    let reg: Registry = open(dir);
    reg.verify().expect("no partial state after a crash");
    let all = reg.recordings().expect("list");
    assert!(all.len() >= committed.len());
    // Each acknowledged ledger write opened its overclaim conflict.
    let open_conflicts = reg.view().conflicts(true, None).expect("conflicts").len();
    assert!(
        open_conflicts >= committed.len(),
        "{open_conflicts} open conflicts"
    );
    let stride = (committed.len() / 8).max(1);
    let newest = committed.len().saturating_sub(4);
    for (i, (&id, &seed)) in committed.iter().enumerate() {
        let rec = reg
            .recording(id)
            .expect("read")
            .expect("acknowledged recording survives");
        assert_eq!(rec.title, format!("recording {seed}"));
        let view = reg.view();
        let f = FixationId::from_u128(fixation_id(seed));
        assert!(
            view.fixation(f).expect("read").is_some(),
            "fixation of {seed}"
        );
        assert_eq!(view.credits_of(f).expect("credits").len(), 1);
        assert_eq!(view.holdings_of(f).expect("holdings").len(), 2);
        // UUID v7 ids sort by registration time.
        if i < newest && i % stride != 0 {
            continue;
        }
        let query = excerpt(&fingerprint(seed, DURATION_MS), 8_000, 6_000);
        let m = reg.lookup(&query).expect("lookup");
        assert_eq!(
            m.first().map(|m| m.recording.id),
            Some(id),
            "recording {id} not found by lookup"
        );
    }
}

/// The fixation (and credit, holding) id of a seed's ledger write.
fn fixation_id(seed: u64) -> u128 {
    (u128::from(seed) << 8) | 1
}

fn parse(line: &str) -> Option<(RecordingId, u64)> {
    let mut parts = line.strip_prefix("committed ")?.split(' ');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// In the child role, loops until killed. Run alone, it is a plain test of
/// the writer loop.
#[test]
fn writer() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        write_loop(Path::new(&dir), u64::MAX, std::io::stdout().lock());
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut out = Vec::new();
    write_loop(dir.path(), 9, &mut out);
    let committed: BTreeMap<_, _> = String::from_utf8(out)
        .expect("utf-8")
        .lines()
        .filter_map(parse)
        .collect();
    assert_eq!(committed.len(), 9);
    check(dir.path(), &committed);
}

#[test]
fn registrations_survive_sigkill() {
    let dir = tempfile::tempdir().expect("temp dir");
    let exe = std::env::current_exe().expect("test binary");
    let mut committed = BTreeMap::new();
    let mut rng = Rng::new(0x51_61c1);
    for round in 0..6 {
        let mut child = Command::new(&exe)
            .args([
                "crash::writer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn child");
        let stdout = child.stdout.take().expect("child stdout");
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| parse(&l))
                .collect::<Vec<_>>()
        });
        std::thread::sleep(Duration::from_millis(300 + rng.below(1200)));
        child.kill().expect("SIGKILL");
        child.wait().expect("reap child");
        let acknowledged = reader.join().expect("reader");
        committed.extend(acknowledged.iter().copied());
        eprintln!(
            "round {round}: {} acknowledged, {} in all",
            acknowledged.len(),
            committed.len()
        );
        check(dir.path(), &committed);
    }
    assert!(!committed.is_empty(), "the child never registered anything");
}
