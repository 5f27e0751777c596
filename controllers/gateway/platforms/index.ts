// The platform adapters by name; callers never branch on the platform themselves.

import type { Platform } from '../../../reconciler/specs.js';
import type { PlatformAdapter } from './types.js';
import { slack } from './slack.js';
import { discord } from './discord.js';
import { telegram } from './telegram.js';
import { webhook } from './webhook.js';

// `any` because the spec type differs per platform and each adapter is only ever given its own.
export const ADAPTERS: Record<Platform, PlatformAdapter<any>> = { slack, discord, telegram, webhook };
