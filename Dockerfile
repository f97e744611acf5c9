# kotalc in a container: a static (musl) binary, run as a non-root user. Build from the
# repository root:
#
#   docker build -t kotalc:0.1.0 .
#
# and push it where your cluster pulls from (docker tag kotalc:0.1.0 <your registry>/kotalc:0.1.0).
# examples/argocd/ runs it as the Argo CD repo server's plugin sidecar, as Argo CD's user 999.

# The toolchain of Cargo.toml's rust-version.
FROM rust:1.89-bookworm AS build
RUN rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
# --locked: exactly the dependencies of Cargo.lock.
RUN cargo build --release --locked --target x86_64-unknown-linux-musl \
    && ./target/x86_64-unknown-linux-musl/release/kotalc --version

# A small base with a shell, for the Argo CD sidecar (its cmp-server binary is mounted into
# the container) and for debugging; the binary itself needs nothing from it.
FROM debian:bookworm-slim
COPY --from=build /src/target/x86_64-unknown-linux-musl/release/kotalc /usr/local/bin/kotalc
USER 999:999
ENTRYPOINT ["kotalc"]
