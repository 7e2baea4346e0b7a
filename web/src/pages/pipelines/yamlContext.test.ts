import { describe, expect, it } from 'vitest';
import { EditorState } from '@codemirror/state';
import { CompletionContext } from '@codemirror/autocomplete';
import { adapters } from './testutil';
import { completionsFor, findingRange, pipelineCompletionSource, stepTypeOf, yamlContextAt, yamlDescription } from './yamlContext';
import { parsePayload, defaultPayloadText } from './RunDialog';

/** at splits a document at its `|` marker: the text and the cursor offset. */
function at(doc: string): [string, number] {
  const pos = doc.indexOf('|');
  return [doc.slice(0, pos) + doc.slice(pos + 1), pos];
}

function ctxOf(doc: string) {
  const [text, pos] = at(doc);
  return yamlContextAt(text, pos);
}

const labels = (doc: string) => completionsFor(ctxOf(doc), adapters.items).map((o) => o.label);

describe('yamlContextAt', () => {
  it('finds the value of an adapter step type', () => {
    const c = ctxOf('routes:\n  a:\n    adapters:\n      - type: no|\n');
    expect(c.kind).toBe('value');
    expect(c.key).toBe('type');
    expect(c.prefix).toBe('no');
    expect(c.path).toEqual(['routes', 'a', 'adapters', '[]']);
  });

  it('finds the config mapping of a step and its type', () => {
    const c = ctxOf('routes:\n  a:\n    adapters:\n      - type: smart_segmenter\n        config:\n          max|\n');
    expect(c.kind).toBe('key');
    expect(c.path).toEqual(['routes', 'a', 'adapters', '[]', 'config']);
    expect(stepTypeOf(c)).toBe('smart_segmenter');
  });

  it('sees a step type written below the cursor', () => {
    const c = ctxOf('routes:\n  a:\n    adapters:\n      - name: seg\n        |\n        type: smart_segmenter\n');
    expect(c.path).toEqual(['routes', 'a', 'adapters', '[]']);
    expect(c.frames[c.frames.length - 1].entries.type).toBe('smart_segmenter');
  });

  it('skips block scalars and collects route keys and queues', () => {
    const c = ctxOf(
      'description: >\n  text: with a colon\nroutes:\n  fetch:\n    inbound: { queue: docs.fetch }\n  store:\n    inbound:\n      queue: docs.store\ninit_message:\n  route: |\n',
    );
    expect(c.path).toEqual(['init_message']);
    expect(c.routeKeys).toEqual(['fetch', 'store']);
    expect(c.queues).toEqual(['docs.fetch', 'docs.store']);
  });

  it('handles flow sequences of steps', () => {
    const c = ctxOf('routes:\n  a:\n    adapters: [ { type: sm| } ]\n');
    expect(c.kind).toBe('value');
    expect(c.path).toEqual(['routes', 'a', 'adapters', '[]']);
  });
});

describe('completionsFor', () => {
  it('offers adapter types for type:', () => {
    expect(labels('routes:\n  a:\n    adapters:\n      - type: |\n')).toEqual(['noop', 'smart_segmenter']);
  });

  it("offers the step adapter's config fields from its JSON Schema, without deprecated or present ones", () => {
    expect(labels('routes:\n  a:\n    adapters:\n      - type: smart_segmenter\n        config:\n          max_tokens: 1\n          |\n')).toEqual([
      'min_tokens',
      'strategy',
    ]);
  });

  it('offers enum values of a config field', () => {
    expect(labels('routes:\n  a:\n    adapters:\n      - type: smart_segmenter\n        config:\n          strategy: |\n')).toEqual([
      'headings',
      'tokens',
    ]);
  });

  it('offers top-level, route, step and inbound keys', () => {
    expect(labels('version: "1.0"\n|')).toContain('routes');
    expect(labels('version: "1.0"\n|')).not.toContain('version');
    expect(labels('routes:\n  a:\n    |\n')).toEqual(expect.arrayContaining(['inbound', 'adapters', 'outbound', 'error_handling']));
    expect(labels('routes:\n  a:\n    adapters:\n      - |\n')).toEqual(['type', 'name', 'config', 'condition']);
    expect(labels('routes:\n  a:\n    inbound:\n      |\n')).toEqual(['queue', 'concurrency', 'prefetch', 'subscription']);
    expect(labels('defaults:\n  error_handling:\n    |\n')).toContain('max_retries');
  });

  it('offers route keys for init_message.route and queues for outbound', () => {
    expect(labels('routes:\n  x:\n    inbound: { queue: q.x }\n  y:\n    inbound: q.y\ninit_message:\n  route: |\n')).toEqual(['x', 'y']);
    expect(labels('routes:\n  x:\n    inbound: { queue: q.x }\n    outbound:\n      - queue: |\n  y:\n    inbound: { queue: q.y }\n')).toEqual([
      'q.x',
      'q.y',
    ]);
  });
});

