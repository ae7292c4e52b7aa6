# One image with every binary of the workspace, built once; docker-compose.yml picks the
# binary per service with `command:`.

FROM rust:1.85-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --workspace --all-features --bins \
 && mkdir /out \
 && cp target/release/mq-namesrv target/release/mq-broker target/release/mqadmin \
       target/release/mq-bench target/release/seckill-web target/release/seckill-service \
       target/release/seckill-verify /out/

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/ /usr/local/bin/
ENV RUST_LOG=info
