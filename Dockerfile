# syntax=docker/dockerfile:1
# provcheck in a container, for CI runners that pull images rather than
# build tools:
#
#   docker build -t provcheck .
#   docker run --rm -v "$PWD:/src" provcheck check .
#
# The build stage compiles a static musl binary on the official Rust
# image (Alpine's Rust targets musl natively); the image ships it alone
# on distroless/static, run as a user without privileges. The image has
# no shell: `provcheck` is the entry point and the mounted tree is the
# working directory. tests/ci_recipes.rs checks these properties and runs
# the binary as the entry point would.

FROM rust:1-alpine AS build
# mimalloc is C, built by cc against musl's headers.
RUN apk add --no-cache musl-dev
WORKDIR /build
COPY . .
# The `dist` profile: thin LTO and one codegen unit, as the release
# binaries are timed (Cargo.toml). Registry and target are cache mounts,
# so the binary is copied out of the target folder in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/build/target \
    cargo build --locked --profile dist --bin provcheck \
    && cp target/dist/provcheck /usr/local/bin/provcheck

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /usr/local/bin/provcheck /usr/local/bin/provcheck
# distroless's `nonroot` user, by number so that the runtime need not
# read /etc/passwd to know it is not root.
USER 65532:65532
WORKDIR /src
ENTRYPOINT ["provcheck"]
CMD ["check", "."]
