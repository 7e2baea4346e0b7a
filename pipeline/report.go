package pipeline

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/factflow/factflow/configspec"
)

// Finding is one validation result (see the code catalogue).
type Finding = configspec.Finding

// Report holds the findings of loading one pipeline document, sorted by
// position. A pipeline may run only when the report has no errors.
type Report struct {
	Findings []Finding
}

// Valid reports whether there are no error findings (warnings allowed).
func (r *Report) Valid() bool { return r == nil || !configspec.HasErrors(r.Findings) }

// Errors returns the error findings.
func (r *Report) Errors() []Finding { return r.filter(configspec.SeverityError) }

// Warnings returns the warning findings.
func (r *Report) Warnings() []Finding { return r.filter(configspec.SeverityWarning) }

// ErrorCount is len(Errors()).
func (r *Report) ErrorCount() int { return len(r.Errors()) }

// WarningCount is len(Warnings()).
func (r *Report) WarningCount() int { return len(r.Warnings()) }

// Has reports whether any finding carries code.
func (r *Report) Has(code string) bool {
	if r == nil {
		return false
	}
	for _, f := range r.Findings {
		if f.Code == code {
			return true
		}
	}
	return false
}

// Err returns nil for a valid report, otherwise an error naming the first
// few errors (for callers that refuse to run an invalid pipeline).
func (r *Report) Err() error {
	errs := r.Errors()
	if len(errs) == 0 {
		return nil
	}
	const shown = 3
	parts := make([]string, 0, shown)
	for i, f := range errs {
		if i == shown {
			break
		}
		parts = append(parts, f.String())
	}
	more := ""
	if len(errs) > shown {
		more = fmt.Sprintf("; and %d more", len(errs)-shown)
	}
	return fmt.Errorf("invalid pipeline (%d errors): %s%s", len(errs), strings.Join(parts, "; "), more)
}

func (r *Report) filter(sev configspec.Severity) []Finding {
	if r == nil {
		return nil
	}
	var out []Finding
	for _, f := range r.Findings {
		if f.Severity == sev {
			out = append(out, f)
		}
	}
	return out
}

// MarshalJSON renders {valid, error_count, warning_count, findings}.
func (r *Report) MarshalJSON() ([]byte, error) {
	findings := []Finding{}
	if r != nil && r.Findings != nil {
		findings = r.Findings
	}
	return json.Marshal(struct {
		Valid        bool      `json:"valid"`
		ErrorCount   int       `json:"error_count"`
		WarningCount int       `json:"warning_count"`
		Findings     []Finding `json:"findings"`
	}{r.Valid(), r.ErrorCount(), r.WarningCount(), findings})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (r *Report) UnmarshalJSON(b []byte) error {
	var v struct {
		Findings []Finding `json:"findings"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	r.Findings = v.Findings
	return nil
}

// normalize sorts findings by position and drops exact duplicates (an
// aliased node decoded twice reports the same problem twice).
func (r *Report) normalize() {
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i], r.Findings[j]
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Code < b.Code
	})
	out := r.Findings[:0]
	for i, f := range r.Findings {
		if i > 0 && f == r.Findings[i-1] {
			continue
		}
		out = append(out, f)
	}
	r.Findings = out
}
