//! The ledger's costs, printed as a table: registrations per second with
//! audit and conflict checks on (durable one by one, and imported in
//! chunks), the span and rights queries with a large ledger registered, and
//! the store's size per fixation.
//!
//! `cargo bench -p avreg-registry --bench ledger` registers 100,000
//! fixations with 10 credits and 2 holdings each (1,000,000 credits);
//! `AVREG_BENCH_FIXATIONS=N` changes the count.

use std::time::{Duration, Instant};

use avreg_registry::domain::date::{Date, Period};
use avreg_registry::domain::ids::{
    CreditId, FixationId, HoldingId, MandateId, OrganisationId, PerformerId,
};
use avreg_registry::domain::model::{
    Basis, Credit, Fixation, FixationKind, Holding, Mandate, Nature, Organisation,
    OrganisationKind, Party, Performer, RightKind, Role, Segment, Status, MODEL_VERSION,
};
use avreg_registry::domain::territory::{Country, Territories};
use avreg_registry::ledger::{Change, Entity};
use avreg_registry::{Registry, RegistryOptions};

const CREDITS_PER_FIXATION: u128 = 10;
const PERFORMERS: u128 = 10_000;
const PRODUCERS: u128 = 50;
const DURATION_MS: u64 = 5_400_000;

/// The testkit's xorshift64, from its bare state.
use avreg_testkit::XorShift as Rng;

fn date(s: &str) -> Date {
    s.parse().expect("date")
}

fn country(s: &str) -> Country {
    s.parse().expect("country")
}

/// One registration: a fixation, its line-up with segments, and two
/// holdings (the producer's and a performer's).
fn registration(i: u128, rng: &mut Rng) -> Vec<Change> {
    let f = FixationId::from_u128(1 << 64 | i);
    let producer = OrganisationId::from_u128(1 << 32 | (i % PRODUCERS));
    let mut changes = vec![Change::Create(Entity::Fixation(Fixation {
        version: MODEL_VERSION,
        id: f,
        kind: FixationKind::Av,
        title: format!("Fixation {i}"),
        isan: None,
        eidr: None,
        isrc: None,
        fixation_date: Some(date("1990-01-01")),
        performance_date: None,
        duration_ms: DURATION_MS,
        producer: Some(producer),
        registered_by: Party::Organisation(producer),
        relations: vec![],
        accepted_relations: vec![],
    }))];
    let lead = PerformerId::from_u128(u128::from(rng.below(PERFORMERS as u64)));
    for k in 0..CREDITS_PER_FIXATION {
        let performer = if k == 0 {
            lead
        } else {
            PerformerId::from_u128(u128::from(rng.below(PERFORMERS as u64)))
        };
        let start = rng.below(DURATION_MS - 600_000);
        changes.push(Change::Create(Entity::Credit(Credit {
            version: MODEL_VERSION,
            id: CreditId::from_u128(i << 8 | k),
            fixation: f,
            performer,
            role: Role::Actor,
            character: Some(format!("Character {k}")),
            credited_as: None,
            featured: k < 3,
            improvised: false,
            segments: vec![
                Segment::new(start, start + 120_000),
                Segment::new(start + 300_000, start + 600_000),
            ],
            status: Status::Asserted,
            third_party: None,
        })));
    }
    let holding = |id: u128, holder: Party, share: u32| Holding {
        version: MODEL_VERSION,
        id: HoldingId::from_u128(id),
        holder,
        fixation: f,
        right: RightKind::MakingAvailable,
        nature: Nature::Exclusive,
        territories: Territories::worldwide(),
        period: Period::from(date("1990-01-01")),
        share_ppm: share,
        basis: Basis::Contract,
        agreement: None,
        status: Status::Asserted,
        third_party: None,
    };
    changes.push(Change::Create(Entity::Holding(holding(
        i << 8,
        Party::Organisation(producer),
        800_000,
    ))));
    changes.push(Change::Create(Entity::Holding(holding(
        i << 8 | 1,
        Party::Performer(lead),
        200_000,
    ))));
    changes
}

fn setup(reg: &Registry) {
    let mut changes = Vec::new();
    for p in 0..PERFORMERS {
        changes.push(Change::Create(Entity::Performer(Performer::named(
            PerformerId::from_u128(p),
            format!("Performer {p}"),
        ))));
    }
    for o in 0..PRODUCERS {
        changes.push(Change::Create(Entity::Organisation(Organisation {
            version: MODEL_VERSION,
            id: OrganisationId::from_u128(1 << 32 | o),
            kind: OrganisationKind::Producer,
            name: format!("Producer {o}"),
            country: None,
            isni: None,
        })));
    }
    changes.push(Change::Create(Entity::Organisation(Organisation {
        version: MODEL_VERSION,
        id: OrganisationId::from_u128(2 << 32),
        kind: OrganisationKind::CollectingSociety,
        name: "Society".into(),
        country: None,
        isni: None,
    })));
    for p in 0..PERFORMERS / 10 {
        changes.push(Change::Create(Entity::Mandate(Mandate {
            version: MODEL_VERSION,
            id: MandateId::from_u128(p),
            performer: PerformerId::from_u128(p),
            society: OrganisationId::from_u128(2 << 32),
            rights: [RightKind::Broadcasting].into(),
            territories: Territories::worldwide(),
            period: Period::from(date("2000-01-01")),
            exclusive: true,
            status: Status::Asserted,
        })));
    }
    for chunk in changes.chunks(2_000) {
        reg.apply("bench", chunk.to_vec()).expect("setup");
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1_000.0
}

fn timed<T>(n: usize, mut f: impl FnMut(usize) -> T) -> Vec<Duration> {
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        std::hint::black_box(f(i));
        out.push(t.elapsed());
    }
    out.sort_unstable();
    out
}

