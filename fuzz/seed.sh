#!/bin/sh
# Builds the seed corpus of the decode_fingerprint target from
# fixtures/audio/: each fixture once with the selector byte of its own
# extension hint and once with the "no hint" byte (the target reads the
# first byte as the hint, see fuzz_targets/decode_fingerprint.rs).
# The corpus is not committed (see .gitignore).
#
# usage: sh fuzz/seed.sh && cd fuzz && cargo +nightly fuzz run decode_fingerprint ... (or decode_video)
set -eu
cd "$(dirname "$0")"
out=corpus/decode_fingerprint
mkdir -p "$out"
for f in ../fixtures/audio/*; do
    name=$(basename "$f")
    case "$name" in
        *.wav) sel=0 ;;
        *.flac) sel=1 ;;
        *.mp3) sel=2 ;;
        *.ogg) sel=3 ;;
        *.m4a|*.mp4) sel=4 ;;
        *.mkv) sel=5 ;;
        *.webm) sel=6 ;;
        *) continue ;;
    esac
    { printf "\\$(printf '%03o' "$sel")"; cat "$f"; } > "$out/seed-hint-$name"
    { printf '\007'; cat "$f"; } > "$out/seed-nohint-$name"
done
ls "$out" | wc -l

# decode_video: the input is the whole file (written to a temporary .mp4).
vout=corpus/decode_video
mkdir -p "$vout"
for f in ../fixtures/video/*.mp4; do
    cp "$f" "$vout/seed-$(basename "$f")"
done
ls "$vout" | wc -l

# The targets of the HTTP service's inputs. Their layouts are documented
# in crates/avreg-server/src/fuzzing.rs; a selector byte is written with
# `byte N`.
byte() { printf "\\$(printf '%03o' "$1")"; }

# fingerprint_json: the fingerprint documents of `avreg fingerprint --json`
# (lookup and register flavours) as the lookup body, wrapped as a batch and
# as a registration, and as binary fingerprints without their checksums
# (selector 0: audio; 1: u16 LE audio length, audio, video). Set AVREG to
# an avreg binary to skip the release build.
avreg=${AVREG:-}
if [ -z "$avreg" ]; then
    (cd .. && cargo build --release --locked -q --bin avreg)
    avreg=../target/release/avreg
fi
fout=corpus/fingerprint_json
mkdir -p "$fout"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for f in ../fixtures/audio/chords.wav ../fixtures/audio/chords.flac \
    ../fixtures/audio/chords-video.mp4 ../fixtures/video/ref.mp4 \
    ../fixtures/video/excerpt-crop.mp4; do
    for role in lookup register; do
        name=$(basename "$f")-$role
        "$avreg" fingerprint "$f" --json --for "$role" > "$tmp/doc.json" || continue
        jq -c '{version, content_hash, fingerprint: {data: .fingerprint.data}}
            + (if .video then {video: {data: .video.data}} else {} end)' \
            "$tmp/doc.json" > "$fout/seed-$name.json"
        jq -c '. + {territory: "DE", date: "2024-05-01"}' \
            "$fout/seed-$name.json" > "$fout/seed-$name-rights.json"
        jq -c '{fingerprints: [.], territory: "DE"}' \
            "$fout/seed-$name.json" > "$fout/seed-$name-batch.json"
        jq -c '{title: "Seed", source_name: "seed.wav", fingerprint: .}' \
            "$fout/seed-$name.json" > "$fout/seed-$name-register.json"
        jq -r .fingerprint.data "$tmp/doc.json" | base64 -d | head -c -4 > "$tmp/audio.bin"
        { byte 0; cat "$tmp/audio.bin"; } > "$fout/seed-$name-audio.bin"
        if [ "$(jq -r '.video.data // empty' "$tmp/doc.json")" ]; then
            jq -r .video.data "$tmp/doc.json" | base64 -d | head -c -4 > "$tmp/video.bin"
            n=$(wc -c < "$tmp/audio.bin")
            { byte 1; byte $((n % 256)); byte $((n / 256)); cat "$tmp/audio.bin" "$tmp/video.bin"; } \
                > "$fout/seed-$name-audio-video.bin"
        fi
    done
done
ls "$fout" | wc -l

# ledger_json: selector = route << 2 | key (0 admin, 1 performer, 2 agent,
# 3 producer); route 0 is POST /v1/ledger, 1 + k POST to kind k's
# collection, 9 + k PUT to its entity (k in the order below). The harness
# registry holds example.json already: its entities are amended, and
# copies with fresh ids (0190a001-…, without the ISNI and ISAN, which are
# unique) created.
lout=corpus/ledger_json
mkdir -p "$lout"
example=../fixtures/ledger/example.json
fresh() { sed 's/0190a000-/0190a001-/g'; }
agreement='{"create": {"kind": "agreement", "entity": {"version": 1,
  "id": "0190a000-0000-7000-8000-000000004001",
  "parties": [{"kind": "organisation", "id": "0190a000-0000-7000-8000-000000000010"},
              {"kind": "performer", "id": "0190a000-0000-7000-8000-000000000001"}],
  "signed": "2019-01-15", "fixations": ["0190a000-0000-7000-8000-000000000100"],
  "rights": ["making_available"], "territories": {"only": ["DE"]},
  "period": {"start": "2019-03-01"}, "reference": "C-1"}}}'
for key in 0 1 2 3; do
    { byte "$key"; jq -c . "$example"; } > "$lout/seed-batch-example-key$key.json"
    { byte "$key"; jq -c 'del(.changes[].create.entity | .isni, .isan)' "$example" | fresh; } \
        > "$lout/seed-batch-fresh-key$key.json"
done
{ byte 0; jq -c --argjson a "$agreement" '.changes = [$a]' "$example"; } > "$lout/seed-batch-agreement.json"
{ byte 0; jq -c '.changes = [{withdraw: {kind: "mandate", id: "0190a001-0000-7000-8000-000000003001"}}]' \
    "$example"; } > "$lout/seed-batch-withdraw.json"
{ byte 0; jq -c '.changes = [.changes[] | {amend: .create}]' "$example"; } > "$lout/seed-batch-amend.json"
i=0
jq -c '.changes[].create' "$example" > "$tmp/changes"
echo "$agreement" | jq -c .create >> "$tmp/changes"
while read -r change; do
    kind=$(echo "$change" | jq -r .kind)
    case "$kind" in
        performer) k=0 ;; organisation) k=1 ;; fixation) k=2 ;; credit) k=3 ;;
        moral_rights) k=4 ;; holding) k=5 ;; agreement) k=6 ;; mandate) k=7 ;;
    esac
    i=$((i + 1))
    entity=$(echo "$change" | jq -c .entity)
    for key in 0 3; do
        { byte $(((1 + k) * 4 + key)); echo "$entity" | jq -c 'del(.isni, .isan)' | fresh; } \
            > "$lout/seed-create-$i-$kind-key$key.json"
    done
    for key in 0 1 2 3; do
        { byte $(((9 + k) * 4 + key)); echo "$entity"; } > "$lout/seed-amend-$i-$kind-key$key.json"
    done
done < "$tmp/changes"
ls "$lout" | wc -l

# multipart: selector bit 0 the header (0: multipart with the harness's
# boundary; 1: the input's first line), bits 1-2 the route (registration,
# lookup, each with a 64-byte limit), bit 3 Content-Length, bits 4-7 the
# chunk size (0: one chunk; n: 2^(n-1) bytes).
mout=corpus/multipart
mkdir -p "$mout"
b=avreg-fuzz-boundary
crlf() { printf '%s\r\n' "$@"; }
form() { # form BOUNDARY FIELDS... : text fields as name=value, then the media
    bnd=$1; shift
    for kv in "$@"; do
        crlf "--$bnd" "Content-Disposition: form-data; name=\"${kv%%=*}\"" "" "${kv#*=}"
    done
    crlf "--$bnd" "Content-Disposition: form-data; name=\"media\"; filename=\"clip.wav\"" \
        "Content-Type: audio/wav" ""
    head -c 96 ../fixtures/audio/chords.wav
    crlf "" "--$bnd--"
}
{ byte 0; form "$b" "title=Seed"; } > "$mout/seed-register.bin"
{ byte 8; form "$b" "title=Seed"; } > "$mout/seed-register-length.bin"
{ byte $((0x18)); form "$b" "title=Seed"; } > "$mout/seed-register-1byte-chunks.bin"
{ byte $((0x52)); form "$b" "territory=DE" "date=2024-05-01"; } > "$mout/seed-lookup-16byte-chunks.bin"
{ byte 4; form "$b" "title=Seed"; } > "$mout/seed-register-over-64.bin"
{ byte 6; form "$b"; } > "$mout/seed-lookup-over-64.bin"
{ byte 0; crlf "--$b" "Content-Disposition: form-data; name=\"title\"" "" "no media" "--$b--"; } \
    > "$mout/seed-no-media.bin"
{ byte 1; echo "multipart/form-data; boundary=\"x y\""; form "x y" "title=Quoted"; } \
    > "$mout/seed-header-quoted-boundary.bin"
{ byte $((0x39)); echo "Multipart/Form-Data; charset=utf-8; boundary=Zz"; form "Zz" "title=T"; } \
    > "$mout/seed-header-mixed-case.bin"
{ byte 1; echo "application/json"; echo '{"title": "json"}'; } > "$mout/seed-header-json.bin"
ls "$mout" | wc -l
