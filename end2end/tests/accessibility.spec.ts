import AxeBuilder from '@axe-core/playwright';

import { expect, openPage, registerNewUser, test, type Page } from './support';

/** Serious and critical WCAG 2 A/AA violations on the current page, one line each. */
async function seriousViolations(page: Page): Promise<string[]> {
  const results = await new AxeBuilder({ page })
    .withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'])
    .analyze();

  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target).join(', ')}`);
}

for (const pathname of ['/login', '/register']) {
  test(`${pathname} has no serious accessibility violations`, async ({ page }) => {
    await openPage(page, pathname);
    expect(await seriousViolations(page)).toEqual([]);
  });
}

test('the photos page has no serious accessibility violations', async ({ page }) => {
  await registerNewUser(page);
  await expect(page.getByTestId('gallery-empty')).toBeVisible();
  expect(await seriousViolations(page)).toEqual([]);
});
