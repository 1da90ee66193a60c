/**
 * A map that holds its first entry in two fields and makes a `Map` only for a second one. A
 * connection's caches hold one repository, or a few; a `Map` costs a hash table of about
 * 170 bytes even empty, which 10,000 connections times three caches turn into 5 MB.
 * Iteration follows insertion order, as a `Map`'s does.
 */
export class SmallMap<K, V> {
  private key: K | undefined;
  private value: V | undefined;
  private single = false;
  private many: Map<K, V> | undefined;

  get size(): number {
    return this.many ? this.many.size : this.single ? 1 : 0;
  }

  get(key: K): V | undefined {
    if (this.many) return this.many.get(key);
    return this.single && this.key === key ? this.value : undefined;
  }

  has(key: K): boolean {
    if (this.many) return this.many.has(key);
    return this.single && this.key === key;
  }

  set(key: K, value: V): this {
    if (this.many) this.many.set(key, value);
    else if (!this.single || this.key === key) {
      this.key = key;
      this.value = value;
      this.single = true;
    } else {
      this.many = new Map([[this.key as K, this.value as V]]);
      this.many.set(key, value);
      this.forgetSingle();
    }
    return this;
  }

  delete(key: K): boolean {
    if (this.many) return this.many.delete(key);
    if (!this.single || this.key !== key) return false;
    this.forgetSingle();
    return true;
  }

  clear(): void {
    this.many = undefined;
    this.forgetSingle();
  }

  *[Symbol.iterator](): IterableIterator<[K, V]> {
    if (this.many) yield* this.many;
    else if (this.single) yield [this.key as K, this.value as V];
  }

  private forgetSingle(): void {
    this.key = undefined;
    this.value = undefined;
    this.single = false;
  }
}
