// Connections per client address on one gRPC listener: past the bound a new connection from that
// address is closed at once, so that one client cannot take every connection the listener holds
// (max_connections) from the others.

export class ClientConnections {
  private readonly open = new Map<string, number>();
  private count = 0;

  constructor(
    /** Connections one address may hold at once. */
    readonly perClient: number,
  ) {}

  /** Connections held now, by every address. */
  get total(): number {
    return this.count;
  }

  /** Takes a place for a new connection from `address`; false, taking none, when it holds `perClient` already. */
  take(address: string): boolean {
    const held = this.open.get(address) ?? 0;
    if (held >= this.perClient) return false;
    this.open.set(address, held + 1);
    this.count++;
    return true;
  }

  /** Gives back the place of a connection from `address` that has closed. */
  give(address: string): void {
    const held = this.open.get(address);
    if (held === undefined) return;
    if (held > 1) this.open.set(address, held - 1);
    else this.open.delete(address);
    this.count--;
  }
}
