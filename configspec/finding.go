package configspec

import "fmt"

// Severity of a finding.
type Severity string

const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Finding is one validation result, located in the source YAML.
// Code is stable (see the catalogue in docsite); Path is a dotted path
// (routes.fetch.adapters[1].config.timeout); Line and Column are 1-based
// (0 when the finding has no position, e.g. a missing top-level key).
type Finding struct {
	Severity    Severity `json:"severity"`
	Code        string   `json:"code"`
	Path        string   `json:"path"`
	Line        int      `json:"line"`
	Column      int      `json:"column"`
	Message     string   `json:"message"`
	Remediation string   `json:"remediation,omitempty"`
}

func (f Finding) String() string {
	pos := ""
	if f.Line > 0 {
		pos = fmt.Sprintf("%d:%d: ", f.Line, f.Column)
	}
	s := fmt.Sprintf("%s%s %s %s: %s", pos, f.Severity, f.Code, f.Path, f.Message)
	if f.Remediation != "" {
		s += " (" + f.Remediation + ")"
	}
	return s
}
