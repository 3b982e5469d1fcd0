# syntax=docker/dockerfile:1
#
# jgo: one chat request in, one pushed git branch out. README, "Container and Kubernetes".
# Multi-arch (linux/amd64, linux/arm64): `make docker-build`, `make docker-push`, or
#   docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/jungju/jgo:latest .
#
# Stages: `node` is the Node.js runtime for the target platform; `build` bundles jgo with esbuild
# once, on the build machine's own platform (the output is JavaScript, the same for every
# target); the image is Ubuntu 24.04 with node, git, codex, gh, kubectl and the AWS CLI, and
# jgo in /opt/jgo with `jgo` and every `jgo-*` stage on PATH.

# Node.js 22 or newer (jgo's engines): 22 by default.
ARG NODE_MAJOR=22

FROM node:${NODE_MAJOR}-bookworm-slim AS node

FROM --platform=$BUILDPLATFORM node:${NODE_MAJOR}-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --no-audit --no-fund
# The context is an allowlist (.dockerignore): sources, never .env, node_modules or dist.
COPY . .
RUN npm run build \
 && test -f dist/cmd/jgo.js \
 && test -f dist/scripts/docker-env.js

FROM ubuntu:24.04

LABEL org.opencontainers.image.title="jgo" \
      org.opencontainers.image.description="One chat request in, one pushed git branch out: a pipeline of composable stages around codex exec." \
      org.opencontainers.image.source="https://github.com/jungju/jgo" \
      org.opencontainers.image.licenses="MIT"

ARG TARGETARCH
# The codex CLI from the npm registry, pinned: the exact version package.json and package-lock.json
# give the @openai/codex devDependency, which the tests drive (test/deploy/dockerfile.test.ts checks).
ARG CODEX_VERSION=0.171.0
# kubectl's minor release line: pkgs.k8s.io has one apt repository per minor release.
ARG KUBECTL_MINOR=v1.34
# AWS CLI v2: empty for the current release, or a version such as 2.27.50.
ARG AWS_CLI_VERSION=

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# git, certificates, the C++ runtime node links against, tini (PID 1: codex leaves orphaned
# grandchildren that node would never reap), and gh and kubectl from their publishers' signed
# apt repositories.
RUN set -eux; \
    export DEBIAN_FRONTEND=noninteractive; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl git libstdc++6 tini; \
    install -d -m 0755 /etc/apt/keyrings; \
    curl -fsSL https://cli.github.com/packages/githubcli-archive-keyring.gpg \
      -o /etc/apt/keyrings/githubcli-archive-keyring.gpg; \
    echo "deb [arch=$(dpkg --print-architecture) signed-by=/etc/apt/keyrings/githubcli-archive-keyring.gpg] https://cli.github.com/packages stable main" \
      > /etc/apt/sources.list.d/github-cli.list; \
    curl -fsSL "https://pkgs.k8s.io/core:/stable:/${KUBECTL_MINOR}/deb/Release.key" \
      -o /etc/apt/keyrings/kubernetes-apt-keyring.asc; \
    echo "deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.asc] https://pkgs.k8s.io/core:/stable:/${KUBECTL_MINOR}/deb/ /" \
      > /etc/apt/sources.list.d/kubernetes.list; \
    apt-get update; \
    apt-get install -y --no-install-recommends gh kubectl; \
    rm -rf /var/lib/apt/lists/*; \
    git --version; gh --version; kubectl version --client

# AWS CLI v2: the official installer for the target architecture.
RUN set -eux; \
    export DEBIAN_FRONTEND=noninteractive; \
    arch="${TARGETARCH:-$(dpkg --print-architecture)}"; \
    case "$arch" in \
      amd64) aws_arch=x86_64 ;; \
      arm64) aws_arch=aarch64 ;; \
      *) echo "no AWS CLI v2 build for $arch" >&2; exit 1 ;; \
    esac; \
    apt-get update; \
    apt-get install -y --no-install-recommends unzip; \
    tmp="$(mktemp -d)"; \
    curl -fsSL "https://awscli.amazonaws.com/awscli-exe-linux-${aws_arch}${AWS_CLI_VERSION:+-${AWS_CLI_VERSION}}.zip" \
      -o "$tmp/awscliv2.zip"; \
    unzip -q "$tmp/awscliv2.zip" -d "$tmp"; \
    "$tmp/aws/install" --install-dir /usr/local/aws-cli --bin-dir /usr/local/bin; \
    rm -rf "$tmp"; \
    apt-get purge -y --auto-remove unzip; \
    rm -rf /var/lib/apt/lists/*; \
    aws --version

# Node.js and npm from the official image of the same platform; codex from the npm registry
# (npm picks the @openai/codex-linux-<arch> binary package for the platform).
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/npm
RUN set -eux; \
    ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm; \
    ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx; \
    node --version; \
    npm install -g --no-audit --no-fund --no-update-notifier "@openai/codex@${CODEX_VERSION}"; \
    npm cache clean --force; \
    rm -rf /root/.npm; \
    codex --version

# The user jgo runs as: a fixed UID (runAsNonRoot can check it) owning the cache and /work.
RUN set -eux; \
    groupadd --gid 10001 jgo; \
    useradd --uid 10001 --gid 10001 --create-home --home-dir /home/jgo --shell /bin/bash jgo; \
    install -d -o 10001 -g 10001 -m 0755 /jgo-cache /work

# jgo: the bundles only. esbuild inlines every runtime dependency, so no node_modules.
COPY --from=build /src/package.json /opt/jgo/package.json
COPY --from=build /src/dist /opt/jgo/dist
COPY --chmod=0755 scripts/docker-entrypoint.sh /opt/jgo/scripts/docker-entrypoint.sh
# Every executable in package.json's "bin" goes on PATH, and must answer --help.
RUN set -eux; \
    node -e 'for (const [name, file] of Object.entries(require("/opt/jgo/package.json").bin)) console.log(name, file)' \
      > /tmp/jgo-bins; \
    while read -r name file; do \
      ln -s "/opt/jgo/${file}" "/usr/local/bin/${name}"; \
      "${name}" --help > /dev/null; \
    done < /tmp/jgo-bins; \
    rm /tmp/jgo-bins; \
    for name in jgo jgo-gate jgo-sync jgo-worktree jgo-codex jgo-ship; do command -v "${name}"; done

ENV JGO_CACHE_DIR=/jgo-cache \
    CODEX_HOME=/jgo-cache/codex \
    GOCACHE=/jgo-cache/go-build \
    GOMODCACHE=/jgo-cache/go-mod \
    JGO_ENV_FILE=/work/.env \
    JGO_CODEX_SANDBOX=danger-full-access \
    AWS_PAGER="" \
    GH_PROMPT_DISABLED=1 \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    LANG=C.UTF-8

VOLUME ["/jgo-cache"]
WORKDIR /work
USER 10001:10001

# jgo serve listens here (deploy/deployment.yaml).
EXPOSE 8080
ENTRYPOINT ["/usr/bin/tini", "--", "/opt/jgo/scripts/docker-entrypoint.sh"]
CMD []
