# One image for the three services and the LMS emulator; docker-compose.yml picks the app with APP.
FROM node:20.20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx tsc -p tsconfig.build.json && cp -r libs/contracts/src/schemas dist/libs/contracts/src/ && npm prune --omit=dev

FROM node:20.20-bookworm-slim
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
