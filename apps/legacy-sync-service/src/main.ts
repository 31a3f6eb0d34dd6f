import 'reflect-metadata';
import { startEventConsumers } from '@groups-sync/messaging';
import { bootstrapService } from '@groups-sync/observability';
import { AppModule, config } from './app.module';

void bootstrapService(AppModule, {
  title: 'legacy-sync-service',
  port: config.PORT,
  opsPort: config.OPS_PORT,
  host: config.HOST,
  beforeListen: startEventConsumers,
  corsOrigins: config.CORS_ORIGINS,
});
