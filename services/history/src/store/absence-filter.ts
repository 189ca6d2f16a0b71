/**
 * A one-hash Bloom filter over row keys, answering "certainly absent" or "maybe present".
 * Only valid for a table that starts empty and is written by nothing else (a fresh file
 * being bulk loaded): every insert adds its key, so a key never added is certainly not in
 * the table, and the projector can skip reading it. A false "maybe" only costs the read it
 * would have done anyway, and a rolled-back insert leaves a bit set, which errs the same
 * safe way. Fixed size (2 MiB), so a very large load degrades to reading every key.
 */
export class AbsenceFilter {
  readonly #bits = new Uint32Array(1 << 19);

  /** FNV-1a over the UTF-16 code units, folded into the filter's 2^24 bits. */
  #slot(key: string, salt: number): number {
    let hash = 0x811c9dc5 ^ salt;
    for (let i = 0; i < key.length; i += 1) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
    return (hash >>> 0) & 0xffffff;
  }

  add(key: string, salt = 0): void {
    const slot = this.#slot(key, salt);
    this.#bits[slot >>> 5] = (this.#bits[slot >>> 5] ?? 0) | (1 << (slot & 31));
  }

  certainlyAbsent(key: string, salt = 0): boolean {
    const slot = this.#slot(key, salt);
    return ((this.#bits[slot >>> 5] ?? 0) & (1 << (slot & 31))) === 0;
  }
}
