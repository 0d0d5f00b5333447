use super::luma::{content_rect, downscale_64, LumaFrame, Rect};
use super::matching::{search_video, MemoryVideoIndex, VideoMatchConfig};
use super::pdq::{hash_64, PdqHash};
use super::synth::{Plane, Scenes};
use super::*;
use crate::matching::DocId;

#[test]
fn hex_and_bytes_round_trip() {
    let h = PdqHash([1, 2, 0xdead_beef, u64::MAX]);
    assert_eq!(PdqHash::from_hex(&h.to_hex()), Some(h));
    assert_eq!(PdqHash::from_bytes(&h.to_bytes()), h);
    assert_eq!(PdqHash::from_hex("zz"), None);
}

#[test]
fn luma_frame_rejects_bad_geometry() {
    let buf = vec![0u8; 100];
    assert!(LumaFrame::new(&buf, 10, 10, 10).is_ok());
    assert!(LumaFrame::new(&buf, 10, 11, 10).is_err());
    assert!(LumaFrame::new(&buf, 11, 9, 10).is_err());
    assert!(LumaFrame::new(&buf, 0, 10, 10).is_err());
    assert!(matches!(
        LumaFrame::new(&buf, 9000, 1, 9000),
        Err(crate::Error::Limit(_))
    ));
}

fn full_hash(p: &Plane) -> pdq::PdqResult {
    let f = p.frame();
    hash_64(&downscale_64(&f, content_rect(&f)))
}

fn reference_views(p: &Plane) -> Vec<FrameHash> {
    let mut fp = VideoFingerprinter::new(VideoConfig::default(), Role::Reference);
    assert!(fp.push(&p.frame(), 0));
    fp.finish().frames
}

fn best_view_distance(reference: &[FrameHash], query: &PdqHash) -> u32 {
    reference
        .iter()
        .map(|f| f.hash.distance(query))
        .min()
        .expect("valid test data")
}

#[test]
fn edits_stay_within_a_few_bits() {
    let scenes = Scenes::new(11);
    let src = scenes.render(1_000, 640, 360);
    let refs = reference_views(&src);
    let h = full_hash(&src).hash;
    let check = |name: &str, edited: &Plane, max: u32| {
        let q = full_hash(edited).hash;
        let d = best_view_distance(&refs, &q);
        assert!(d <= max, "{name}: {d} bits");
        d
    };
    assert_eq!(check("identical", &src, 0), 0);
    check("rescaled 240p", &src.resize(426, 240), 12);
    check("rescaled 1080p", &src.resize(1920, 1080), 12);
    check("brightness +20%", &src.brightness(1.2), 16);
    check("brightness -20%", &src.brightness(0.8), 16);
    check("letterbox 4:3", &src.resize(480, 270).boxed(480, 360), 16);
    check("pillarbox", &src.resize(480, 270).boxed(600, 270), 16);
    check("centre crop 10%", &src.crop(32, 18, 576, 324), 20);
    check("corner crop 10%", &src.crop(0, 0, 576, 324), 20);
    // PDQ's known weak spot: a sharp overlay moves many coefficients. A 6 %
    // logo plus a caption line moves 12–56 bits on these scenes; matching
    // relies on the frames that stay under the verification threshold.
    check("logo + caption", &src.logo(0.06), 60);
    // Mirror: the query's mirrored hash finds the reference.
    let m = full_hash(&src.mirror());
    assert!(m.mirrored().distance(&h) <= 4);
    // Unrelated frames are far apart.
    let other = full_hash(&Scenes::new(99).render(1_000, 640, 360)).hash;
    assert!(other.distance(&h) > 70, "{}", other.distance(&h));
}

#[test]
fn black_bars_are_found() {
    let src = Scenes::new(3).render(0, 320, 180);
    let boxed = src.boxed(320, 240);
    let r = content_rect(&boxed.frame());
    assert_eq!(
        r,
        Rect {
            x: 0,
            y: 30,
            w: 320,
            h: 180
        }
    );
    let pillar = src.boxed(400, 180);
    assert_eq!(
        content_rect(&pillar.frame()),
        Rect {
            x: 40,
            y: 0,
            w: 320,
            h: 180
        }
    );
    // An all-black frame keeps its size.
    let black = Plane {
        width: 64,
        height: 48,
        data: vec![0; 64 * 48],
    };
    assert_eq!(content_rect(&black.frame()).h, 48);
}

