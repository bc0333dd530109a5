import type { WebSocketRoute } from '@playwright/test';

import {
  expect,
  registerNewUser,
  test,
  testPhoto,
  waitForAttribute,
  waitForHydration,
} from './support';

const BASE_URL = process.env.REKINDLE_E2E_BASE_URL ?? 'http://127.0.0.1:3000';

test('a job that completes while the browser is offline shows completed when it is back, without a reload', async ({
  page,
  context,
}) => {
  // Every live-update socket passes through this route, so the test can cut them.
  let cut = false;
  const sockets: WebSocketRoute[] = [];
  await page.routeWebSocket(/\/ws\/jobs/, (ws) => {
    if (cut) {
      void ws.close({ code: 1006, reason: 'offline' });
      return;
    }
    sockets.push(ws);
    ws.connectToServer();
  });

  await registerNewUser(page);
  await page.getByTestId('upload-input').setInputFiles(testPhoto('old-d.png'));
  const card = page.getByTestId('gallery').getByTestId('photo-card');
  await expect(card).toHaveCount(1, { timeout: 60_000 });
  const href = await card.getAttribute('href');
  await card.click();
  await page.waitForURL(/\/photos\/[^/?#]+$/);
  await waitForHydration(page);
  await page.evaluate(() => {
    (window as unknown as { __offlineMarker: string }).__offlineMarker = 'still-here';
  });

  // Enlarging makes the job slow enough to finish only after the browser has gone.
  await page.getByText('Enlarge 2×').click();
  await page.getByTestId('restore-button').click();
  const status = page.getByTestId('job-status');
  await expect(status).toBeVisible();

  cut = true;
  await context.setOffline(true);
  for (const ws of sockets) {
    await ws.close({ code: 1006, reason: 'offline' });
  }
  await expect(page.getByTestId('reconnecting')).toBeVisible();

  // Meanwhile the job completes on the server (asked from outside the offline browser).
  const cookies = await context.cookies(BASE_URL);
  const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
  const photoId = href!.split('/').pop();
  await expect
    .poll(
      async () => {
        const response = await fetch(`${BASE_URL}/api/photos/${photoId}`, { headers: { cookie } });
        const photo = (await response.json()) as { latest_job?: { status: string } };
        return photo.latest_job?.status;
      },
      { timeout: 120_000, intervals: [250] },
    )
    .toBe('completed');
  expect(await status.getAttribute('data-status'), 'the offline page cannot know yet').not.toBe(
    'completed',
  );

  cut = false;
  await context.setOffline(false);
  await waitForAttribute(status, 'data-status', 'completed', {
    failOn: ['failed', 'cancelled', 'timed_out'],
    timeoutMs: 30_000,
  });
  await expect(page.getByTestId('reconnecting')).toHaveCount(0);
  await expect(page.getByTestId('before-after').getByTestId('after-image')).toBeVisible();
  const marker = await page.evaluate(
    () => (window as unknown as { __offlineMarker?: string }).__offlineMarker,
  );
  expect(marker, 'the page was not reloaded').toBe('still-here');
});
