import { Injectable } from '@nestjs/common';
import { Response } from 'express';
import { LmsEmulatorConfig } from '../lms-emulator.config';
import { LmsHttpError } from '../lms-http.error';

const DURATION_MS = 60_000;

/**
 * EnrollmentUserThrottle (openedx/core/djangoapps/enrollments/views.py), a DRF UserRateThrottle:
 * 120 requests a minute for staff, 40 for anyone else, per user, over a sliding minute. Over it: 429
 * `{"detail": "Request was throttled. Expected available in N seconds."}` with Retry-After, the wait
 * DRF computes (the minute's rest spread over the requests it will allow again).
 */
@Injectable()
export class EnrollmentThrottle {
  private readonly history = new Map<string, number[]>();

  constructor(private readonly config: LmsEmulatorConfig) {}

  check(res: Response, user: { key: string; staff: boolean }): void {
    if (!this.config.LMS_ENROLLMENT_API_THROTTLE) return;
    const limit = user.staff ? 120 : 40;
    const now = Date.now();
    const recent = (this.history.get(user.key) ?? []).filter((t) => t > now - DURATION_MS);
    if (recent.length >= limit) {
      const wait = Math.ceil((DURATION_MS - (now - recent[0])) / 1000 / (limit - recent.length + 1));
      this.history.set(user.key, recent);
      res.setHeader('Retry-After', String(Math.max(1, wait)));
      throw new LmsHttpError(429, {
        detail: `Request was throttled. Expected available in ${Math.max(1, wait)} seconds.`,
      });
    }
    recent.push(now);
    this.history.set(user.key, recent);
  }
}
