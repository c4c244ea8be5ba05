// Failures of a DevTools call, by kind:
//   protocol: Chromium answered the call with an error (a bad parameter, a request gone)
//   timeout:  no answer within the call's deadline
//   closed:   the connection or the call's session went away before the answer
//   crashed:  the call's target (its renderer) crashed before the answer
// The error object is made when the call is sent, so its stack names whoever asked; its message
// is filled in when the outcome is known.

export type DevToolsErrorKind = 'protocol' | 'timeout' | 'closed' | 'crashed';

export class DevToolsError extends Error {
  kind: DevToolsErrorKind = 'protocol';

  constructor(readonly method: string) {
    super(method);
    this.name = 'DevToolsError';
  }

  /** Settles what this error says, keeping the stack captured when the call was sent. */
  settle(kind: DevToolsErrorKind, message: string): this {
    // Read before the message changes: V8 writes the stack's first line when it is first read.
    const stack = this.stack;
    const header = `${this.name}: ${this.message}`;
    this.kind = kind;
    this.message = message;
    if (stack?.startsWith(header)) this.stack = `${this.name}: ${message}${stack.slice(header.length)}`;
    return this;
  }
}
