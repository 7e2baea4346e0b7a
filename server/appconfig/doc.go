// Package appconfig loads the application config of `factflow serve`.
//
// Sources, later ones winning key by key:
//
//  1. the defaults (Defaults, the same values config/app.yaml spells out);
//  2. one YAML file: the app.yaml embedded in the binary, or the file given
//     with --config, which replaces it (keys it leaves out keep the defaults);
//  3. environment variables (EnvVars lists them: DATABASE_URL,
//     FACTFLOW_PORT, …);
//  4. command-line flags that were given explicitly (Flags).
//
// The file is parsed first and ${VAR} / ${VAR:-default} are substituted in
// its scalar values afterwards, so a substituted value never changes the
// document's structure (a password holding "#" or ": " stays one value).
// ${VAR} with VAR unset is the empty string; ${VAR:-default} takes default
// when VAR is unset or empty; $${ is a literal "${". A quoted scalar stays a
// string; a plain one is typed after substitution (port: ${PORT} is a
// number). Keys are never substituted.
//
// An environment variable set to the empty string counts as unset, so that
// DATABASE_URL= in a shell does not wipe a URL from the file.
//
// Decoding is strict: an unknown key, a value of the wrong type or a bad
// duration fails with APP_CONFIG_INVALID naming the file, line and column
// (or the environment variable or flag the value came from).
//
// The database and queue URLs may carry passwords: log a Config only as
// itself (it implements slog.LogValuer) or through Redacted.
package appconfig
