package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

// Dead letters are read-only here; requeue and discard come with the
// reliability engine.
func (a *API) registerDeadLetters() {
	type listIn struct {
		ExecutionID string `query:"execution_id" maxLength:"200" doc:"Only this execution's (id or tag)"`
		Limit       int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
		Offset      int    `query:"offset" minimum:"0"`
	}
	huma.Register(a.huma, op(http.MethodGet, "/dead-letters", "list-dead-letters",
		"Dead-lettered messages, oldest first", "dead-letters"),
		func(ctx context.Context, in *listIn) (*struct{ Body Page[DeadLetter] }, error) {
			exec := ""
			if in.ExecutionID != "" {
				rec, err := a.execution(ctx, in.ExecutionID)
				if err != nil {
					return nil, err
				}
				exec = rec.ID
			}
			pg, err := a.opts.DB.DeadLetters().List(ctx, exec, in.Limit, in.Offset)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body Page[DeadLetter] }{Body: pageOf(pg)}, nil
		})

	type idIn struct {
		ID string `path:"id" maxLength:"64" doc:"Dead letter id"`
	}
	huma.Register(a.huma, op(http.MethodGet, "/dead-letters/{id}", "get-dead-letter",
		"One dead letter: the original message, its headers and why it was given up", "dead-letters"),
		func(ctx context.Context, in *idIn) (*struct{ Body DeadLetter }, error) {
			d, err := a.opts.DB.DeadLetters().Get(ctx, in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body DeadLetter }{Body: *d}, nil
		})
}
