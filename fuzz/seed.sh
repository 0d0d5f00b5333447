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
