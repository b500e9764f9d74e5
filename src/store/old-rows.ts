/** The older rows a prune plan read, column by column in typed arrays that double as they fill. @internal */
export class OldRows {
  length = 0;
  seq = new Float64Array(1024);
  position = new Float64Array(1024);
  chain = new Uint32Array(1024);
  part = new Uint32Array(1024);

  push(seq: number, position: number, chain: number, part: number): void {
    if (this.length === this.seq.length) this.grow();
    const i = this.length++;
    this.seq[i] = seq;
    this.position[i] = position;
    this.chain[i] = chain;
    this.part[i] = part;
  }

  private grow(): void {
    const size = this.seq.length * 2;
    const seq = new Float64Array(size);
    seq.set(this.seq);
    this.seq = seq;
    const position = new Float64Array(size);
    position.set(this.position);
    this.position = position;
    const chain = new Uint32Array(size);
    chain.set(this.chain);
    this.chain = chain;
    const part = new Uint32Array(size);
    part.set(this.part);
    this.part = part;
  }
}
