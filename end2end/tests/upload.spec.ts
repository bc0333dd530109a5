import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';

import {
  expect,
  expectImageLoaded,
  registerNewUser,
  test,
  testPhoto,
  waitForAttribute,
} from './support';

const UPLOAD_TIMEOUT_MS = 60_000;

/** The server's data folder: REKINDLE_DATA_DIR as scripts/test.sh sets it, else ./data. */
const DATA_DIR = path.resolve(
  path.resolve(__dirname, '..', '..'),
  process.env.REKINDLE_DATA_DIR ?? 'data',
);

/** Upload scratch files the server is writing or has left in its data folder. */
async function partialUploads(): Promise<string[]> {
  try {
    return (await readdir(path.join(DATA_DIR, 'tmp'))).filter((name) => name.endsWith('.partial'));
  } catch {
    return [];
  }
}

test('photos dropped on the upload area are uploaded', async ({ page }) => {
  await registerNewUser(page);
  const files = await Promise.all(
    ['old-a.png', 'scratched-b.png'].map(async (name) => ({
      name,
      base64: (await readFile(testPhoto(name))).toString('base64'),
    })),
  );
  // What a browser hands the page when files are dropped on it.
  const dataTransfer = await page.evaluateHandle((list) => {
    const transfer = new DataTransfer();
    for (const { name, base64 } of list) {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      transfer.items.add(new File([bytes], name, { type: 'image/png' }));
    }
    return transfer;
  }, files);

  const zone = page.getByTestId('upload-drop');
  await zone.dispatchEvent('dragenter', { dataTransfer });
  await expect(zone).toHaveClass(/dragging/);
  await expect(zone).toContainText('Drop them here');
  await zone.dispatchEvent('dragover', { dataTransfer });
  await zone.dispatchEvent('drop', { dataTransfer });
  await expect(zone).not.toHaveClass(/dragging/);

  const uploads = page.getByTestId('upload-item');
  await expect(uploads).toHaveCount(2);
  for (const upload of await uploads.all()) {
    await waitForAttribute(upload, 'data-state', 'done', {
      failOn: ['error', 'cancelled'],
      timeoutMs: UPLOAD_TIMEOUT_MS,
    });
  }
  const cards = page.getByTestId('gallery').getByTestId('photo-card');
  await expect(cards).toHaveCount(2);
  for (const card of await cards.all()) {
    await expectImageLoaded(card.getByTestId('photo-thumb'));
  }
});

test('a slow upload shows its progress, and Cancel stops it leaving nothing on the server', async ({
  page,
}) => {
  await registerNewUser(page);
  expect(await partialUploads(), 'no upload in progress before the test').toEqual([]);

  // Slow the browser's uploads down to 256 KB/s, so 6 MB take about 24 s.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: 256 * 1024,
  });

  await page.getByTestId('upload-input').setInputFiles({
    name: 'big-scan.png',
    mimeType: 'image/png',
    buffer: randomBytes(6 * 1024 * 1024),
  });
  const upload = page.getByTestId('upload-item');
  await expect(upload).toHaveAttribute('data-state', 'uploading');
  const bar = upload.getByTestId('upload-progress');
  await expect(bar).toHaveJSProperty('tagName', 'PROGRESS');
  // The bar moves with the bytes sent: part way, neither empty nor full.
  await expect
    .poll(async () => Number(await bar.getAttribute('value')), { timeout: 20_000 })
    .toBeGreaterThanOrEqual(5);
  const percent = Number(await bar.getAttribute('value'));
  expect(percent).toBeLessThan(80);
  await expect(upload.getByTestId('upload-status')).toHaveText('Uploading…');

  // Meanwhile the server streams the bytes into a scratch file.
  await expect
    .poll(partialUploads, { message: `a .partial file in ${DATA_DIR}/tmp`, timeout: 10_000 })
    .toHaveLength(1);

  await upload.getByTestId('upload-cancel').click();
  await expect(upload).toHaveAttribute('data-state', 'cancelled');
  await expect(upload.getByTestId('upload-status')).toContainText('Cancelled');
  await expect(upload.getByTestId('upload-cancel')).toHaveCount(0);
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false,
    latency: 0,
    downloadThroughput: -1,
    uploadThroughput: -1,
  });

  // No bytes, no row, no quota.
  await expect.poll(partialUploads, { timeout: 15_000 }).toEqual([]);
  const photos = (await (await page.request.get('/api/photos')).json()) as unknown[];
  expect(photos).toEqual([]);
  const me = (await (await page.request.get('/api/me')).json()) as { storage_used_bytes: number };
  expect(me.storage_used_bytes).toBe(0);
  await expect(page.getByTestId('gallery-empty')).toBeVisible();
});

test("a refused file shows the server's reason, while the others upload", async ({ page }) => {
  await registerNewUser(page);
  const notAPhoto = {
    name: 'notes.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('These are not the pixels you are looking for.\n'.repeat(20)),
  };
  // What the server says about this file, asked directly.
  const direct = await page.request.post('/api/photos', { multipart: { photo: notAPhoto } });
  expect(direct.status()).toBeGreaterThanOrEqual(400);
  const refusal = (await direct.json()) as { code: string; message: string };
  expect(refusal.message.length).toBeGreaterThan(10);

  await page
    .getByTestId('upload-input')
    .setInputFiles([
      notAPhoto,
      { name: 'old-b.png', mimeType: 'image/png', buffer: await readFile(testPhoto('old-b.png')) },
    ]);
  const refused = page.getByTestId('upload-item').filter({ hasText: 'notes.txt' });
  const accepted = page.getByTestId('upload-item').filter({ hasText: 'old-b.png' });
  await waitForAttribute(refused, 'data-state', 'error', {
    failOn: ['done'],
    timeoutMs: UPLOAD_TIMEOUT_MS,
  });
  await expect(refused.getByTestId('upload-status')).toHaveText(refusal.message);
  await waitForAttribute(accepted, 'data-state', 'done', {
    failOn: ['error'],
    timeoutMs: UPLOAD_TIMEOUT_MS,
  });
  await expect(page.getByTestId('gallery').getByTestId('photo-card')).toHaveCount(1);
});
