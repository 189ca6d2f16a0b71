// `npx drizzle-kit generate --config drizzle.config.mjs` (from services/history) writes a
// migration for schema changes. Plain .mjs so it needs no tsconfig of its own.
export default {
  dialect: 'sqlite',
  schema: './src/store/schema.ts',
  out: './drizzle',
};
