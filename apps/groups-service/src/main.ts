import 'reflect-metadata';
import { startEventConsumers } from '@groups-sync/messaging';
import { bootstrapService } from '@groups-sync/observability';
import { AppModule, config, HTTP_OPTIONS } from './app.module';

void bootstrapService(AppModule, {
  title: 'groups-service',
  port: config.PORT,
  opsPort: config.OPS_PORT,
  host: config.HOST,
  beforeListen: startEventConsumers,
  openApi: true,
  corsOrigins: config.CORS_ORIGINS,
  ...HTTP_OPTIONS,
});
