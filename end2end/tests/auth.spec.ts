import {
  PASSWORD,
  expect,
  logIn,
  openPage,
  registerNewUser,
  test,
} from './support';

test('a new account lands on its empty photos page, signed in', async ({ page }) => {
  await openPage(page, '/register');
  const email = await registerNewUser(page);
  await expect(page).toHaveURL(/\/photos$/);
  await expect(page.getByTestId('user-email')).toHaveText(email);
  await expect(page.getByTestId('gallery-empty')).toBeVisible();
});

test('after logging out, the photos page asks to log in', async ({ page }) => {
  await registerNewUser(page);

  await page.getByTestId('logout-button').click();
  await page.waitForURL('**/login');
  await expect(page.getByTestId('user-email')).toHaveCount(0);

  // A full load, so that nothing cached in the page can pretend to be signed in.
  await openPage(page, '/photos');
  await expect(page.getByRole('button', { name: 'Log in' })).toBeVisible();
  await expect(page.locator('input[name=password]')).toBeVisible();
  await expect(page.getByTestId('gallery')).toHaveCount(0);
  await expect(page.getByTestId('upload-input')).toHaveCount(0);
  await expect(page.getByTestId('user-email')).toHaveCount(0);
});

test('logging back in returns to the photos page', async ({ page }) => {
  const email = await registerNewUser(page);
  await page.getByTestId('logout-button').click();
  await page.waitForURL('**/login');

  await logIn(page, email);
  await page.waitForURL('**/photos');
  await expect(page.getByTestId('user-email')).toHaveText(email);
});

test('a wrong password does not sign in', async ({ page }) => {
  const email = await registerNewUser(page);
  await page.getByTestId('logout-button').click();
  await page.waitForURL('**/login');

  await logIn(page, email, `${PASSWORD} typo`);
  await page.waitForLoadState('networkidle');
  await expect(page).toHaveURL(/\/login(\?.*)?$/);
  await expect(page.getByTestId('user-email')).toHaveCount(0);
});

test('the login and register pages link to each other', async ({ page }) => {
  await openPage(page, '/login');
  await page.locator('a[href="/register"]').first().click();
  await page.waitForURL('**/register');
  await expect(page.getByRole('button', { name: 'Create account' })).toBeVisible();

  await page.locator('a[href="/login"]').first().click();
  await page.waitForURL('**/login');
  await expect(page.getByRole('button', { name: 'Log in' })).toBeVisible();
});
