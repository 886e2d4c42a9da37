// Debian's chromium driven by Playwright, headless, with software WebGL so MapLibre renders.
import { chromium } from 'playwright-core';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { root } from './support.mjs';

export const artifacts = process.env.IDEO_ARTIFACTS || path.join(root, 'build', 'test-artifacts');

export async function launchChromium() {
  const profile = mkdtempSync(path.join(tmpdir(), 'ideo-chromium-'));
  mkdirSync(artifacts, { recursive: true });
  // A persistent context is how Playwright takes a user data dir: a fresh one per run.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.IDEO_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
    ],
    viewport: { width: 1280, height: 800 },
    acceptDownloads: true,
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
