// Pure helpers behind the pipeline editor: where in the YAML the cursor is
// (found from indentation, so it works on half-typed documents), what to
// complete there, and how a validation finding maps to a document range.
import type { Completion, CompletionContext, CompletionResult, CompletionSource } from '@codemirror/autocomplete';
import { parse as parseYaml } from 'yaml';
import type { Schemas } from '../../api/client';

export type AdapterInfo = Pick<Schemas['Adapter'], 'type' | 'summary' | 'description' | 'category' | 'config_schema'>;

/** One mapping the cursor is inside, outermost first in YamlContext.frames. */
export interface Frame {
  /** Column of the mapping's keys. */
  col: number;
  /** Key of this mapping in its parent ('' for the document). */
  parentKey: string;
  /** True when the mapping is an item of a sequence (parentKey is the sequence's key). */
  isItem: boolean;
  /** Scalar values of the mapping's keys seen so far (also below the cursor). */
  entries: Record<string, string>;
  lastKey?: string;
}

export interface YamlContext {
  /** 'key' when a mapping key is being typed, 'value' after `key:`. */
  kind: 'key' | 'value';
  /** Keys from the document down to the mapping holding the cursor; sequence items appear as '[]'. */
  path: string[];
  /** The key whose value is typed (kind 'value'). */
  key?: string;
  /** The partial word before the cursor and where it starts. */
  prefix: string;
  from: number;
  frames: Frame[];
  /** Route keys of the document (for init_message.route). */
  routeKeys: string[];
  /** Inbound queues of the document (for outbound queue values). */
  queues: string[];
}

// Keys of a pipeline file (pipeline/load.go and pipeline/policy.go).
export const TOP_LEVEL_KEYS: Record<string, string> = {
  version: 'Schema version, always "1.0"',
  description: 'What the pipeline does',
  defaults: 'Policies every route inherits (error_handling, backpressure, circuit_breaker, timeout)',
  routes: 'Mapping of route key to route',
  init_message: 'Seed message published when an execution starts {route, payload}',
  allow_cycles: 'Allow routes to form a cycle',
  execution: 'Per-execution limits (max_handlers, max_fanout_pending, max_payload_bytes)',
  tests: 'Pipeline tests run by `factflow test`',
};
export const DEFAULTS_KEYS: Record<string, string> = {
  error_handling: 'Retry and dead-letter policy',
  backpressure: 'Adaptive concurrency',
  circuit_breaker: 'Per (route, adapter) circuit breaker',
  timeout: 'Bound on the whole adapter chain for one message',
};
export const ROUTE_KEYS: Record<string, string> = {
  name: 'Human name of the route',
  description: 'What the route does',
  inbound: 'Queue the route consumes {queue, concurrency, prefetch}',
  adapters: 'Adapters run in order on every message',
  outbound: 'Queues results are published to',
  timeout: 'Bound on the whole adapter chain for one message',
  ordering: 'key: process messages with the same ordering_key in order',
  ordering_key: 'Payload field grouping messages when ordering is key',
  error_handling: 'Retry and dead-letter policy',
  backpressure: 'Adaptive concurrency',
  circuit_breaker: 'Per (route, adapter) circuit breaker',
};
export const STEP_KEYS: Record<string, string> = {
  type: 'Adapter type',
  name: 'Step name (also its storage stage name)',
  config: "The adapter's config",
  condition: 'Skip the adapter for messages that do not match',
};
export const INBOUND_KEYS: Record<string, string> = {
  queue: 'Logical queue the route consumes',
  concurrency: 'Messages handled at once (default 1)',
  prefetch: 'Broker-side buffer; 0 means the same as concurrency',
  subscription: 'Shared subscription name',
};
export const OUTBOUND_KEYS: Record<string, string> = {
  queue: 'Queue to publish to (another route’s inbound queue)',
  condition: 'Publish only messages that match',
};
export const INIT_KEYS: Record<string, string> = {
  route: 'Route key the init message is published to',
  payload: 'Payload of the init message',
};
export const EXECUTION_KEYS: Record<string, string> = {
  max_handlers: 'Handlers running at once across all routes (30)',
  max_fanout_pending: 'Emitted messages waiting to be published before handlers pause (500)',
  max_payload_bytes: 'Largest JSON payload of one message (1048576)',
};
export const ERROR_HANDLING_KEYS: Record<string, string> = {
  max_retries: 'Retries before a failing message is dead-lettered (3)',
  retry_delay: 'Delay before the first retry (1s)',
  max_delay: 'Upper bound of the exponential backoff (5m)',
  backoff: 'fixed or exponential',
  jitter: 'Random fraction added to or removed from each delay (0.2)',
  dead_letter: 'Dead-letter messages that exhausted their retries (true)',
  dead_letter_queue: 'Optional broker-side DLQ destination',
  nack_window: 'Fail the execution when too many of the last messages were dead-lettered',
  nack_threshold: 'See nack_window',
};
export const BACKPRESSURE_KEYS: Record<string, string> = {
  target_latency: 'Per-message latency the adaptive controller aims for',
  max_concurrency: 'Upper bound of the adaptive concurrency',
};
export const CIRCUIT_BREAKER_KEYS: Record<string, string> = {
  enabled: 'On as soon as a circuit_breaker block is present',
  failure_ratio: 'Failure ratio over the window that opens the breaker (0.5)',
  min_requests: 'Requests in the window before the ratio is considered (10)',
  open_for: 'How long the breaker stays open before probing (30s)',
  half_open_probes: 'Trial requests allowed while half-open (2)',
  window: 'Rolling window over which failures are counted (60s)',
};
export const CONDITION_KEYS: Record<string, string> = {
  field: 'Payload field (dotted path)',
  operator: 'equals, not_equals, matches, exists, in, contains, gt, …',
  value: 'Value compared with the field',
  all: 'Every sub-condition matches',
  any: 'At least one sub-condition matches',
};
export const CONDITION_OPERATORS = [
  'equals', 'not_equals', 'matches', 'not_matches', 'exists', 'not_exists',
  'in', 'not_in', 'contains', 'gt', 'gte', 'lt', 'lte',
];

