import { readFile } from 'node:fs/promises';

import {
  expect,
  expectImageLoaded,
  expectPng,
  registerNewUser,
  test,
  testPhoto,
  waitForAttribute,
  waitForHydration,
} from './support';

const JOB_TIMEOUT_MS = 120_000;
const UPLOAD_TIMEOUT_MS = 60_000;

test('a photo goes from upload to restored download without a page reload', async ({ page }) => {
  await registerNewUser(page);
  await expect(page.getByTestId('gallery-empty')).toBeVisible();

  // Choosing the file is enough: no extra click to upload.
  await page.getByTestId('upload-input').setInputFiles(testPhoto('scratched-a.png'));
  const upload = page.getByTestId('upload-item');
  await expect(upload).toHaveCount(1);
  await waitForAttribute(upload, 'data-state', 'done', {
    failOn: ['error'],
    timeoutMs: UPLOAD_TIMEOUT_MS,
  });

  const card = page.getByTestId('gallery').getByTestId('photo-card');
  await expect(card).toHaveCount(1);
  await expect(card).toHaveAttribute('href', /^\/photos\/[^/?#]+$/);
  await expectImageLoaded(card.getByTestId('photo-thumb'));
  await expect(page.getByTestId('gallery-empty')).toHaveCount(0);

  await card.click();
  await page.waitForURL(/\/photos\/[^/?#]+$/);
  await waitForHydration(page);

  // A full reload would drop this marker and fire `load`; live updates must do neither.
  const marker = `restore-${Date.now()}`;
  await page.evaluate((value) => {
    (window as unknown as { __rekindleMarker: string }).__rekindleMarker = value;
  }, marker);
  let documentLoads = 0;
  page.on('load', () => documentLoads++);

  await page.getByTestId('restore-button').click();
  const status = page.getByTestId('job-status');
  await expect(status).toBeVisible();
  await expect(status).toHaveAttribute(
    'data-status',
    /^(queued|running|completed|failed|cancelled|timed_out)$/,
  );
  if ((await status.getAttribute('data-status')) !== 'completed') {
    await expect(page.getByTestId('job-progress')).toBeAttached();
    await expect(page.getByTestId('job-progress')).toHaveJSProperty('tagName', 'PROGRESS');
  }

  const statuses = await waitForAttribute(status, 'data-status', 'completed', {
    failOn: ['failed', 'cancelled', 'timed_out'],
    timeoutMs: JOB_TIMEOUT_MS,
  });
  test.info().annotations.push({ type: 'job statuses seen', description: statuses.join(' → ') });

  const before = page.getByTestId('before-after').getByTestId('before-image');
  const after = page.getByTestId('before-after').getByTestId('after-image');
  const beforeSize = await expectImageLoaded(before);
  const afterSize = await expectImageLoaded(after);
  expect(beforeSize.width).toBeGreaterThan(0);
  expect(afterSize.width).toBeGreaterThan(0);

  const link = page.getByTestId('download-link');
  const href = await link.getAttribute('href');
  expect(href, 'download link href').toBeTruthy();
  const response = await page.request.get(href!);
  expect(response.status()).toBe(200);
  expect(response.headers()['content-disposition'] ?? '').toMatch(/^attachment/i);

  const downloadEvent = page.waitForEvent('download');
  await link.click();
  const download = await downloadEvent;
  expect(download.suggestedFilename()).toMatch(/\.png$/i);
  const bytes = await readFile(await download.path());
  expect(bytes.length, 'restored PNG size in bytes').toBeGreaterThan(1_000);
  expect(bytes.length, 'restored PNG size in bytes').toBeLessThan(100_000_000);
  const png = expectPng(bytes);
  expect(png.width).toBeGreaterThan(0);
  expect(png.height).toBeGreaterThan(0);

  expect(documentLoads, 'full page loads after starting the restoration').toBe(0);
  const markerAfter = await page.evaluate(
    () => (window as unknown as { __rekindleMarker?: string }).__rekindleMarker,
  );
  expect(markerAfter, 'the page was reloaded during the restoration').toBe(marker);
});

test('several photos chosen at once are all uploaded to the gallery', async ({ page }) => {
  await registerNewUser(page);

  await page
    .getByTestId('upload-input')
    .setInputFiles([testPhoto('old-a.png'), testPhoto('scratched-b.png')]);
  const uploads = page.getByTestId('upload-item');
  await expect(uploads).toHaveCount(2);
  for (const upload of await uploads.all()) {
    await waitForAttribute(upload, 'data-state', 'done', {
      failOn: ['error'],
      timeoutMs: UPLOAD_TIMEOUT_MS,
    });
  }

  const cards = page.getByTestId('gallery').getByTestId('photo-card');
  await expect(cards).toHaveCount(2);
  for (const card of await cards.all()) {
    await expectImageLoaded(card.getByTestId('photo-thumb'));
  }
});
