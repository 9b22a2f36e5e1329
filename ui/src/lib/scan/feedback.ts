// Every scan is answered at once by sound as well as colour: a short high tone for a
// confirmed scan, a low double tone for a refusal. Where audio is unavailable (a kiosk without
// a sound device, a test browser) the screen still answers; nothing throws.

let context: AudioContext | null = null;

function tone(frequency: number, start: number, seconds: number): void {
  if (!context) return;
  const osc = context.createOscillator();
  const gain = context.createGain();
  osc.frequency.value = frequency;
  gain.gain.value = 0.15;
  osc.connect(gain).connect(context.destination);
  osc.start(context.currentTime + start);
  osc.stop(context.currentTime + start + seconds);
}

export function beep(ok: boolean): void {
  try {
    context ??= new AudioContext();
    if (ok) {
      tone(1320, 0, 0.08);
    } else {
      tone(220, 0, 0.12);
      tone(220, 0.18, 0.12);
    }
  } catch {
    context = null;
  }
}
