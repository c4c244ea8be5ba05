// One Chromium page of the runtime and what it is reached by: its target, DevTools session,
// channel and renderer process. It holds one model's worker, or, where the server shares pages
// (share_pages), worker i of several models, each as a tenant the page's calls name. Whatever
// ends the page (a crash, a retired run, the browser gone) ends every tenant in it.

import type { GatewayArgs, GatewayCall, PageOp, PageReplies } from '../../browser-runtime/protocol.js';
import { MAX_TENANTS, PAGE_PROGRESS } from '../../browser-runtime/protocol.js';
import type { LaunchedBrowser } from '../chromium/browser-launch.js';
import { withNewRenderer } from '../chromium/renderer-process.js';
import type { DevToolsSession } from '../devtools/session.js';
import { Deadline, seconds } from '../ops/deadline.js';
import { log } from '../ops/log.js';
import { BridgeError, withDeadline } from './bridge-error.js';
import { asBridgeError } from './devtools-failure.js';
import { PageChannel } from './page-channel.js';

/** What sets a load's deadline (lifecycle/engine-options.ts): named in the error of a load that runs past it. */
const LOAD_DEADLINE = 'default_response_timeout (a load may take at least 120 s)';

/** How long the page has to say where it is (progress()): it answers at once unless its main thread is stuck. */
const PROGRESS_MS = 5_000;

/** A model's worker in the page: told when the page ends under it. */
export interface PageTenant {
  readonly key: string;
  fail(kind: 'crashed' | 'closed', message: string): void;
}

export class RuntimePage {
  /** The page's renderer process, where it could be told (renderer-process.ts). */
  pid: number | null = null;
  private launched: LaunchedBrowser | null = null;
  private targetId: string | null = null;
  private session: DevToolsSession | null = null;
  private channel: PageChannel | null = null;
  private opening: Promise<void> | null = null;
  /** Closing the page, once asked. */
  private closing: Promise<void> | null = null;
  /** Why the page can take no more calls: it crashed, was closed, or was retired. */
  private ended: string | null = null;
  private readonly tenants = new Map<number, PageTenant>();
  /**
   * The next tenant's number. Never reused: a load that ran past its deadline may still end in
   * the page, and must not take the place of a model that joined since.
   */
  private nextTenant = 0;

  constructor(
    /** The runtime listener's origin and the page's URL on it (server/page/runtime-assets.ts). */
    private readonly site: { origin: string; pageUrl: string },
    private readonly loadTimeoutMs: number,
    /** What log lines and errors call the page before a tenant names it. */
    private readonly name: string,
  ) {}

  /** The deadline of a load (lifecycle/engine-options.ts), from now: for a step with none of its own. */
  loadDeadline(): Deadline {
    return Deadline.after(this.loadTimeoutMs, LOAD_DEADLINE);
  }

  /** Open, or still opening, and not ended: a model may still join it. */
  get usable(): boolean {
    return this.ended === null && this.closing === null && this.nextTenant < MAX_TENANTS;
  }

  /** Takes a tenant's place; answers the number its calls carry. */
  join(tenant: PageTenant): number {
    if (!this.usable) throw new BridgeError('closed', `the page for ${tenant.key} has ended: ${this.ended ?? 'it is closing'}`);
    const place = this.nextTenant++;
    this.tenants.set(place, tenant);
    return place;
  }

  get tenantCount(): number {
    return this.tenants.size;
  }

  /**
   * Opens the page on the first call (one renderer at a time: withNewRenderer), navigated to the
   * runtime page within the deadline `limit` makes when the page's turn to open comes. Later
   * calls wait for that same opening. `who` opens it, for its errors: "worker 0 of m/1.0".
   */
  open(launched: LaunchedBrowser, limit: () => Deadline, who: string): Promise<void> {
    this.opening ??= (async () => {
      const { pid } = await withNewRenderer(launched.pid, () => this.navigate(launched, limit(), who));
      this.pid = pid;
    })();
    return this.opening;
  }

  /** A new page, its DevTools session and events, navigated to the runtime page within `limit`. */
  private async navigate(launched: LaunchedBrowser, limit: Deadline, who: string): Promise<void> {
    this.launched = launched;
    const browser = launched.connection.browser;
    // Given the load deadline, however short `limit` is: a page made after its call had given up
    // would be one nobody knows of, and nobody closes.
    const { targetId } = await browser.send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' }, this.loadDeadline());
    this.targetId = targetId;
    // Closed (scaled down, unregistered, shut down) while the page was opening: close() saw no page.
    if (this.closing) {
      await this.closeTarget();
      throw new BridgeError('closed', `${who} was closed while it started`);
    }
    if (limit.expired()) throw new BridgeError('timeout', `${who} did not start within ${seconds(limit.totalMs)} s (raise ${limit.setting} to allow more)`);
    const session = await launched.connection.attach(targetId);
    this.session = session;
    session.onEnd((kind, reason) => this.end(kind === 'crashed' ? 'crashed' : 'closed', reason));
    session.on('Runtime.exceptionThrown', (e) => {
      const d = e['exceptionDetails'] as { text: string; exception?: { description?: string } };
      log.warn(`${this.name}: page error: ${d.exception?.description ?? d.text}`);
    });
    session.on('Runtime.consoleAPICalled', (e) => {
      if (e['type'] !== 'error' && e['type'] !== 'warning') return;
      const text = (e['args'] as Array<{ value?: unknown; description?: string }>).map((a) => (a.value !== undefined ? String(a.value) : (a.description ?? ''))).join(' ');
      // onnxruntime colours its own log lines; a log file wants plain text.
      log.warn(`${this.name}: page console: ${text.replace(/\x1b\[[0-9;]*m/g, '')}`);
    });
    // Inspector for targetCrashed; the channel's Fetch patterns before the page asks for anything.
    await Promise.all([session.send('Inspector.enable', {}, limit), session.send('Runtime.enable', {}, limit), session.send('Page.enable', {}, limit)]);
    this.channel = await PageChannel.attach(session, this.site.origin);
    let loaded!: () => void;
    const load = new Promise<void>((resolve) => (loaded = resolve));
    const stop = session.on('Page.loadEventFired', () => loaded());
    try {
      const { errorText } = await session.send<{ errorText?: string }>('Page.navigate', { url: this.site.pageUrl }, limit);
      if (errorText) throw new BridgeError('model', `the runtime page did not load: ${errorText}`);
      // A page closed meanwhile (unregistered while it loads) fires no load event: its end ends the wait.
      const ended = new Promise<never>((_, reject) =>
        session.onEnd((kind, reason) => reject(new BridgeError(kind === 'crashed' ? 'crashed' : 'closed', `the runtime page ended while it loaded: ${reason}`))),
      );
      ended.catch(() => undefined);
      await withDeadline(Promise.race([load, ended]), limit, 'loading the runtime page');
    } finally {
      stop();
    }
  }

