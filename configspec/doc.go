// Package configspec turns one tagged Go struct into everything a config
// needs: decoding from YAML with precise findings, defaults, validation,
// documentation and a JSON Schema.
//
// A config struct describes itself with tags on its exported fields:
//
//	type Config struct {
//		URL     string        `json:"url" required:"true" doc:"Page to fetch" example:"https://example.org"`
//		Timeout time.Duration `json:"timeout" default:"30s" minimum:"1s" doc:"Per request"`
//		Mode    string        `json:"mode" default:"fast" enum:"fast,thorough"`
//		Depth   int           `json:"depth" default:"2" minimum:"0" maximum:"10"`
//	}
//
// `json` names the YAML key ("-" skips the field; without a tag the Go name
// in snake_case is used). `default` is written the way the value is written
// in YAML (a duration as "30s"; a list as "[a, b]" or "a,b"). `minimum` and
// `maximum` bound numbers and durations, `enum` lists the accepted values of
// a string (or of each element of a list of strings), `required:"true"`
// makes the key mandatory, `doc` and `example` feed documentation and the
// schema.
//
// Every time.Duration field also accepts the reference system's integer
// spellings `<name>_seconds` and `<name>_ms` (and a bare number of
// seconds); they decode to the same field with a W001 warning suggesting
// the Go duration syntax.
//
// A field whose pointer type implements NodeDecoder decodes itself; a
// config type implementing Validator is checked after decoding.
//
// Findings carry stable codes: E007 duplicate key, E008 alias expansion
// too large or recursive, E301 unknown field, E302 missing required field,
// E303 wrong type, E304 out of range or not one of the allowed values,
// E305 invalid config (Validate failed), W001 reference spelling accepted.
package configspec
