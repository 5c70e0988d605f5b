#!/usr/bin/env bash
# Install what ebbtide's demo and tests need on a fresh Debian/Ubuntu machine, idempotently:
#   - a virtualenv in .venv with ebbtide and its test dependencies (PyPI);
#   - the Prometheus server (Debian package; ebbtide starts it by hand, never as a service);
#   - a Go toolchain if none is on PATH (from the Go module proxy, which serves Go releases);
#   - the pinned Kubernetes, etcd and KWOK binaries, built once into ~/.cache/ebbtide;
#   - the Docker engine (Debian package) for the kind test bed, started if it is not running.
set -euo pipefail
cd "$(dirname "$0")/.."

GO_VERSION=1.26.8
step() { printf '\n==> %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

step "Python environment (.venv)"
PYTHON=${PYTHON:-python3}
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -e '.[test]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi

step "Prometheus server"
if ! command -v prometheus >/dev/null; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # policy-rc.d keeps the package from starting a system service: ebbtide runs its own.
  printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
  as_root chmod +x /usr/sbin/policy-rc.d
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus
  as_root rm -f /usr/sbin/policy-rc.d
fi
prometheus --version 2>&1 | head -1

step "Docker engine and debootstrap"
# kind runs its nodes as containers. Only the engine is needed: a newer docker client may be on
# PATH already, and talks to this older engine by negotiating the API version. debootstrap makes
# the Debian root filesystems the kind test bed's images are built on (ebbtide.kind).
if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null; then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  printf '#!/bin/sh\nexit 101\n' | as_root tee /usr/sbin/policy-rc.d >/dev/null
  as_root chmod +x /usr/sbin/policy-rc.d
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker.io debootstrap
  as_root rm -f /usr/sbin/policy-rc.d
fi
if ! docker info >/dev/null 2>&1; then
  # No init system starts services on these machines: run the engine in the background, its
  # output in a log beside the clusters' state.
  log=${EBBTIDE_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/ebbtide}/dockerd.log
  mkdir -p "$(dirname "$log")"
  as_root nohup dockerd >>"$log" 2>&1 </dev/null &
  for _ in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
  docker info >/dev/null 2>&1 || { tail -20 "$log" >&2; echo "dockerd did not start (log: $log)" >&2; exit 1; }
fi
docker version --format 'Docker engine {{.Server.Version}}'
# Every kind node runs systemd, containerd and a kubelet, each holding inotify instances; at the
# kernel's usual 128 per user, a node's kube-proxy fails with "too many open files" and its pods
# reach no Service. Raise the limits to what kind's known issues name, never lower them.
for setting in fs.inotify.max_user_instances=512 fs.inotify.max_user_watches=524288; do
  name=${setting%=*} wanted=${setting#*=}
  if [ "$(sysctl -n "$name")" -lt "$wanted" ]; then
    as_root sysctl -q -w "$setting" || echo "could not raise $name to $wanted: kind nodes may fail" >&2
  fi
done

step "Go toolchain"
if ! command -v go >/dev/null; then
  GOROOT_DIR=${EBBTIDE_CACHE_DIR:-$HOME/.cache/ebbtide}/go-$GO_VERSION
  if [ ! -x "$GOROOT_DIR/bin/go" ]; then
    url="https://proxy.golang.org/golang.org/toolchain/@v/v0.0.1-go$GO_VERSION.linux-amd64.zip"
    tmp=$(mktemp -d)
    curl -fsSL "$url" -o "$tmp/go.zip"
    .venv/bin/python -c "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])" "$tmp/go.zip" "$tmp"
    mkdir -p "$(dirname "$GOROOT_DIR")"
    mv "$tmp/golang.org/toolchain@v0.0.1-go$GO_VERSION.linux-amd64" "$GOROOT_DIR"
    chmod +x "$GOROOT_DIR"/bin/* "$GOROOT_DIR"/pkg/tool/*/*
    rm -rf "$tmp"
  fi
  export PATH="$GOROOT_DIR/bin:$PATH"
fi
go version

step "Pinned Kubernetes, etcd and KWOK binaries"
.venv/bin/ebbtide dev build
