// The composition root: calls every controller folder's register(), merges the runner
// parts into one late-bound Runner (so the proxy and gateway can run skills and tasks
// without importing the execution code), and collects the routes mounted on `up`.

import type {
  ControllerDeps,
  Controller,
  ControllerModule,
  HttpRoute,
  Registration,
  Runner,
} from '../reconciler/types.js';
import { CaduceusError } from '../reconciler/errors.js';
import { executionModule } from '../controllers/execution/index.js';
import { tasksModule } from '../controllers/tasks/index.js';
import { proxyModule } from '../controllers/proxy/index.js';
import { gatewayModule } from '../controllers/gateway/index.js';
import { curatorModule } from '../controllers/curator/index.js';
import { agentModule } from '../controllers/agent/index.js';
import { toolServersModule } from '../controllers/toolservers/index.js';

export type Register = (deps: ControllerDeps) => Registration;

/** Every controller folder, in the order their registrations are created. */
export const ALL_MODULES: readonly ControllerModule[] = [
  executionModule,
  tasksModule,
  proxyModule,
  gatewayModule,
  curatorModule,
  agentModule,
  toolServersModule,
];

/** Every controller's register(), in module order. */
export const ALL_REGISTRATIONS: readonly Register[] = ALL_MODULES.map((m) => m.register);

export interface Composition {
  controllers: Controller[];
  routes: HttpRoute[];
  stop(): Promise<void>;
}
/** A Runner whose methods are filled in by registrations; calls before that fail clearly. */
export function lateBoundRunner(): { runner: Runner; provide(parts: Partial<Runner>): void } {
  const parts: Partial<Runner> = {};
  const missing = (what: string): never => {
    throw new CaduceusError('RunnerUnavailable', `no controller provides ${what}`);
  };
  const runner: Runner = {
    runSkill: (name, params, opts) => (parts.runSkill ? parts.runSkill(name, params, opts) : missing('runSkill')),
    runTask: (name, opts) => (parts.runTask ? parts.runTask(name, opts) : missing('runTask')),
    exec: (req, opts) => (parts.exec ? parts.exec(req, opts) : missing('exec')),
    // A rejected promise rather than a throw: callers of proposeSkill await it (the agent).
    proposeSkill: async (yaml, opts) => {
      if (!parts.proposeSkill) {
        throw new CaduceusError(
          'RunnerUnavailable',
          'no controller provides proposeSkill: the curator is not registered',
          {
            hint: 'the curator controller delivers proposed skills; it is registered by `caduceus up`',
          },
        );
      }
      return parts.proposeSkill(yaml, opts);
    },
    proposeMemory: async (notes, opts) => {
      if (!parts.proposeMemory) {
        throw new CaduceusError(
          'RunnerUnavailable',
          'no controller provides proposeMemory: the curator is not registered',
          { hint: 'the curator controller proposes memory edits; it is registered by `caduceus up`' },
        );
      }
      return parts.proposeMemory(notes, opts);
    },
    deliver: async (target, text, opts) => {
      if (!parts.deliver) {
        throw new CaduceusError('RunnerUnavailable', 'no controller provides deliver: the gateway is not registered', {
          hint: 'the gateway controller posts task results to chat; it is registered by `caduceus up`',
        });
      }
      return parts.deliver(target, text, opts);
    },
    runAgent: async (req) => {
      if (!parts.runAgent) {
        throw new CaduceusError('RunnerUnavailable', 'no controller provides runAgent: the agent is not registered', {
          hint: 'the agent controller runs prompt subtasks and caduceus ask; it is registered by `caduceus up`',
        });
      }
      return parts.runAgent(req);
    },
    // Without the toolservers controller there are no server tools: the agent runs without them.
    serverTools: () => parts.serverTools?.() ?? [],
    callServerTool: async (server, tool, args, signal) => {
      if (!parts.callServerTool) throw new CaduceusError('RunnerUnavailable', 'no controller provides callServerTool');
      return parts.callServerTool(server, tool, args, signal);
    },
  };
  return { runner, provide: (p) => Object.assign(parts, p) };
}

/** Registers controllers; deps.runner must be the late-bound runner that provide() fills. */
export function compose(
  deps: ControllerDeps,
  provide: (p: Partial<Runner>) => void,
  registrations: readonly Register[] = ALL_REGISTRATIONS,
): Composition {
  const regs = registrations.map((r) => r(deps));
  for (const r of regs) if (r.runner) provide(r.runner);
  return {
    controllers: regs.flatMap((r) => r.controllers),
    routes: regs.flatMap((r) => r.routes ?? []),
    stop: async () => {
      await Promise.allSettled(regs.map((r) => r.stop?.()));
    },
  };
}
