// Every scan is answered by sound as well as colour, so an associate looking at the shelf
// knows at once: one short high tone for a confirmed scan, two low tones for a refusal.
//
// Where audio is unavailable (a kiosk without a sound device, a WebView without Web Audio, a
// context the browser will not start) the screen still answers and nothing throws.

type AudioContextClass = typeof AudioContext;

let context: AudioContext | null = null;
let unavailable = false;

function audio(): AudioContext | null {
  if (context || unavailable) return context;
  const scope = globalThis as unknown as {
    AudioContext?: AudioContextClass;
    webkitAudioContext?: AudioContextClass;
  };
  const Context = scope.AudioContext ?? scope.webkitAudioContext;
  if (!Context) {
    unavailable = true;
    return null;
  }
  context = new Context();
  return context;
}

function tone(ctx: AudioContext, frequency: number, start: number, seconds: number): void {
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = 'square';
  osc.frequency.value = frequency;
  gain.gain.value = 0.12;
  osc.connect(gain).connect(ctx.destination);
  osc.start(ctx.currentTime + start);
  osc.stop(ctx.currentTime + start + seconds);
}

/** The tones, as frequency in Hz, start and length in seconds. */
export const TONES = {
  good: [[1320, 0, 0.08]],
  bad: [
    [220, 0, 0.14],
    [220, 0.2, 0.14],
  ],
} as const;

export function beep(ok: boolean): void {
  try {
    const ctx = audio();
    if (!ctx) return;
    // A context made before the page was touched starts suspended; a scan is a key press, so
    // the browser lets it resume now.
    if (ctx.state === 'suspended') void ctx.resume().catch(() => undefined);
    for (const [frequency, start, seconds] of ok ? TONES.good : TONES.bad) {
      tone(ctx, frequency, start, seconds);
    }
  } catch {
    // No sound this time; the colour still answers. Try a fresh context next time.
    context = null;
  }
}