  /** A call for `tenant`'s model; a page refusal comes back as a BridgeError of the page's kind. */
  async call<Op extends PageOp>(tenant: number, op: Op, args: GatewayArgs[Op], deadline: Deadline, what: string): Promise<PageReplies[Op]> {
    const key = this.tenants.get(tenant)?.key ?? this.name;
    if (!this.channel) throw new BridgeError('closed', `the page for ${key} is not open`);
    const reply = await this.channel.call({ op, args } as GatewayCall<Op>, deadline, what, tenant).catch((e: unknown) => {
      throw asBridgeError(e, `the page for ${key}`);
    });
    if (!reply.ok) throw new BridgeError(reply.error.kind, reply.error.message);
    return reply.value;
  }

  /**
   * Where the page is, in its own words (browser-runtime/progress.ts): for the error of a load
   * that ran past its deadline. Never fails: a page that cannot answer is said to.
   */
  async progress(): Promise<string> {
    if (!this.session) return 'the page is not open';
    try {
      const { result } = await this.session.send<{ result?: { value?: unknown } }>(
        'Runtime.evaluate',
        { expression: `globalThis.${PAGE_PROGRESS}?.()`, returnByValue: true },
        Deadline.after(PROGRESS_MS, 'none'),
      );
      return typeof result?.value === 'string' ? result.value : 'the runtime page has not started';
    } catch (e) {
      return `the page did not say where it is within ${seconds(PROGRESS_MS)} s (${e instanceof Error ? e.message : String(e)})`;
    }
  }

  /**
   * A failed or stuck run can leave the page's onnxruntime unusable for every model in it: the
   * page fails them all and closes, so that each is loaded again into a fresh one.
   */
  retire(reason: string): Promise<void> {
    this.end('crashed', reason);
    return this.close();
  }

  /**
   * `tenant` leaves: the page closes once it was the last; else the page frees its model, where
   * it `loaded` one, and the others go on. A page that ended meanwhile frees it by ending.
   */
  async leave(tenant: number, loaded: boolean): Promise<void> {
    if (!this.tenants.delete(tenant)) return;
    if (this.tenants.size === 0) return this.close();
    if (!loaded || !this.channel || this.ended !== null || this.closing !== null) return;
    try {
      await this.call(tenant, 'unload', {}, this.loadDeadline(), 'unloading a model');
    } catch (e) {
      // The page went meanwhile (crashed, retired, its last model left): its end freed the model.
      if (this.ended !== null || this.closing !== null) return;
      log.warn(`${this.name}: a model did not leave its shared page cleanly: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** Fault injection for tests: crashes this page's renderer as a real crash would. */
  async crash(): Promise<void> {
    // Never answered: the renderer is gone before it could be, and the call fails as crashed.
    await this.session?.send('Page.crash').catch(() => undefined);
  }

  private end(kind: 'crashed' | 'closed', reason: string): void {
    this.ended ??= reason;
    for (const tenant of this.tenants.values()) tenant.fail(kind, reason);
  }

  /**
   * Closing the target ends its renderer's work; one already gone (crashed, closed) is no fault.
   * Chromium answers Target.closeTarget before the page is gone from its targets: this waits for
   * Target.targetDestroyed, so that whoever closed it (a failed load, a scale-down) answers only
   * once the page no longer counts.
   */
  close(): Promise<void> {
    // Once: a start that fails because its worker was closed meanwhile closes the same page again.
    this.closing ??= this.closeTarget();
    return this.closing;
  }

  private async closeTarget(): Promise<void> {
    if (this.targetId === null || !this.launched?.connection.open) return;
    const { browser } = this.launched.connection;
    const targetId = this.targetId;
    const stops: Array<() => void> = [];
    const destroyed = new Promise<void>((resolve) => {
      stops.push(
        browser.on('Target.targetDestroyed', (e) => {
          if (e['targetId'] === targetId) resolve();
        }),
        // Each page closed adds one: removed below, so a long-lived browser does not gather them.
        this.launched!.connection.onClose(() => resolve()),
      );
    });
    try {
      await browser.send('Target.closeTarget', { targetId });
      await withDeadline(destroyed, this.loadDeadline(), 'closing the page');
    } catch {
      // Gone already, or the browser with it.
    } finally {
      for (const stop of stops) stop();
    }
  }
}
