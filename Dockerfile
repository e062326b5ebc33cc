# syntax=docker/dockerfile:1
# One image for both services; compose picks the command (worker or gateway).
# Debian (glibc) rather than Alpine: @temporalio/core-bridge ships no musl build.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# Manifests first so the dependency layer is reused when only sources change.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The product only: tsconfig.build.json compiles src/ (tools/, test/ and bench/ are neither copied nor compiled).
RUN npm run build:image \
 && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The image's built-in unprivileged user; the app needs no write access to /app.
USER node
EXPOSE 8080
CMD ["node", "dist/src/gateway.js"]