describe('pipelineCompletionSource', () => {
  it('returns adapter types in a CodeMirror completion result', () => {
    const [text, pos] = at('routes:\n  a:\n    adapters:\n      - type: sm|\n');
    const state = EditorState.create({ doc: text });
    const src = pipelineCompletionSource(() => adapters.items);
    const r = src(new CompletionContext(state, pos, false));
    expect(r).not.toBeNull();
    const res = r as Exclude<typeof r, Promise<unknown> | null>;
    expect(res.from).toBe(pos - 2);
    expect(res.options.map((o) => o.label)).toEqual(['noop', 'smart_segmenter']);
    expect(res.options[1].info).toBe('Cut Markdown into segments');
  });

  it('stays quiet on an empty key position unless asked', () => {
    const [text, pos] = at('routes:\n  a:\n    |\n');
    const state = EditorState.create({ doc: text });
    const src = pipelineCompletionSource(() => adapters.items);
    expect(src(new CompletionContext(state, pos, false))).toBeNull();
    expect(src(new CompletionContext(state, pos, true))).not.toBeNull();
  });
});

describe('findingRange', () => {
  const text = 'version: "1.0"\nroutes:\n  a:\n    adapters: [ { type: nooop } ]\n';
  it('covers the word at line and column', () => {
    const r = findingRange(text, { line: 4, column: 25 });
    expect(text.slice(r.from, r.to)).toBe('nooop');
  });
  it('covers the whole line when the column is unknown, and clamps lines', () => {
    const r = findingRange(text, { line: 2, column: 0 });
    expect(text.slice(r.from, r.to)).toBe('routes:');
    const z = findingRange(text, { line: 0, column: 0 });
    expect(z.from).toBe(0);
    const far = findingRange(text, { line: 99, column: 3 });
    expect(far.from).toBeLessThanOrEqual(text.length);
  });
});

describe('run payload', () => {
  it('accepts a JSON object or nothing, rejects the rest', () => {
    expect(parsePayload('')).toEqual({});
    expect(parsePayload('{"root": "/x"}')).toEqual({ value: { root: '/x' } });
    expect(parsePayload('{"root": ').error).toMatch(/Invalid JSON/);
    expect(parsePayload('[1]').error).toMatch(/JSON object/);
    expect(parsePayload('null').error).toMatch(/JSON object/);
  });
  it('prefills from init_message.payload', () => {
    expect(defaultPayloadText('init_message:\n  route: a\n  payload: { root: "/srv" }\n')).toBe('{\n  "root": "/srv"\n}');
    expect(defaultPayloadText('routes: {}\n')).toBe('');
    expect(defaultPayloadText(': : bad')).toBe('');
  });
});

describe('yamlDescription', () => {
  it('reads the top-level description', () => {
    expect(yamlDescription('description: >\n  Crawl the docs\n  site.\nroutes: {}\n')).toBe('Crawl the docs site.');
    expect(yamlDescription('routes: {}\n')).toBe('');
    expect(yamlDescription('[unclosed')).toBe('');
  });
});
