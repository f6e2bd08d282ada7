/**
 * When the intake has to parse an order fully to learn its company (the
 * cheap scan, order/company-scan.ts, could not tell), the order actor reads
 * it again after claiming it. This remembers those parses of the most recent
 * orders so the actor can skip parsing bytes it has already parsed. The
 * actor still reads the claimed file and uses the cached parse only when the
 * bytes are identical, so a file rewritten in between is
 * parsed afresh. Bounded: the oldest entries are dropped first, so a burst
 * of 100,000 orders costs at most `max` entries of memory.
 */
import type { ParseResult } from '../order/types.js';

export class RecentParses {
  private readonly entries = new Map<string, { bytes: Buffer; parsed: ParseResult }>();

  constructor(private readonly max = 1024) {}

  remember(fileName: string, bytes: Buffer, parsed: ParseResult): void {
    this.entries.delete(fileName);
    this.entries.set(fileName, { bytes, parsed });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value!);
  }

  /** The parse of exactly these bytes, if remembered; the entry is forgotten either way. */
  take(fileName: string, bytes: Buffer): ParseResult | undefined {
    const entry = this.entries.get(fileName);
    if (!entry) return undefined;
    this.entries.delete(fileName);
    return entry.bytes.equals(bytes) ? entry.parsed : undefined;
  }

  get size(): number {
    return this.entries.size;
  }
}
