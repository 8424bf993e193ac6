import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 180_000,
    // Lab tests share one set of booted hosts; files run one at a time so they never race for them.
    fileParallelism: false,
  },
});
