// A short beep through WebAudio (no audio file). Browsers keep audio suspended until the page has
// been touched once, so the context is resumed on the first tap anywhere.
let context = null;

function audio() {
  const Context = window.AudioContext || window.webkitAudioContext;
  if (!Context) return null;
  context ??= new Context();
  return context;
}

for (const kind of ["pointerdown", "keydown"]) {
  addEventListener(kind, () => { audio()?.resume().catch(() => {}); }, { capture: true });
}

/** Beep; `pitch` in Hz tells an order (high) from a table request (low). */
export function beep(pitch = 880, seconds = 0.18) {
  // other code (and tests) can tell that a sound was asked for, even when audio is suspended
  document.dispatchEvent(new CustomEvent("tableside:beep", { detail: { pitch } }));
  const ctx = audio();
  if (!ctx || ctx.state !== "running") return;
  const osc = ctx.createOscillator();
  const gain = ctx.createGain();
  osc.type = "sine";
  osc.frequency.value = pitch;
  gain.gain.setValueAtTime(0.0001, ctx.currentTime);
  gain.gain.exponentialRampToValueAtTime(0.3, ctx.currentTime + 0.02);
  gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + seconds);
  osc.connect(gain).connect(ctx.destination);
  osc.start();
  osc.stop(ctx.currentTime + seconds + 0.02);
}
