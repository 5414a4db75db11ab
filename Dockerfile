# Meshwarden admission webhook image.
#   docker build -t meshwarden:dev .
# Both stages use the same pinned base: the virtual environment built in the first stage links
# to that stage's /usr/local/bin/python3.11, so the final stage must have the same interpreter
# at the same path. Bump the tag in both FROM lines together.

FROM python:3.11.14-slim-bookworm AS builder

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
COPY pyproject.toml README.md ./
COPY webhook ./webhook

# Build the wheel (setuptools comes from the build's isolated environment), then install it
# with its runtime dependencies into a virtual environment without pip: only that directory
# goes to the final stage. All runtime dependencies ship binary wheels; no compiler is needed.
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /tmp/wheels . \
    && python -m venv --without-pip /opt/venv \
    && pip --python /opt/venv/bin/python install --no-cache-dir --compile /tmp/wheels/meshwarden-*.whl


FROM python:3.11.14-slim-bookworm

LABEL org.opencontainers.image.title="meshwarden" \
      org.opencontainers.image.description="Istio conventions, enforced at kubectl apply: an admission webhook and an offline checker" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/meshwarden/meshwarden"

# The UID and GID match runAsUser/runAsGroup in manifests/base/deployment.yaml.
RUN groupadd --system --gid 10001 meshwarden \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin meshwarden

COPY --from=builder /opt/venv /opt/venv

# The root filesystem is read-only in the cluster: bytecode was compiled at install time.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

USER 10001:10001
EXPOSE 8443

ENTRYPOINT ["meshwarden"]
CMD ["serve", "--cert", "/etc/meshwarden/tls/tls.crt", "--key", "/etc/meshwarden/tls/tls.key", "--config", "/etc/meshwarden/policy/policy.yaml", "--workers", "1", "--threads", "16"]
