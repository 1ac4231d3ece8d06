// The seed's real stack on the real path: NestJS 11 + TypeORM + pg serving the same users API as src/Api on the same
// PostgreSQL (class-validator on the body, 409 on a duplicate email, a welcome-email outbox row inserted in the
// sign-up's transaction), with the seed's HTTP metrics through @willsoto/nestjs-prometheus + prom-client. Written the
// way the NestJS docs write it (repositories, DataSource.transaction, ValidationPipe), not tuned beyond that.
// Run: node dist/main.js --port=PORT with DATABASE_URL=postgres://...; the schema is created at start (synchronize).
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import {
  Body, CallHandler, ConflictException, Controller, ExecutionContext, Get, Injectable, Module, NestInterceptor,
  NotFoundException, Param, ParseUUIDPipe, Post, Query, ValidationPipe,
} from '@nestjs/common';
import { APP_INTERCEPTOR, NestFactory } from '@nestjs/core';
import { InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import {
  InjectMetric, PrometheusModule, makeCounterProvider, makeHistogramProvider,
} from '@willsoto/nestjs-prometheus';
import { Type } from 'class-transformer';
import { IsEmail, IsInt, IsOptional, IsString, Length, Max, MaxLength, Min } from 'class-validator';
import { Counter, Histogram } from 'prom-client';
import { Observable, tap } from 'rxjs';
import { Column, DataSource, Entity, PrimaryColumn, QueryFailedError, Repository } from 'typeorm';
import type { Request, Response } from 'express';

@Entity('users')
class User {
  @PrimaryColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 100 }) name!: string;
  @Column({ type: 'varchar', length: 254, unique: true }) email!: string;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

@Entity('welcome_email_outbox')
class PendingWelcomeEmail {
  @PrimaryColumn('uuid', { name: 'user_id' }) userId!: string;
  @Column({ type: 'varchar', length: 100 }) name!: string;
  @Column({ type: 'varchar', length: 254 }) email!: string;
  @Column({ name: 'claimed_until', type: 'bigint', default: 0 }) claimedUntil!: string;
  @Column({ name: 'claim_token', type: 'uuid', nullable: true }) claimToken!: string | null;
}

class CreateUserDto {
  @IsString() @Length(1, 100) name!: string;
  @IsString() @IsEmail() @MaxLength(254) email!: string;
}

class PageQuery {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1_000_000) page = 1;
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(100) pageSize = 20;
}

const toResponse = (user: User) => ({ id: user.id, name: user.name, email: user.email, createdAt: user.createdAt });

@Controller('api/users')
class UsersController {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly dataSource: DataSource,
  ) {}

  @Post()
  async create(@Body() body: CreateUserDto) {
    const name = body.name.trim();
    const email = body.email.trim().toLowerCase();
    if (await this.users.exists({ where: { email } })) {
      throw new ConflictException(`A user with email '${email}' already exists.`);
    }
    try {
      // insert, not save: save would first SELECT the row by id to choose between INSERT and UPDATE.
      const user = { id: randomUUID(), name, email, createdAt: new Date() };
      await this.dataSource.transaction(async (manager) => {
        await manager.insert(User, user);
        await manager.insert(PendingWelcomeEmail, { userId: user.id, name, email });
      });
      return toResponse(user);
    } catch (error) {
      // A concurrent sign-up with the same address won the race to the unique index.
      if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === '23505') {
        throw new ConflictException(`A user with email '${email}' already exists.`);
      }
      throw error;
    }
  }

  @Get(':id')
  async get(@Param('id', new ParseUUIDPipe()) id: string) {
    const user = await this.users.findOneBy({ id });
    if (!user) throw new NotFoundException(`No user has id ${id}.`);
    return toResponse(user);
  }

  @Get()
  async list(@Query() query: PageQuery) {
    const [items, total] = await this.users.findAndCount({
      order: { id: 'ASC' },
      skip: (query.page - 1) * query.pageSize,
      take: query.pageSize,
    });
    return { items: items.map(toResponse), page: query.page, pageSize: query.pageSize, total };
  }
}

// The same interceptor as bench/peers/nestjs, on purpose: each peer is a standalone copy of the seed's app, built and
// run with its own node modules, as the seed's users would have it.
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

@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: process.env.DATABASE_URL,
      entities: [User, PendingWelcomeEmail],
      synchronize: true,
      // pg's default pool is 10 connections; the .NET side's Npgsql pool is 100, both far above wrk's 32.
      extra: { max: 32 },
    }),
    TypeOrmModule.forFeature([User]),
    PrometheusModule.register({ path: '/metrics', defaultMetrics: { enabled: true } }),
  ],
  controllers: [UsersController],
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
  app.useGlobalPipes(new ValidationPipe({ transform: true, whitelist: true }));
  await app.listen(port, '127.0.0.1');
  console.log(`listening on http://127.0.0.1:${port}`);
}

void main();
