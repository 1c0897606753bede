package client

import "errors"

// Errors of the client. They are sentinels, wrapped with %w to say which
// worker and which node; check them with errors.Is.
var (
	// ErrInvalidConfig is returned by New and NewCache when a field of the
	// configuration is wrong; the message names the field.
	ErrInvalidConfig = errors.New("client: invalid config")

	// ErrUnknownWorker is returned when every source that was asked
	// answered that it keeps no replica of the worker.
	ErrUnknownWorker = errors.New("client: unknown worker")

	// ErrNoSpare is returned by NodeFetcher when the cluster has no live
	// spare node to read replicas from.
	ErrNoSpare = errors.New("client: no spare node")

	// ErrUnavailable is returned when no source could be read (it wraps
	// the first cause, e.g. node.ErrNoProc when a spare runs no replica
	// service, node.ErrUnknownNode when it went down).
	ErrUnavailable = errors.New("client: no replica source answered")

	// ErrTimeout is returned when a read did not complete in time: the
	// caller's context deadline or Config.FetchTimeout passed. It wraps
	// context.DeadlineExceeded or node.ErrTimeout.
	ErrTimeout = errors.New("client: read timed out")

	// ErrStale is returned when the only replica a source could give is
	// older (by epoch, then sequence) than one this client has already
	// served and no longer caches: handing it out would take a reader
	// back in time. A later read, once the source has caught up, succeeds.
	ErrStale = errors.New("client: replica older than one already seen")

	// ErrBadReply is returned when a source answers with something that
	// is not a replica of the worker asked for (a malformed term, another
	// worker, a state that does not decode).
	ErrBadReply = errors.New("client: malformed replica reply")

	// ErrPending is returned by Future.Result before the read completed.
	ErrPending = errors.New("client: read still pending")

	// ErrCanceled is returned by Future.Result after Future.Cancel, when
	// the read had not completed before.
	ErrCanceled = errors.New("client: read canceled")

	// ErrClosed is returned by every read after Client.Close.
	ErrClosed = errors.New("client: closed")
)
