package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/factflow/factflow/store"
	"github.com/factflow/factflow/webhooks"
)

// WebhookFilterInput restricts a subscription to events with these attributes:
// empty ones match every event, set ones must all be equal.
type WebhookFilterInput struct {
	ConfigID    string `json:"config_id,omitempty" maxLength:"200" doc:"Only events of this config"`
	ExecutionID string `json:"execution_id,omitempty" maxLength:"200" doc:"Only events of this execution"`
	RouteID     string `json:"route_id,omitempty" maxLength:"200" doc:"Only events of this route key"`
	AdapterName string `json:"adapter_name,omitempty" maxLength:"200" doc:"Only events of this adapter"`
}

func (f *WebhookFilterInput) store() store.WebhookFilters {
	if f == nil {
		return store.WebhookFilters{}
	}
	return store.WebhookFilters{ConfigID: f.ConfigID, ExecutionID: f.ExecutionID, RouteID: f.RouteID, AdapterName: f.AdapterName}
}

// WebhookCreate is the body of POST /webhooks.
type WebhookCreate struct {
	URL         string              `json:"url" minLength:"1" maxLength:"2048" doc:"Absolute http(s) URL the events are POSTed to"`
	EventTypes  []string            `json:"event_types" minItems:"1" maxItems:"16" enum:"execution.started,execution.completed,execution.failed,execution.cancelled,storage.object.created,lineage.failed,dead_letter.created,webhook.test" doc:"Event types to receive"`
	Filters     *WebhookFilterInput `json:"filters,omitempty" doc:"Attributes every event sent must have"`
	Secret      string              `json:"secret,omitempty" maxLength:"512" doc:"Signing secret; empty generates one. Shown in this answer only"`
	Description string              `json:"description,omitempty" maxLength:"2000"`
	Active      *bool               `json:"active,omitempty" doc:"Whether events are sent (default true)"`
}

// WebhookUpdate is the body of PATCH /webhooks/{id}: the fields given
// change, the others stay.
type WebhookUpdate struct {
	URL          *string             `json:"url,omitempty" minLength:"1" maxLength:"2048"`
	EventTypes   []string            `json:"event_types,omitempty" minItems:"1" maxItems:"16" enum:"execution.started,execution.completed,execution.failed,execution.cancelled,storage.object.created,lineage.failed,dead_letter.created,webhook.test"`
	Filters      *WebhookFilterInput `json:"filters,omitempty" doc:"Replaces every filter ({} removes them)"`
	Description  *string             `json:"description,omitempty" maxLength:"2000"`
	Active       *bool               `json:"active,omitempty"`
	Secret       string              `json:"secret,omitempty" maxLength:"512" doc:"New signing secret, shown in this answer only"`
	RotateSecret bool                `json:"rotate_secret,omitempty" doc:"Generate a new signing secret (shown in this answer only)"`
}

// WebhookWithSecret is a subscription with its signing secret: the answer
// of a create, and of an update that sets a new secret. The secret is
// never shown again.
type WebhookWithSecret struct {
	webhooks.Subscription
	Secret string `json:"secret,omitempty" doc:"The signing secret; present only when it was just set"`
}

