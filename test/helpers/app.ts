// The whole app in a test (startApp: git source, loader, loop, HTTP server and the given
// controllers) on 127.0.0.1 with a free port; every app a file starts is stopped after
// each of its tests, so a failing test does not leave a loop or a server running.

import { afterEach } from 'vitest';
import { startApp, type App, type AppOptions } from '../../app/app.js';

/**
 * Returns a function that starts an app with `defaults` (no controllers unless given)
 * under the options of each call. Call it at the top level of a test file: it registers
 * the afterEach that stops the apps.
 */
export function appStarter(defaults: Partial<AppOptions> = {}): (opts: AppOptions) => Promise<App> {
  const apps: App[] = [];
  afterEach(async () => {
    while (apps.length) await apps.pop()?.stop();
  });
  return async (opts) => {
    const app = await startApp({ listen: '127.0.0.1:0', registrations: [], ...defaults, ...opts });
    apps.push(app);
    return app;
  };
}
