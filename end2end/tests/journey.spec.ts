import { readFile } from 'node:fs/promises';

import {
  PASSWORD,
  expect,
  expectAccessible,
  expectImageLoaded,
  expectPng,
  newEmail,
  openPage,
  screenshot,
  test,
  testPhoto,
  waitForAttribute,
  waitForHydration,
} from './support';

const JOB_TIMEOUT_MS = 120_000;
const UPLOAD_TIMEOUT_MS = 60_000;

// The whole journey, once at desktop size and once at phone size (playwright.config.ts):
// register, upload two photos, restore one (cancel, then try again), watch it, compare it in
// every view, download it, delete it, and look at the account. Screenshots of each main page
// are saved as test artifacts on the way.
test('the whole journey: register, upload two photos, restore, compare, download, delete', async ({
  page,
}) => {
  await openPage(page, '/');
  await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  await screenshot(page, 'home');

  // Register through the home page's call to action.
  await page.getByRole('link', { name: 'Create a free account' }).click();
  await page.waitForURL('**/register');
  await screenshot(page, 'register');
  const email = newEmail();
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/photos');
  await expect(page.getByTestId('user-email')).toHaveText(email);
  await expect(page.getByTestId('gallery-empty')).toBeVisible();
  await screenshot(page, 'photos-empty');

  // Two photos at once; each gets its own row with a progress bar until it is stored.
  await page
    .getByTestId('upload-input')
    .setInputFiles([testPhoto('old-d.png'), testPhoto('scratched-b.png')]);
  const uploads = page.getByTestId('upload-item');
  await expect(uploads).toHaveCount(2);
  for (const upload of await uploads.all()) {
    await waitForAttribute(upload, 'data-state', 'done', {
      failOn: ['error', 'cancelled'],
      timeoutMs: UPLOAD_TIMEOUT_MS,
    });
    await expect(upload.getByTestId('upload-status')).toHaveText('Uploaded');
  }
  await expect(uploads.filter({ hasText: 'old-d.png' })).toHaveCount(1);
  await expect(uploads.filter({ hasText: 'scratched-b.png' })).toHaveCount(1);

  // Free photos say how long they are kept, from the account's retention.
  const me = (await (await page.request.get('/api/me')).json()) as { retention_days: number };
  const cards = page.getByTestId('gallery').getByTestId('photo-card');
  await expect(cards).toHaveCount(2);
  for (const card of await cards.all()) {
    await expectImageLoaded(card.getByTestId('photo-thumb'));
    await expect(card.getByTestId('days-left')).toHaveText(`${me.retention_days} days left`);
  }
  await screenshot(page, 'photos-gallery');

  await cards.filter({ hasText: 'old-d.png' }).click();
  await page.waitForURL(/\/photos\/[^/?#]+$/);
  await waitForHydration(page);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('old-d.png');
  await expect(page.getByTestId('days-left')).toContainText(
    `kept for ${me.retention_days} more days`,
  );
  await expectImageLoaded(page.getByTestId('original-image'));
  await screenshot(page, 'photo-detail');

  // Start an enlargement (slow enough to cancel), cancel it, and try again.
  await page.getByText('Enlarge 2×').click();
  await page.getByTestId('restore-button').click();
  const status = page.getByTestId('job-status');
  await expect(status).toHaveAttribute('data-status', /^(queued|running)$/);
  await page.getByTestId('cancel-button').click();
  await waitForAttribute(status, 'data-status', 'cancelled', {
    failOn: ['completed', 'failed', 'timed_out'],
    timeoutMs: 30_000,
  });
  await expect(page.getByTestId('job-explanation')).toContainText('You cancelled');
  await expect(page.getByTestId('cancel-button')).toHaveCount(0);
  await expect(page.getByTestId('before-after')).toHaveCount(0);

  await page.getByTestId('retry-button').click();
  await expect(page.getByTestId('retry-button')).toHaveCount(0);
  await expect(page.getByTestId('job-explanation')).toHaveCount(0);
  // Watch the progress: the stage names what is happening in plain words.
  const stages = new Set<string>();
  const percents = new Set<number>();
  const seen = await (async () => {
    const statuses: string[] = [];
    const deadline = Date.now() + JOB_TIMEOUT_MS;
    for (;;) {
      // Read at once: the stage can vanish between two separate look-ups.
      const now = await page.evaluate(() => ({
        status: document.querySelector('[data-testid=job-status]')?.getAttribute('data-status'),
        stage: document.querySelector('[data-testid=job-stage]')?.textContent ?? null,
        percent: document.querySelector('[data-testid=job-progress]')?.getAttribute('value'),
      }));
      const value = now.status ?? null;
      if (value && statuses[statuses.length - 1] !== value) statuses.push(value);
      if (value === 'completed') return statuses;
      if (value && ['failed', 'cancelled', 'timed_out'].includes(value)) {
        throw new Error(`the restoration ended ${value} (seen ${statuses.join(' → ')})`);
      }
      if (value === 'running') {
        if (now.stage) stages.add(now.stage.trim());
        if (now.percent != null) percents.add(Number(now.percent));
      }
      if (Date.now() > deadline) throw new Error(`no completion (seen ${statuses.join(' → ')})`);
      await page.waitForTimeout(100);
    }
  })();
  test.info().annotations.push({ type: 'job statuses seen', description: seen.join(' → ') });
  test.info().annotations.push({ type: 'stages seen', description: [...stages].join(', ') });
  expect(seen[0], 'the retried job starts afresh').toMatch(/^(queued|running)$/);
  for (const stage of stages) {
    expect(stage, 'stages read as words, not codes').toMatch(/^· [A-Z][a-z]+( [a-z]+)*$/);
  }
  for (const percent of percents) {
    expect(percent).toBeGreaterThanOrEqual(0);
    expect(percent).toBeLessThanOrEqual(100);
  }

  // Compare: the slider first.
  const compare = page.getByTestId('before-after');
  const before = compare.getByTestId('before-image');
  const after = compare.getByTestId('after-image');
  const original = await expectImageLoaded(before);
  const restored = await expectImageLoaded(after);
  expect(restored.width, 'the enlargement doubled the width').toBe(original.width * 2);
  await expect(compare).toHaveAttribute('data-mode', 'slider');
  await screenshot(page, 'photo-restored');

  // Side by side: two pictures next to each other.
  await page.getByTestId('compare-mode-side').click();
  await expect(compare).toHaveAttribute('data-mode', 'side-by-side');
  await expect(page.getByTestId('compare-mode-side')).toHaveAttribute('aria-pressed', 'true');
  await expectImageLoaded(before);
  await expectImageLoaded(after);
  const left = (await before.boundingBox())!;
  const right = (await after.boundingBox())!;
  expect(right.x, 'the restored photo is right of the original').toBeGreaterThanOrEqual(
    left.x + left.width - 1,
  );
  expect(Math.abs(right.y - left.y), 'both on the same row').toBeLessThan(2);
  await screenshot(page, 'photo-side-by-side');

  // Zoom in: both halves get bigger than their frames and pan together.
  await page.getByTestId('zoom-4x').click();
  await expect(compare).toHaveAttribute('data-zoom', '4');
  const panes = [page.getByTestId('compare-pane-before'), page.getByTestId('compare-pane-after')];
  for (const pane of panes) {
    await expect
      .poll(() => pane.evaluate((el) => el.scrollWidth / el.clientWidth))
      .toBeGreaterThan(3.5);
  }
  // Zooming keeps the middle of the picture in view.
  await expect.poll(() => panes[0].evaluate((el) => el.scrollLeft)).toBeGreaterThan(0);
  await panes[0].evaluate((el) => {
    el.scrollLeft = 40;
    el.scrollTop = 30;
  });
  await expect.poll(() => panes[1].evaluate((el) => [el.scrollLeft, el.scrollTop])).toEqual([40, 30]);
  await screenshot(page, 'photo-zoomed');
  await page.getByTestId('zoom-1x').click();
  await page.getByTestId('compare-mode-slider').click();
  await expect(compare).toHaveAttribute('data-mode', 'slider');
  await expectImageLoaded(after);

  // Download the restored photo.
  const link = page.getByTestId('download-link');
  const downloadEvent = page.waitForEvent('download');
  await link.click();
  const download = await downloadEvent;
  expect(download.suggestedFilename()).toMatch(/\.png$/i);
  const png = expectPng(await readFile(await download.path()));
  expect(png.width).toBe(restored.width);
  expect(png.height).toBe(restored.height);

  // Delete it, after confirming; the gallery keeps the other photo.
  await page.getByTestId('delete-photo').click();
  await page.getByTestId('confirm-delete-photo').click();
  await page.waitForURL(/\/photos$/);
  await expect(page.getByTestId('gallery').getByTestId('photo-card')).toHaveCount(1);
  await expect(page.getByTestId('gallery')).toContainText('scratched-b.png');
  await expect(page.getByTestId('gallery')).not.toContainText('old-d.png');

  // The account page: the plan, the storage in use, and what each plan offers.
  await page.getByRole('link', { name: 'Account' }).click();
  await page.waitForURL('**/account');
  await expect(page.getByTestId('plan-tier')).toHaveText('Free');
  const account = (await (await page.request.get('/api/me')).json()) as {
    storage_used_bytes: number;
    storage_limit_bytes: number;
  };
  expect(account.storage_used_bytes, 'the remaining photo uses some storage').toBeGreaterThan(0);
  const meter = page.getByTestId('storage-meter');
  await expect(meter).toHaveAttribute('value', String(account.storage_used_bytes));
  await expect(meter).toHaveAttribute('max', String(account.storage_limit_bytes));
  const tiers = page.getByTestId('tier-card');
  await expect(tiers).toHaveCount(4);
  await expect(tiers.locator('[data-testid=tier-price]')).toHaveText([
    '$0',
    '$7 a month',
    '$12 a month',
    '$20 a month',
  ]);
  await expect(tiers.locator('[data-testid=tier-storage]')).toHaveText([
    /of storage$/,
    '50 GB of storage',
    '100 GB of storage',
    '200 GB of storage',
  ]);
  await expect(tiers.locator('[data-testid=tier-retention]')).toHaveText([
    `Photos kept for ${me.retention_days} days`,
    'Photos kept for good',
    'Photos kept for good',
    'Photos kept for good',
  ]);
  await expect(page.locator('[data-testid=tier-card][data-tier=free]').getByTestId('tier-current')).toBeVisible();
  await expect(page.getByTestId('tier-current')).toHaveCount(1);
  await screenshot(page, 'account');
  await expectAccessible(page, 'the account page after the journey');
});
