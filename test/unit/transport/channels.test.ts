import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ChannelSlots } from '../../../src/transport/ssh/channels.js';

describe('ChannelSlots', () => {
  it('never runs more than the limit at once, and runs every task in order', async () => {
    const slots = new ChannelSlots(3);
    let running = 0;
    let peak = 0;
    const started: number[] = [];
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        slots.run(async () => {
          started.push(index);
          running += 1;
          peak = Math.max(peak, running);
          await sleep(5 + (index % 4) * 3);
          running -= 1;
          return index;
        }),
      ),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, index) => index));
    expect(peak).toBe(3);
    expect(started).toEqual(results);
    expect(slots.inUse).toBe(0);
  });

  it('frees the slot of a task that throws', async () => {
    const slots = new ChannelSlots(1);
    await expect(slots.run(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(slots.run(async () => 'next')).resolves.toBe('next');
    expect(slots.inUse).toBe(0);
  });

  it('refuses a limit below one', () => {
    expect(() => new ChannelSlots(0)).toThrow(RangeError);
  });
});
