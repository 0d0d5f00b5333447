//! Peak pairs to hash keys.
//!
//! Key layout (23 bits): `f1` (8 bits, anchor bin) · `f2 − f1 + 128` (8 bits)
//! · `t2 − t1` (7 bits, frames). Positions are quantised *after* rescaling
//! for the playback speed, so a query can be re-hashed for any speed from
//! the same peaks.

use super::{AudioConfig, Peak, FRAME_MS, SUBDIV};
use crate::matching::Scale;
use crate::postings::HashKey;

/// One hash of a query or reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PairHash {
    pub key: HashKey,
    /// Anchor frame, in the reference's time base (rescaled by the speed).
    pub frame: u32,
    /// Anchor time in the stream's own milliseconds (not rescaled).
    pub time_ms: u32,
}

/// A peak after speed rescaling: continuous frame and bin, and the rounded
/// anchor frame and bin.
#[derive(Clone, Copy, Debug)]
struct Q {
    t: i64,
    f: i64,
    tf: f64,
    ff: f64,
    time_ms: u32,
    level: u8,
}

/// How targets are chosen for each anchor.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fanout {
    /// Peaks below this level are ignored entirely.
    pub min_level: u8,
    /// Most level-2 targets per anchor.
    pub level2: usize,
    /// Most level-1 targets per anchor (nearest in time first).
    pub level1: usize,
}

impl Fanout {
    /// A reference: level-2 peaks only.
    pub(crate) fn reference(cfg: &AudioConfig) -> Self {
        Self {
            min_level: 2,
            level2: cfg.reference_fanout,
            level1: 0,
        }
    }

    /// A query: level-1 anchors; every level-2 target a reference could have
    /// paired (up to `query_fanout`), plus the nearest level-1 targets, which
    /// stand in for reference peaks that degradation demoted.
    pub(crate) fn query(cfg: &AudioConfig) -> Self {
        Self {
            min_level: 1,
            level2: cfg.query_fanout,
            level1: cfg.query_fanout_level1,
        }
    }
}

/// Pairs every peak of level ≥ `fanout.min_level` with later peaks in its
/// target zone, as if the stream's time were stretched by `scale.time` and
/// its frequencies divided by `scale.freq` (a query sped up, slowed down,
/// pitch-shifted or time-stretched is brought back to the reference's
/// scales).
pub(crate) fn pair_with(
    peaks: &[Peak],
    fanout: Fanout,
    scale: Scale,
    cfg: &AudioConfig,
    mut emit: impl FnMut(PairHash),
) {
    let min_level = fanout.min_level;
    let (time, freq) = (f64::from(scale.time), f64::from(scale.freq));
    let sub = f64::from(SUBDIV);
    let mut q: Vec<Q> = peaks
        .iter()
        .filter(|p| p.level >= min_level)
        .map(|p| Q {
            t: (f64::from(p.time_ms) * time / f64::from(FRAME_MS)).round() as i64,
            f: (f64::from(p.freq) / freq / sub).round() as i64,
            time_ms: p.time_ms,
            tf: f64::from(p.time_ms) * time / f64::from(FRAME_MS),
            ff: f64::from(p.freq) / freq / sub,
            level: p.level,
        })
        .filter(|p| (0..256).contains(&p.f))
        .collect();
    // Rescaling preserves time order except for ties made by rounding.
    q.sort_by_key(|p| (p.t, p.f));
    let max_dt = i64::from(cfg.pair_max_dt.min(127));
    let max_df = i64::from(cfg.pair_max_df.min(127));
    for (i, a) in q.iter().enumerate() {
        let (mut n2, mut n1) = (0, 0);
        for b in &q[i + 1..] {
            if b.tf - a.tf > max_dt as f64 + 0.5 {
                break;
            }
            // Differences are rounded once, from the interpolated positions:
            // differencing two rounded positions would round twice and
            // break far more hashes when the query's frames are not aligned
            // with the reference's.
            let dtk = (b.tf - a.tf).round() as i64;
            let dfk = (b.ff - a.ff).round() as i64;
            if !(1..=max_dt).contains(&dtk) || dfk.abs() > max_df {
                continue;
            }
            if b.level >= 2 && n2 < fanout.level2 {
                n2 += 1;
            } else if b.level == 1 && n1 < fanout.level1 {
                n1 += 1;
            } else if n2 >= fanout.level2 && n1 >= fanout.level1 {
                break;
            } else {
                continue;
            }
            let key = ((a.f as u32) << 15) | (((dfk + 128) as u32) << 7) | dtk as u32;
            emit(PairHash {
                key: HashKey(key),
                frame: a.t as u32,
                time_ms: a.time_ms,
            });
        }
    }
}

/// [`pair_with`] collected as `(key, frame)`.
pub(crate) fn pair(
    peaks: &[Peak],
    fanout: Fanout,
    scale: Scale,
    cfg: &AudioConfig,
    out: &mut Vec<(HashKey, u32)>,
) {
    pair_with(peaks, fanout, scale, cfg, |h| out.push((h.key, h.frame)));
}