/// Fingerprints `ms` of `scenes` from `start_ms`, at `fps` input frames per
/// second, rendering only the frames the sampler wants, with `edit` applied.
fn fingerprint_of(
    scenes: &Scenes,
    start_ms: u64,
    ms: u64,
    fps: u64,
    role: Role,
    (w, h): (usize, usize),
    edit: &dyn Fn(Plane) -> Plane,
) -> VideoFingerprint {
    let mut fp = VideoFingerprinter::new(VideoConfig::default(), role);
    let n = ms * fps / 1000;
    for k in 0..n {
        let t = k * 1000 / fps;
        if fp.wants(t) {
            let p = edit(scenes.render(start_ms + t, w, h));
            fp.push(&p.frame(), t);
        } else {
            fp.skip(t);
        }
    }
    fp.finish()
}

fn index_of(docs: &[u64]) -> MemoryVideoIndex {
    let mut index = MemoryVideoIndex::default();
    for &seed in docs {
        let fp = fingerprint_of(
            &Scenes::new(seed),
            0,
            30_000,
            25,
            Role::Reference,
            (320, 180),
            &|p| p,
        );
        index.add(DocId(seed as u32), &fp, 20);
    }
    index
}

/// A named picture edit.
type Edit = Box<dyn Fn(Plane) -> Plane>;

#[test]
fn matching_finds_doc_and_offset_under_edits() {
    let index = index_of(&[1, 2, 3]);
    let cfg = VideoMatchConfig::default();
    let cases: Vec<(&str, Edit)> = vec![
        ("identical", Box::new(|p| p)),
        ("rescaled", Box::new(|p: Plane| p.resize(200, 112))),
        ("brightness", Box::new(|p: Plane| p.brightness(1.2))),
        ("letterbox", Box::new(|p: Plane| p.boxed(320, 240))),
        ("crop 10%", Box::new(|p: Plane| p.crop(16, 9, 288, 162))),
        ("mirror", Box::new(|p: Plane| p.mirror())),
        ("logo", Box::new(|p: Plane| p.logo(0.06))),
        (
            "combined",
            Box::new(|p: Plane| {
                p.crop(16, 9, 288, 162)
                    .resize(256, 144)
                    .brightness(0.85)
                    .logo(0.06)
            }),
        ),
    ];
    for (name, edit) in &cases {
        // 8 s from 11.1 s into doc 2, at 30 fps.
        let q = fingerprint_of(
            &Scenes::new(2),
            11_100,
            8_000,
            30,
            Role::Query,
            (320, 180),
            edit,
        );
        let found = search_video(&q, &index, &cfg);
        assert!(!found.is_empty(), "{name}: no match");
        let m = &found[0];
        assert_eq!(m.doc, DocId(2), "{name}: {found:?}");
        assert_eq!(m.mirrored, *name == "mirror", "{name}");
        let offset = m.offset_ms;
        assert!((offset - 11_100).abs() <= 300, "{name}: offset {offset}");
        assert!(m.aligned >= 8, "{name}: {m:?}");
        assert!(m.query_duration_ms >= 5_000, "{name}: {m:?}");
    }
}

#[test]
fn a_query_samples_between_grid_times_to_meet_the_references_instants() {
    // 12 frames/s, each a different picture (a cartoon panning): the
    // reference samples frames 0, 3, 6, …; a clip starting at frame 2 has
    // its grid frames on 2, 5, 8, … and its between frames on 3, 6, ….
    let picture = |k: u64| Scenes::new(100 + k).render(0, 160, 90);
    let at = |k: u64| k * 1000 / 12;
    let mut r = VideoFingerprinter::new(VideoConfig::default(), Role::Reference);
    for k in 0..120 {
        r.push(&picture(k).frame(), at(k));
    }
    let mut index = MemoryVideoIndex::default();
    index.add(DocId(1), &r.finish(), 20);
    let query = |phases: bool| {
        let mut q = VideoFingerprinter::new(VideoConfig::default(), Role::Query);
        for k in 2..50 {
            let t = at(k) - at(2);
            if phases || t % 250 < 84 {
                q.push(&picture(k).frame(), t);
            }
        }
        q.finish()
    };
    let cfg = VideoMatchConfig::default();
    // Grid frames only (the decoder offering no others): nothing meets.
    assert!(search_video(&query(false), &index, &cfg).is_empty());
    let found = search_video(&query(true), &index, &cfg);
    let m = found.first().expect("a match");
    assert_eq!(m.doc, DocId(1));
    assert!((m.offset_ms - 166).abs() <= 100, "{m:?}");
    // Each grid slot votes once, whichever of its frames met.
    assert!(m.aligned <= 16, "{m:?}");
}

