"use strict";
var __decorate = (this && this.__decorate) || function (decorators, target, key, desc) {
    var c = arguments.length, r = c < 3 ? target : desc === null ? desc = Object.getOwnPropertyDescriptor(target, key) : desc, d;
    if (typeof Reflect === "object" && typeof Reflect.decorate === "function") r = Reflect.decorate(decorators, target, key, desc);
    else for (var i = decorators.length - 1; i >= 0; i--) if (d = decorators[i]) r = (c < 3 ? d(r) : c > 3 ? d(target, key, r) : d(target, key)) || r;
    return c > 3 && r && Object.defineProperty(target, key, r), r;
};
var __metadata = (this && this.__metadata) || function (k, v) {
    if (typeof Reflect === "object" && typeof Reflect.metadata === "function") return Reflect.metadata(k, v);
};
var __param = (this && this.__param) || function (paramIndex, decorator) {
    return function (target, key) { decorator(target, key, paramIndex); }
};
Object.defineProperty(exports, "__esModule", { value: true });
// The seed's real stack on the real path: NestJS 11 + TypeORM + pg serving the same users API as src/Api on the same
// PostgreSQL (class-validator on the body, 409 on a duplicate email, a welcome-email outbox row inserted in the
// sign-up's transaction), with the seed's HTTP metrics through @willsoto/nestjs-prometheus + prom-client. Written the
// way the NestJS docs write it (repositories, DataSource.transaction, ValidationPipe), not tuned beyond that.
// Run: node dist/main.js --port=PORT with DATABASE_URL=postgres://...; the schema is created at start (synchronize).
require("reflect-metadata");
const node_crypto_1 = require("node:crypto");
const common_1 = require("@nestjs/common");
const core_1 = require("@nestjs/core");
const typeorm_1 = require("@nestjs/typeorm");
const nestjs_prometheus_1 = require("@willsoto/nestjs-prometheus");
const class_transformer_1 = require("class-transformer");
const class_validator_1 = require("class-validator");
const prom_client_1 = require("prom-client");
const rxjs_1 = require("rxjs");
const typeorm_2 = require("typeorm");
let User = class User {
    id;
    name;
    email;
    createdAt;
};
__decorate([
    (0, typeorm_2.PrimaryColumn)('uuid'),
    __metadata("design:type", String)
], User.prototype, "id", void 0);
__decorate([
    (0, typeorm_2.Column)({ type: 'varchar', length: 100 }),
    __metadata("design:type", String)
], User.prototype, "name", void 0);
__decorate([
    (0, typeorm_2.Column)({ type: 'varchar', length: 254, unique: true }),
    __metadata("design:type", String)
], User.prototype, "email", void 0);
__decorate([
    (0, typeorm_2.Column)({ name: 'created_at', type: 'timestamptz' }),
    __metadata("design:type", Date)
], User.prototype, "createdAt", void 0);
User = __decorate([
    (0, typeorm_2.Entity)('users')
], User);
let PendingWelcomeEmail = class PendingWelcomeEmail {
    userId;
    name;
    email;
    claimedUntil;
    claimToken;
};
__decorate([
    (0, typeorm_2.PrimaryColumn)('uuid', { name: 'user_id' }),
    __metadata("design:type", String)
], PendingWelcomeEmail.prototype, "userId", void 0);
__decorate([
    (0, typeorm_2.Column)({ type: 'varchar', length: 100 }),
    __metadata("design:type", String)
], PendingWelcomeEmail.prototype, "name", void 0);
__decorate([
    (0, typeorm_2.Column)({ type: 'varchar', length: 254 }),
    __metadata("design:type", String)
], PendingWelcomeEmail.prototype, "email", void 0);
__decorate([
    (0, typeorm_2.Column)({ name: 'claimed_until', type: 'bigint', default: 0 }),
    __metadata("design:type", String)
], PendingWelcomeEmail.prototype, "claimedUntil", void 0);
__decorate([
    (0, typeorm_2.Column)({ name: 'claim_token', type: 'uuid', nullable: true }),
    __metadata("design:type", Object)
], PendingWelcomeEmail.prototype, "claimToken", void 0);
PendingWelcomeEmail = __decorate([
    (0, typeorm_2.Entity)('welcome_email_outbox')
], PendingWelcomeEmail);
class CreateUserDto {
    name;
    email;
}
__decorate([
    (0, class_validator_1.IsString)(),
    (0, class_validator_1.Length)(1, 100),
    __metadata("design:type", String)
], CreateUserDto.prototype, "name", void 0);
__decorate([
    (0, class_validator_1.IsString)(),
    (0, class_validator_1.IsEmail)(),
    (0, class_validator_1.MaxLength)(254),
    __metadata("design:type", String)
], CreateUserDto.prototype, "email", void 0);
class PageQuery {
    page = 1;
    pageSize = 20;
}
__decorate([
    (0, class_validator_1.IsOptional)(),
    (0, class_transformer_1.Type)(() => Number),
    (0, class_validator_1.IsInt)(),
    (0, class_validator_1.Min)(1),
    (0, class_validator_1.Max)(1_000_000),
    __metadata("design:type", Object)
], PageQuery.prototype, "page", void 0);
__decorate([
    (0, class_validator_1.IsOptional)(),
    (0, class_transformer_1.Type)(() => Number),
    (0, class_validator_1.IsInt)(),
    (0, class_validator_1.Min)(1),
    (0, class_validator_1.Max)(100),
    __metadata("design:type", Object)
], PageQuery.prototype, "pageSize", void 0);
const toResponse = (user) => ({ id: user.id, name: user.name, email: user.email, createdAt: user.createdAt });
let UsersController = class UsersController {
    users;
    dataSource;
    constructor(users, dataSource) {
        this.users = users;
        this.dataSource = dataSource;
    }
    async create(body) {
        const name = body.name.trim();
        const email = body.email.trim().toLowerCase();
        if (await this.users.exists({ where: { email } })) {
            throw new common_1.ConflictException(`A user with email '${email}' already exists.`);
        }
        try {
            // insert, not save: save would first SELECT the row by id to choose between INSERT and UPDATE.
            const user = { id: (0, node_crypto_1.randomUUID)(), name, email, createdAt: new Date() };
            await this.dataSource.transaction(async (manager) => {
                await manager.insert(User, user);
                await manager.insert(PendingWelcomeEmail, { userId: user.id, name, email });
            });
            return toResponse(user);
        }
        catch (error) {
            // A concurrent sign-up with the same address won the race to the unique index.
            if (error instanceof typeorm_2.QueryFailedError && error.driverError.code === '23505') {
                throw new common_1.ConflictException(`A user with email '${email}' already exists.`);
            }
            throw error;
        }
    }
    async get(id) {
        const user = await this.users.findOneBy({ id });
        if (!user)
            throw new common_1.NotFoundException(`No user has id ${id}.`);
        return toResponse(user);
    }
    async list(query) {
        const [items, total] = await this.users.findAndCount({
            order: { id: 'ASC' },
            skip: (query.page - 1) * query.pageSize,
            take: query.pageSize,
        });
        return { items: items.map(toResponse), page: query.page, pageSize: query.pageSize, total };
    }
};
__decorate([
    (0, common_1.Post)(),
    __param(0, (0, common_1.Body)()),
    __metadata("design:type", Function),
    __metadata("design:paramtypes", [CreateUserDto]),
    __metadata("design:returntype", Promise)
], UsersController.prototype, "create", null);
__decorate([
    (0, common_1.Get)(':id'),
    __param(0, (0, common_1.Param)('id', new common_1.ParseUUIDPipe())),
    __metadata("design:type", Function),
    __metadata("design:paramtypes", [String]),
    __metadata("design:returntype", Promise)
], UsersController.prototype, "get", null);
__decorate([
    (0, common_1.Get)(),
    __param(0, (0, common_1.Query)()),
    __metadata("design:type", Function),
    __metadata("design:paramtypes", [PageQuery]),
    __metadata("design:returntype", Promise)
], UsersController.prototype, "list", null);
UsersController = __decorate([
    (0, common_1.Controller)('api/users'),
    __param(0, (0, typeorm_1.InjectRepository)(User)),
    __metadata("design:paramtypes", [typeorm_2.Repository,
        typeorm_2.DataSource])
], UsersController);
let HttpMetricsInterceptor = class HttpMetricsInterceptor {
    requests;
    duration;
    constructor(requests, duration) {
        this.requests = requests;
        this.duration = duration;
    }
    intercept(context, next) {
        const http = context.switchToHttp();
        const request = http.getRequest();
        const end = this.duration.startTimer();
        const record = () => {
            const labels = {
                method: request.method,
                route: request.route?.path ?? 'unmatched',
                status: String(http.getResponse().statusCode),
            };
            this.requests.inc(labels);
            end(labels);
        };
        return next.handle().pipe((0, rxjs_1.tap)({ next: record, error: record }));
    }
};
HttpMetricsInterceptor = __decorate([
    (0, common_1.Injectable)(),
    __param(0, (0, nestjs_prometheus_1.InjectMetric)('http_requests_total')),
    __param(1, (0, nestjs_prometheus_1.InjectMetric)('http_request_duration_seconds')),
    __metadata("design:paramtypes", [prom_client_1.Counter,
        prom_client_1.Histogram])
], HttpMetricsInterceptor);
let AppModule = class AppModule {
};
AppModule = __decorate([
    (0, common_1.Module)({
        imports: [
            typeorm_1.TypeOrmModule.forRoot({
                type: 'postgres',
                url: process.env.DATABASE_URL,
                entities: [User, PendingWelcomeEmail],
                synchronize: true,
                // pg's default pool is 10 connections; the .NET side's Npgsql pool is 100, both far above wrk's 32.
                extra: { max: 32 },
            }),
            typeorm_1.TypeOrmModule.forFeature([User]),
            nestjs_prometheus_1.PrometheusModule.register({ path: '/metrics', defaultMetrics: { enabled: true } }),
        ],
        controllers: [UsersController],
        providers: [
            (0, nestjs_prometheus_1.makeCounterProvider)({
                name: 'http_requests_total',
                help: 'HTTP requests handled, by method, route template and status code.',
                labelNames: ['method', 'route', 'status'],
            }),
            (0, nestjs_prometheus_1.makeHistogramProvider)({
                name: 'http_request_duration_seconds',
                help: 'Time from the first byte of the request to the end of the response, in seconds.',
                labelNames: ['method', 'route', 'status'],
                buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
            }),
            { provide: core_1.APP_INTERCEPTOR, useClass: HttpMetricsInterceptor },
        ],
    })
], AppModule);
async function main() {
    const portArg = process.argv.find((arg) => arg.startsWith('--port='));
    const port = Number(portArg?.slice('--port='.length) ?? 3000);
    const app = await core_1.NestFactory.create(AppModule, { logger: ['error', 'warn'] });
    app.useGlobalPipes(new common_1.ValidationPipe({ transform: true, whitelist: true }));
    await app.listen(port, '127.0.0.1');
    console.log(`listening on http://127.0.0.1:${port}`);
}
void main();
