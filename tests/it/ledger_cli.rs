//! The ledger from the command line: a changes file applied as one write,
//! queries, exports, conflicts, and a signed audit head checked later.

use crate::support::{fixture, s, Avreg};

const FIXATION: &str = "0190a000-0000-7000-8000-000000000100";
const SOCIETY: &str = "0190a000-0000-7000-8000-000000000020";
const ADA: &str = "0190a000-0000-7000-8000-000000000001";

fn apply_example(avreg: &Avreg) -> serde_json::Value {
    let (code, v) = avreg.json(&["ledger", "apply", s(&fixture("ledger/example.json"))]);
    assert_eq!(code, 0, "{v}");
    v
}

/// `len_s` seconds of `src` from `start_s`, 3 dB quieter, with noise at
/// `snr_db`, written as `name` in the test's folder.
fn excerpt(
    avreg: &Avreg,
    src: &std::path::Path,
    name: &str,
    start_s: f32,
    len_s: f32,
    snr_db: f32,
) -> std::path::PathBuf {
    let (pcm, rate) = crate::support::decode_mono(src);
    let path = avreg.path(name);
    crate::support::write_wav(
        &path,
        rate,
        &crate::support::degrade(&pcm, rate, start_s, len_s, 1.0, -3.0, snr_db),
    );
    path
}

