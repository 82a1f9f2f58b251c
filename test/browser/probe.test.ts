import { expect, test } from 'vitest';
import { launchChromium, startServer, sidewaysOverflow, axe, PHONE } from './browser.ts';
test('probe', async () => {
  const t0 = Date.now();
  const browser = await launchChromium();
  console.log('launch', Date.now() - t0, browser.version());
  const server = await startServer();
  const ctx = await browser.newContext({ javaScriptEnabled: false, viewport: PHONE });
  const page = await ctx.newPage();
  await page.goto(`${server.origin}/s/csp-2019`);
  console.log(await page.title(), await sidewaysOverflow(page));
  const ctx2 = await browser.newContext({ viewport: PHONE });
  const p2 = await ctx2.newPage();
  await p2.goto(`${server.origin}/s/csp-2019`);
  console.log(await axe(p2, 'start'));
  await browser.close(); await server.close();
  console.log('total', Date.now() - t0);
});
