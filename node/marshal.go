package node

import "github.com/enode-dev/enode/term"

// marshalTerm turns a Go value into a term for sending.
func marshalTerm(v any) (term.Term, error) { return term.Marshal(v) }
