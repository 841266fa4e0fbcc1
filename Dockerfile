# syntax=docker/dockerfile:1
# The service's image: a release build in the official Rust image, run on distroless `cc`
# (glibc and CA certificates, no shell, no package manager) as the non-root user 65532.
#
#   docker build -t better-auth-grpc .            (or podman build)
#   docker run --rm -p 127.0.0.1:50051:50051 --read-only \
#     --tmpfs /var/lib/better-auth-grpc:uid=65532,gid=65532,mode=0700 better-auth-grpc
#
# The build args only swap the base images for equivalent ones (a mirror, or the local
# substitutes scripts/container-check makes where no registry is reachable).
ARG BUILDER_IMAGE=docker.io/library/rust:1-bookworm
ARG RUNTIME_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${BUILDER_IMAGE} AS build
# .git is not sent to the build: build_info's revision comes from here
# (--build-arg BETTER_AUTH_GRPC_REVISION=$(git rev-parse --short=12 HEAD)).
ARG BETTER_AUTH_GRPC_REVISION=unknown
WORKDIR /src
COPY . .
# Cache mounts keep the crate downloads and the build between builds (BuildKit, buildah);
# the binary is copied out because the target cache is not part of the layer.
RUN --mount=type=cache,id=better-auth-grpc-registry,target=/usr/local/cargo/registry \
    --mount=type=cache,id=better-auth-grpc-target,target=/src/target \
    cargo build --release --locked --bin better-auth-grpc \
    && install -D -m 0755 target/release/better-auth-grpc /out/better-auth-grpc \
    && install -d -m 0700 /out/data

FROM ${RUNTIME_IMAGE}
COPY --from=build /out/better-auth-grpc /usr/local/bin/better-auth-grpc
# The working directory is where the embedded default keeps its SQLite file, secret and API
# key (owner-only files, so it belongs to the service's user). With a read-only root
# filesystem, mount a volume or tmpfs here.
COPY --from=build --chown=65532:65532 /out/data /var/lib/better-auth-grpc
WORKDIR /var/lib/better-auth-grpc
# Numeric, so that Kubernetes' runAsNonRoot can check it without an /etc/passwd entry.
USER 65532:65532
# In a container the service must listen beyond loopback; DATABASE_URL, BETTER_AUTH_SECRET and
# BETTER_AUTH_URL come from the environment as outside one.
ENV LISTEN_ADDR=0.0.0.0:50051
# gRPC, and the Prometheus endpoint when --metrics-addr is set (e.g. 0.0.0.0:9090).
EXPOSE 50051 9090
ENTRYPOINT ["/usr/local/bin/better-auth-grpc"]
