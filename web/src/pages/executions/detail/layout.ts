// Left-to-right layout of a route DAG by topological depth.
import type { DAG } from './api';

export const NODE_WIDTH = 280;
export const NODE_HEIGHT = 190;
const GAP_X = 80;
const GAP_Y = 30;

/**
 * layoutDag places each route in the column of its longest path from a
 * source (the init route first); routes in cycles keep the depth they had
 * when the cycle was met. Columns are centred vertically.
 */
export function layoutDag(
  dag: Pick<DAG, 'nodes' | 'edges' | 'init_route'>,
  direction: 'LR' | 'TB' = 'LR',
): Map<string, { x: number; y: number }> {
  const nodes = dag.nodes ?? [];
  const edges = (dag.edges ?? []).filter((e) => e.from_route !== e.to_route);
  const ids = nodes.map((n) => n.route_id);
  const known = new Set(ids);
  const out = new Map<string, string[]>();
  const indeg = new Map<string, number>(ids.map((i) => [i, 0]));
  for (const e of edges) {
    if (!known.has(e.from_route) || !known.has(e.to_route)) continue;
    out.set(e.from_route, [...(out.get(e.from_route) ?? []), e.to_route]);
    indeg.set(e.to_route, (indeg.get(e.to_route) ?? 0) + 1);
  }
  const depth = new Map<string, number>();
  const remaining = new Map(indeg);
  const seen = new Set<string>();
  // Kahn's algorithm with longest-path depths.
  const queue = ids.filter((i) => indeg.get(i) === 0);
  for (const q of queue) depth.set(q, 0);
  const drain = () => {
    while (queue.length > 0) {
      const n = queue.shift()!;
      if (seen.has(n)) continue;
      seen.add(n);
      for (const m of out.get(n) ?? []) {
        if (seen.has(m)) continue; // an edge back into a cycle
        depth.set(m, Math.max(depth.get(m) ?? 0, (depth.get(n) ?? 0) + 1));
        remaining.set(m, (remaining.get(m) ?? 0) - 1);
        if ((remaining.get(m) ?? 0) <= 0) queue.push(m);
      }
    }
  };
  drain();
  // Routes left over sit in cycles: enter each cycle at the init route or
  // at the route already placed furthest left, and carry on from there.
  while (seen.size < ids.length) {
    const left = ids.filter((i) => !seen.has(i));
    const start =
      left.find((i) => i === dag.init_route) ??
      left.reduce((best, i) => ((depth.get(i) ?? Infinity) < (depth.get(best) ?? Infinity) ? i : best), left[0]);
    depth.set(start, depth.get(start) ?? 0);
    queue.push(start);
    drain();
  }
  const columns = new Map<number, string[]>();
  for (const i of ids) {
    const d = depth.get(i) ?? 0;
    columns.set(d, [...(columns.get(d) ?? []), i]);
  }
  const tallest = Math.max(1, ...[...columns.values()].map((c) => c.length));
  const pos = new Map<string, { x: number; y: number }>();
  // Along the flow a step is a node plus a gap; across it, likewise.
  const along = direction === 'LR' ? NODE_WIDTH + GAP_X : NODE_HEIGHT + GAP_X;
  const across = direction === 'LR' ? NODE_HEIGHT + GAP_Y : NODE_WIDTH + GAP_Y;
  for (const [d, col] of columns) {
    const offset = ((tallest - col.length) * across) / 2;
    col.forEach((id, row) => {
      const a = d * along;
      const c = offset + row * across;
      pos.set(id, direction === 'LR' ? { x: a, y: c } : { x: c, y: a });
    });
  }
  return pos;
}
