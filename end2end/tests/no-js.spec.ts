import { readFile } from 'node:fs/promises';

import { PASSWORD, expect, newEmail, test, testPhoto } from './support';

const BASE_URL = process.env.REKINDLE_E2E_BASE_URL ?? 'http://127.0.0.1:3000';

// Reading pages come complete from the server: with JavaScript off, a person can still log in,
// see their photos with their thumbnails, open one, and see their plan.
test('reading pages work without JavaScript', async ({ browser }) => {
  const context = await browser.newContext({ baseURL: BASE_URL, javaScriptEnabled: false });
  try {
    // An account with one photo, made through the JSON API.
    const email = newEmail();
    const setup = await browser.newContext({ baseURL: BASE_URL });
    expect(
      (await setup.request.post('/api/auth/register', { data: { email, password: PASSWORD } })).status(),
    ).toBeLessThan(300);
    const uploaded = await setup.request.post('/api/photos', {
      multipart: {
        photo: {
          name: 'old-c.png',
          mimeType: 'image/png',
          buffer: await readFile(testPhoto('old-c.png')),
        },
      },
    });
    expect(uploaded.status()).toBe(201);
    const photo = (await uploaded.json()) as { id: string };
    await setup.close();

    const page = await context.newPage();
    await page.goto('/');
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Bring old photos back to life');

    // Log in with the plain form.
    await page.goto('/login');
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL('**/photos');
    await expect(page.getByTestId('user-email')).toHaveText(email);

    const card = page.getByTestId('gallery').getByTestId('photo-card');
    await expect(card).toHaveCount(1);
    await expect(card).toContainText('old-c.png');
    await expect(card.getByTestId('days-left')).toHaveText(/^\d+ days? left$/);
    const thumb = card.getByTestId('photo-thumb');
    await expect(thumb).toBeVisible();
    const thumbUrl = await thumb.getAttribute('src');
    expect(thumbUrl, 'the thumbnail has a signed URL in the HTML').toBeTruthy();
    const thumbBytes = await context.request.get(thumbUrl!);
    expect(thumbBytes.status()).toBe(200);
    expect(thumbBytes.headers()['content-type']).toBe('image/jpeg');

    await card.click();
    await page.waitForURL(`**/photos/${photo.id}`);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('old-c.png');
    await expect(page.getByTestId('original-image')).toBeVisible();
    await expect(page.getByTestId('days-left')).toContainText('more days');

    await page.goto('/account');
    await expect(page.getByTestId('plan-tier')).toHaveText('Free');
    await expect(page.getByTestId('tier-card')).toHaveCount(4);
  } finally {
    await context.close();
  }
});
