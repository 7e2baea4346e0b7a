package markdown

import (
	"fmt"
	"strings"

	"golang.org/x/net/html"
)

// selector is a small CSS selector: a comma-separated list of compound
// selectors (tag, #id, .class, [attr], [attr=value] with =, ~=, ^=, $=, *=)
// joined by descendant (space) or child (>) combinators. It covers what
// picking a page's main content or dropping its chrome needs.
type selector []complexSel

type complexSel struct {
	// parts[i] is matched against an ancestor of the node matching
	// parts[i+1]; child[i] says whether that ancestor must be the parent.
	parts []compound
	child []bool
}

type compound struct {
	tag     string
	id      string
	classes []string
	attrs   []attrSel
}

type attrSel struct {
	name, op, value string
}

func parseSelector(src string) (selector, error) {
	var sel selector
	for group := range strings.SplitSeq(src, ",") {
		group = strings.TrimSpace(group)
		if group == "" {
			return nil, fmt.Errorf("selector %q: empty selector in list", src)
		}
		c, err := parseComplex(group)
		if err != nil {
			return nil, fmt.Errorf("selector %q: %w", src, err)
		}
		sel = append(sel, c)
	}
	return sel, nil
}

func parseComplex(s string) (complexSel, error) {
	var c complexSel
	toks := strings.Fields(strings.ReplaceAll(s, ">", " > "))
	childNext := false
	for _, t := range toks {
		if t == ">" {
			if len(c.parts) == 0 || childNext {
				return c, fmt.Errorf("misplaced '>'")
			}
			childNext = true
			continue
		}
		cp, err := parseCompound(t)
		if err != nil {
			return c, err
		}
		if len(c.parts) > 0 {
			c.child = append(c.child, childNext)
		}
		childNext = false
		c.parts = append(c.parts, cp)
	}
	if childNext || len(c.parts) == 0 {
		return c, fmt.Errorf("selector ends with a combinator")
	}
	return c, nil
}

func isIdentByte(b byte) bool {
	return b == '-' || b == '_' || b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= 0x80
}

func ident(s string, i int) (string, int) {
	j := i
	for j < len(s) && isIdentByte(s[j]) {
		j++
	}
	return s[i:j], j
}

func parseCompound(s string) (compound, error) {
	var c compound
	i := 0
	if i < len(s) && s[i] == '*' {
		i++
	} else {
		c.tag, i = ident(s, 0)
		c.tag = strings.ToLower(c.tag)
	}
	for i < len(s) {
		switch s[i] {
		case '#', '.':
			kind := s[i]
			name, j := ident(s, i+1)
			if name == "" {
				return c, fmt.Errorf("%q: expected a name after %q", s, kind)
			}
			if kind == '#' {
				c.id = name
			} else {
				c.classes = append(c.classes, name)
			}
			i = j
		case '[':
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return c, fmt.Errorf("%q: unclosed '['", s)
			}
			a, err := parseAttr(s[i+1 : i+end])
			if err != nil {
				return c, fmt.Errorf("%q: %w", s, err)
			}
			c.attrs = append(c.attrs, a)
			i += end + 1
		default:
			return c, fmt.Errorf("%q: unsupported syntax at %q", s, s[i:])
		}
	}
	return c, nil
}

func parseAttr(s string) (attrSel, error) {
	for _, op := range []string{"~=", "^=", "$=", "*=", "="} {
		if k := strings.Index(s, op); k >= 0 {
			name := strings.ToLower(strings.TrimSpace(s[:k]))
			val := strings.Trim(strings.TrimSpace(s[k+len(op):]), `"'`)
			if name == "" {
				return attrSel{}, fmt.Errorf("attribute selector without a name")
			}
			return attrSel{name: name, op: op, value: val}, nil
		}
	}
	name := strings.ToLower(strings.TrimSpace(s))
	if name == "" {
		return attrSel{}, fmt.Errorf("empty attribute selector")
	}
	return attrSel{name: name}, nil
}

func attr(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Namespace == "" && strings.EqualFold(a.Key, name) {
			return a.Val, true
		}
	}
	return "", false
}

func (c compound) matches(n *html.Node) bool {
	if n.Type != html.ElementNode {
		return false
	}
	if c.tag != "" && n.Data != c.tag {
		return false
	}
	if c.id != "" {
		if v, _ := attr(n, "id"); v != c.id {
			return false
		}
	}
	if len(c.classes) > 0 {
		v, _ := attr(n, "class")
		have := strings.Fields(v)
		for _, want := range c.classes {
			found := false
			for _, h := range have {
				if h == want {
					found = true
					break
				}
			}
			if !found {
				return false
			}
		}
	}
	for _, a := range c.attrs {
		v, ok := attr(n, a.name)
		if !ok {
			return false
		}
		switch a.op {
		case "=":
			ok = v == a.value
		case "~=":
			ok = false
			for _, f := range strings.Fields(v) {
				ok = ok || f == a.value
			}
		case "^=":
			ok = a.value != "" && strings.HasPrefix(v, a.value)
		case "$=":
			ok = a.value != "" && strings.HasSuffix(v, a.value)
		case "*=":
			ok = a.value != "" && strings.Contains(v, a.value)
		}
		if !ok {
			return false
		}
	}
	return true
}

func (c complexSel) matches(n *html.Node) bool {
	return c.matchAt(n, len(c.parts)-1)
}

func (c complexSel) matchAt(n *html.Node, i int) bool {
	if !c.parts[i].matches(n) {
		return false
	}
	if i == 0 {
		return true
	}
	for p := n.Parent; p != nil; p = p.Parent {
		if c.matchAt(p, i-1) {
			return true
		}
		if c.child[i-1] {
			return false
		}
	}
	return false
}

func (s selector) matches(n *html.Node) bool {
	for _, c := range s {
		if c.matches(n) {
			return true
		}
	}
	return false
}

// first returns the first node under root, in document order, that s
// matches.
func (s selector) first(root *html.Node) *html.Node {
	if s.matches(root) {
		return root
	}
	for c := root.FirstChild; c != nil; c = c.NextSibling {
		if n := s.first(c); n != nil {
			return n
		}
	}
	return nil
}

// removeAll detaches every node under root that s matches.
func (s selector) removeAll(root *html.Node) {
	for c := root.FirstChild; c != nil; {
		next := c.NextSibling
		if s.matches(c) {
			root.RemoveChild(c)
		} else {
			s.removeAll(c)
		}
		c = next
	}
}