const keyRe = /^("[^"]*"|'[^']*'|[^\s:#{}[\],&*!|>'"%@`-][^:#]*?|-[^\s:#][^:#]*?)\s*:(?:\s+(.*))?$/;

interface LineInfo {
  /** Column of the first non-space character (of the key when the line is a list item). */
  col: number;
  dashCol?: number;
  key?: string;
  value?: string;
  blank: boolean;
}

function stripComment(v: string): string {
  // A # preceded by whitespace starts a comment (outside quotes; good enough here).
  const m = /(^|\s)#/.exec(v);
  return (m ? v.slice(0, m.index) : v).trim();
}

function unquote(k: string): string {
  const t = k.trim();
  if ((t.startsWith('"') && t.endsWith('"')) || (t.startsWith("'") && t.endsWith("'"))) return t.slice(1, -1);
  return t;
}

function analyzeLine(line: string): LineInfo {
  const indent = line.length - line.trimStart().length;
  let rest = line.slice(indent);
  if (rest === '' || rest.startsWith('#')) return { col: indent, blank: true };
  let col = indent;
  let dashCol: number | undefined;
  const dash = /^-(\s+|$)/.exec(rest);
  if (dash) {
    dashCol = indent;
    col = indent + dash[0].length;
    rest = rest.slice(dash[0].length);
    if (dash[0].length === 1) col = indent + 2;
  }
  const m = keyRe.exec(rest);
  if (m) {
    return { col, dashCol, key: unquote(m[1]), value: stripComment(m[2] ?? ''), blank: false };
  }
  return { col, dashCol, blank: false };
}

function isBlockScalar(v: string | undefined): boolean {
  return !!v && /^[|>][0-9+-]*$/.test(v);
}

/**
 * yamlContextAt tells what the cursor at pos (an offset in text) is
 * typing: a key of which mapping, or the value of which key.
 */
export function yamlContextAt(text: string, pos: number): YamlContext {
  const lines = text.split('\n');
  let offset = 0;
  let cursorLine = 0;
  for (let i = 0; i < lines.length; i++) {
    if (pos <= offset + lines[i].length) {
      cursorLine = i;
      break;
    }
    offset += lines[i].length + 1;
    cursorLine = i + 1;
  }
  const lineStart = offset;
  const before = (lines[cursorLine] ?? '').slice(0, pos - lineStart);

  const root: Frame = { col: 0, parentKey: '', isItem: false, entries: {} };
  const stack: Frame[] = [root];
  const routeKeys: string[] = [];
  const queues: string[] = [];
  let snapshot: Frame[] = [];
  let blockCol = -1; // inside a block scalar deeper than this column
  let ctx: Omit<YamlContext, 'frames' | 'routeKeys' | 'queues' | 'path'> | undefined;

  const top = () => stack[stack.length - 1];
  const popTo = (col: number) => {
    while (stack.length > 1 && top().col > col) stack.pop();
  };
  const record = (f: Frame, key: string, value: string) => {
    f.entries[key] = value;
    f.lastKey = key;
    if (stack.length === 2 && stack[1] === f && f.parentKey === 'routes' && !f.isItem) routeKeys.push(key);
    if (key === 'queue' && value && /^[\w.:-]+$/.test(value)) {
      if (f.parentKey === 'inbound') queues.push(value);
    }
    if (key === 'inbound' && value) {
      const q = /queue:\s*([\w.:-]+)/.exec(value)?.[1] ?? (/^[\w.:-]+$/.test(value) ? value : undefined);
      if (q) queues.push(q);
    }
  };
  // place opens the mapping a line at column col (list item when dashCol is set) belongs to.
  const place = (col: number, dashCol: number | undefined): Frame => {
    if (dashCol !== undefined) {
      popTo(dashCol);
      const parent = top();
      const item: Frame = { col, parentKey: parent.lastKey ?? '', isItem: true, entries: {} };
      stack.push(item);
      return item;
    }
    popTo(col);
    if (top().col < col) {
      const parent = top();
      const f: Frame = { col, parentKey: parent.lastKey ?? '', isItem: false, entries: {} };
      stack.push(f);
      return f;
    }
    return top();
  };

  for (let i = 0; i < lines.length; i++) {
    if (i === cursorLine) {
      const info = analyzeLine(before);
      // Value position: `key: par|` (also inside a flow mapping: `{ type: no|`).
      const valueM = /(?:^|[\s{,])([\w.-]+):\s+([^\s,{}[\]]*)$/.exec(before);
      if (valueM) {
        const key = valueM[1];
        const prefix = valueM[2];
        const f = place(info.col, info.dashCol);
        snapshot = [...stack];
        if (info.key !== key || /[{[]/.test(info.value ?? '')) {
          // `inbound: { queue: x` — the key sits in a flow mapping of the line's key.
          if (info.key) {
            snapshot.push({ col: Number.MAX_SAFE_INTEGER, parentKey: info.key, isItem: /\[\s*\{[^}]*$/.test(before), entries: {} });
          }
        } else {
          f.lastKey = key;
        }
        ctx = { kind: 'value', key, prefix, from: pos - prefix.length };
      } else if (info.key !== undefined) {
        // Inside a longer scalar value (`description: some te|`).
        place(info.col, info.dashCol);
        snapshot = [...stack];
        const prefix = /([\w.-]*)$/.exec(before)?.[1] ?? '';
        ctx = { kind: 'value', key: info.key, prefix, from: pos - prefix.length };
      } else {
        const prefix = /([\w.-]*)$/.exec(before)?.[1] ?? '';
        const col = before.trim() === '' ? before.length : info.col;
        place(col, info.dashCol);
        snapshot = [...stack];
        ctx = { kind: 'key', prefix, from: pos - prefix.length };
      }
      // The rest of the cursor line may hold a value typed earlier.
      continue;
    }
    const info = analyzeLine(lines[i]);
    if (info.blank) continue;
    const effCol = info.dashCol ?? info.col;
    if (blockCol >= 0) {
      if (effCol > blockCol) continue;
      blockCol = -1;
    }
    if (info.key === undefined) {
      if (info.dashCol !== undefined) place(info.col, info.dashCol);
      continue;
    }
    const f = place(info.col, info.dashCol);
    record(f, info.key, info.value ?? '');
    if (isBlockScalar(info.value)) blockCol = info.col;
  }

  const frames = snapshot.length ? snapshot : [root];
  const path: string[] = [];
  for (const f of frames.slice(1)) {
    path.push(f.parentKey);
    if (f.isItem) path.push('[]');
  }
  const c = ctx ?? { kind: 'key' as const, prefix: '', from: pos };
  return { ...c, path, frames, routeKeys, queues };
}

function keyOptions(keys: Record<string, string>, present: Record<string, string>, type = 'property'): Completion[] {
  return Object.entries(keys)
    .filter(([k]) => !(k in present))
    .map(([k, info]) => ({ label: k, type, detail: 'key', info, apply: `${k}: ` }));
}

function schemaProps(schema: unknown): Record<string, Record<string, unknown>> {
  const s = schema as { properties?: Record<string, Record<string, unknown>> } | undefined;
  return s?.properties ?? {};
}

/** adapterTypeOptions lists the adapter types as completions. */
export function adapterTypeOptions(adapters: AdapterInfo[]): Completion[] {
  return adapters.map((a) => ({
    label: a.type,
    type: 'class',
    detail: a.category,
    info: a.summary || a.description,
  }));
}

/** The `type:` of the adapter step whose mapping (or config) holds the cursor. */
export function stepTypeOf(ctx: YamlContext): string | undefined {
  const p = ctx.path;
  const n = p.length;
  if (n >= 2 && p[n - 1] === 'config' && p[n - 2] === '[]' && p[n - 3] === 'adapters') {
    return ctx.frames[ctx.frames.length - 2]?.entries.type || undefined;
  }
  if (n >= 2 && p[n - 1] === '[]' && p[n - 2] === 'adapters') return ctx.frames[ctx.frames.length - 1]?.entries.type || undefined;
  return undefined;
}

function policyKeys(last: string | undefined): Record<string, string> | undefined {
  switch (last) {
    case 'error_handling':
      return ERROR_HANDLING_KEYS;
    case 'backpressure':
      return BACKPRESSURE_KEYS;
    case 'circuit_breaker':
      return CIRCUIT_BREAKER_KEYS;
  }
  return undefined;
}

/**
 * completionsFor returns the options for a context: keys of the mapping
 * the cursor is in, or values of the key being typed.
 */
export function completionsFor(ctx: YamlContext, adapters: AdapterInfo[]): Completion[] {
  const p = ctx.path;
  const n = p.length;
  const last = p[n - 1];
  const here = ctx.frames[ctx.frames.length - 1]?.entries ?? {};
  const inStep = n >= 2 && last === '[]' && p[n - 2] === 'adapters';
  const inConfig = n >= 3 && last === 'config' && p[n - 2] === '[]' && p[n - 3] === 'adapters';

  if (ctx.kind === 'value') {
    const key = ctx.key ?? '';
    if (key === 'type' && (inStep || p.includes('adapters') || last === 'adapters')) return adapterTypeOptions(adapters);
    if (key === 'version' && n === 0) return [{ label: '"1.0"', type: 'constant' }];
    if (key === 'backoff') return ['fixed', 'exponential'].map((v) => ({ label: v, type: 'enum' }));
    if (key === 'ordering') return ['key', 'none'].map((v) => ({ label: v, type: 'enum' }));
    if (key === 'operator') return CONDITION_OPERATORS.map((v) => ({ label: v, type: 'enum' }));
    if (key === 'route' && last === 'init_message') return ctx.routeKeys.map((r) => ({ label: r, type: 'variable', detail: 'route' }));
    if (key === 'queue' && (last === 'outbound' || (last === '[]' && p[n - 2] === 'outbound')))
      return [...new Set(ctx.queues)].map((q) => ({ label: q, type: 'variable', detail: 'inbound queue' }));
    if (['dead_letter', 'enabled', 'allow_cycles'].includes(key)) return ['true', 'false'].map((v) => ({ label: v, type: 'keyword' }));
    if (inConfig) {
      const typ = stepTypeOf(ctx);
      const prop = schemaProps(adapters.find((a) => a.type === typ)?.config_schema)[key];
      if (prop) {
        const out: Completion[] = [];
        if (Array.isArray(prop.enum)) for (const v of prop.enum) out.push({ label: String(v), type: 'enum' });
        if (prop.type === 'boolean') out.push(...['true', 'false'].map((v) => ({ label: v, type: 'keyword' })));
        if (prop.default !== undefined && typeof prop.default !== 'object' && !out.some((o) => o.label === String(prop.default)))
          out.push({ label: String(prop.default), type: 'constant', detail: 'default' });
        return out;
      }
    }
    return [];
  }

  if (n === 0) return keyOptions(TOP_LEVEL_KEYS, here);
  if (n === 1 && last === 'defaults') return keyOptions(DEFAULTS_KEYS, here);
  if (n === 1 && last === 'init_message') return keyOptions(INIT_KEYS, here);
  if (n === 1 && last === 'execution') return keyOptions(EXECUTION_KEYS, here);
  if (n === 2 && p[0] === 'routes') return keyOptions(ROUTE_KEYS, here);
  if (n === 3 && p[0] === 'routes' && last === 'inbound') return keyOptions(INBOUND_KEYS, here);
  if (inStep) return keyOptions(STEP_KEYS, here);
  if (n >= 2 && last === '[]' && p[n - 2] === 'outbound') return keyOptions(OUTBOUND_KEYS, here);
  if (last === 'condition' || (last === '[]' && (p[n - 2] === 'all' || p[n - 2] === 'any'))) return keyOptions(CONDITION_KEYS, here);
  if (inConfig) {
    const typ = stepTypeOf(ctx);
    const adapter = adapters.find((a) => a.type === typ);
    return Object.entries(schemaProps(adapter?.config_schema))
      .filter(([k, v]) => !(k in here) && !v.deprecated)
      .map(([k, v]) => ({
        label: k,
        type: 'property',
        detail: [v.type, v.default !== undefined ? `= ${JSON.stringify(v.default)}` : ''].filter(Boolean).join(' '),
        info: typeof v.description === 'string' ? v.description : undefined,
        apply: `${k}: `,
      }));
  }
  const pk = policyKeys(last);
  if (pk && (n === 1 || (n === 2 && p[0] === 'defaults') || (n === 3 && p[0] === 'routes'))) return keyOptions(pk, here);
  return [];
}

/** pipelineCompletionSource completes pipeline YAML with the adapters getAdapters returns. */
export function pipelineCompletionSource(getAdapters: () => AdapterInfo[]): CompletionSource {
  return (cc: CompletionContext): CompletionResult | null => {
    const ctx = yamlContextAt(cc.state.doc.toString(), cc.pos);
    if (!cc.explicit && ctx.prefix === '' && ctx.kind === 'key') return null;
    const options = completionsFor(ctx, getAdapters());
    if (!options.length) return null;
    return { from: ctx.from, options, validFor: /^[\w.-]*$/ };
  };
}

export interface FindingLike {
  line: number;
  column: number;
  severity: string;
  message: string;
  code: string;
  remediation?: string;
}

/**
 * findingRange maps a finding's 1-based line and column (0 = unknown) to
 * offsets in text: the word at the column, or the whole line.
 */
export function findingRange(text: string, f: Pick<FindingLike, 'line' | 'column'>): { from: number; to: number } {
  const lines = text.split('\n');
  const ln = Math.min(Math.max(f.line || 1, 1), lines.length);
  let start = 0;
  for (let i = 0; i < ln - 1; i++) start += lines[i].length + 1;
  const line = lines[ln - 1] ?? '';
  if (!f.column || f.column < 1) {
    const ind = line.length - line.trimStart().length;
    return { from: start + ind, to: start + line.length };
  }
  const c = Math.min(f.column - 1, line.length);
  const m = /^[^\s,{}[\]#]+/.exec(line.slice(c));
  const len = m ? m[0].length : 0;
  return { from: start + c, to: start + c + len };
}

/** initPayloadOf reads init_message.payload from pipeline YAML (undefined when absent or unreadable). */
export function initPayloadOf(doc: unknown): Record<string, unknown> | undefined {
  const d = doc as { init_message?: { payload?: unknown } } | null | undefined;
  const p = d?.init_message?.payload;
  if (p && typeof p === 'object' && !Array.isArray(p)) return p as Record<string, unknown>;
  return undefined;
}

/** yamlDescription is the top-level description of pipeline YAML ('' when none or unreadable). */
export function yamlDescription(yaml: string): string {
  try {
    const d = parseYaml(yaml) as { description?: unknown } | null;
    return typeof d?.description === 'string' ? d.description.trim().slice(0, 2000) : '';
  } catch {
    return '';
  }
}
