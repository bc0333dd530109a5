import {
  expect,
  expectAccessible,
  expectImageLoaded,
  openPage,
  registerNewUser,
  screenshot,
  signedInWithRestoredPhoto,
  test,
  uploadViaApi,
} from './support';

// Each main page, at both sizes (see playwright.config.ts): no serious or critical WCAG 2 A/AA
// problem that axe-core can find.

for (const pathname of ['/', '/login', '/register']) {
  test(`${pathname} has no serious accessibility violations`, async ({ page }) => {
    await openPage(page, pathname);
    await expect(page.locator('h1')).toBeVisible();
    await expectAccessible(page, pathname);
    if (pathname === '/login') {
      await screenshot(page, 'login');
    }
  });
}

test('the empty photos page has no serious accessibility violations', async ({ page }) => {
  await registerNewUser(page);
  await expect(page.getByTestId('gallery-empty')).toBeVisible();
  await expectAccessible(page, 'the empty gallery');
});

test('the gallery, the photo page in every comparison view, and the account page have no serious accessibility violations', async ({
  page,
}) => {
  const photoId = await signedInWithRestoredPhoto(page);
  await uploadViaApi(page, 'old-a.png');

  await openPage(page, '/photos');
  const cards = page.getByTestId('gallery').getByTestId('photo-card');
  await expect(cards).toHaveCount(2);
  for (const card of await cards.all()) {
    await expectImageLoaded(card.getByTestId('photo-thumb'));
  }
  await expectAccessible(page, 'the gallery');

  await openPage(page, `/photos/${photoId}`);
  const compare = page.getByTestId('before-after');
  await expectImageLoaded(compare.getByTestId('before-image'));
  await expectImageLoaded(compare.getByTestId('after-image'));
  await expect(page.getByTestId('download-link')).toBeVisible();
  await expectAccessible(page, 'the photo page (slider)');

  await page.getByTestId('zoom-2x').click();
  await expect(compare).toHaveAttribute('data-zoom', '2');
  await expectAccessible(page, 'the photo page (slider, zoomed)');

  await page.getByTestId('compare-mode-side').click();
  await expect(compare).toHaveAttribute('data-mode', 'side-by-side');
  await expectImageLoaded(compare.getByTestId('after-image'));
  await expectAccessible(page, 'the photo page (side by side, zoomed)');

  await openPage(page, '/account');
  await expect(page.getByTestId('plan-tier')).toHaveText('Free');
  await expectAccessible(page, 'the account page');
});

test('in dark mode the main pages keep their contrast', async ({ page }) => {
  test.skip(test.info().project.name !== 'desktop', 'colours do not depend on the screen size');
  await page.emulateMedia({ colorScheme: 'dark' });

  await openPage(page, '/');
  await expectAccessible(page, 'the home page (dark)');

  const photoId = await signedInWithRestoredPhoto(page);
  await openPage(page, '/photos');
  await expect(page.getByTestId('photo-card')).toHaveCount(1);
  await expectAccessible(page, 'the gallery (dark)');

  await openPage(page, `/photos/${photoId}`);
  await expectImageLoaded(page.getByTestId('after-image'));
  await expectAccessible(page, 'the photo page (dark)');

  await openPage(page, '/account');
  await expectAccessible(page, 'the account page (dark)');
});