#[test]
fn unrelated_video_does_not_match() {
    let index = index_of(&[1, 2, 3]);
    let cfg = VideoMatchConfig::default();
    for seed in [7u64, 8, 9] {
        let q = fingerprint_of(
            &Scenes::new(seed),
            4_000,
            10_000,
            25,
            Role::Query,
            (320, 180),
            &|p| p,
        );
        let found = search_video(&q, &index, &cfg);
        assert!(found.is_empty(), "seed {seed}: {found:?}");
    }
}

fn still_shot(role: Role, seconds: u64) -> VideoFingerprint {
    let still = Scenes::new(5).render(0, 160, 90);
    let mut fp = VideoFingerprinter::new(VideoConfig::default(), role);
    for k in 0..seconds * 25 {
        fp.push(&still.frame(), k * 40);
    }
    fp.finish()
}

#[test]
fn sampler_prunes_static_frames_but_keeps_one_per_gap() {
    // 10 s of one picture: a reference keeps one frame per 2 s gap, not 40.
    let f = still_shot(Role::Reference, 10);
    assert_eq!(f.sampled_frames(), 5);
    assert_eq!(f.duration_ms, 10_000);
    // A query one at least every 500 ms, one sampling interval and one
    // source frame (40 ms).
    let q = still_shot(Role::Query, 10);
    let times: Vec<u32> = q
        .frames
        .iter()
        .filter(|f| f.view == View::Full)
        .map(|f| f.time_ms)
        .collect();
    assert!(times.len() >= 13, "{times:?}");
    assert!(times.windows(2).all(|w| w[1] - w[0] <= 790), "{times:?}");
}

#[test]
fn a_clip_of_a_still_shot_is_found() {
    let mut index = MemoryVideoIndex::default();
    index.add(DocId(1), &still_shot(Role::Reference, 20), 20);
    let q = still_shot(Role::Query, 4);
    let found = search_video(&q, &index, &VideoMatchConfig::default());
    assert_eq!(found.first().map(|m| m.doc), Some(DocId(1)), "{found:?}");
}

#[test]
fn fingerprint_round_trips_and_rejects_damage() {
    let fp = fingerprint_of(
        &Scenes::new(4),
        0,
        5_000,
        25,
        Role::Reference,
        (160, 90),
        &|p| p,
    );
    assert!(!fp.frames.is_empty());
    let bytes = fp.to_bytes();
    assert_eq!(
        VideoFingerprint::from_bytes(&bytes).expect("valid test data"),
        fp
    );
    let json = serde_json::to_string(&fp).expect("valid test data");
    assert!(json.contains("\"centre90\""));
    assert_eq!(
        serde_json::from_str::<VideoFingerprint>(&json).expect("valid test data"),
        fp
    );
    for i in [0, 5, 7, bytes.len() / 2, bytes.len() - 1] {
        let mut bad = bytes.clone();
        bad[i] ^= 0x40;
        assert!(VideoFingerprint::from_bytes(&bad).is_err(), "flip at {i}");
    }
    for n in 0..bytes.len() {
        assert!(VideoFingerprint::from_bytes(&bytes[..n]).is_err());
    }
}

/// A 360×640 vertical canvas: rows `band` hold a detailed picture, the
/// others a smooth gradient (a blurred background), or detail everywhere.
fn vertical_canvas(band: std::ops::Range<usize>, blurred_bars: bool) -> Vec<u8> {
    let (w, h) = (360usize, 640usize);
    let mut seed = 0x9e37_79b9_u32;
    let mut noise = move || {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        (seed % 200) as u8
    };
    let mut y = vec![0u8; w * h];
    for r in 0..h {
        for c in 0..w {
            y[r * w + c] = if band.contains(&r) || !blurred_bars {
                noise().saturating_add(((c / 40) * 5) as u8)
            } else {
                (60 + (c * 80) / w + (r % 320) / 8) as u8
            };
        }
    }
    y
}

