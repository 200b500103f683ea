import type { CodegenConfig } from '@graphql-codegen/cli';

// schema.graphql is printed from the Pothos schema by `npm run codegen` (src/cli/print-schema.ts);
// the typed operations below are what the tests send.
const config: CodegenConfig = {
  schema: './schema.graphql',
  documents: ['tests/operations/**/*.graphql'],
  generates: {
    'tests/generated/operations.ts': {
      plugins: ['typescript-operations'],
      config: { useTypeImports: true, enumsAsTypes: true, avoidOptionals: false, scalars: { DateTime: 'string', JSON: 'unknown' } },
    },
  },
};

export default config;
