import { randomBytes } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';

import AxeBuilder from '@axe-core/playwright';
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
    // An uncaught error in the page (a hydration panic, say) fails the test, even when
    // everything the test looked at seemed fine.
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await use(page);
    expect(errors, 'uncaught errors in the page').toEqual([]);
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

/**
 * Saves a full-page screenshot as test-results/screenshots/NAME-PROJECT.png (the project is
 * `desktop` or `phone`) and attaches it to the test's report.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const info = test.info();
  const file = path.join(SCREENSHOT_DIR, `${name}-${info.project.name}.png`);
  // Images still loading would show as blank boxes.
  await page.waitForLoadState('networkidle');
  await page.screenshot({ path: file, fullPage: true, animations: 'disabled', timeout: 45_000 });
  await info.attach(name, { path: file, contentType: 'image/png' });
}

/** Serious and critical WCAG 2 A/AA violations on the current page, one line each. */
export async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();

  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target).join(', ')}`);
}

/** Fails with the list of serious or critical accessibility problems on the page, if any. */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  expect(await seriousViolations(page), `accessibility problems on ${what}`).toEqual([]);
}

/** A photo as the JSON API returns it (only the fields the tests read). */
export interface ApiPhoto {
  id: string;
  file_name: string;
  expires_at: number | null;
  latest_job: ApiJob | null;
}

export interface ApiJob {
  id: string;
  status: string;
  result_photo_id: string | null;
}

/**
 * Creates an account through the JSON API; the session cookie lands in the page's browser
 * context, so the page is signed in too. Returns the email.
 */
export async function registerViaApi(page: Page): Promise<string> {
  const email = newEmail();
  const response = await page.request.post('/api/auth/register', {
    data: { email, password: PASSWORD },
  });
  expect(response.status(), await response.text()).toBeLessThan(300);

  return email;
}

/** Uploads a test photo through the JSON API. */
export async function uploadViaApi(page: Page, name: string): Promise<ApiPhoto> {
  const response = await page.request.post('/api/photos', {
    multipart: {
      photo: { name, mimeType: 'image/png', buffer: await readFile(testPhoto(name)) },
    },
  });
  expect(response.status(), await response.text()).toBe(201);

  return (await response.json()) as ApiPhoto;
}

/** Restores a photo through the JSON API and waits for the job to complete. */
export async function restoreViaApi(page: Page, photoId: string): Promise<ApiJob> {
  const started = await page.request.post('/api/jobs/restore', { data: { photo_id: photoId } });
  expect(started.status(), await started.text()).toBeLessThan(300);
  const job = (await started.json()) as ApiJob;

  const deadline = Date.now() + 120_000;
  for (;;) {
    const response = await page.request.get(`/api/jobs/${job.id}`);
    const current = (await response.json()) as ApiJob;
    if (current.status === 'completed') {
      return current;
    }
    if (['failed', 'cancelled', 'timed_out'].includes(current.status)) {
      throw new Error(`the restoration ended ${current.status}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`the restoration did not complete within 120 s (${current.status})`);
    }
    await page.waitForTimeout(250);
  }
}

/** A signed-in page whose account holds one restored photo; returns the photo's id. */
export async function signedInWithRestoredPhoto(page: Page, name = 'scratched-a.png'): Promise<string> {
  await registerViaApi(page);
  const photo = await uploadViaApi(page, name);
  await restoreViaApi(page, photo.id);

  return photo.id;
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