#[test]
fn the_sharp_band_of_a_vertical_frame_over_blurred_bars_is_found() {
    let y = vertical_canvas(218..421, true);
    let frame = LumaFrame::new(&y, 360, 640, 360).expect("frame");
    let band = luma::sharp_band(&frame, frame.full()).expect("a band");
    assert!(
        band.y.abs_diff(218) <= 4 && (band.y + band.h).abs_diff(421) <= 4,
        "{band:?}"
    );
    assert_eq!((band.x, band.w), (0, 360));

    // Detail everywhere: no bars. A landscape frame: not looked at.
    let y = vertical_canvas(0..0, false);
    let frame = LumaFrame::new(&y, 360, 640, 360).expect("frame");
    assert_eq!(luma::sharp_band(&frame, frame.full()), None);
    let y = vec![128u8; 640 * 360];
    let frame = LumaFrame::new(&y, 640, 360, 640).expect("frame");
    assert_eq!(luma::sharp_band(&frame, frame.full()), None);
}

/// A 9:16 canvas holding a 4:3 picture that is flat but for a few soft
/// shapes (a cartoon, a dark scene) between bars that are a smooth blur:
/// too little detail for the sharp band, but two symmetric edges.
fn flat_picture_canvas() -> (Vec<u8>, std::ops::Range<usize>) {
    let (w, h) = (360usize, 640usize);
    let band = 185..455; // 270 rows: 360 × 3 / 4, centred
    let mut y = vec![0u8; w * h];
    for r in 0..h {
        for c in 0..w {
            y[r * w + c] = if band.contains(&r) {
                // Large flat areas and one bright disc.
                let (dx, dy) = (c as i32 - 120, r as i32 - 300);
                if dx * dx + dy * dy < 60 * 60 {
                    200
                } else if c > 240 {
                    90
                } else {
                    40
                }
            } else {
                // A darkened blur: slow gradients only.
                (70 + (c * 30) / w + (r % 320) / 16) as u8
            };
        }
    }
    (y, band)
}

#[test]
fn the_band_of_a_flat_picture_is_found_by_its_edges() {
    let (y, band) = flat_picture_canvas();
    let frame = LumaFrame::new(&y, 360, 640, 360).expect("frame");
    assert_eq!(luma::sharp_band(&frame, frame.full()), None);
    let found = luma::edge_band(&frame, frame.full()).expect("a band by its edges");
    assert!(
        found.y.abs_diff(band.start) <= 2 && (found.y + found.h).abs_diff(band.end) <= 2,
        "{found:?}"
    );
    // A landscape frame, and a portrait one without edges: none.
    let flat = vec![100u8; 640 * 360];
    let frame = LumaFrame::new(&flat, 640, 360, 640).expect("frame");
    assert_eq!(luma::edge_band(&frame, frame.full()), None);
    let frame = LumaFrame::new(&flat, 360, 640, 360).expect("frame");
    assert_eq!(luma::edge_band(&frame, frame.full()), None);
}

#[test]
fn a_query_of_a_flat_picture_between_bars_hashes_its_band_like_the_reference() {
    let (y, band) = flat_picture_canvas();
    let canvas = LumaFrame::new(&y, 360, 640, 360).expect("frame");
    // The registered picture: the band alone.
    let mut picture = Vec::with_capacity(360 * band.len());
    for r in band.clone() {
        picture.extend_from_slice(canvas.row(r));
    }
    let original = LumaFrame::new(&picture, 360, band.len(), 360).expect("frame");
    let mut r = VideoFingerprinter::new(VideoConfig::default(), Role::Reference);
    r.push(&original, 0);
    let reference = r.finish().frames[0].hash;
    let mut q = VideoFingerprinter::new(VideoConfig::default(), Role::Query);
    q.push(&canvas, 0);
    let best = q
        .finish()
        .frames
        .iter()
        .filter(|f| f.view == View::Band)
        .map(|f| f.hash.distance(&reference))
        .min()
        .expect("a band view");
    assert!(best <= 16, "band view {best} bits from the picture");
}

#[test]
fn a_query_over_blurred_bars_also_carries_its_band_hash() {
    let y = vertical_canvas(218..421, true);
    let frame = LumaFrame::new(&y, 360, 640, 360).expect("frame");
    let mut q = VideoFingerprinter::new(VideoConfig::default(), Role::Query);
    q.push(&frame, 0);
    let views: Vec<View> = q.finish().frames.iter().map(|f| f.view).collect();
    assert_eq!(views[..3], [View::Full, View::Mirrored, View::Band]);
    // The band is 16:9: the centred 16:9 guess is the same picture and is
    // left out; the centred 4:3 one is kept.
    assert_eq!(
        views.iter().filter(|v| **v == View::PortraitCentre).count(),
        1,
        "{views:?}"
    );
    assert!(
        views[3..]
            .iter()
            .all(|v| matches!(v, View::Derotated | View::PortraitCentre | View::Middle)),
        "{views:?}"
    );
    let mut r = VideoFingerprinter::new(VideoConfig::default(), Role::Reference);
    r.push(&frame, 0);
    assert!(r
        .finish()
        .frames
        .iter()
        .all(|f| !matches!(f.view, View::Band | View::PortraitCentre)));
}

