import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

import { test as base, expect, type Locator, type Page } from '@playwright/test';

/** The password every test account gets; long enough for any sensible password rule. */
export const PASSWORD = 'correct horse battery staple';

/** Test photos live in ../shared beside the repository, as in CI. */
const TESTDATA_DIR =
  process.env.REKINDLE_TESTDATA_DIR ??
  path.resolve(__dirname, '..', '..', '..', 'shared', 'testdata', 'photos');

const SCREENSHOT_DIR = path.resolve(__dirname, '..', 'test-results', 'screenshots');

export function testPhoto(name: string): string {
  return path.join(TESTDATA_DIR, name);
}

/** A fresh address per call, so each test starts with its own empty account. */
export function newEmail(): string {
  return `e2e-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}@example.com`;
}

/**
 * Every page gets a flag that turns true once the WASM bundle is instantiated. The hydration
 * script calls `hydrate()` in the same chain of promise callbacks, so by the time a test sees
 * the flag the event handlers are attached; a click before that would be lost, or would
 * submit a form the old-fashioned way.
 */
export const test = base.extend({
  page: async ({ page }, use) => {
    await page.addInitScript(() => {
      const flagged = window as unknown as { __rekindleWasmReady: boolean };
      flagged.__rekindleWasmReady = false;
      const mark = <T>(result: Promise<T>): Promise<T> =>
        result.then((value) => {
          flagged.__rekindleWasmReady = true;
          return value;
        });

      const instantiate = WebAssembly.instantiate.bind(WebAssembly);
      const instantiateStreaming = WebAssembly.instantiateStreaming?.bind(WebAssembly);
      WebAssembly.instantiate = ((...args: Parameters<typeof instantiate>) =>
        mark(instantiate(...args))) as typeof WebAssembly.instantiate;
      if (instantiateStreaming) {
        WebAssembly.instantiateStreaming = (...args) => mark(instantiateStreaming(...args));
      }
    });
    await use(page);
  },
});

export { expect, type Page };

/** Waits until the current document has hydrated (see `test` above). */
export async function waitForHydration(page: Page): Promise<void> {
  await page.waitForFunction(
    () => (window as unknown as { __rekindleWasmReady?: boolean }).__rekindleWasmReady === true,
    null,
    { timeout: 60_000 },
  );
  // Two animation frames: anything hydration scheduled for later has run too.
  await page.evaluate(
    () => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))),
  );
}

/** Opens PATH with a full page load and waits for hydration. */
export async function openPage(page: Page, pathname: string): Promise<void> {
  await page.goto(pathname);
  await waitForHydration(page);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}

/** Registers a new account through /register and returns its email; ends on /photos. */
export async function registerNewUser(page: Page): Promise<string> {
  const email = newEmail();
  await openPage(page, '/register');
  await page.locator('input[name=email]').fill(email);
  await page.locator('input[name=password]').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/photos');
  await expect(page.getByTestId('user-email')).toHaveText(email);

  return email;
}

export async function logIn(page: Page, email: string, password = PASSWORD): Promise<void> {
  await page.locator('input[name=email]').fill(email);
  await page.locator('input[name=password]').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

/**
 * Polls ATTRIBUTE of LOCATOR until it equals WANTED, and fails at once on a value in FAIL_ON
 * rather than waiting out the timeout. Returns the distinct values seen, in order.
 */
export async function waitForAttribute(
  locator: Locator,
  attribute: string,
  wanted: string,
  options: { failOn?: string[]; timeoutMs: number },
): Promise<string[]> {
  const seen: string[] = [];
  const deadline = Date.now() + options.timeoutMs;

  for (;;) {
    const value = await locator.getAttribute(attribute);
    if (value !== null && seen[seen.length - 1] !== value) {
      seen.push(value);
    }
    if (value === wanted) {
      return seen;
    }
    if (value !== null && options.failOn?.includes(value)) {
      throw new Error(`${attribute} became "${value}" (seen: ${seen.join(' → ')})`);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${attribute} did not become "${wanted}" within ${options.timeoutMs / 1000} s ` +
          `(seen: ${seen.join(' → ') || 'nothing'})`,
      );
    }
    await locator.page().waitForTimeout(250);
  }
}

/** Waits until IMG has loaded a real picture and returns its natural size. */
export async function expectImageLoaded(img: Locator): Promise<{ width: number; height: number }> {
  await img.scrollIntoViewIfNeeded();
  await expect
    .poll(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0), {
      message: `image ${await img.getAttribute('src')} should load`,
      timeout: 30_000,
    })
    .toBe(true);

  return img.evaluate((el: HTMLImageElement) => ({
    width: el.naturalWidth,
    height: el.naturalHeight,
  }));
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Checks BYTES is a PNG file (signature and IHDR header) and returns its pixel size. */
export function expectPng(bytes: Buffer): { width: number; height: number } {
  expect(bytes.length, 'PNG file size').toBeGreaterThan(PNG_SIGNATURE.length + 25);
  expect(bytes.subarray(0, 8).equals(PNG_SIGNATURE), 'PNG signature').toBe(true);
  expect(bytes.toString('latin1', 12, 16), 'first chunk').toBe('IHDR');

  return { width: bytes.readUInt32BE(16), height: bytes.readUInt32BE(20) };
}
