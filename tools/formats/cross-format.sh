#!/bin/bash
# Cross-format identification on real music: registers 10 tracks of Debian's
# singularity-music (CC-BY-SA-3.0) as 150 s WAV, then looks up 8 s excerpts
# of 6 of them at 5 offsets each (30 queries per cell) as platforms send
# them: Opus in WebM/Ogg/MP4, HE-AAC and HE-AAC v2 (FDK's encoder), 5.1 AAC
# and 5.1 Opus, and AAC-LC beside H.264 in a QuickTime .mov. Prints per cell
# the queries found (title right) and the median offset error.
#
# usage: tools/formats/cross-format.sh [WORKDIR]
# needs: target/release/avreg (cargo build --release), Debian's ffmpeg,
#        apt-get download, and Fraunhofer's `aac-enc` on PATH (Debian
#        non-free: packages aac-enc and libfdk-aac2; FFmpeg's own encoder
#        writes no HE-AAC). Fails naming what is missing.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/target/release/avreg
W=${1:-$(mktemp -d)}
for tool in ffmpeg aac-enc python3 dpkg-deb; do
  command -v $tool >/dev/null || { echo "cross-format: $tool is missing" >&2; exit 2; }
done
[ -x "$B" ] || { echo "cross-format: build $B first (cargo build --release)" >&2; exit 2; }
mkdir -p "$W" && cd "$W" && rm -rf ref q data && mkdir -p ref q
apt-get download singularity-music >/dev/null
dpkg-deb -x singularity-music_*.deb sm
M=sm/usr/share/games/singularity/music
i=0
for t in "A New Journey" "Aberrations" "Awakening" "By-Product" "Coherence" "Deprecation" \
         "Enemy Unknown" "Inevitable" "Media Threat" "Nebula"; do
  i=$((i+1))
  ffmpeg -v error -y -i "$M/$t.ogg" -t 150 -ar 44100 -ac 2 ref/t$i.wav
  "$B" --data data register ref/t$i.wav --title "t$i" >/dev/null
done
cells="opus32_webm opus64_ogg opus48_mp4 heaac48_m4a heaacv2_24_m4a aac51_m4a opus51_ogg aaclc_mov_h264"
: > results.tsv
for i in 1 2 3 4 5 6; do
  for off in 10 30 50 70 90; do
    b=q/t${i}_$off
    ffmpeg -v error -y -ss $off -t 8 -i ref/t$i.wav -c:a pcm_s16le $b.wav
    ffmpeg -v error -y -i $b.wav -af "pan=5.1|FL=FL|FR=FR|FC=0.5*FL+0.5*FR|LFE=0.5*FL+0.5*FR|BL=0.7*FL|BR=0.7*FR" \
      -c:a pcm_s16le ${b}_51.wav
    ffmpeg -v error -y -i $b.wav -c:a libopus -b:a 32k $b.opus32_webm.webm
    ffmpeg -v error -y -i $b.wav -c:a libopus -b:a 64k $b.opus64_ogg.ogg
    ffmpeg -v error -y -i $b.wav -c:a libopus -b:a 48k $b.opus48_mp4.mp4
    aac-enc -t 5 -r 48000 $b.wav $b.he.aac >/dev/null
    ffmpeg -v error -y -i $b.he.aac -c copy $b.heaac48_m4a.m4a
    aac-enc -t 29 -r 24000 $b.wav $b.he2.aac >/dev/null
    ffmpeg -v error -y -i $b.he2.aac -c copy $b.heaacv2_24_m4a.m4a
    ffmpeg -v error -y -i ${b}_51.wav -c:a aac -b:a 256k $b.aac51_m4a.m4a
    ffmpeg -v error -y -i ${b}_51.wav -c:a libopus -mapping_family 1 -b:a 192k $b.opus51_ogg.ogg
    ffmpeg -v error -y -f lavfi -i "testsrc2=size=320x240:rate=30" -i $b.wav -shortest -c:v libx264 \
      -preset veryfast -pix_fmt yuv420p -c:a aac -b:a 96k -f mov $b.aaclc_mov_h264.mov
    for c in $cells; do
      f=$(ls $b.$c.*)
      # Exit status 1 is "no match", which the row records.
      { "$B" --data data lookup "$f" --json 2>/dev/null || [ $? = 1 ]; } | python3 -c "
import json, sys
raw = sys.stdin.read()
m = json.loads(raw).get('matches', []) if raw.strip() else []
top = m[0] if m else None
ok = top is not None and top['recording']['title'] == 't$i'
err = abs(top['reference']['start_ms'] - top['query']['start_ms'] - $off * 1000) if ok else ''
print('$c\t$i\t$off\t' + ('1' if ok else '0') + '\t' + str(err))
" >> results.tsv
    done
  done
done
python3 - <<'PY'
import collections, statistics
rows = [l.rstrip('\n').split('\t') for l in open('results.tsv')]
cells = collections.OrderedDict()
for c, _, _, ok, err in rows:
    cells.setdefault(c, []).append((ok == '1', err))
print('cell\tfound\tmedian offset error ms')
for c, v in cells.items():
    errs = [int(e) for ok, e in v if ok]
    print(f"{c}\t{sum(ok for ok, _ in v)}/{len(v)}\t{statistics.median(errs) if errs else '-'}")
PY
