// The seed's queue path: NestJS 11 + TypeORM + pg serving POST /api/users on PostgreSQL as bench/peers/nestjs-db does,
// except that, as the seed does, the sign-up adds a Bull job (@nestjs/bull 11 + bull 4 on Redis) once the user is
// saved, and the processor (the seed's email.processor.ts) sends the welcome email with nodemailer over pooled SMTP and
// counts queue_jobs_completed_total / queue_jobs_failed_total by queue. One node process serves and processes, as the
// seed runs it. Written the way the NestJS and Bull docs write it, not tuned beyond that.
// Run: node dist/main.js --port=PORT with DATABASE_URL=postgres://..., REDIS_PORT, SMTP_PORT (127.0.0.1).
import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import {
  Body, ConflictException, Controller, Injectable, Module, Post, ValidationPipe,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import { BullModule, InjectQueue, Process, Processor } from '@nestjs/bull';
import { InjectMetric, PrometheusModule, makeCounterProvider } from '@willsoto/nestjs-prometheus';
import { IsEmail, IsString, Length, MaxLength } from 'class-validator';
import { Counter } from 'prom-client';
import { Column, Entity, PrimaryColumn, QueryFailedError, Repository } from 'typeorm';
import type { Job, Queue } from 'bull';
import * as nodemailer from 'nodemailer';

const EMAIL_QUEUE = 'email';

@Entity('users')
class User {
  @PrimaryColumn('uuid') id!: string;
  @Column({ type: 'varchar', length: 100 }) name!: string;
  @Column({ type: 'varchar', length: 254, unique: true }) email!: string;
  @Column({ name: 'created_at', type: 'timestamptz' }) createdAt!: Date;
}

class CreateUserDto {
  @IsString() @Length(1, 100) name!: string;
  @IsString() @IsEmail() @MaxLength(254) email!: string;
}

interface WelcomeEmail { userId: string; name: string; email: string }

@Controller('api/users')
class UsersController {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    @InjectQueue(EMAIL_QUEUE) private readonly emails: Queue<WelcomeEmail>,
  ) {}

  @Post()
  async create(@Body() body: CreateUserDto) {
    const name = body.name.trim();
    const email = body.email.trim().toLowerCase();
    if (await this.users.exists({ where: { email } })) {
      throw new ConflictException(`A user with email '${email}' already exists.`);
    }
    const user = { id: randomUUID(), name, email, createdAt: new Date() };
    try {
      await this.users.insert(user);
    } catch (error) {
      if (error instanceof QueryFailedError && (error.driverError as { code?: string }).code === '23505') {
        throw new ConflictException(`A user with email '${email}' already exists.`);
      }
      throw error;
    }
    // The seed's way: the job is added after the commit (no outbox), with retries and a back-off.
    await this.emails.add({ userId: user.id, name, email }, {
      attempts: 5, backoff: { type: 'exponential', delay: 10_000 }, removeOnComplete: true,
    });
    return user;
  }
}

@Processor(EMAIL_QUEUE)
@Injectable()
class EmailProcessor {
  // pool: true keeps SMTP connections open and reuses them (at most maxConnections), as our EmailSender does.
  private readonly transport = nodemailer.createTransport({
    host: '127.0.0.1', port: Number(process.env.SMTP_PORT ?? 25), secure: false, ignoreTLS: true,
    pool: true, maxConnections: 5, maxMessages: Infinity,
  });

  constructor(
    @InjectMetric('queue_jobs_completed_total') private readonly completed: Counter<string>,
    @InjectMetric('queue_jobs_failed_total') private readonly failed: Counter<string>,
  ) {}

  @Process({ concurrency: 5 })
  async sendWelcome(job: Job<WelcomeEmail>) {
    try {
      await this.transport.sendMail({
        from: 'no-reply@localhost',
        to: { name: job.data.name, address: job.data.email },
        messageId: `welcome-${job.data.userId}@nest.local`,
        subject: `Welcome, ${job.data.name}!`,
        text: `Hello ${job.data.name},\n\nyour account (${job.data.email}) has been created. Welcome aboard!\n`,
      });
      this.completed.inc({ queue: EMAIL_QUEUE });
    } catch (error) {
      this.failed.inc({ queue: EMAIL_QUEUE });
      throw error;
    }
  }
}

@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: process.env.DATABASE_URL,
      entities: [User],
      synchronize: true,
      extra: { max: 32 },
    }),
    TypeOrmModule.forFeature([User]),
    BullModule.forRoot({ redis: { host: '127.0.0.1', port: Number(process.env.REDIS_PORT ?? 6379) } }),
    BullModule.registerQueue({ name: EMAIL_QUEUE }),
    PrometheusModule.register({ path: '/metrics', defaultMetrics: { enabled: true } }),
  ],
  controllers: [UsersController],
  providers: [
    EmailProcessor,
    makeCounterProvider({ name: 'queue_jobs_completed_total', help: 'Jobs completed, by queue.', labelNames: ['queue'] }),
    makeCounterProvider({ name: 'queue_jobs_failed_total', help: 'Job attempts failed, by queue.', labelNames: ['queue'] }),
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
