import { defineConfig } from 'prisma/config';

// The CLI is used only for `prisma generate` (offline). Migrations are produced and applied by the
// project's own commands (`npm run migrate:new`, `npm run migrate`), see README.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url: process.env.DATABASE_URL ?? 'postgresql://localhost/unused' },
});