func (a *API) registerWebhooks() {
	if a.opts.Webhooks == nil {
		return
	}
	svc := a.opts.Webhooks
	const tag = "webhooks"

	huma.Register(a.huma, func() huma.Operation {
		o := op(http.MethodPost, "/webhooks", "create-webhook", "Subscribe a URL to events", tag)
		o.DefaultStatus = http.StatusCreated
		return o
	}(), func(ctx context.Context, in *struct{ Body WebhookCreate }) (*struct{ Body WebhookWithSecret }, error) {
		b := in.Body
		c, err := svc.Create(ctx, webhooks.CreateRequest{URL: b.URL, Description: b.Description, EventTypes: b.EventTypes,
			Filters: b.Filters.store(), Secret: b.Secret, Active: b.Active})
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		a.log.Info("webhook created", "webhook_id", c.ID, "correlation_id", requestID(ctx))
		return &struct{ Body WebhookWithSecret }{Body: WebhookWithSecret{Subscription: c.Subscription, Secret: c.Secret}}, nil
	})

	type listIn struct {
		Limit  int `query:"limit" minimum:"1" maximum:"1000" default:"50"`
		Offset int `query:"offset" minimum:"0"`
	}
	huma.Register(a.huma, op(http.MethodGet, "/webhooks", "list-webhooks", "Webhook subscriptions", tag),
		func(ctx context.Context, in *listIn) (*struct{ Body Page[webhooks.Subscription] }, error) {
			pg, err := svc.List(ctx, in.Limit, in.Offset)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body Page[webhooks.Subscription] }{Body: pageOf(pg)}, nil
		})

	type idIn struct {
		ID string `path:"id" maxLength:"64" doc:"Webhook subscription id"`
	}
	huma.Register(a.huma, op(http.MethodGet, "/webhooks/{id}", "get-webhook", "One webhook subscription", tag),
		func(ctx context.Context, in *idIn) (*struct{ Body webhooks.Subscription }, error) {
			s, err := svc.Get(ctx, in.ID)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body webhooks.Subscription }{Body: *s}, nil
		})

	type updateIn struct {
		ID   string `path:"id" maxLength:"64" doc:"Webhook subscription id"`
		Body WebhookUpdate
	}
	huma.Register(a.huma, op(http.MethodPatch, "/webhooks/{id}", "update-webhook", "Change a webhook subscription", tag),
		func(ctx context.Context, in *updateIn) (*struct{ Body WebhookWithSecret }, error) {
			b := in.Body
			if b.Secret != "" && b.RotateSecret {
				return nil, problem(http.StatusUnprocessableEntity, CodeWebhookSecretChoice, "secret and rotate_secret are both given",
					"pass secret to set a given one, or rotate_secret=true to have one generated")
			}
			req := webhooks.UpdateRequest{URL: b.URL, Description: b.Description, EventTypes: b.EventTypes, Active: b.Active}
			if b.Filters != nil {
				f := b.Filters.store()
				req.Filters = &f
			}
			s, err := svc.Update(ctx, in.ID, req)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			out := WebhookWithSecret{Subscription: *s}
			if b.Secret != "" || b.RotateSecret {
				c, err := svc.RotateSecret(ctx, in.ID, b.Secret)
				if err != nil {
					return nil, a.fail(ctx, err)
				}
				out = WebhookWithSecret{Subscription: c.Subscription, Secret: c.Secret}
			}
			a.log.Info("webhook updated", "webhook_id", in.ID, "secret_changed", out.Secret != "", "correlation_id", requestID(ctx))
			return &struct{ Body WebhookWithSecret }{Body: out}, nil
		})

	huma.Register(a.huma, func() huma.Operation {
		o := op(http.MethodDelete, "/webhooks/{id}", "delete-webhook", "Remove a webhook subscription", tag)
		o.DefaultStatus = http.StatusNoContent
		return o
	}(), func(ctx context.Context, in *idIn) (*struct{}, error) {
		if err := svc.Delete(ctx, in.ID); err != nil {
			return nil, a.fail(ctx, err)
		}
		a.log.Info("webhook deleted", "webhook_id", in.ID, "correlation_id", requestID(ctx))
		return nil, nil
	})

	huma.Register(a.huma, func() huma.Operation {
		o := op(http.MethodPost, "/webhooks/{id}/test", "test-webhook", "Send a webhook.test event to this subscription", tag)
		o.DefaultStatus = http.StatusAccepted
		return o
	}(), func(ctx context.Context, in *idIn) (*struct{ Body store.WebhookDelivery }, error) {
		d, err := svc.Test(ctx, in.ID)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		return &struct{ Body store.WebhookDelivery }{Body: *d}, nil
	})

	type deliveriesIn struct {
		ID     string `path:"id" maxLength:"64" doc:"Webhook subscription id"`
		Limit  int    `query:"limit" minimum:"1" maximum:"1000" default:"50"`
		Offset int    `query:"offset" minimum:"0"`
	}
	huma.Register(a.huma, op(http.MethodGet, "/webhooks/{id}/deliveries", "list-webhook-deliveries",
		"A subscription's deliveries, newest first", tag),
		func(ctx context.Context, in *deliveriesIn) (*struct{ Body Page[store.WebhookDelivery] }, error) {
			// An unknown subscription is a 404, not an empty page.
			if _, err := svc.Get(ctx, in.ID); err != nil {
				return nil, a.fail(ctx, err)
			}
			pg, err := svc.Deliveries(ctx, in.ID, in.Limit, in.Offset)
			if err != nil {
				return nil, a.fail(ctx, err)
			}
			return &struct{ Body Page[store.WebhookDelivery] }{Body: pageOf(pg)}, nil
		})

	type deliveryIn struct {
		ID string `path:"id" maxLength:"64" doc:"Delivery id"`
	}
	huma.Register(a.huma, func() huma.Operation {
		o := op(http.MethodPost, "/webhooks/deliveries/{id}/redeliver", "redeliver-webhook",
			"Send a delivery again, with the same delivery id", tag)
		o.DefaultStatus = http.StatusAccepted
		return o
	}(), func(ctx context.Context, in *deliveryIn) (*struct{ Body store.WebhookDelivery }, error) {
		d, err := svc.Redeliver(ctx, in.ID)
		if err != nil {
			return nil, a.fail(ctx, err)
		}
		a.log.Info("webhook delivery redelivered", "delivery_id", d.ID, "webhook_id", d.SubscriptionID, "correlation_id", requestID(ctx))
		return &struct{ Body store.WebhookDelivery }{Body: *d}, nil
	})
}

// CodeWebhookSecretChoice: an update gives both a secret and
// rotate_secret.
const CodeWebhookSecretChoice = "WEBHOOK_SECRET_CHOICE_INVALID"
