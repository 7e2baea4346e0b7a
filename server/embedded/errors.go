package embedded

// Stable error codes. Every error ProvisionPostgres returns is an
// *adapters.CodedError carrying one of them and a remediation hint.
const (
	// CodePGNotFound: no usable PostgreSQL server binaries.
	CodePGNotFound = "EMBEDDED_PG_NOT_FOUND"
	// CodePGDataDir: the cluster directory cannot be prepared (permissions,
	// missing `postgres` user when running as root, unsafe /var/tmp entry).
	CodePGDataDir = "EMBEDDED_PG_DATA_DIR"
	// CodePGInUse: another process owns the private cluster of this data dir.
	CodePGInUse = "EMBEDDED_PG_IN_USE"
	// CodePGInitFailed: initdb failed.
	CodePGInitFailed = "EMBEDDED_PG_INIT_FAILED"
	// CodePGVersionMismatch: the cluster was created by another major version
	// than any binaries found.
	CodePGVersionMismatch = "EMBEDDED_PG_VERSION_MISMATCH"
	// CodePGStateLost: the cluster exists but its saved credentials do not.
	CodePGStateLost = "EMBEDDED_PG_STATE_LOST"
	// CodePGStartFailed: the server did not start; the message carries the
	// tail of its log.
	CodePGStartFailed = "EMBEDDED_PG_START_FAILED"
	// CodePGConnectFailed: the server started but the application database
	// could not be reached or created.
	CodePGConnectFailed = "EMBEDDED_PG_CONNECT_FAILED"
	// CodePGStopFailed: the server did not stop within the given context.
	CodePGStopFailed = "EMBEDDED_PG_STOP_FAILED"
)
