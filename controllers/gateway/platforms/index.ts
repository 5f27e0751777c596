// The platform adapters by name; callers never branch on the platform themselves.

import type { GatewayPolicySpec, Platform } from '../../../reconciler/specs.js';
import type { PlatformAdapter } from './types.js';
import { slack } from './slack.js';
import { discord } from './discord.js';
import { telegram } from './telegram.js';
import { webhook } from './webhook.js';

/** Each platform's adapter, typed with that platform's spec. */
export const ADAPTERS: { [P in Platform]: PlatformAdapter<NonNullable<GatewayPolicySpec['platforms'][P]>> } = {
  slack,
  discord,
  telegram,
  webhook,
};
