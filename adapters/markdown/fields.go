package markdown

import (
	"fmt"

	"github.com/factflow/factflow/adapters"
)

// checkFieldPath validates a config field holding a dotted payload path,
// naming the config field in its message.
func checkFieldPath(name, p string) error {
	switch {
	case adapters.ValidatePath(p) == nil:
		return nil
	case p == "":
		return fmt.Errorf("%s: a field path is required", name)
	}
	return fmt.Errorf("%s: %q has an empty segment", name, p)
}

// assignField writes v at the path held by config field name, failing the
// message permanently when a value that is not an object stands in the
// way: the same payload would fail the same way on every retry.
func assignField(p adapters.Payload, name, path string, v any) error {
	if err := adapters.Assign(p, path, v); err != nil {
		return adapters.PermanentCoded("PAYLOAD_PATH_CONFLICT",
			fmt.Sprintf("%s %q runs through a payload field that is not an object; set %s to another path or remove that field first", name, path, name),
			fmt.Errorf("%s %s: %w", name, path, err))
	}
	return nil
}
