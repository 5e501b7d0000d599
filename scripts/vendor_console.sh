#!/usr/bin/env bash
# Vendor the console's map library (Leaflet, BSD-2-Clause) from the npm registry into
# gateway/web/console/static/vendor/leaflet/: the built files only (leaflet.js, leaflet.css, the
# marker images) and the licence. The output is committed: the console needs no network and
# no build at run time. Re-run to upgrade (change VERSION), then commit the result.
#
# Usage: scripts/vendor_console.sh   (needs npm; `npm pack` fetches the registry tarball and
# checks its integrity against the registry's published checksum)
set -euo pipefail
VERSION="${LEAFLET_VERSION:-1.9.4}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$ROOT/gateway/web/console/static/vendor/leaflet"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
tarball="$(npm pack --silent "leaflet@$VERSION")"
tar -xzf "$tarball"
license="$(node -p "require('./package/package.json').license")"
if [ "$license" != "BSD-2-Clause" ]; then
  echo "leaflet@$VERSION is licensed $license, not BSD-2-Clause: review before vendoring" >&2
  exit 1
fi
rm -rf "$OUT"
mkdir -p "$OUT/images"
cp package/dist/leaflet.js package/dist/leaflet.css "$OUT/"
cp package/dist/images/*.png "$OUT/images/"
cp package/LICENSE "$OUT/LICENSE"
printf 'leaflet %s (%s) from %s\n' "$VERSION" "$license" "$(npm view "leaflet@$VERSION" dist.tarball)" \
  > "$OUT/VERSION"
echo "vendored leaflet@$VERSION into ${OUT#"$ROOT"/}"
