import type { Locator, Page } from '@playwright/test';

import {
  expect,
  expectImageLoaded,
  openPage,
  signedInWithRestoredPhoto,
  test,
} from './support';

/** The data-testid of the focused element, or its tag name when it has none. */
async function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    return el?.dataset.testid ?? el?.tagName.toLowerCase() ?? 'nothing';
  });
}

/** Presses KEY until the element with TEST_ID has focus; fails after `limit` presses. */
async function tabTo(page: Page, testId: string, key = 'Tab', limit = 60): Promise<void> {
  const visited: string[] = [];
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press(key);
    const now = await focused(page);
    visited.push(now);
    if (now === testId) return;
  }
  throw new Error(`${key} never reached ${testId}; visited: ${visited.join(', ')}`);
}

/** The split the picture shows: the left inset of the restored layer, in percent. */
async function shownSplit(page: Page): Promise<number> {
  const clip = await page
    .getByTestId('before-after')
    .locator('.compare-after')
    .evaluate((el) => getComputedStyle(el).clipPath);
  const match = /inset\(0px 0px 0px ([\d.]+)%\)/.exec(clip) ?? /inset\(([\d.]+)%/.exec(clip);
  if (!match) {
    // inset(0 0 0 0%) may be shortened to inset(0px).
    if (/^inset\(0px\)$/.test(clip)) return 0;
    throw new Error(`unexpected clip-path: ${clip}`);
  }
  return Number(match[1]);
}

async function expectFocusVisible(locator: Locator): Promise<void> {
  const outline = await locator.evaluate((el) => {
    const style = getComputedStyle(el);
    return { style: style.outlineStyle, width: parseFloat(style.outlineWidth) };
  });
  expect(outline.style, 'a visible focus outline').not.toBe('none');
  expect(outline.width, 'focus outline width in px').toBeGreaterThanOrEqual(2);
}

test('the comparison works with the keyboard alone', async ({ page }) => {
  const photoId = await signedInWithRestoredPhoto(page);
  await openPage(page, `/photos/${photoId}`);
  await expectImageLoaded(page.getByTestId('after-image'));

  // From the top of the page, Tab reaches the slider.
  await tabTo(page, 'compare-slider');
  const slider = page.getByTestId('compare-slider');
  await expect(slider).toBeFocused();
  await expectFocusVisible(slider);
  await expect(slider).toHaveValue('50');
  expect(await shownSplit(page)).toBe(50);

  for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight');
  await expect(slider).toHaveValue('55');
  expect(await shownSplit(page)).toBe(55);
  await expect(slider).toHaveAttribute('aria-valuetext', '55% original, 45% restored');

  await page.keyboard.press('ArrowLeft');
  await expect(slider).toHaveValue('54');
  await page.keyboard.press('Home');
  await expect(slider).toHaveValue('0');
  expect(await shownSplit(page), 'all restored').toBe(0);
  await page.keyboard.press('End');
  await expect(slider).toHaveValue('100');
  expect(await shownSplit(page), 'all original').toBe(100);

  // Back to the view buttons: side by side, then zoom, then pan with the arrow keys.
  await tabTo(page, 'compare-mode-side', 'Shift+Tab');
  await expectFocusVisible(page.getByTestId('compare-mode-side'));
  await page.keyboard.press('Space');
  const compare = page.getByTestId('before-after');
  await expect(compare).toHaveAttribute('data-mode', 'side-by-side');

  await tabTo(page, 'zoom-2x');
  await page.keyboard.press('Enter');
  await expect(compare).toHaveAttribute('data-zoom', '2');
  await expect(page.getByTestId('zoom-2x')).toHaveAttribute('aria-pressed', 'true');

  await tabTo(page, 'compare-pane-before');
  const pane = page.getByTestId('compare-pane-before');
  await expectFocusVisible(pane);
  await expect.poll(() => pane.evaluate((el) => el.scrollLeft)).toBeGreaterThan(0);
  const start = await pane.evaluate((el) => el.scrollLeft);
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('ArrowRight');
  await expect.poll(() => pane.evaluate((el) => el.scrollLeft)).toBeGreaterThan(start);
  const other = page.getByTestId('compare-pane-after');
  await expect
    .poll(async () => (await other.evaluate((el) => el.scrollLeft)) === (await pane.evaluate((el) => el.scrollLeft)))
    .toBe(true);
});

test('tapping or dragging on the picture moves the split, and a zoomed picture pans', async ({
  page,
}) => {
  const photoId = await signedInWithRestoredPhoto(page, 'old-a.png');
  await openPage(page, `/photos/${photoId}`);
  await expectImageLoaded(page.getByTestId('after-image'));
  const viewport = page.getByTestId('compare-viewport');
  await viewport.scrollIntoViewIfNeeded();
  const box = (await viewport.boundingBox())!;
  const slider = page.getByTestId('compare-slider');
  const touch = test.info().project.use.hasTouch === true;

  if (touch) {
    await page.touchscreen.tap(box.x + box.width * 0.25, box.y + box.height / 2);
  } else {
    await page.mouse.move(box.x + box.width * 0.8, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.25, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
  }
  await expect
    .poll(async () => Math.abs(Number(await slider.inputValue()) - 25))
    .toBeLessThanOrEqual(2);
  expect(Math.abs((await shownSplit(page)) - 25)).toBeLessThanOrEqual(2);

  // The slider itself, as a pointer uses it.
  await slider.scrollIntoViewIfNeeded();
  const sliderBox = (await slider.boundingBox())!;
  if (touch) {
    await page.touchscreen.tap(sliderBox.x + sliderBox.width * 0.9, sliderBox.y + sliderBox.height / 2);
  } else {
    await page.mouse.click(sliderBox.x + sliderBox.width * 0.9, sliderBox.y + sliderBox.height / 2);
  }
  await expect.poll(async () => Number(await slider.inputValue())).toBeGreaterThan(80);

  await page.getByTestId('zoom-2x').click();
  await viewport.scrollIntoViewIfNeeded();
  await expect.poll(() => viewport.evaluate((el) => el.scrollWidth / el.clientWidth)).toBeGreaterThan(1.9);
  await expect.poll(() => viewport.evaluate((el) => el.scrollLeft)).toBeGreaterThan(0);
  const start = await viewport.evaluate((el) => el.scrollLeft);
  const zoomedBox = (await viewport.boundingBox())!;
  const [cx, cy] = [zoomedBox.x + zoomedBox.width / 2, zoomedBox.y + zoomedBox.height / 2];
  if (touch) {
    // A real touch swipe to the left, scrolled natively by the browser.
    const cdp = await page.context().newCDPSession(page);
    const touch = (type: 'touchStart' | 'touchMove' | 'touchEnd', x: number) =>
      cdp.send('Input.dispatchTouchEvent', {
        type,
        touchPoints: type === 'touchEnd' ? [] : [{ x: Math.round(x), y: Math.round(cy) }],
      });
    await touch('touchStart', cx);
    for (let step = 1; step <= 8; step++) {
      await touch('touchMove', cx - step * 12);
    }
    await touch('touchEnd', cx - 96);
  } else {
    await page.mouse.move(cx, cy);
    await page.mouse.down();
    await page.mouse.move(cx - 60, cy, { steps: 4 });
    await page.mouse.up();
  }
  await expect
    .poll(async () => (await viewport.evaluate((el) => el.scrollLeft)) - start)
    .toBeGreaterThanOrEqual(30);
  // Panning a zoomed picture does not move the split.
  expect(Number(await slider.inputValue())).toBeGreaterThan(80);
});
