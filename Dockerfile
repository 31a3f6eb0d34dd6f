# One image for the three services and the LMS emulator; docker-compose.yml picks the app with APP.
# The base is pinned by digest (a tag can be re-pushed); the tag says which release it is. The digest
# is the one public Dockerfiles pin for node:20.20-bookworm-slim: verify it, and take a newer one,
# with `docker buildx imagetools inspect node:20.20-bookworm-slim` (the index digest).
FROM node:20.20-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0 AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx tsc -p tsconfig.build.json && cp -r libs/contracts/src/schemas dist/libs/contracts/src/ && npm prune --omit=dev

FROM node:20.20-bookworm-slim@sha256:2cf067cfed83d5ea958367df9f966191a942351a2df77d6f0193e162b5febfc0
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/tools/register-paths.js ./tools/register-paths.js
COPY --from=build /app/tsconfig.base.json ./tsconfig.base.json
ARG APP
ENV APP=${APP}
USER node
CMD ["sh", "-c", "exec node -r ./tools/register-paths.js dist/apps/${APP}/src/main.js"]
