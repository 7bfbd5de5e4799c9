# syntax=docker/dockerfile:1
# Reflexia server image: API + web UI on 8000, Prometheus metrics on 9090, data in the /data volume.
# Build: docker build -t reflexia .
# Run:   docker run -e API_KEY="$(openssl rand -hex 32)" -p 8000:8000 -p 9090:9090 -v reflexia-data:/data reflexia
# Both listeners bind all interfaces in the container, so the image requires an API key by default (ENABLE_AUTH=true)
# on the API and on /metrics; pass -e ENABLE_AUTH=false only on a network you trust.

FROM node:20-slim AS deps
WORKDIR /app
# The package's install script compiles the native decode engine (native/, node-gyp): it needs python3, make
# and a C++17 compiler, in this stage only.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# The prebuilt llama.cpp binaries arrive as npm optional dependencies; never fall back to a source build here.
ENV NODE_LLAMA_CPP_SKIP_DOWNLOAD=true
COPY package.json package-lock.json ./
COPY native ./native
# --omit=dev leaves out our node-gyp; native/build.mjs then uses the one npm ships (npm_config_node_gyp).
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force \
 && test -f native/build/Release/reflexia_native.node
# The CUDA/Vulkan prebuilts are ~600 MB; a CPU image does not need them (build with KEEP_GPU_BINARIES=true
# on a GPU base image to keep them).
ARG KEEP_GPU_BINARIES=false
RUN if [ "$KEEP_GPU_BINARIES" != "true" ]; then \
      rm -rf node_modules/@node-llama-cpp/*-cuda* node_modules/@node-llama-cpp/*-vulkan; \
    fi

FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    METRICS_PORT=9090 \
    ENABLE_AUTH=true \
    REFLEXIA_HOME=/data \
    NODE_LLAMA_CPP_GPU=false
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
# The addon finds the llama.cpp libraries through an $ORIGIN-relative rpath, so /app keeps the same layout.
COPY --from=deps --chown=root:root /app/native ./native
COPY --chown=root:root package.json package-lock.json tsconfig.json ./
COPY --chown=root:root bin ./bin
COPY --chown=root:root src ./src
COPY --chown=root:root web ./web
COPY --chown=root:root scripts/build-web.mjs ./scripts/build-web.mjs
# The deps stage installed before web/ was there: bundle the web UI now (esbuild is a dependency; offline).
RUN node scripts/build-web.mjs
# The code stays root-owned and read-only to the server; only /data (REFLEXIA_HOME) belongs to the
# unprivileged "node" user (uid 1000) that the image's own base provides.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8000 9090
# node:20-slim has no curl; Node 20's global fetch does the probe.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "bin/reflexia.js", "serve"]
