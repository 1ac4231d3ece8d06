// The seed's stack, as the NestJS guide builds it: @willsoto/nestjs-prometheus serves /metrics, an interceptor records
// http_requests_total and http_request_duration_seconds with the same labels (method, route, status) and buckets as
// src/Api. Compiled with tsc and run with plain `node dist/main.js --port=PORT` (no ts-node, no watch mode).
import 'reflect-metadata';
import {
  CallHandler, Controller, ExecutionContext, Get, Injectable, Module, NestInterceptor,
} from '@nestjs/common';
import { APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import {
  InjectMetric, PrometheusModule, makeCounterProvider, makeHistogramProvider,
} from '@willsoto/nestjs-prometheus';
import { Counter, Histogram } from 'prom-client';
import { Observable, tap } from 'rxjs';
import type { Request, Response } from 'express';

@Injectable()
class HttpMetricsInterceptor implements NestInterceptor {
  constructor(
    @InjectMetric('http_requests_total') private readonly requests: Counter<string>,
    @InjectMetric('http_request_duration_seconds') private readonly duration: Histogram<string>,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const end = this.duration.startTimer();
    const record = () => {
      const labels = {
        method: request.method,
        route: request.route?.path ?? 'unmatched',
        status: String(http.getResponse<Response>().statusCode),
      };
      this.requests.inc(labels);
      end(labels);
    };
    return next.handle().pipe(tap({ next: record, error: record }));
  }
}

@Controller()
class RootController {
  @Get()
  root() {
    return { name: 'backend-boilerplate', version: '0.1.0' };
  }
}

@Module({
  imports: [PrometheusModule.register({ path: '/metrics', defaultMetrics: { enabled: true } })],
  controllers: [RootController],
  providers: [
    makeCounterProvider({
      name: 'http_requests_total',
      help: 'HTTP requests handled, by method, route template and status code.',
      labelNames: ['method', 'route', 'status'],
    }),
    makeHistogramProvider({
      name: 'http_request_duration_seconds',
      help: 'Time from the first byte of the request to the end of the response, in seconds.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    }),
    { provide: APP_INTERCEPTOR, useClass: HttpMetricsInterceptor },
  ],
})
class AppModule {}

async function main() {
  const portArg = process.argv.find((arg) => arg.startsWith('--port='));
  const port = Number(portArg?.slice('--port='.length) ?? 3000);
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(port, '127.0.0.1');
  console.log(`listening on http://127.0.0.1:${port}`);
}

void main();
