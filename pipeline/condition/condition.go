package condition

// Operators a leaf condition may use.
const (
	OpEquals     = "equals"
	OpNotEquals  = "not_equals"
	OpMatches    = "matches"
	OpNotMatches = "not_matches"
	OpExists     = "exists"
	OpNotExists  = "not_exists"
	OpIn         = "in"
	OpNotIn      = "not_in"
	OpContains   = "contains"
	OpGT         = "gt"
	OpGTE        = "gte"
	OpLT         = "lt"
	OpLTE        = "lte"
)

// Condition is a predicate over a message payload. A leaf tests Field (a
// dotted path such as metadata.lang) with Operator against Value; All and
// Any combine conditions. An empty Condition matches everything.
type Condition struct {
	Field    string      `json:"field,omitempty"`
	Operator string      `json:"operator,omitempty"`
	Value    any         `json:"value,omitempty"`
	All      []Condition `json:"all,omitempty"`
	Any      []Condition `json:"any,omitempty"`
	// compiled holds what Compile prepared (e.g. a regular expression).
	compiled any
}
