/**
 * When the intake has to parse an order fully to learn its company (the
 * cheap scan, order/company-scan.ts, could not tell), the order actor reads
 * it again after claiming it. This remembers those parses of the most recent
 * orders so the actor can skip parsing bytes it has already parsed. The
 * actor still reads the claimed file and uses the cached parse only when the
 * bytes are identical, so a file rewritten in between is parsed afresh.
 *
 * Bounded in entries and in bytes: the oldest entries are dropped first, so a
 * burst of 100,000 orders costs at most `max` entries, and the entries
 * together hold at most `maxBytes` of order bytes (their parses hold about as
 * much again). An order of MAX_ENTRY_BYTES or more is not kept at all:
 * parsing it again costs less than holding it (a 10 MB order held here would
 * keep its bytes, its text and its parse in memory until its turn comes).
 */
import type { ParseResult } from '../order/types.js';

/** Orders this large or larger are never kept. */
export const MAX_ENTRY_BYTES = 256 * 1024;
/** Bytes of all kept orders together, by default. */
export const MAX_CACHED_BYTES = 16 * 1024 * 1024;

export class RecentParses {
  private readonly entries = new Map<string, { bytes: Buffer; parsed: ParseResult }>();
  private bytesHeld = 0;

  constructor(
    private readonly max = 1024,
    private readonly maxBytes = MAX_CACHED_BYTES,
  ) {}

  remember(fileName: string, bytes: Buffer, parsed: ParseResult): void {
    this.forget(fileName);
    if (bytes.length >= MAX_ENTRY_BYTES) return;
    this.entries.set(fileName, { bytes, parsed });
    this.bytesHeld += bytes.length;
    while (this.entries.size > this.max || this.bytesHeld > this.maxBytes) this.forget(this.entries.keys().next().value!);
  }

  /** The parse of exactly these bytes, if remembered; the entry is forgotten either way. */
  take(fileName: string, bytes: Buffer): ParseResult | undefined {
    const entry = this.entries.get(fileName);
    if (!entry) return undefined;
    this.forget(fileName);
    return entry.bytes.equals(bytes) ? entry.parsed : undefined;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Bytes of the orders kept. */
  get bytes(): number {
    return this.bytesHeld;
  }

  private forget(fileName: string): void {
    const entry = this.entries.get(fileName);
    if (entry === undefined) return;
    this.entries.delete(fileName);
    this.bytesHeld -= entry.bytes.length;
  }
}
