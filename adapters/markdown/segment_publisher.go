package markdown

import (
	"context"
	"fmt"
	"slices"

	"github.com/factflow/factflow/adapters"
)

// SegmentPublisherConfig configures segment_publisher.
type SegmentPublisherConfig struct {
	CarryFields []string `json:"carry_fields" doc:"Payload fields copied into every segment message. Empty: every field except segments, segment_count, markdown and content, which would multiply the document's size."`
}

// bulky fields are never carried by default: each segment message would
// hold the whole document again.
var bulky = []string{"segments", "segment_count", "markdown", "content"}

func segmentPublisherSpec() adapters.Spec {
	s := adapters.Define("segment_publisher", "markdown", "Fan out one message per segment",
		func(cfg SegmentPublisherConfig, _ adapters.Deps) (adapters.Adapter, error) {
			return &segmentPublisher{cfg: cfg}, nil
		})
	s.Description = "Emits one message per entry of `segments` (from `smart_segmenter`): " +
		"`{segment, segment_index, segment_count, document: {url, title, storage_key, markdown_key}}` " +
		"plus the carried payload fields. A document without segments is skipped."
	s.Reads = []string{"segments", "url", "title", "storage_key", "markdown_key"}
	s.Writes = []string{"segment", "segment_index", "segment_count", "document"}
	s.Emits = true
	return s
}

type segmentPublisher struct {
	cfg SegmentPublisherConfig
}

func (a *segmentPublisher) Process(_ context.Context, in *adapters.Input) (*adapters.Result, error) {
	raw, ok := in.Payload["segments"]
	if !ok {
		return nil, adapters.PermanentCoded("SEGMENTS_MISSING",
			"put smart_segmenter before segment_publisher", fmt.Errorf("payload has no segments"))
	}
	var segs []map[string]any
	switch list := raw.(type) {
	case []any:
		for i, s := range list {
			m, ok := s.(map[string]any)
			if !ok {
				return nil, adapters.PermanentCoded("SEGMENTS_INVALID",
					"segments must be a list of objects as smart_segmenter writes them",
					fmt.Errorf("segments[%d] is %T, not an object", i, s))
			}
			segs = append(segs, m)
		}
	case []map[string]any:
		segs = list
	default:
		return nil, adapters.PermanentCoded("SEGMENTS_INVALID",
			"segments must be a list of objects as smart_segmenter writes them",
			fmt.Errorf("segments is %T, not a list", raw))
	}
	if len(segs) == 0 {
		return nil, adapters.Skip("document has no segments")
	}
	carried := map[string]any{}
	if len(a.cfg.CarryFields) > 0 {
		for _, f := range a.cfg.CarryFields {
			if v, ok := in.Payload[f]; ok {
				carried[f] = v
			}
		}
	} else {
		for k, v := range in.Payload {
			if !slices.Contains(bulky, k) {
				carried[k] = v
			}
		}
	}
	doc := map[string]any{}
	for _, f := range []string{"url", "title", "storage_key", "markdown_key"} {
		if v, ok := in.Payload[f]; ok {
			doc[f] = v
		}
	}
	msgs := make([]adapters.Payload, len(segs))
	for i, seg := range segs {
		// Messages get their own maps: a later adapter editing one message
		// must not reach into its siblings.
		m := adapters.DeepCopy(carried).(map[string]any)
		m["segment"] = adapters.DeepCopy(seg)
		m["segment_index"] = i
		m["segment_count"] = len(segs)
		m["document"] = adapters.DeepCopy(doc)
		msgs[i] = m
	}
	return adapters.Emit(msgs...), nil
}
