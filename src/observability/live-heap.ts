/**
 * The V8 heap in use right after the last full (mark-compact) collection: what the process really
 * retains. RSS and "heap used" also count garbage V8 has not collected yet, and V8 lets that grow
 * far on a machine with plenty of memory, so only this figure's trend tells a leak from laziness.
 * One observer per process (several gateways share it in tests).
 */
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks';
import v8 from 'node:v8';

let liveBytes = Number.NaN;
let observer: PerformanceObserver | undefined;

function isMajorGc(entry: PerformanceEntry): boolean {
  return ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail)?.kind === constants.NODE_PERFORMANCE_GC_MAJOR;
}

/** Bytes in use after the last full GC (NaN until the first one). */
export function liveHeapBytes(): number {
  if (!observer) {
    observer = new PerformanceObserver((list) => {
      if (list.getEntries().some(isMajorGc)) liveBytes = v8.getHeapStatistics().used_heap_size;
    });
    observer.observe({ entryTypes: ['gc'] });
  }
  return liveBytes;
}
