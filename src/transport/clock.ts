/** Milliseconds since the call, on the monotonic clock: the wall clock may be stepped while a command runs. */
export function stopwatch(): () => number {
  const started = performance.now();
  return () => Math.floor(performance.now() - started);
}

/**
 * Calls `fire` once `ms` have passed on `elapsed`, never sooner. Node's timers count whole
 * milliseconds of libuv's clock, so a plain one can fire up to a millisecond before its delay has
 * passed on a finer clock (about 2% of 5 ms timers here); this one re-arms for what is left.
 * Returns the cancel function.
 */
export function timerAfter(elapsed: () => number, ms: number, fire: () => void): () => void {
  let timer: NodeJS.Timeout;
  const check = (): void => {
    const remainingMs = ms - elapsed();
    if (remainingMs > 0) timer = setTimeout(check, remainingMs);
    else fire();
  };
  timer = setTimeout(check, Math.max(0, ms - elapsed()));
  return () => clearTimeout(timer);
}
