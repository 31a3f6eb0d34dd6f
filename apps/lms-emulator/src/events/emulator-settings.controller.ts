import { Body, Controller, Delete, Get, HttpCode, Put, UseFilters } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { LmsErrorFilter } from '../lms-http.error';
import { EmulatorSwitches } from './emulator-switches';

/** /emulator/settings: the emulator's switches (see EmulatorSwitches); not an LMS endpoint, no token. */
@ApiTags('emulator: fixtures')
@UseFilters(LmsErrorFilter)
@Controller('emulator/settings')
export class EmulatorSettingsController {
  constructor(private readonly switches: EmulatorSwitches) {}

  @Get()
  read() {
    return this.switches.get();
  }

  @Put()
  replace(@Body() body: Record<string, unknown>) {
    return this.switches.set(body);
  }

  @Delete()
  @HttpCode(204)
  reset(): void {
    this.switches.clear();
  }
}