#[test]
fn a_changes_file_is_applied_queried_and_exported() {
    let avreg = Avreg::new();
    let applied = apply_example(&avreg);
    assert_eq!(applied["version"], 1);
    assert_eq!(applied["revisions"].as_array().map(Vec::len), Some(12));
    // The performer's 30% in DE/AT and the producer's 80% worldwide
    // overclaim: recorded, not refused.
    let opened = applied["opened"].as_array().expect("opened");
    assert_eq!(opened.len(), 1, "{applied}");
    assert_eq!(opened[0]["kind"], "overclaim");

    let (code, span) = avreg.json(&[
        "ledger", "span", FIXATION, "--from", "210000", "--to", "250000",
    ]);
    assert_eq!(code, 0);
    let performers = span["performers"].as_array().expect("performers");
    assert_eq!(performers.len(), 2);
    assert_eq!(performers[0]["covered_ms"], 40000);
    assert!(
        performers[1]["performer"].get("legal_name").is_none(),
        "private"
    );

    let (code, rights) = avreg.json(&[
        "ledger",
        "rights",
        FIXATION,
        "--territory",
        "DE",
        "--date",
        "2024-06-01",
    ]);
    assert_eq!(code, 0);
    // Germany signed the Beijing Treaty and is not a party.
    let e = &rights["eligibility"];
    assert_eq!(e["status"], "not_applicable", "{e}");
    assert!(e["reasons"][0]
        .as_str()
        .expect("reason")
        .contains("not a Contracting Party"));
    assert_eq!(e["broadcasting"]["treatment"], "not_granted", "{e}");
    let rights = rights["rights"].as_array().expect("rights");
    assert_eq!(rights.len(), 2, "making available and broadcasting");
    let broadcasting = rights
        .iter()
        .find(|r| r["right"] == "broadcasting")
        .expect("broadcasting");
    assert_eq!(broadcasting["treaty"]["treatment"], "not_granted");
    // Kenya, bound since 2020-04-28: Ada (Swedish, resident in Germany) is
    // not eligible, Bo has neither fact recorded: unknown, naming him.
    for (date, status) in [("2020-03-01", "not_applicable"), ("2024-06-01", "unknown")] {
        let (code, v) = avreg.json(&[
            "ledger",
            "rights",
            FIXATION,
            "--territory",
            "KE",
            "--date",
            date,
        ]);
        assert_eq!(code, 0);
        let e = &v["eligibility"];
        assert_eq!(e["status"], status, "{date}: {e}");
        if status == "unknown" {
            assert_eq!(e["territory_bound"], true);
            assert_eq!(e["performers"][0]["eligible"], false, "{e}");
            assert!(
                e["missing"][0]
                    .as_str()
                    .expect("missing")
                    .contains("0190a000-0000-7000-8000-000000000002"),
                "{e}"
            );
        }
        // Which country connects a performer is never printed.
        assert!(!e.to_string().contains("\"SE\""), "{e}");
    }

    let (code, found) = avreg.json(&["ledger", "show", "ISAN 0000-0000-D07A-0090-Q-0000-0000-X"]);
    assert_eq!(code, 0);
    assert_eq!(found["entity"]["entity"]["title"], "Winter Light");

    let out = avreg.run(&["export", "repertoire", "--society", SOCIETY]);
    assert_eq!(out.status.code(), Some(0));
    let csv = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[0].starts_with("fixation_id,title,isan,"));
    assert!(
        lines[1].contains("Ada  Lind"),
        "credited-as kept verbatim: {csv}"
    );

    let (code, statement) = avreg.json(&[
        "export",
        "statement",
        "--performer",
        ADA,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    assert_eq!(statement["kind"], "statement");
    assert_eq!(statement["rows"].as_array().map(Vec::len), Some(1));

    let (code, rmi) = avreg.json(&[
        "export",
        "rmi",
        "--fixation",
        FIXATION,
        "--territory",
        "DE",
        "--territory",
        "US",
    ]);
    assert_eq!(code, 0);
    assert_eq!(rmi["performers"].as_array().map(Vec::len), Some(2));
    assert_eq!(rmi["territories"][0]["territory"], "DE");

    let out = avreg.run(&["export", "conflicts"]);
    let csv = String::from_utf8(out.stdout).expect("utf-8");
    assert_eq!(csv.lines().count(), 2, "{csv}");
}

#[test]
fn an_invalid_change_names_its_field_and_writes_nothing() {
    let avreg = Avreg::new();
    apply_example(&avreg);
    let (_, before) = avreg.json(&["audit", "log", "--json"]);
    let bad = avreg.path("bad.json");
    let text = std::fs::read_to_string(fixture("ledger/example.json"))
        .expect("example")
        .replace(
            "0190a000-0000-7000-8000-0000000",
            "0190a000-0000-7000-8000-1000000",
        )
        .replace("\"end_ms\": 600000", "\"end_ms\": 700000")
        .replace("000000012281955X", "0000000121032683")
        .replace(
            "0000-0000-D07A-0090-Q-0000-0000-X",
            "0000-0001-8CFA-0000-I-0000-0000-K",
        );
    std::fs::write(&bad, text).expect("write");
    let out = avreg.run(&["ledger", "apply", s(&bad)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("segments[1]") && err.contains("after the end of the fixation"),
        "{err}"
    );
    let (_, after) = avreg.json(&["audit", "log", "--json"]);
    assert_eq!(before, after, "nothing written");

    // An invalid identifier is refused when the file is read.
    let isan = avreg.path("isan.json");
    let text = std::fs::read_to_string(fixture("ledger/example.json"))
        .expect("example")
        .replace(
            "0000-0000-D07A-0090-Q-0000-0000-X",
            "0000-0000-D07A-0090-R-0000-0000-X",
        );
    std::fs::write(&isan, text).expect("write");
    let out = avreg.run(&["ledger", "apply", s(&isan)]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.to_lowercase().contains("check"), "{err}");
}

#[test]
fn a_signed_head_is_checked_later() {
    let avreg = Avreg::new();
    apply_example(&avreg);
    let (code, head) = avreg.json(&["audit", "head"]);
    assert_eq!(code, 0);
    assert_eq!(head["seq"], 12, "{head}");
    let held = avreg.path("head.json");
    std::fs::write(&held, head.to_string()).expect("write");
    // More writes; the held head still proves the past.
    let (_, v) = avreg.json(&["ledger", "conflicts"]);
    let party = &v["conflicts"][0]["parties"][0];
    let party = format!(
        "{}:{}",
        party["kind"].as_str().expect("kind"),
        party["id"].as_str().expect("id")
    );
    let (code, out) = avreg.json(&[
        "ledger",
        "respond",
        head_conflict(&avreg).as_str(),
        "--party",
        &party,
        "--note",
        "we hold 80 %",
    ]);
    assert_eq!(code, 0, "{out}");
    // Not even the operator's ruling closes an overclaim whose shares
    // still exceed 100 %.
    let out = avreg.run(&[
        "ledger",
        "resolve",
        head_conflict(&avreg).as_str(),
        "--resolution",
        "share",
        "--note",
        "agreed on the phone",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("still exceed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = avreg.run(&["audit", "verify", "--signed", s(&held)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A tampered signed head is refused.
    let mut forged = head.clone();
    forged["seq"] = serde_json::json!(11);
    std::fs::write(&held, forged.to_string()).expect("write");
    let out = avreg.run(&["audit", "verify", "--signed", s(&held)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature"));
}

fn head_conflict(avreg: &Avreg) -> String {
    let (_, v) = avreg.json(&["ledger", "conflicts"]);
    v["conflicts"][0]["id"]
        .as_str()
        .expect("a conflict")
        .to_owned()
}

#[test]
fn media_of_two_registrants_overlapping_opens_a_conflict() {
    let avreg = Avreg::new();
    apply_example(&avreg);
    // Bo registers a fixation of his own.
    let changes = avreg.path("bo.json");
    std::fs::write(
        &changes,
        r#"{"version": 1, "changes": [{"create": {"kind": "fixation", "entity": {
            "version": 1, "id": "0190a000-0000-7000-8000-000000000200", "kind": "av",
            "title": "Winter Light (upload)", "duration_ms": 20000,
            "registered_by": {"kind": "performer", "id": "0190a000-0000-7000-8000-000000000002"}}}}]}"#,
    )
    .expect("write");
    let (code, _) = avreg.json(&["ledger", "apply", s(&changes)]);
    assert_eq!(code, 0);
    let aria = fixture("demo/aria.mp3");
    let (code, first) = avreg.json(&[
        "register",
        s(&aria),
        "--title",
        "Winter Light",
        "--fixation",
        FIXATION,
        "--json",
    ]);
    assert_eq!(code, 0, "{first}");
    assert_eq!(first["fixation"], FIXATION);
    assert_eq!(first["opened"], serde_json::json!([]), "{first}");
    // The same music, re-encoded (other bytes), as the media of Bo's.
    let copy = excerpt(&avreg, &aria, "copy.wav", 0.0, 19.0, 30.0);
    let (code, second) = avreg.json(&[
        "register",
        s(&copy),
        "--title",
        "upload",
        "--fixation",
        "0190a000-0000-7000-8000-000000000200",
        "--json",
    ]);
    assert_eq!(code, 0, "{second}");
    let opened = second["opened"].as_array().expect("a conflict");
    assert_eq!(opened.len(), 1, "{second}");
    assert_eq!(opened[0]["kind"], "reference_overlap");
    // A fixation cannot get a second media file.
    let out = avreg.run(&[
        "register",
        s(&copy),
        "--title",
        "again",
        "--fixation",
        FIXATION,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("media"));
}

#[test]
fn a_lookup_says_who_performs_in_the_span_and_who_holds_the_rights() {
    let avreg = Avreg::new();
    apply_example(&avreg);
    let aria = fixture("demo/aria.mp3");
    let (code, v) = avreg.json(&[
        "register",
        s(&aria),
        "--title",
        "Winter Light",
        "--fixation",
        FIXATION,
        "--json",
    ]);
    assert_eq!(code, 0, "{v}");
    // A degraded excerpt, 4 s .. 12 s: Ada (Sigrid) is on screen 0..240 s.
    let clip = excerpt(&avreg, &aria, "clip.wav", 4.0, 8.0, 20.0);
    let (code, v) = avreg.json(&[
        "lookup",
        s(&clip),
        "--territory",
        "DE",
        "--date",
        "2024-06-01",
        "--json",
    ]);
    assert_eq!(code, 0, "{v}");
    let m = &v["matches"][0];
    assert_eq!(m["exact_content_match"], false);
    let f = &m["fixation"];
    assert_eq!(f["id"], FIXATION, "{v}");
    assert_eq!(
        f["identifiers"]["isan"],
        "0000-0000-D07A-0090-Q-0000-0000-X"
    );
    assert_eq!(
        (&f["territory"], &f["date"]),
        (&"DE".into(), &"2024-06-01".into())
    );
    let performers = f["performers"].as_array().expect("performers");
    assert_eq!(performers.len(), 1, "only Ada is on screen: {v}");
    assert_eq!(performers[0]["performer_id"], ADA);
    assert_eq!(performers[0]["credit"]["character"], "Sigrid");
    assert!(!v.to_string().contains("Lindqvist"), "never the legal name");
    let rights = f["rights"].as_array().expect("rights");
    let ma = rights
        .iter()
        .find(|r| r["right"] == "making_available")
        .expect("making_available");
    assert_eq!(ma["exclusive"].as_array().map(Vec::len), Some(2), "{ma}");
    assert!(f["term"]["term"].is_object(), "{f}");
    assert_eq!(f["eligibility"]["status"], "not_applicable", "{f}");

    // Without a territory: who performs, not who holds.
    let (code, v) = avreg.json(&["lookup", s(&clip), "--json"]);
    assert_eq!(code, 0, "{v}");
    let f = &v["matches"][0]["fixation"];
    assert_eq!(f["performers"].as_array().map(Vec::len), Some(1), "{v}");
    assert!(f.get("rights").is_none() && f.get("term").is_none(), "{f}");

    // The summary says the same.
    let out = avreg.run(&["lookup", s(&clip), "--territory", "DE"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&format!("fixation {FIXATION}")), "{text}");
    assert!(text.contains("as Sigrid"), "{text}");
    assert!(text.contains("making_available in DE"), "{text}");

    // A bad territory is bad input, named.
    let out = avreg.run(&["lookup", s(&clip), "--territory", "XX1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("territory"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
