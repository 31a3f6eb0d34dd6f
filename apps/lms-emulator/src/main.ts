import 'reflect-metadata';
import { bootstrapService } from '@groups-sync/observability';
import { AppModule, config } from './app.module';

void bootstrapService(AppModule, {
  title: 'lms-emulator',
  port: config.PORT,
  opsPort: config.OPS_PORT,
  host: config.HOST,
  openApi: true,
  jsonBodyLimit: '10mb',
}); // bulk user fixtures
