#!/usr/bin/env bash
# fullfs.sh: run `avreg serve` on a small filesystem and fill it (as root).
#
#   tools/reliability/fullfs.sh [--fs ext4|tmpfs] [--size 64M] [fullfs.py options, e.g. --quick, --min-free-mb 0]
#
# --min-free-mb N sets the server's disk reserve ([store] min_free_mb,
# default 256 MiB, more than the whole 64 MiB filesystem): 0 lets the store
# meet the full disk itself (ENOSPC inside sled and the index), N > 0 tests
# the reserve (writes refused before anything is written).
#
# ext4 (default): a loop-mounted ext4 image made with mkfs.ext4 -m 0 (no
# blocks reserved for root, so root's server sees the same full disk as
# anyone's). tmpfs: mount -t tmpfs -o size=SIZE. The filesystem is mounted
# at /mnt/avreg-full (AVREG_FULL_MNT), its image kept in /work/rel-data
# (AVREG_FULL_IMG_DIR), and unmounted at the end. fullfs.py does the rest
# and its exit status is this script's.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
fs=ext4
size=64M
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --fs) fs="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
mnt="${AVREG_FULL_MNT:-/mnt/avreg-full}"
imgdir="${AVREG_FULL_IMG_DIR:-/work/rel-data}"
img="$imgdir/avreg-full-$fs.img"
mkdir -p "$mnt" "$imgdir"
if mountpoint -q "$mnt"; then umount "$mnt"; fi
cleanup() {
  # Stop any server this run left (fullfs.py stops its own; this is a net).
  sleep 0.5
  if mountpoint -q "$mnt"; then umount "$mnt" || umount -l "$mnt"; fi
  rm -f "$img"
}
trap cleanup EXIT
case "$fs" in
  ext4)
    rm -f "$img"
    truncate -s "$size" "$img"
    mkfs.ext4 -q -F -m 0 "$img"
    mount -o loop "$img" "$mnt"
    ;;
  tmpfs)
    mount -t tmpfs -o "size=$size" tmpfs "$mnt"
    ;;
  *) echo "fullfs.sh: --fs ext4|tmpfs" >&2; exit 2 ;;
esac
df -h "$mnt"
set +e
python3 "$here/fullfs.py" --mount "$mnt" --label "$fs-$size${AVREG_FULL_TAG:+-$AVREG_FULL_TAG}" --logs "${AVREG_FULL_LOGS:-/work/rel-data/fullfs-$fs${AVREG_FULL_TAG:+-$AVREG_FULL_TAG}}" ${args[@]+"${args[@]}"}
rc=$?
set -e
exit $rc
