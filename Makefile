# Container image: multi-arch with docker buildx. Override any variable on the command line:
#   make docker-build                                   # both platforms, kept in the build cache
#   make docker-build PLATFORMS=linux/amd64 LOAD=1      # one platform, loaded into `docker images`
#   make docker-push IMAGE=ghcr.io/acme/jgo TAG=0.1.0   # both platforms, pushed as one manifest list
#   make docker-build CODEX_VERSION=0.170.0             # another codex (default: the Dockerfile's)
IMAGE ?= ghcr.io/jungju/jgo
TAG ?= latest
PLATFORMS ?= linux/amd64,linux/arm64
# Empty: the Dockerfile's default, which is the version package-lock.json pins.
CODEX_VERSION ?=
# A builder that can build for several platforms (the docker-container driver).
BUILDER ?= jgo

BUILD_ARGS = $(if $(CODEX_VERSION),--build-arg CODEX_VERSION=$(CODEX_VERSION))
BUILDX = docker buildx build --builder $(BUILDER) --platform $(PLATFORMS) $(BUILD_ARGS) -t $(IMAGE):$(TAG)

.PHONY: help docker-builder docker-build docker-push

help:
	@echo 'make docker-build   build $(IMAGE):$(TAG) for $(PLATFORMS) (LOAD=1 with one platform: into docker images)'
	@echo 'make docker-push    build and push $(IMAGE):$(TAG) for $(PLATFORMS)'
	@echo 'jgo itself: npm ci && npm run build (README, "Install")'

# Once per machine: a docker-container builder (the default docker driver cannot build a
# multi-platform image). On x86-64 Linux without Docker Desktop, arm64 also needs QEMU:
#   docker run --privileged --rm tonistiigi/binfmt --install arm64
docker-builder:
	docker buildx inspect $(BUILDER) >/dev/null 2>&1 || docker buildx create --name $(BUILDER) --driver docker-container

docker-build: docker-builder
	$(BUILDX) $(if $(LOAD),--load) .

docker-push: docker-builder
	$(BUILDX) --push .
