# Sourced by scripts/sam-local: a local stand-in for AWS's Lambda base image (which cannot be
# pulled here), made from this machine's own files: a shell and the few tools SAM's image build
# runs (mv, chmod, cp, rm), the C libraries they and the function binaries link, and the
# directories a Lambda sandbox has. `docker import` turns it into an image SAM builds its
# emulator layer on (`--invoke-image`).

# standin_image TAG BINARY...: imports the image TAG unless it exists already.
standin_image() {
  local tag=$1
  shift
  docker image inspect "$tag" >/dev/null 2>&1 && return 0
  local root
  root=$(mktemp -d)
  mkdir -p "$root"/{bin,tmp,var/task,var/runtime,opt,etc}
  local tool file lib
  for tool in sh dash mv chmod cp rm mkdir cat ls; do
    file=$(command -v "$tool")
    cp -L "$file" "$root/bin/$tool"
  done
  # Every library the tools and the functions load, at the path the loader looks for it.
  for file in "$root"/bin/* "$@"; do
    for lib in $(ldd "$file" 2>/dev/null | grep -o '/[^ ]*'); do
      mkdir -p "$root$(dirname "$lib")"
      cp -L "$lib" "$root$lib"
    done
  done
  echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
  # The CA bundle, where Amazon Linux 2023 keeps it (the SDK's HTTPS client wants one).
  mkdir -p "$root/etc/pki/tls/certs" "$root/etc/ssl/certs"
  cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/pki/tls/certs/ca-bundle.crt"
  cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  tar -C "$root" -c . | docker import - "$tag" >/dev/null
  rm -rf "$root"
}