/// The query's hashes of one view, by time.
fn query_views(frames: &[Plane], view: View) -> Vec<FrameHash> {
    let mut q = VideoFingerprinter::new(VideoConfig::default().with_prune_distance(0), Role::Query);
    for (n, p) in frames.iter().enumerate() {
        q.push(&p.frame(), n as u64 * 250);
    }
    q.finish()
        .frames
        .into_iter()
        .filter(|f| f.view == view)
        .collect()
}

/// Per time, the closest of `query` to any reference view of `originals`
/// at that time; the worst of them.
fn worst_best_distance(originals: &[Plane], query: &[FrameHash]) -> u32 {
    originals
        .iter()
        .enumerate()
        .map(|(n, p)| {
            let refs = reference_views(p);
            query
                .iter()
                .filter(|f| u64::from(f.time_ms) == n as u64 * 250)
                .map(|f| best_view_distance(&refs, &f.hash))
                .min()
                .unwrap_or(u32::MAX)
        })
        .max()
        .unwrap_or(u32::MAX)
}

#[test]
fn a_tilted_and_cropped_clip_turned_back_matches_the_reference_centre() {
    let scenes = Scenes::new(5);
    let originals: Vec<Plane> = (0..6).map(|n| scenes.render(n * 250, 640, 360)).collect();
    // Synthetic gratings are far more sensitive to a turn than footage (a
    // 1° turn moves them 86 bits): the angles turned back by exactly.
    for deg in views::DEROTATIONS_DEG {
        let tilted: Vec<Plane> = originals.iter().map(|p| p.rotate_fill(deg)).collect();
        let plain = worst_best_distance(&originals, &query_views(&tilted, View::Full));
        let turned = worst_best_distance(&originals, &query_views(&tilted, View::Derotated));
        assert!(
            turned <= 40,
            "{deg}°: turned back {turned} bits (plain {plain})"
        );
        assert!(
            turned < plain,
            "{deg}°: turned back {turned} bits, plain {plain}"
        );
    }
}

#[test]
fn an_inset_picture_is_found_and_hashed_on_its_own() {
    let (inset, room) = (Scenes::new(21), Scenes::new(22));
    // Footage is smoother than the synthetic gratings at full resolution.
    let originals: Vec<Plane> = (0..8)
        .map(|n| inset.render(n * 250, 160, 90).resize(640, 360))
        .collect();
    for (x, y) in [(0, 0), (300, 170), (12, 180)] {
        let frames: Vec<Plane> = originals
            .iter()
            .enumerate()
            .map(|(n, p)| {
                // The room of a reaction video: dimmer and smoother than
                // the synthetic picture.
                let bg = room
                    .render(n as u64 * 250, 80, 45)
                    .resize(640, 360)
                    .brightness(0.4);
                p.resize(320, 180).inset_into(&bg, x, y)
            })
            .collect();
        let images: Vec<views::WorkImage> = frames
            .iter()
            .map(|p| views::WorkImage::of(&p.frame(), p.frame().full()))
            .collect();
        let refs: Vec<&views::WorkImage> = images.iter().collect();
        let rects = views::inset_rects(&refs);
        // 640 px → 256 work px: the inset is 128 × 72 at (x, y) × 0.4.
        let want = (x * 2 / 5, y * 2 / 5, x * 2 / 5 + 128, y * 2 / 5 + 72);
        assert!(
            rects.iter().any(|r| r.x0.abs_diff(want.0) <= 2
                && r.y0.abs_diff(want.1) <= 2
                && r.x1.abs_diff(want.2) <= 2
                && r.y1.abs_diff(want.3) <= 2),
            "inset at {x},{y}: {rects:?}, want {want:?}"
        );
        let d = worst_best_distance(&originals, &query_views(&frames, View::Inset));
        assert!(d <= 40, "inset at {x},{y}: {d} bits");
    }
}

