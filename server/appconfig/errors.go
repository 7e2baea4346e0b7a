package appconfig

import "github.com/factflow/factflow/adapters"

// Error codes of Load.
const (
	// CodeInvalid: the config does not parse, names an unknown key, or holds
	// a value of the wrong type or out of range.
	CodeInvalid = "APP_CONFIG_INVALID"
	// CodeUnreadable: the --config file cannot be read.
	CodeUnreadable = "APP_CONFIG_UNREADABLE"
	// CodeDatabaseRequired: not embedded and no database URL.
	CodeDatabaseRequired = "DATABASE_URL_REQUIRED"
	// CodeAuthRequired: auth mode none on a non-loopback address.
	CodeAuthRequired = "AUTH_REQUIRED_FOR_PUBLIC_BIND"
)

func coded(code, hint string, err error) error { return adapters.Coded(code, hint, err) }