fn main() {
    let n: u128 = std::env::var("AVREG_BENCH_FIXATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().expect("temp dir");
    let reg = Registry::open(dir.path(), RegistryOptions::default()).expect("open");
    setup(&reg);
    let mut rng = Rng::from_state(0x9e37_79b9_7f4a_7c15);

    // Durable one at a time: a transaction and an fsync per registration.
    let single = 500.min(n);
    let t = Instant::now();
    for i in 0..single {
        let applied = reg
            .apply("bench", registration(i, &mut rng))
            .expect("apply");
        assert!(applied.opened.is_empty());
    }
    let single_s = t.elapsed().as_secs_f64();

    // Imported in chunks of 50 registrations per transaction.
    let t = Instant::now();
    let mut i = single;
    while i < n {
        let end = (i + 50).min(n);
        let changes: Vec<Change> = (i..end).flat_map(|k| registration(k, &mut rng)).collect();
        reg.apply("bench", changes).expect("apply");
        i = end;
        if i % 10_000 == 0 {
            eprintln!("{i} fixations registered");
        }
    }
    let bulk_s = t.elapsed().as_secs_f64();
    reg.flush().expect("flush");

    // Durable one at a time again, with the whole ledger registered.
    let t = Instant::now();
    for i in n + 1..n + 1 + single {
        reg.apply("bench", registration(i, &mut rng))
            .expect("apply");
    }
    let single_full_s = t.elapsed().as_secs_f64();

    // Overclaims are detected on write: one more registration with a third
    // holding that pushes the shares over 100% opens a conflict.
    let mut over = registration(n, &mut rng);
    if let Some(Change::Create(Entity::Holding(h))) = over.last().cloned() {
        over.push(Change::Create(Entity::Holding(Holding {
            id: HoldingId::from_u128(n << 8 | 2),
            ..h
        })));
    }
    let t = Instant::now();
    let applied = reg.apply("bench", over).expect("overclaim");
    let conflict_ms = ms(t.elapsed());
    assert_eq!(applied.opened.len(), 1);

    let view = reg.view();
    let queries = 2_000;
    let span = timed(queries, |_| {
        let f = FixationId::from_u128(1 << 64 | u128::from(rng.below(n as u64)));
        let start = rng.below(DURATION_MS - 10_000);
        view.performers_between(f, start, start + 10_000)
            .expect("span")
            .len()
    });
    let rights = timed(queries, |_| {
        let f = FixationId::from_u128(1 << 64 | u128::from(rng.below(n as u64)));
        view.holders(f, country("DE"), date("2025-06-01"))
            .expect("holders")
            .len()
    });
    let statement = timed(200, |_| {
        let p = PerformerId::from_u128(u128::from(rng.below(PERFORMERS as u64)));
        view.statement(p).expect("statement").len()
    });
    let stats = reg.stats().expect("stats");
    let fixations = n + 1 + single;
    let credits = fixations * CREDITS_PER_FIXATION;

    println!("| measure | value |");
    println!("|---|---:|");
    println!("| fixations / credits registered | {fixations} / {credits} |");
    println!(
        "| registrations/s, durable one by one on an empty ledger (fixation + {CREDITS_PER_FIXATION} credits + 2 holdings, fsync each; n={single}) | {:.0} |",
        single as f64 / single_s
    );
    println!(
        "| registrations/s, durable one by one, {n} fixations already registered (n={single}) | {:.0} |",
        single as f64 / single_full_s
    );
    println!(
        "| registrations/s, imported 50 per transaction (n={}) | {:.0} |",
        n - single,
        (n - single) as f64 / bulk_s
    );
    println!("| registration that opens an overclaim conflict | {conflict_ms:.2} ms |");
    println!(
        "| span query (who performs in 10 s), p50 / p99 (n={queries}) | {:.3} / {:.3} ms |",
        ms(percentile(&span, 0.5)),
        ms(percentile(&span, 0.99))
    );
    println!(
        "| rights query (holders in DE today), p50 / p99 (n={queries}) | {:.3} / {:.3} ms |",
        ms(percentile(&rights, 0.5)),
        ms(percentile(&rights, 0.99))
    );
    println!(
        "| performer statement (~{} credits), p50 / p99 (n=200) | {:.2} / {:.2} ms |",
        credits / PERFORMERS,
        ms(percentile(&statement, 0.5)),
        ms(percentile(&statement, 0.99))
    );
    println!(
        "| store size on disk | {:.1} MiB ({:.0} B per fixation with its credits and holdings) |",
        stats.store_bytes as f64 / f64::from(1 << 20),
        stats.store_bytes as f64 / fixations as f64
    );
}