#[test]
fn still_overlays_are_masked_and_filled_in() {
    let scenes = Scenes::new(31);
    let originals: Vec<Plane> = (0..8).map(|n| scenes.render(n * 250, 640, 360)).collect();
    let overlaid: Vec<Plane> = originals
        .iter()
        .map(|p| {
            let mut o = p.logo(0.25).brightness(1.15);
            // An opaque caption band across the bottom sixth (grey: a
            // black one would be taken for a letterbox bar and cropped).
            for v in &mut o.data[640 * 300..] {
                *v = 40;
            }
            o
        })
        .collect();
    let images: Vec<views::WorkImage> = overlaid
        .iter()
        .map(|p| views::WorkImage::of(&p.frame(), p.frame().full()))
        .collect();
    let mask = views::static_mask(&images.iter().collect::<Vec<_>>()).expect("a mask");
    // The band (work rows from 120) is masked; the middle of the picture is not.
    assert!(mask[130 * 256 + 128] && mask[143 * 256 + 5]);
    assert!(!mask[70 * 256 + 128]);
    let plain = worst_best_distance(&originals, &query_views(&overlaid, View::Full));
    let filled = worst_best_distance(&originals, &query_views(&overlaid, View::Unmasked));
    assert!(
        filled + 16 <= plain,
        "filled in {filled} bits, plain {plain}"
    );
    // A still picture: nothing to tell overlays from.
    let still: Vec<views::WorkImage> = (0..8).map(|_| images[0].clone()).collect();
    assert_eq!(views::static_mask(&still.iter().collect::<Vec<_>>()), None);
}

#[test]
fn the_middle_rows_match_past_a_corner_logo_and_a_caption_band() {
    let scenes = Scenes::new(32);
    let originals: Vec<Plane> = (0..8).map(|n| scenes.render(n * 250, 640, 360)).collect();
    let overlaid: Vec<Plane> = originals
        .iter()
        .map(|p| {
            // A logo over the top fifth, a caption band over the bottom
            // fifth, darker.
            let mut o = p.logo(0.22).brightness(0.85);
            for v in &mut o.data[640 * 285..640 * 350] {
                *v = 40;
            }
            o
        })
        .collect();
    let plain = worst_best_distance(&originals, &query_views(&overlaid, View::Full));
    let middle = worst_best_distance(&originals, &query_views(&overlaid, View::Middle));
    assert!(
        middle <= 24,
        "middle rows {middle} bits from the reference's"
    );
    assert!(middle + 24 <= plain, "middle {middle} bits, plain {plain}");
    // References index the middle rows; a query looks them up in its
    // re-post pass only.
    assert!(View::Middle.is_indexed() && View::Middle.is_query() && View::Middle.is_repost());
    assert_eq!(reference_views(&originals[0]).len(), 8);
}

#[test]
fn an_inset_found_against_the_frame_edge_is_also_tried_at_picture_aspects() {
    use super::views::{aspect_variants, WorkRect};
    // A 4:3 inset at x 100..228, y 0..96 of a 256×144 image whose right
    // border was missed: found as reaching the edge.
    let found = WorkRect {
        x0: 100,
        y0: 0,
        x1: 256,
        y1: 96,
    };
    let v = aspect_variants(found, 256, 144);
    assert_eq!(v[0], found);
    assert!(v.contains(&WorkRect { x1: 228, ..found }), "{v:?}");
    // Away from every edge: only itself.
    let inside = WorkRect {
        x0: 20,
        y0: 20,
        x1: 148,
        y1: 116,
    };
    assert_eq!(aspect_variants(inside, 256, 144), vec![inside]);
}

#[test]
fn the_black_bars_inside_an_inset_are_cut() {
    use super::views::{WorkImage, WorkRect};
    // 256×144 image of mid grey; an inset at 100..228 × 10..106 whose top
    // 12 rows are black (a letterboxed original).
    let (w, h) = (256usize, 144usize);
    let mut px = vec![128u8; w * h];
    for y in 10..22 {
        for x in 100..228 {
            px[y * w + x] = 5;
        }
    }
    let img = WorkImage { w, h, px };
    let inset = WorkRect {
        x0: 100,
        y0: 10,
        x1: 228,
        y1: 106,
    };
    let t = img.without_bars(inset).expect("bars cut");
    assert_eq!(t.y0, 22, "{t:?}");
    assert!(t.y1 >= 104 && t.x0 <= 101 && t.x1 >= 227, "{t:?}");
    // No bars: nothing to cut.
    let flat = WorkImage {
        w,
        h,
        px: vec![128u8; w * h],
    };
    assert_eq!(flat.without_bars(inset), None);
}
