# One image for every `ebbtide` sub-command: the operator, the scheduler extender, backtest, crds.
#   docker build -t ebbtide:0.1.0 .
# BASE_IMAGE is any image with Python 3.11+ and its venv module; the official one by default. A
# machine without a registry builds on its own Debian-made base instead (`ebbtide kind images`).
#   docker run --rm ebbtide:0.1.0 --help
# The Helm chart (charts/ebbtide) runs it as `ebbtide operator ...` and `ebbtide extender ...`.

ARG BASE_IMAGE=python:3.11-slim

# -- build: install ebbtide and its dependencies into a virtualenv --------------------------------
FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/ebbtide
WORKDIR /src
# Only what the package build reads (see .dockerignore): the metadata, then the source.
COPY pyproject.toml README.md ./
# The dependencies first, installed with an empty stand-in of the package: this layer is rebuilt
# only when pyproject.toml changes, not with every change of the source.
RUN mkdir -p operator/ebbtide && touch operator/ebbtide/__init__.py \
 && /opt/ebbtide/bin/pip install . \
 && rm -rf operator build
COPY operator/ ./operator/
RUN /opt/ebbtide/bin/pip install --no-deps --force-reinstall . \
 && /opt/ebbtide/bin/ebbtide --help >/dev/null

# -- run: the virtualenv on a clean base, as an unprivileged numeric user --------------------------
FROM ${BASE_IMAGE}
ENV PATH=/opt/ebbtide/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
COPY --from=build /opt/ebbtide /opt/ebbtide
# A numeric user, so Kubernetes can verify runAsNonRoot without reading /etc/passwd.
USER 65532:65532
WORKDIR /tmp
ENTRYPOINT ["ebbtide"]
CMD ["--help"]
