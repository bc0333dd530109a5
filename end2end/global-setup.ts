import type { FullConfig } from '@playwright/test';

const SERVER_START_TIMEOUT_MS = 180_000;

/**
 * Waits until the site answers. `cargo leptos end-to-end` starts the server and this suite at
 * the same moment, and a debug build takes a while to open its database and listen.
 */
export default async function globalSetup(config: FullConfig): Promise<void> {
  const baseURL = config.projects[0]?.use.baseURL ?? 'http://127.0.0.1:3000';
  const deadline = Date.now() + SERVER_START_TIMEOUT_MS;
  let lastProblem = 'no answer yet';

  while (Date.now() < deadline) {
    try {
      const response = await fetch(baseURL, { redirect: 'manual' });
      if (response.status < 500) {
        return;
      }
      lastProblem = `HTTP ${response.status}`;
    } catch (error) {
      lastProblem = error instanceof Error ? `${error.message} ${String(error.cause ?? '')}` : String(error);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }

  throw new Error(
    `The site at ${baseURL} did not answer within ${SERVER_START_TIMEOUT_MS / 1000} s ` +
      `(last: ${lastProblem}). Did the server start? See the cargo-leptos output above.`,
  );
}
