// Prepares the test page before the app starts: Tauri's IPC answered by the stand-in core,
// the situation chosen by query parameters, and what the tests need to observe.
//
// - `?offline=1`: central unreachable, with 3 steps already waiting to be written back
// - `?notsetup=1`: a device never enrolled in a store
// - `?noaudio=1`: a WebView without Web Audio
// - `?timeout=MS`: the adapter's time limit for a command, to see a timeout quickly

import { mockIPC } from '@tauri-apps/api/mocks';
import { configureBackend } from '../../src/lib/backend';
import { Core } from './core';

const params = new URLSearchParams(location.search);
const core = new Core();
if (params.has('offline')) {
  core.online = false;
  core.waiting = 3;
}
core.notSetUp = params.has('notsetup');

const timeout = Number(params.get('timeout'));
if (timeout > 0) configureBackend({ timeoutMs: timeout, syncTimeoutMs: timeout });

const scope = window as unknown as Record<string, unknown>;
const tones: number[] = [];
const violations: string[] = [];

if (params.has('noaudio')) {
  delete scope.AudioContext;
  delete scope.webkitAudioContext;
} else if (typeof OscillatorNode !== 'undefined') {
  // Listen in on the tones the app plays, through the real Web Audio API.
  const start = OscillatorNode.prototype.start;
  OscillatorNode.prototype.start = function (this: OscillatorNode, when?: number) {
    tones.push(this.frequency.value);
    return start.call(this, when);
  };
}

document.addEventListener('securitypolicyviolation', (e) => {
  violations.push(`${e.violatedDirective}: ${e.blockedURI}`);
});

mockIPC((cmd, args) => core.answer(cmd, args as Record<string, unknown>));

scope.harness = {
  core,
  tones,
  violations,
  calls: (cmd: string) => core.calls.filter((c) => c.cmd === cmd).map((c) => c.args),
  setOnline: (online: boolean) => (core.online = online),
  cancel: (orderNumber: string, reason: string) => core.cancel(orderNumber, reason),
  pickElsewhere: (orderNumber: string, line: number, by: string) =>
    core.pickElsewhere(orderNumber, line, by),
  arrive: (n: number, customer: string) => core.arrive(n, customer),
  expireSession: () => (core.sessionExpired = true),
  hang: (cmd: string) => core.hanging.add(cmd),
  slow: (ms: number) => (core.delayMs = ms),
};
