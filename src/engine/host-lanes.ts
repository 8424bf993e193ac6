/**
 * Works through items in one lane per host: a host's items one after another, in their order
 * (a host is never acted on by two runs at once), and at most `limit` hosts at a time.
 * Results come back in the items' order. A failure ends its lane; the other lanes go on, and the
 * first failure rejects once they have ended.
 */
export async function inHostLanes<T, R>(items: readonly T[], hostOf: (item: T) => string, limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const lanes = new Map<string, number[]>();
  items.forEach((item, index) => {
    const host = hostOf(item);
    lanes.set(host, [...(lanes.get(host) ?? []), index]);
  });
  const pending = [...lanes.values()];
  const results: R[] = new Array(items.length);
  const worker = async () => {
    for (let lane = pending.shift(); lane !== undefined; lane = pending.shift()) {
      for (const index of lane) results[index] = await work(items[index]!);
    }
  };
  const workers = Array.from({ length: Math.max(1, Math.min(limit, pending.length)) }, worker);
  const settled = await Promise.allSettled(workers);
  const failed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed) throw failed.reason;
  return results;
}
