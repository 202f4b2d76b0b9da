import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Native interpreters use both cores; files in parallel would only fight for them.
    fileParallelism: false,
    reporters: ['default'],
  },
});
