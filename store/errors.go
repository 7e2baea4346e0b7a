package store

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Sentinel errors; every error a repository returns for these conditions
// matches one of them with errors.Is.
var (
	ErrNotFound          = errors.New("not found")
	ErrConflict          = errors.New("conflict")
	ErrInvalidArgument   = errors.New("invalid argument")
	ErrIllegalTransition = errors.New("illegal status transition")
)

// Stable error codes, shared with the API and the CLI.
const (
	CodeNotFound          = "NOT_FOUND"
	CodeConfigNotFound    = "CONFIG_NOT_FOUND"
	CodeExecutionNotFound = "EXECUTION_NOT_FOUND"
	CodeTagTaken          = "EXECUTION_TAG_TAKEN"
	CodeConflict          = "CONFLICT"
	CodeInvalidArgument   = "INVALID_ARGUMENT"
	CodeIllegalTransition = "ILLEGAL_STATUS_TRANSITION"
	CodeMigrationMismatch = "MIGRATION_CHECKSUM_MISMATCH"
)

// Error is a classified store error with a stable code and a remediation
// hint. Unwrap yields the sentinel (ErrNotFound, …) and then the cause.
type Error struct {
	Code  string
	Hint  string
	Msg   string
	Kind  error // one of the sentinels
	Cause error // optional underlying error
}

func (e *Error) Error() string {
	s := e.Code + ": " + e.Msg
	if e.Cause != nil {
		s += ": " + e.Cause.Error()
	}
	if e.Hint != "" {
		s += " (hint: " + e.Hint + ")"
	}
	return s
}

// Unwrap lets errors.Is see both the sentinel and the cause.
func (e *Error) Unwrap() []error {
	errs := []error{e.Kind}
	if e.Cause != nil {
		errs = append(errs, e.Cause)
	}
	return errs
}

// TransitionError reports a status change the execution state machine does
// not allow. It matches ErrIllegalTransition.
type TransitionError struct {
	ExecutionID string
	From, To    ExecutionStatus
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("%s: execution %s cannot go from %s to %s", CodeIllegalTransition, e.ExecutionID, e.From, e.To)
}

// Is makes errors.Is(err, ErrIllegalTransition) true.
func (e *TransitionError) Is(target error) bool { return target == ErrIllegalTransition }

// Code returns the stable code of a store error, or "" when err is not one.
func Code(err error) string {
	var se *Error
	if errors.As(err, &se) {
		return se.Code
	}
	var te *TransitionError
	if errors.As(err, &te) {
		return CodeIllegalTransition
	}
	return ""
}

func notFound(code, what, id string) error {
	return &Error{Code: code, Kind: ErrNotFound, Msg: fmt.Sprintf("%s %q not found", what, id),
		Hint: "check the id; list the existing ones to find it"}
}

func invalidArg(msg, hint string) error {
	return &Error{Code: CodeInvalidArgument, Kind: ErrInvalidArgument, Msg: msg, Hint: hint}
}

// pgCode returns the SQLSTATE of a PostgreSQL error, or "".
func pgCode(err error) (code, constraint string) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, pe.ConstraintName
	}
	return "", ""
}

const (
	sqlstateUniqueViolation     = "23505"
	sqlstateForeignKeyViolation = "23503"
	sqlstateCheckViolation      = "23514"
)

func isNoRows(err error) bool { return errors.Is(err, pgx.ErrNoRows) }
