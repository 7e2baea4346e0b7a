package pipeline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/factflow/factflow/configspec"
)

// Edges derives the wiring of p: an edge A→B exists for every outbound
// queue of A that is B's inbound queue. Edges come in route order, then
// outbound order, without duplicates.
func Edges(p *Pipeline) []Edge {
	if p == nil {
		return nil
	}
	consumers := consumersOf(p)
	var out []Edge
	seen := map[Edge]bool{}
	for _, id := range p.RouteOrder {
		r := p.Routes[id]
		if r == nil {
			continue
		}
		for _, o := range r.Outbound {
			for _, to := range consumers[o.Queue] {
				e := Edge{From: id, To: to, Queue: o.Queue}
				if !seen[e] {
					seen[e] = true
					out = append(out, e)
				}
			}
		}
	}
	return out
}

// consumersOf maps each inbound queue to the routes consuming it.
func consumersOf(p *Pipeline) map[string][]string {
	m := map[string][]string{}
	for _, id := range p.RouteOrder {
		if r := p.Routes[id]; r != nil && r.Inbound.Queue != "" {
			m[r.Inbound.Queue] = append(m[r.Inbound.Queue], id)
		}
	}
	return m
}

// wire checks the graph: duplicate inbound queues, outbound queues nobody
// consumes, self-loops, cycles and routes the seed can never reach.
func (l *loader) wire(p *Pipeline) {
	if len(p.RouteOrder) == 0 {
		return
	}
	consumers := consumersOf(p)
	for q, ids := range consumers {
		for _, id := range ids[1:] {
			l.find("E203", configspec.Join(configspec.Join("routes", id), "inbound.queue"), l.routes[id].inbound,
				fmt.Sprintf("queue %q is already the inbound queue of route %q", q, ids[0]), "")
		}
	}
	var inboundQueues []string
	for q := range consumers {
		inboundQueues = append(inboundQueues, q)
	}
	slices.Sort(inboundQueues)
	for _, id := range p.RouteOrder {
		r, nodes := p.Routes[id], l.routes[id]
		for i, o := range r.Outbound {
			if o.Queue == "" || i >= len(nodes.outbound) {
				continue
			}
			at := nodes.outbound[i]
			path := configspec.Index(configspec.Join(configspec.Join("routes", id), "outbound"), i)
			switch {
			case o.Queue == r.Inbound.Queue && !p.AllowCycles:
				l.find("E206", path, at, fmt.Sprintf("route %q publishes to its own inbound queue %q", id, o.Queue), "")
			case len(consumers[o.Queue]) == 0:
				l.find("E205", path, at,
					fmt.Sprintf("no route consumes queue %q, so messages published to it would never be processed and the execution could never complete%s",
						o.Queue, configspec.DidYouMean(o.Queue, inboundQueues)),
					fmt.Sprintf("add a route with inbound.queue %s, or remove this outbound entry", o.Queue))
			}
		}
	}
	edges := Edges(p)
	if !p.AllowCycles {
		for _, scc := range cycles(p.RouteOrder, edges) {
			l.find("W201", configspec.Join("routes", scc[0]), l.routes[scc[0]].key,
				fmt.Sprintf("routes %s form a cycle; a message can travel around it forever", strings.Join(append(scc, scc[0]), " → ")), "")
		}
	}
	l.reachability(p, edges)
}

func (l *loader) reachability(p *Pipeline, edges []Edge) {
	start, code := "", "E202"
	switch {
	case p.InitMessage == nil:
		start, code = p.RouteOrder[0], "W202"
	case p.Routes[p.InitMessage.Route] != nil:
		start = p.InitMessage.Route
	default:
		return // E201 already says the init route is wrong
	}
	next := map[string][]string{}
	for _, e := range edges {
		next[e.From] = append(next[e.From], e.To)
	}
	reached := map[string]bool{start: true}
	queue := []string{start}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, to := range next[id] {
			if !reached[to] {
				reached[to] = true
				queue = append(queue, to)
			}
		}
	}
	for _, id := range p.RouteOrder {
		r := p.Routes[id]
		if reached[id] || r.Inbound.Queue == "" {
			continue
		}
		from := fmt.Sprintf("the init route %q", start)
		if code == "W202" {
			from = fmt.Sprintf("the first route %q (there is no init_message)", start)
		}
		l.find(code, configspec.Join("routes", id), l.routes[id].key,
			fmt.Sprintf("route %q is not reachable from %s: no route on the way publishes to its queue %q", id, from, r.Inbound.Queue),
			fmt.Sprintf("list %s as an outbound queue of the route that should feed it, or remove the route", r.Inbound.Queue))
	}
}

// cycles returns the strongly connected components with more than one
// route (self-loops are reported separately), each ordered as a walk
// around the cycle starting at its first route in YAML order.
func cycles(order []string, edges []Edge) [][]string {
	next := map[string][]string{}
	for _, e := range edges {
		if e.From != e.To {
			next[e.From] = append(next[e.From], e.To)
		}
	}
	index := map[string]int{}
	low := map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var out [][]string
	counter := 0
	var strong func(v string)
	strong = func(v string) {
		index[v], low[v] = counter, counter
		counter++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range next[v] {
			if _, seen := index[w]; !seen {
				strong(w)
				low[v] = min(low[v], low[w])
			} else if onStack[w] {
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] == index[v] {
			var comp []string
			for {
				w := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[w] = false
				comp = append(comp, w)
				if w == v {
					break
				}
			}
			if len(comp) > 1 {
				out = append(out, walk(order, comp, next))
			}
		}
	}
	for _, id := range order {
		if _, seen := index[id]; !seen {
			strong(id)
		}
	}
	slices.SortFunc(out, func(a, b []string) int { return slices.Index(order, a[0]) - slices.Index(order, b[0]) })
	return out
}

// walk finds a simple cycle through comp starting at its earliest route.
func walk(order, comp []string, next map[string][]string) []string {
	in := map[string]bool{}
	for _, c := range comp {
		in[c] = true
	}
	start := comp[0]
	for _, id := range order {
		if in[id] {
			start = id
			break
		}
	}
	// Breadth-first search back to start inside the component.
	prev := map[string]string{}
	queue := []string{start}
	visited := map[string]bool{start: true}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range next[v] {
			if !in[w] {
				continue
			}
			if w == start {
				path := []string{v}
				for path[len(path)-1] != start {
					path = append(path, prev[path[len(path)-1]])
				}
				slices.Reverse(path)
				return path
			}
			if !visited[w] {
				visited[w] = true
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	return []string{start}
}
