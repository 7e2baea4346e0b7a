import { describe, expect, it } from 'vitest';
import { layoutDag, NODE_WIDTH } from './layout';

const node = (id: string) => ({ route_id: id, queue: `q.${id}`, adapters: [] });

describe('layoutDag', () => {
  it('puts each route in the column of its longest path from the init route', () => {
    const pos = layoutDag({
      init_route: 'a',
      nodes: ['d', 'c', 'b', 'a'].map(node),
      edges: [
        { from_route: 'a', to_route: 'b', queue: 'q.b' },
        { from_route: 'b', to_route: 'c', queue: 'q.c' },
        { from_route: 'a', to_route: 'c', queue: 'q.c' },
        { from_route: 'c', to_route: 'd', queue: 'q.d' },
      ],
    });
    const col = (id: string) => Math.round(pos.get(id)!.x / (NODE_WIDTH + 80));
    expect(['a', 'b', 'c', 'd'].map(col)).toEqual([0, 1, 2, 3]);
  });

  it('stacks fan-out routes in one column and survives cycles', () => {
    const pos = layoutDag({
      init_route: 'a',
      nodes: ['a', 'b', 'c'].map(node),
      edges: [
        { from_route: 'a', to_route: 'b', queue: 'q.b' },
        { from_route: 'a', to_route: 'c', queue: 'q.c' },
        { from_route: 'c', to_route: 'a', queue: 'q.a' },
      ],
    });
    expect(pos.size).toBe(3);
    expect(pos.get('a')!.x).toBeLessThan(pos.get('b')!.x);
    expect(pos.get('b')!.x).toBe(pos.get('c')!.x);
    expect(pos.get('b')!.y).not.toBe(pos.get('c')!.y);
  });

  it('lays out top to bottom on request', () => {
    const pos = layoutDag(
      { nodes: ['a', 'b'].map(node), edges: [{ from_route: 'a', to_route: 'b', queue: 'q.b' }] },
      'TB',
    );
    expect(pos.get('a')!.x).toBe(pos.get('b')!.x);
    expect(pos.get('b')!.y).toBeGreaterThan(pos.get('a')!.y);
  });
});
