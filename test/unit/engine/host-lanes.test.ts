import { describe, expect, it } from 'vitest';
import { inHostLanes } from '../../../src/engine/host-lanes.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 1));

describe('inHostLanes', () => {
  it('runs different hosts at once, up to the limit, and one host strictly in order', async () => {
    const items = ['a1', 'b1', 'a2', 'c1', 'a3', 'd1'];
    const active = new Set<string>();
    let most = 0;
    const order: string[] = [];
    const results = await inHostLanes(items, (item) => item[0]!, 3, async (item) => {
      const host = item[0]!;
      expect(active.has(host)).toBe(false);
      active.add(host);
      most = Math.max(most, active.size);
      order.push(item);
      await tick();
      active.delete(host);
      return item.toUpperCase();
    });
    expect(results).toEqual(['A1', 'B1', 'A2', 'C1', 'A3', 'D1']);
    expect(most).toBe(3);
    expect(order.filter((item) => item.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
  });

  it('with a limit of 1 works through the items one by one', async () => {
    let active = 0;
    let most = 0;
    await inHostLanes(['a', 'b', 'c'], (item) => item, 1, async () => {
      most = Math.max(most, ++active);
      await tick();
      active -= 1;
    });
    expect(most).toBe(1);
  });

  it('rejects with the first failure once the other lanes have ended', async () => {
    const finished: string[] = [];
    const outcome = inHostLanes(['a', 'b'], (item) => item, 2, async (item) => {
      if (item === 'a') throw new Error('a failed');
      await tick();
      finished.push(item);
    });
    await expect(outcome).rejects.toThrow('a failed');
    expect(finished).toEqual(['b']);
  });

  it('returns nothing for no items', async () => {
    expect(await inHostLanes([], () => 'x', 4, async () => 1)).toEqual([]);
  });
});
