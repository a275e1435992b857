# etcd-monitor container image: multi-stage, production dependencies only, non-root,
# works with a read-only root filesystem (nothing is written outside /tmp).
# Node 26 is the Active LTS line since October 2026.
ARG NODE_IMAGE=node:26-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json tsconfig.dashboard.json ./
COPY scripts ./scripts
COPY web ./web
COPY src ./src
RUN npm run build && npm prune --omit=dev --ignore-scripts && npm cache clean --force

FROM ${NODE_IMAGE}
LABEL org.opencontainers.image.title="etcd-monitor" \
      org.opencontainers.image.description="Makes the health of etcd clusters visible: operator, standalone monitor, API, metrics" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV NODE_ENV=production
# The V8 heap limit the binary's own shebang sets (src/cli/main.ts; the chart sets operator.maxHeapMiB):
# below V8's default for a big host it also keeps the heap from growing to several times the live data.
ENV NODE_OPTIONS=--max-old-space-size=512
WORKDIR /app
COPY --from=build --chown=0:0 /app/package.json ./package.json
COPY --from=build --chown=0:0 /app/node_modules ./node_modules
COPY --from=build --chown=0:0 /app/dist ./dist
# 65532: the conventional "nonroot" UID; owns nothing in the image, so the image is immutable to it.
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "/app/dist/cli/main.js"]
CMD ["operator"]
