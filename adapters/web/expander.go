package web

import (
	"context"
	"fmt"
	"maps"

	"github.com/factflow/factflow/adapters"
)

// URLExpanderConfig configures url_expander.
type URLExpanderConfig struct {
	Field string   `json:"field" default:"urls" doc:"Payload field holding the list: URL strings or objects with a url field (sitemap_parser's urls)."`
	Max   int      `json:"max" default:"0" minimum:"0" maximum:"10000000" doc:"Most messages emitted; the rest of the list is dropped (0: no limit)."`
	Carry []string `json:"carry" doc:"Top-level fields of the incoming message copied into every emitted message (an entry's own fields win)."`
}

type urlExpander struct{ cfg URLExpanderConfig }

// Validate reports config errors the tags cannot express.
func (c URLExpanderConfig) Validate() error {
	for i, f := range c.Carry {
		if f == "" {
			return fmt.Errorf("carry[%d] is empty", i)
		}
	}
	return nil
}

func newURLExpander(cfg URLExpanderConfig, _ adapters.Deps) (adapters.Adapter, error) {
	if cfg.Field == "" {
		cfg.Field = "urls"
	}
	if cfg.Max < 0 {
		return nil, fmt.Errorf("max must not be negative, got %d", cfg.Max)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &urlExpander{cfg: cfg}, nil
}

func (x *urlExpander) Process(_ context.Context, in *adapters.Input) (*adapters.Result, error) {
	v, ok := in.Payload[x.cfg.Field]
	if !ok || v == nil {
		return nil, adapters.PermanentCoded(CodeFieldMissing,
			fmt.Sprintf("put the list in %q or set field to where it is", x.cfg.Field),
			fmt.Errorf("payload has no field %q", x.cfg.Field))
	}
	list, ok := asList(v)
	if !ok {
		return nil, adapters.PermanentCoded(CodeFieldType, "the field must hold a list of URLs or of {url} objects",
			fmt.Errorf("payload field %q is %T, want a list", x.cfg.Field, v))
	}
	source := parentSource(in.Payload)
	out := make([]adapters.Payload, 0, len(list))
	for _, item := range list {
		if x.cfg.Max > 0 && len(out) >= x.cfg.Max {
			break
		}
		msg := adapters.Payload{}
		for _, f := range x.cfg.Carry {
			if fv, ok := in.Payload[f]; ok {
				msg[f] = fv
			}
		}
		switch it := item.(type) {
		case string:
			msg["url"] = it
		case map[string]any:
			maps.Copy(msg, it)
		default:
			continue
		}
		if u, _ := msg["url"].(string); u == "" {
			continue
		}
		if _, has := msg["source_url"]; !has && source != "" {
			msg["source_url"] = source
		}
		out = append(out, msg)
	}
	if len(out) == 0 {
		// Nothing to fan out: stop the chain without publishing.
		return nil, nil
	}
	return adapters.Emit(out...), nil
}

// asList accepts the shapes a list takes in a payload, before and after a
// JSON round trip.
func asList(v any) ([]any, bool) {
	switch l := v.(type) {
	case []any:
		return l, true
	case []string:
		out := make([]any, len(l))
		for i, s := range l {
			out[i] = s
		}
		return out, true
	case []map[string]any:
		out := make([]any, len(l))
		for i, m := range l {
			out[i] = m
		}
		return out, true
	}
	return nil, false
}

// parentSource names where the list came from: the sitemap, else the page.
func parentSource(p adapters.Payload) string {
	if s, _ := p["sitemap_url"].(string); s != "" {
		return s
	}
	s, _ := p["url"].(string)
	return s
}
